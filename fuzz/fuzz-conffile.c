/* uringblk libFuzzer harness: uringblkd's configuration file parser
 * (daemon/conffile.c).
 *
 * The input is the file's text, in an exactly sized buffer that is not
 * NUL-terminated (config_parse takes a length).  The callback checks
 * what the parser promises about each pair: the key is 1 to
 * CONFIG_MAX_KEY - 1 characters of letters, digits and '-'; the value
 * is non-empty, has no newline and no blanks at either end.  It also
 * refuses some pairs (from a hash of the key) so the error paths run;
 * on error the parser must say why.
 */

#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conffile.h"

#define ENSURE(c) do { if (!(c)) abort (); } while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
check_pair (void *opaque, const char *key, const char *value,
            const char **why)
{
  size_t klen = strlen (key), vlen = strlen (value), i;
  unsigned h = 0;

  ENSURE (klen > 0 && klen < CONFIG_MAX_KEY);
  for (i = 0; i < klen; i++) {
    ENSURE (isalnum ((unsigned char) key[i]) || key[i] == '-');
    h = h * 31 + (unsigned char) key[i];
  }
  ENSURE (vlen > 0 && vlen < CONFIG_MAX_LINE);
  ENSURE (strchr (value, '\n') == NULL);
  ENSURE (!isblank ((unsigned char) value[0]) &&
          !isblank ((unsigned char) value[vlen - 1]));

  switch (h % 8) {
  case 0: return -ENOENT;
  case 1: *why = "refused by the harness"; return -EINVAL;
  case 2: return -EINVAL;
  default: return 0;
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct config_error err;
  char *text;
  int r;

  if (size > CONFIG_MAX_SIZE)
    return 0;
  text = malloc (size ? size : 1);
  if (text == NULL)
    return 0;
  memcpy (text, data, size);
  memset (&err, 0, sizeof err);
  r = config_parse (text, size, check_pair, NULL, &err);
  ENSURE (r <= 0);
  if (r < 0) {
    ENSURE (err.why != NULL);
    ENSURE (memchr (err.key, '\0', sizeof err.key) != NULL);
  }
  free (text);
  return 0;
}
