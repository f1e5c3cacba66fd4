/* Unit tests for align.c: the widening of requests to whole blocks. */

#include <config.h>

#include <stdlib.h>
#include <check.h>

#include "align.h"

START_TEST (test_plan_aligned)
{
  struct align_plan p;

  align_plan_rmw (4096, 8192, 4096, &p);
  ck_assert_uint_eq (p.start, 4096);
  ck_assert_uint_eq (p.end, 12288);
  ck_assert (!p.head_partial);
  ck_assert (!p.tail_partial);
}
END_TEST

START_TEST (test_plan_unaligned_both)
{
  struct align_plan p;

  align_plan_rmw (4097, 8190, 4096, &p);
  ck_assert_uint_eq (p.start, 4096);
  ck_assert_uint_eq (p.end, 12288);
  ck_assert (p.head_partial);
  ck_assert (p.tail_partial);
}
END_TEST

START_TEST (test_plan_inside_one_block)
{
  struct align_plan p;

  align_plan_rmw (513, 1, 512, &p);
  ck_assert_uint_eq (p.start, 512);
  ck_assert_uint_eq (p.end, 1024);
  ck_assert (p.head_partial);
  ck_assert (p.tail_partial);

  align_plan_rmw (512, 1, 512, &p);
  ck_assert (!p.head_partial);
  ck_assert (p.tail_partial);
}
END_TEST

START_TEST (test_plan_zero_length)
{
  struct align_plan p;

  align_plan_rmw (777, 0, 512, &p);
  ck_assert_uint_eq (p.start, p.end);
  ck_assert (!p.head_partial && !p.tail_partial);
}
END_TEST

START_TEST (test_plan_end_of_disk)
{
  struct align_plan p;
  const uint64_t size = UINT64_C(1) << 40;

  align_plan_rmw (size - 1, 1, 4096, &p);
  ck_assert_uint_eq (p.start, size - 4096);
  ck_assert_uint_eq (p.end, size);
  ck_assert (p.head_partial);
  ck_assert (!p.tail_partial);
}
END_TEST

/* Every (offset, count) pair in a small window against brute force. */
START_TEST (test_plan_exhaustive)
{
  const uint32_t bs = 512;
  uint64_t off, cnt;

  for (off = 0; off < 3 * bs; off += 7)
    for (cnt = 1; cnt < 3 * bs; cnt += 5) {
      struct align_plan p;
      align_plan_rmw (off, cnt, bs, &p);
      ck_assert_uint_le (p.start, off);
      ck_assert_uint_ge (p.end, off + cnt);
      ck_assert_uint_lt (off - p.start, bs);
      ck_assert_uint_lt (p.end - (off + cnt), bs);
      ck_assert_uint_eq (p.start % bs, 0);
      ck_assert_uint_eq (p.end % bs, 0);
      ck_assert_int_eq (p.head_partial, off % bs != 0);
      ck_assert_int_eq (p.tail_partial, (off + cnt) % bs != 0);
    }
}
END_TEST

START_TEST (test_interior)
{
  uint64_t s, e;

  ck_assert (align_interior (100, 5000, 512, &s, &e));
  ck_assert_uint_eq (s, 512);
  ck_assert_uint_eq (e, 4608);
  ck_assert (!align_interior (100, 500, 512, &s, &e));
  ck_assert (!align_interior (1, 1022, 512, &s, &e));
  ck_assert (align_interior (0, 512, 512, &s, &e));
  ck_assert_uint_eq (s, 0);
  ck_assert_uint_eq (e, 512);
}
END_TEST

START_TEST (test_intersect)
{
  uint64_t s, e;

  ck_assert (align_intersect (0, 10, 5, 20, &s, &e));
  ck_assert_uint_eq (s, 5);
  ck_assert_uint_eq (e, 10);
  ck_assert (!align_intersect (0, 10, 10, 20, &s, &e));
  ck_assert (align_intersect (3, 4, 0, 100, &s, &e));
  ck_assert_uint_eq (s, 3);
  ck_assert_uint_eq (e, 4);
}
END_TEST

START_TEST (test_helpers)
{
  ck_assert (is_power_of_2 (4096));
  ck_assert (!is_power_of_2 (0));
  ck_assert (!is_power_of_2 (3000));
  ck_assert_uint_eq (align_down (4097, 4096), 4096);
  ck_assert_uint_eq (align_up (4097, 4096), 8192);
  ck_assert_uint_eq (align_up (4096, 4096), 4096);
  ck_assert (is_aligned (8192, 4096));
  ck_assert (!is_aligned (8193, 512));
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("align");
  TCase *tc = tcase_create ("core");
  SRunner *sr;
  int failed;

  tcase_add_test (tc, test_plan_aligned);
  tcase_add_test (tc, test_plan_unaligned_both);
  tcase_add_test (tc, test_plan_inside_one_block);
  tcase_add_test (tc, test_plan_zero_length);
  tcase_add_test (tc, test_plan_end_of_disk);
  tcase_add_test (tc, test_plan_exhaustive);
  tcase_add_test (tc, test_interior);
  tcase_add_test (tc, test_intersect);
  tcase_add_test (tc, test_helpers);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
