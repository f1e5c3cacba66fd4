/* Unit tests for daemon/conffile.c: the "key = value" parser. */

#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <check.h>

#include "conffile.h"

/* Collects what the parser hands over; refuses key "bad" and value
 * "nope" the way the daemon's option table refuses things.
 */
struct seen {
  unsigned n;
  char keys[16][CONFIG_MAX_KEY];
  char values[16][256];
};

static int
collect (void *opaque, const char *key, const char *value, const char **why)
{
  struct seen *s = opaque;

  if (strcmp (key, "bad") == 0)
    return -ENOENT;
  if (strcmp (value, "nope") == 0) {
    *why = "not a good value";
    return -EINVAL;
  }
  if (strcmp (value, "plain-error") == 0)
    return -EINVAL;
  ck_assert_uint_lt (s->n, 16);
  snprintf (s->keys[s->n], sizeof s->keys[0], "%s", key);
  snprintf (s->values[s->n], sizeof s->values[0], "%s", value);
  s->n++;
  return 0;
}

static int
parse (const char *text, struct seen *s, struct config_error *err)
{
  memset (s, 0, sizeof *s);
  memset (err, 0, sizeof *err);
  return config_parse (text, strlen (text), collect, s, err);
}

START_TEST (test_good)
{
  struct seen s;
  struct config_error err;
  const char *text =
    "# a comment\n"
    "\n"
    "   \t\n"
    "backing = /srv/disk.img\n"
    "  device=/dev/nbd0  \n"
    "Dead_Timeout =\t30\n"
    "plugin-param = buffers=8\n"
    "   # indented comment\n"
    "connections = 2";            /* no final newline */

  ck_assert_int_eq (parse (text, &s, &err), 0);
  ck_assert_uint_eq (s.n, 5);
  ck_assert_str_eq (s.keys[0], "backing");
  ck_assert_str_eq (s.values[0], "/srv/disk.img");
  ck_assert_str_eq (s.keys[1], "device");
  ck_assert_str_eq (s.values[1], "/dev/nbd0");
  /* '_' is read as '-', keys are case-insensitive. */
  ck_assert_str_eq (s.keys[2], "dead-timeout");
  ck_assert_str_eq (s.values[2], "30");
  /* Only the first '=' separates. */
  ck_assert_str_eq (s.keys[3], "plugin-param");
  ck_assert_str_eq (s.values[3], "buffers=8");
  ck_assert_str_eq (s.keys[4], "connections");
  ck_assert_str_eq (s.values[4], "2");
}
END_TEST

START_TEST (test_empty)
{
  struct seen s;
  struct config_error err;

  ck_assert_int_eq (parse ("", &s, &err), 0);
  ck_assert_uint_eq (s.n, 0);
  ck_assert_int_eq (parse ("\n\n# only comments\n", &s, &err), 0);
  ck_assert_uint_eq (s.n, 0);
}
END_TEST

/* Each error names the line and the key, and stops the parse: nothing
 * after the bad line is handed over.
 */
START_TEST (test_errors)
{
  static const struct {
    const char *text;
    unsigned line;
    const char *key;
    const char *why;
  } cases[] = {
    { "a = 1\nbad = 2\nc = 3\n", 2, "bad", "unknown key" },
    { "a = 1\n\nb = nope\n", 3, "b", "not a good value" },
    { "x = plain-error\n", 1, "x", "invalid value" },
    { "a = 1\njust words\n", 2, "just", "expected '=' after the key" },
    { "= value\n", 1, "", "expected 'key = value'" },
    { "key =   \n", 1, "key", "missing value" },
    { "key\n", 1, "key", "expected '=' after the key" },
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct seen s;
    struct config_error err;
    unsigned before = 0;
    const char *p;

    ck_assert_int_lt (parse (cases[i].text, &s, &err), 0);
    ck_assert_uint_eq (err.line, cases[i].line);
    ck_assert_str_eq (err.key, cases[i].key);
    ck_assert_ptr_nonnull (err.why);
    ck_assert_str_eq (err.why, cases[i].why);
    /* Pairs before the bad line were handed over, none after it. */
    for (p = cases[i].text; *p && before + 1 < cases[i].line; p++)
      if (*p == '\n')
        before++;
    ck_assert_uint_le (s.n, before);
  }
}
END_TEST

START_TEST (test_limits)
{
  struct seen s;
  struct config_error err;
  char *text;
  size_t n = CONFIG_MAX_LINE + 10, i;

  /* A line longer than the limit. */
  text = malloc (n + 1);
  ck_assert_ptr_nonnull (text);
  memcpy (text, "k = ", 4);
  for (i = 4; i < n; i++)
    text[i] = 'v';
  text[n] = '\0';
  ck_assert_int_eq (parse (text, &s, &err), -EINVAL);
  ck_assert_str_eq (err.why, "line too long");
  free (text);

  /* A key longer than the limit. */
  text = malloc (CONFIG_MAX_KEY + 10);
  ck_assert_ptr_nonnull (text);
  memset (text, 'k', CONFIG_MAX_KEY + 2);
  strcpy (text + CONFIG_MAX_KEY + 2, "=1");
  ck_assert_int_eq (parse (text, &s, &err), -EINVAL);
  ck_assert_str_eq (err.why, "key too long");
  ck_assert_uint_lt (strlen (err.key), CONFIG_MAX_KEY);
  free (text);

  /* A NUL byte inside a line. */
  memset (&err, 0, sizeof err);
  memset (&s, 0, sizeof s);
  ck_assert_int_eq (config_parse ("a = 1\nb\0 = 2\n", 13, collect, &s, &err),
                    -EINVAL);
  ck_assert_uint_eq (err.line, 2);
  ck_assert_str_eq (err.why, "NUL byte in line");
}
END_TEST

START_TEST (test_read_file)
{
  char path[] = "test-conffile.XXXXXX";
  char *text = NULL;
  size_t len = 0;
  int fd;

  fd = mkstemp (path);
  ck_assert_int_ge (fd, 0);
  ck_assert_int_eq (write (fd, "a = 1\n", 6), 6);
  close (fd);
  ck_assert_int_eq (config_read_file (path, &text, &len), 0);
  ck_assert_uint_eq (len, 6);
  ck_assert (memcmp (text, "a = 1\n", 6) == 0);
  free (text);

  /* Too large. */
  ck_assert_int_eq (truncate (path, CONFIG_MAX_SIZE + 1), 0);
  ck_assert_int_eq (config_read_file (path, &text, &len), -EFBIG);
  unlink (path);

  ck_assert_int_eq (config_read_file (path, &text, &len), -ENOENT);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("conffile");
  TCase *tc = tcase_create ("core");
  SRunner *sr;
  int failed;

  tcase_add_test (tc, test_good);
  tcase_add_test (tc, test_empty);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_limits);
  tcase_add_test (tc, test_read_file);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
