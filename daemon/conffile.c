/* uringblkd: the configuration file parser, see conffile.h.
 *
 * This code reads untrusted bytes: every index is checked against the
 * line length, nothing is written outside the fixed-size key and value
 * buffers, and NUL bytes are rejected rather than truncating a line.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "conffile.h"

static bool
is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\r';
}

static bool
is_key_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Fill *ERR and return R. */
static int
config_fail (struct config_error *err, unsigned line, const char *key,
             size_t keylen, const char *why, int r)
{
  err->line = line;
  if (keylen >= sizeof err->key)
    keylen = sizeof err->key - 1;
  memcpy (err->key, key, keylen);
  err->key[keylen] = '\0';
  err->why = why;
  return r;
}

/* Parse one line (without its '\n') and call SET for it. */
static int
config_parse_line (const char *p, size_t n, unsigned lineno,
                   config_set_fn set, void *opaque,
                   struct config_error *err)
{
  char key[CONFIG_MAX_KEY];
  char value[CONFIG_MAX_LINE + 1];
  size_t i = 0, k0, klen, v0, vend;
  const char *why = NULL;
  int r;

  if (memchr (p, '\0', n) != NULL)
    return config_fail (err, lineno, "", 0, "NUL byte in line", -EINVAL);
  if (n > CONFIG_MAX_LINE)
    return config_fail (err, lineno, "", 0, "line too long", -EINVAL);

  while (i < n && is_blank (p[i]))
    i++;
  if (i == n || p[i] == '#')
    return 0;

  k0 = i;
  while (i < n && is_key_char (p[i]))
    i++;
  klen = i - k0;
  if (klen == 0)
    return config_fail (err, lineno, "", 0,
                        "expected 'key = value'", -EINVAL);
  if (klen >= sizeof key)
    return config_fail (err, lineno, &p[k0], klen, "key too long", -EINVAL);
  for (size_t j = 0; j < klen; j++) {
    char c = p[k0 + j];
    if (c == '_')
      c = '-';
    else if (c >= 'A' && c <= 'Z')
      c = c - 'A' + 'a';
    key[j] = c;
  }
  key[klen] = '\0';

  while (i < n && is_blank (p[i]))
    i++;
  if (i == n || p[i] != '=')
    return config_fail (err, lineno, key, klen,
                        "expected '=' after the key", -EINVAL);
  i++;
  while (i < n && is_blank (p[i]))
    i++;
  v0 = i;
  vend = n;
  while (vend > v0 && is_blank (p[vend - 1]))
    vend--;
  if (vend == v0)
    return config_fail (err, lineno, key, klen, "missing value", -EINVAL);
  memcpy (value, &p[v0], vend - v0);
  value[vend - v0] = '\0';

  r = set (opaque, key, value, &why);
  if (r < 0) {
    if (why == NULL)
      why = r == -ENOENT ? "unknown key" : "invalid value";
    return config_fail (err, lineno, key, klen, why, r);
  }
  return 0;
}

int
config_parse (const char *text, size_t len,
              config_set_fn set, void *opaque,
              struct config_error *err)
{
  size_t pos = 0;
  unsigned lineno = 0;
  int r;

  while (pos < len) {
    const char *nl = memchr (&text[pos], '\n', len - pos);
    size_t n = nl ? (size_t) (nl - &text[pos]) : len - pos;

    lineno++;
    r = config_parse_line (&text[pos], n, lineno, set, opaque, err);
    if (r < 0)
      return r;
    pos += n + (nl != NULL);
  }
  return 0;
}

int
config_read_file (const char *path, char **text, size_t *len)
{
  struct stat st;
  char *buf = NULL;
  size_t got = 0;
  int fd, r;

  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd == -1)
    return -errno;
  if (fstat (fd, &st) == -1) {
    r = -errno;
    goto out;
  }
  if (!S_ISREG (st.st_mode)) {
    r = -EINVAL;
    goto out;
  }
  if (st.st_size > CONFIG_MAX_SIZE) {
    r = -EFBIG;
    goto out;
  }
  /* One byte more than the file claims, so growth is noticed. */
  buf = malloc (st.st_size + 1);
  if (buf == NULL) {
    r = -ENOMEM;
    goto out;
  }
  for (;;) {
    ssize_t n = read (fd, buf + got, st.st_size + 1 - got);
    if (n == -1) {
      if (errno == EINTR)
        continue;
      r = -errno;
      goto out;
    }
    if (n == 0)
      break;
    got += n;
    if (got > (size_t) st.st_size) {
      r = -EFBIG;
      goto out;
    }
  }
  *text = buf;
  *len = got;
  buf = NULL;
  r = 0;
 out:
  free (buf);
  (void) close (fd);
  return r;
}
