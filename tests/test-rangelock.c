/* Unit tests for rangelock.c: RMW serialization. */

#include <config.h>

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>
#include <pthread.h>
#include <check.h>

#include "rangelock.h"

static struct rangelock rl;

static void
setup (void)
{
  rangelock_init (&rl);
}

static void
teardown (void)
{
  rangelock_destroy (&rl);
}

/* Holders that do not conflict never wait (a wait would hang until the
 * test's timeout).
 */
START_TEST (test_no_conflict)
{
  struct rangelock_node a, b, c, d;

  rangelock_acquire (&rl, &a, 0, 4096, true);
  rangelock_acquire (&rl, &b, 4096, 8192, true);     /* adjacent */
  rangelock_acquire (&rl, &c, 8192, 65536, false);
  rangelock_acquire (&rl, &d, 8192, 16384, false);   /* shared + shared */
  ck_assert_uint_eq (rangelock_held (&rl), 4);
  rangelock_release (&rl, &b);
  rangelock_release (&rl, &a);
  rangelock_release (&rl, &d);
  rangelock_release (&rl, &c);
  ck_assert_uint_eq (rangelock_held (&rl), 0);
}
END_TEST

struct waiter {
  uint64_t start, end;
  bool exclusive;
  volatile bool acquired;
  struct rangelock_node node;
  pthread_t thread;
};

static void *
waiter_run (void *p)
{
  struct waiter *w = p;

  rangelock_acquire (&rl, &w->node, w->start, w->end, w->exclusive);
  w->acquired = true;
  return NULL;
}

static void
waiter_start (struct waiter *w, uint64_t start, uint64_t end, bool excl)
{
  w->start = start;
  w->end = end;
  w->exclusive = excl;
  w->acquired = false;
  ck_assert_int_eq (pthread_create (&w->thread, NULL, waiter_run, w), 0);
}

/* Wait (bounded) until the lock has 'n' nodes, holders or waiters. */
static void
wait_held (unsigned n)
{
  int i;

  for (i = 0; i < 2000 && rangelock_held (&rl) != n; i++)
    usleep (1000);
  ck_assert_uint_eq (rangelock_held (&rl), n);
}

START_TEST (test_exclusive_waits_for_shared)
{
  struct rangelock_node a;
  struct waiter w;

  rangelock_acquire (&rl, &a, 0, 8192, false);
  waiter_start (&w, 4096, 12288, true);
  wait_held (2);
  usleep (20000);
  ck_assert (!w.acquired);       /* still queued behind the holder */
  rangelock_release (&rl, &a);
  pthread_join (w.thread, NULL);
  ck_assert (w.acquired);
  rangelock_release (&rl, &w.node);
}
END_TEST

START_TEST (test_shared_waits_for_exclusive)
{
  struct rangelock_node a;
  struct waiter w;

  rangelock_acquire (&rl, &a, 512, 1024, true);
  waiter_start (&w, 0, 1 << 20, false);
  wait_held (2);
  usleep (20000);
  ck_assert (!w.acquired);
  rangelock_release (&rl, &a);
  pthread_join (w.thread, NULL);
  ck_assert (w.acquired);
  rangelock_release (&rl, &w.node);
}
END_TEST

/* A shared request arriving after a queued exclusive one waits its turn
 * even though it does not conflict with the current holder.
 */
START_TEST (test_fifo_among_overlapping)
{
  struct rangelock_node a;
  struct waiter x, s;

  rangelock_acquire (&rl, &a, 0, 4096, false);
  waiter_start (&x, 0, 8192, true);
  wait_held (2);
  waiter_start (&s, 4096, 8192, false);
  wait_held (3);
  usleep (20000);
  ck_assert (!x.acquired);
  ck_assert (!s.acquired);
  rangelock_release (&rl, &a);
  pthread_join (x.thread, NULL);
  ck_assert (x.acquired);
  usleep (20000);
  ck_assert (!s.acquired);
  rangelock_release (&rl, &x.node);
  pthread_join (s.thread, NULL);
  ck_assert (s.acquired);
  rangelock_release (&rl, &s.node);
}
END_TEST

/* Many threads doing a non-atomic read-modify-write of per-block
 * counters under exclusive locks: no update may be lost.
 */
#define NBLOCKS 8
#define NTHREADS 8
#define ITERS 2000
static volatile unsigned counters[NBLOCKS];

static void *
rmw_run (void *p)
{
  unsigned seed = (unsigned) (uintptr_t) p;
  int i;

  for (i = 0; i < ITERS; i++) {
    struct rangelock_node n;
    unsigned b = rand_r (&seed) % NBLOCKS;
    unsigned nb = 1 + rand_r (&seed) % 2;
    unsigned j, v[2];

    if (b + nb > NBLOCKS)
      nb = 1;
    rangelock_acquire (&rl, &n, b * 512, (b + nb) * 512, true);
    for (j = 0; j < nb; j++)
      v[j] = counters[b + j];
    if (i % 64 == 0)
      sched_yield ();
    for (j = 0; j < nb; j++)
      counters[b + j] = v[j] + 1;
    rangelock_release (&rl, &n);
  }
  return NULL;
}

START_TEST (test_rmw_no_lost_update)
{
  pthread_t t[NTHREADS];
  unsigned long total = 0, expected_min = NTHREADS * ITERS;
  int i;

  for (i = 0; i < NBLOCKS; i++)
    counters[i] = 0;
  for (i = 0; i < NTHREADS; i++)
    ck_assert_int_eq (pthread_create (&t[i], NULL, rmw_run,
                                      (void *) (uintptr_t) (i + 1)), 0);
  for (i = 0; i < NTHREADS; i++)
    pthread_join (t[i], NULL);
  for (i = 0; i < NBLOCKS; i++)
    total += counters[i];
  /* Each iteration adds 1 or 2; recompute exactly with the same PRNG. */
  {
    unsigned long exact = 0;
    for (i = 0; i < NTHREADS; i++) {
      unsigned seed = i + 1;
      int k;
      for (k = 0; k < ITERS; k++) {
        unsigned b = rand_r (&seed) % NBLOCKS;
        unsigned nb = 1 + rand_r (&seed) % 2;
        if (b + nb > NBLOCKS)
          nb = 1;
        exact += nb;
      }
    }
    ck_assert_uint_eq (total, exact);
  }
  ck_assert_uint_ge (total, expected_min);
  ck_assert_uint_eq (rangelock_held (&rl), 0);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("rangelock");
  TCase *tc = tcase_create ("core");
  SRunner *sr;
  int failed;

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 30);
  tcase_add_test (tc, test_no_conflict);
  tcase_add_test (tc, test_exclusive_waits_for_shared);
  tcase_add_test (tc, test_shared_waits_for_exclusive);
  tcase_add_test (tc, test_fifo_among_overlapping);
  tcase_add_test (tc, test_rmw_no_lost_update);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
