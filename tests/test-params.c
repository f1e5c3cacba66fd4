/* Unit tests for params.c: plugin parameter parsing. */

#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <check.h>

#include "params.h"

START_TEST (test_size)
{
  uint64_t v;

  ck_assert_int_eq (param_parse_size ("4096", &v), 0);
  ck_assert_uint_eq (v, 4096);
  ck_assert_int_eq (param_parse_size ("128k", &v), 0);
  ck_assert_uint_eq (v, 131072);
  ck_assert_int_eq (param_parse_size ("128K", &v), 0);
  ck_assert_uint_eq (v, 131072);
  ck_assert_int_eq (param_parse_size ("1M", &v), 0);
  ck_assert_uint_eq (v, 1048576);
  ck_assert_int_eq (param_parse_size ("2GiB", &v), 0);
  ck_assert_uint_eq (v, UINT64_C(2) << 30);
  ck_assert_int_eq (param_parse_size ("1kB", &v), 0);
  ck_assert_uint_eq (v, 1024);
  ck_assert_int_eq (param_parse_size ("512b", &v), 0);
  ck_assert_uint_eq (v, 512);

  v = 42;
  ck_assert_int_eq (param_parse_size ("", &v), -EINVAL);
  ck_assert_int_eq (param_parse_size ("-1", &v), -EINVAL);
  ck_assert_int_eq (param_parse_size ("k", &v), -EINVAL);
  ck_assert_int_eq (param_parse_size ("12x", &v), -EINVAL);
  ck_assert_int_eq (param_parse_size ("1Kx", &v), -EINVAL);
  ck_assert_int_eq (param_parse_size (" 1", &v), -EINVAL);
  ck_assert_int_eq (param_parse_size ("99999999999999999999", &v), -EINVAL);
  ck_assert_int_eq (param_parse_size ("99999999999T", &v), -EINVAL);
  ck_assert_int_eq (param_parse_size (NULL, &v), -EINVAL);
  ck_assert_uint_eq (v, 42);     /* untouched on error */
}
END_TEST

START_TEST (test_buffer_size)
{
  uint32_t v = 7;

  ck_assert_int_eq (param_parse_buffer_size ("4K", &v), 0);
  ck_assert_uint_eq (v, 4096);
  ck_assert_int_eq (param_parse_buffer_size ("64M", &v), 0);
  ck_assert_uint_eq (v, 64 << 20);
  ck_assert_int_eq (param_parse_buffer_size ("2048", &v), -EINVAL);
  ck_assert_int_eq (param_parse_buffer_size ("3000", &v), -EINVAL);
  ck_assert_int_eq (param_parse_buffer_size ("128M", &v), -EINVAL);
  ck_assert_int_eq (param_parse_buffer_size ("96K", &v), -EINVAL);
  ck_assert_uint_eq (v, 64 << 20);
}
END_TEST

START_TEST (test_uint)
{
  unsigned v = 9;

  ck_assert_int_eq (param_parse_uint ("1", 1, 64, &v), 0);
  ck_assert_uint_eq (v, 1);
  ck_assert_int_eq (param_parse_uint ("64", 1, 64, &v), 0);
  ck_assert_uint_eq (v, 64);
  ck_assert_int_eq (param_parse_uint ("0", 1, 64, &v), -EINVAL);
  ck_assert_int_eq (param_parse_uint ("65", 1, 64, &v), -EINVAL);
  ck_assert_int_eq (param_parse_uint ("4x", 1, 64, &v), -EINVAL);
  ck_assert_int_eq (param_parse_uint ("-4", 1, 64, &v), -EINVAL);
  ck_assert_int_eq (param_parse_uint ("", 1, 64, &v), -EINVAL);
  ck_assert_uint_eq (v, 64);
}
END_TEST

START_TEST (test_tristate)
{
  enum tristate t;

  ck_assert_int_eq (param_parse_tristate ("on", "on", &t), 0);
  ck_assert_int_eq (t, TRI_ON);
  ck_assert_int_eq (param_parse_tristate ("yes", "on", &t), 0);
  ck_assert_int_eq (t, TRI_ON);
  ck_assert_int_eq (param_parse_tristate ("auto", "on", &t), 0);
  ck_assert_int_eq (t, TRI_AUTO);
  ck_assert_int_eq (param_parse_tristate ("off", "on", &t), 0);
  ck_assert_int_eq (t, TRI_OFF);
  ck_assert_int_eq (param_parse_tristate ("0", "on", &t), 0);
  ck_assert_int_eq (t, TRI_OFF);
  ck_assert_int_eq (param_parse_tristate ("require", "require", &t), 0);
  ck_assert_int_eq (t, TRI_ON);
  /* uring= takes require, not on. */
  t = TRI_AUTO;
  ck_assert_int_eq (param_parse_tristate ("on", "require", &t), -EINVAL);
  ck_assert_int_eq (param_parse_tristate ("maybe", "on", &t), -EINVAL);
  ck_assert_int_eq (param_parse_tristate ("", "on", &t), -EINVAL);
  ck_assert_int_eq (t, TRI_AUTO);
}
END_TEST

START_TEST (test_fua)
{
  enum fua_mode m;

  ck_assert_int_eq (param_parse_fua ("link", &m), 0);
  ck_assert_int_eq (m, FUA_LINK);
  ck_assert_int_eq (param_parse_fua ("dsync", &m), 0);
  ck_assert_int_eq (m, FUA_DSYNC);
  ck_assert_int_eq (param_parse_fua ("sync", &m), -EINVAL);
  ck_assert_int_eq (m, FUA_DSYNC);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("params");
  TCase *tc = tcase_create ("core");
  SRunner *sr;
  int failed;

  tcase_add_test (tc, test_size);
  tcase_add_test (tc, test_buffer_size);
  tcase_add_test (tc, test_uint);
  tcase_add_test (tc, test_tristate);
  tcase_add_test (tc, test_fua);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
