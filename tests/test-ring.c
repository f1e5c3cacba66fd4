/* Unit tests for ring.c against a temporary file: every engine mode
 * (io_uring with and without registered buffers and file, FUA by link
 * or by RWF_DSYNC, and the pread/pwrite engine) must give the same bytes.
 *
 * The file is created in the build directory, which is on a filesystem
 * that supports O_DIRECT on the machines we test on; if it does not,
 * the O_DIRECT variants fall back to buffered I/O and say so.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <check.h>
#include <liburing.h>

#include "align.h"
#include "ring.h"

#define DISK_SIZE (4 * 1024 * 1024)

struct variant {
  const char *name;
  bool use_uring, fixed_buffers, fixed_file, fua_dsync, flags;
  uint32_t buffer_size;
  unsigned nbuffers;
};

static const struct variant variants[] = {
  { "uring fixed",          true, true, true, false, true, 128 * 1024, 4 },
  { "uring fixed dsync",    true, true, true, true, true, 128 * 1024, 4 },
  { "uring small buffers",  true, true, true, false, true, 4096, 2 },
  { "uring one buffer",     true, true, false, false, true, 4096, 1 },
  { "uring unregistered",   true, false, false, false, false, 64 * 1024, 3 },
  { "pread/pwrite",         false, false, false, false, false, 8192, 2 },
  { "pread/pwrite 64 bufs", false, false, false, false, false, 4096, 64 },
  { "uring 64 buffers",     true, true, true, false, true, 4096, 64 },
};

static char path[] = "test-ring.XXXXXX";
static int fd = -1;
static char *shadow;
static struct ring *ring;
static bool uring_here;

/* Create the file, fill it with a pattern, open it O_DIRECT. */
static void
make_disk (void)
{
  int wfd, i;

  wfd = mkstemp (path);
  ck_assert_int_ge (wfd, 0);
  shadow = malloc (DISK_SIZE);
  ck_assert_ptr_nonnull (shadow);
  for (i = 0; i < DISK_SIZE; i++)
    shadow[i] = (char) (i * 7 + i / 4096);
  ck_assert_int_eq (pwrite (wfd, shadow, DISK_SIZE, 0), DISK_SIZE);
  ck_assert_int_eq (fsync (wfd), 0);
  close (wfd);

  fd = open (path, O_RDWR | O_DIRECT | O_CLOEXEC);
  if (fd == -1 && errno == EINVAL) {
    fprintf (stderr, "test-ring: O_DIRECT refused here, testing buffered\n");
    fd = open (path, O_RDWR | O_CLOEXEC);
  }
  ck_assert_int_ge (fd, 0);
}

static void
setup_variant (int i)
{
  const struct variant *v = &variants[i];
  struct ring_probe p;
  struct ring_config cfg;

  make_disk ();
  ring_probe (true, &p);
  uring_here = p.available;
  cfg = (struct ring_config) {
    .use_uring = v->use_uring && p.available,
    .setup_flags = v->flags ? p.setup_flags : 0,
    .fixed_buffers = v->fixed_buffers,
    .fixed_file = v->fixed_file,
    .fua_dsync = v->fua_dsync,
    .fallocate_op = p.op_fallocate,
    .buffer_size = v->buffer_size,
    .nbuffers = v->nbuffers,
    .block_size = 4096,  /* the strictest alignment we may meet */
  };
  ck_assert_int_eq (ring_create (&cfg, fd, &ring), 0);
  if (v->use_uring && !p.available)
    fprintf (stderr, "test-ring: io_uring unavailable, %s tests pread\n",
             v->name);
  if (v->use_uring && p.available) {
    ck_assert (ring_is_uring (ring));
    /* Registration works as root; as a user under RLIMIT_MEMLOCK it may
     * not, and the ring must still work (tested below either way).
     */
    if (v->fixed_buffers && !ring_has_fixed_buffers (ring))
      fprintf (stderr, "test-ring: buffers not registered: %s\n",
               strerror (-ring_fixed_buffers_error (ring)));
    if (!v->fixed_buffers)
      ck_assert (!ring_has_fixed_buffers (ring));
  }
  else
    ck_assert (!ring_is_uring (ring));
}

static void
teardown_variant (void)
{
  ring_destroy (ring);
  ring = NULL;
  close (fd);
  unlink (path);
  strcpy (path, "test-ring.XXXXXX");
  free (shadow);
}

/* The file's content equals the shadow (read without O_DIRECT). */
static void
check_file (void)
{
  char *buf = malloc (DISK_SIZE);
  int rfd = open (path, O_RDONLY);

  ck_assert_ptr_nonnull (buf);
  ck_assert_int_ge (rfd, 0);
  ck_assert_int_eq (pread (rfd, buf, DISK_SIZE, 0), DISK_SIZE);
  ck_assert (memcmp (buf, shadow, DISK_SIZE) == 0);
  close (rfd);
  free (buf);
}

static void
check_read (uint64_t off, uint32_t len)
{
  char *buf = malloc (len + 1);

  ck_assert_ptr_nonnull (buf);
  buf[len] = 'Z';               /* canary: no overrun */
  ck_assert_int_eq (ring_read (ring, buf, len, off), 0);
  ck_assert_msg (memcmp (buf, shadow + off, len) == 0,
                 "read %u at %lu differs", len, (unsigned long) off);
  ck_assert_int_eq (buf[len], 'Z');
  free (buf);
}

static void
do_write (uint64_t off, uint32_t len, bool fua, unsigned seed)
{
  char *buf = malloc (len);
  uint32_t i;

  ck_assert_ptr_nonnull (buf);
  for (i = 0; i < len; i++)
    buf[i] = (char) rand_r (&seed);
  ck_assert_int_eq (ring_write (ring, buf, len, off, fua), 0);
  memcpy (shadow + off, buf, len);
  free (buf);
}

START_TEST (test_read_shapes)
{
  static const struct { uint64_t off; uint32_t len; } cases[] = {
    { 0, 4096 }, { 0, 1 }, { 1, 1 }, { 4095, 2 }, { 511, 513 },
    { 12345, 200000 }, { 0, DISK_SIZE }, { DISK_SIZE - 1, 1 },
    { DISK_SIZE - 4096, 4096 }, { 3, DISK_SIZE - 6 },
  };
  size_t i;

  setup_variant (_i);
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_read (cases[i].off, cases[i].len);
  teardown_variant ();
}
END_TEST

START_TEST (test_write_shapes)
{
  static const struct { uint64_t off; uint32_t len; bool fua; } cases[] = {
    { 0, 4096, false }, { 4096, 8192, true }, { 1, 1, false },
    { 4095, 2, true }, { 100, 4000, false }, { 8191, 4098, false },
    { 77777, 300001, true }, { DISK_SIZE - 1, 1, true },
    { 0, 1, false }, { 65536, 1 << 20, false }, { 5, DISK_SIZE - 10, true },
  };
  size_t i;

  setup_variant (_i);
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    do_write (cases[i].off, cases[i].len, cases[i].fua, i + 1);
    check_read (0, DISK_SIZE);
  }
  ck_assert_int_eq (ring_fsync (ring), 0);
  check_file ();
  teardown_variant ();
}
END_TEST

/* The buffer area starts at one buffer, doubles to fit each larger
 * request up to buffers x buffer-size, and never shrinks; data stays
 * right across each change, and the pinned size follows it.
 */
START_TEST (test_area_growth)
{
  const struct variant *v = &variants[_i];
  const size_t max = (size_t) v->nbuffers * v->buffer_size;
  const size_t edge = 2 * 4096;
  size_t want;

  setup_variant (_i);
  ck_assert_uint_eq (ring_area_size (ring), v->buffer_size);
  if (ring_has_fixed_buffers (ring))
    ck_assert_uint_eq (ring_locked_bytes (ring), v->buffer_size + edge);
  else
    ck_assert_uint_eq (ring_locked_bytes (ring), 0);

  /* Small requests leave it alone. */
  check_read (100, 10);
  do_write (4096, 4096, false, 1);
  ck_assert_uint_eq (ring_area_size (ring), v->buffer_size);

  /* A request spanning three buffers (unaligned: four blocks more)
   * needs the next power of 2 of buffers that holds it, capped.
   */
  do_write (1, 3 * v->buffer_size, true, 2);
  want = v->buffer_size;
  while (want < 3 * v->buffer_size + 4096)
    want *= 2;
  if (want > max)
    want = max;
  ck_assert_uint_eq (ring_area_size (ring), want);
  if (ring_has_fixed_buffers (ring))
    ck_assert_uint_eq (ring_locked_bytes (ring), want + edge);
  check_read (0, DISK_SIZE);

  /* Larger than the whole area: it is at its largest and chunked. */
  do_write (8191, max * 2 + 3, true, 3);
  ck_assert_uint_eq (ring_area_size (ring), max);
  check_read (0, DISK_SIZE);
  check_read (0, 4096);
  ck_assert_uint_eq (ring_area_size (ring), max);
  ck_assert_int_eq (ring_fsync (ring), 0);
  check_file ();
  teardown_variant ();
}
END_TEST

/* Drop CAP_IPC_LOCK from the effective set, so that io_uring charges
 * registered buffers to RLIMIT_MEMLOCK even as root.  Check runs each
 * test in a child process of its own, so this stays in the test.
 */
static void
drop_ipc_lock (void)
{
  struct __user_cap_header_struct hdr = {
    .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
  };
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

  ck_assert_int_eq (syscall (SYS_capget, &hdr, data), 0);
  data[CAP_TO_INDEX (CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK (CAP_IPC_LOCK);
  ck_assert_int_eq (syscall (SYS_capset, &hdr, data), 0);
}

/* A ring whose area cannot be registered at its larger size (the
 * memlock limit allows the first 24 KiB, not 136 KiB) carries on with
 * unregistered buffers, and the bytes stay right.
 */
START_TEST (test_area_growth_over_memlock)
{
  const struct rlimit rl = { .rlim_cur = 64 * 1024, .rlim_max = 64 * 1024 };
  struct ring_probe p;
  struct ring_config cfg = {
    .use_uring = true, .fixed_buffers = true, .fixed_file = true,
    .buffer_size = 16 * 1024, .nbuffers = 8, .block_size = 4096,
  };

  ring_probe (true, &p);
  if (!p.available) {
    fprintf (stderr, "test-ring: io_uring unavailable, skipping memlock\n");
    return;
  }
  make_disk ();
  drop_ipc_lock ();
  ck_assert_int_eq (setrlimit (RLIMIT_MEMLOCK, &rl), 0);
  cfg.setup_flags = p.setup_flags;
  ck_assert_int_eq (ring_create (&cfg, fd, &ring), 0);
  ck_assert_msg (ring_has_fixed_buffers (ring), "registration: %s",
                 strerror (-ring_fixed_buffers_error (ring)));
  ck_assert_uint_eq (ring_locked_bytes (ring), 16 * 1024 + 8192);

  do_write (4096, 8192, false, 1);
  check_read (0, 16384);
  ck_assert (ring_has_fixed_buffers (ring));
  ck_assert_uint_eq (ring_area_size (ring), 16 * 1024);

  do_write (5, 128 * 1024 - 10, true, 2);
  ck_assert_uint_eq (ring_area_size (ring), 128 * 1024);
  ck_assert (!ring_has_fixed_buffers (ring));
  ck_assert_int_eq (ring_fixed_buffers_error (ring), -ENOMEM);
  ck_assert_uint_eq (ring_locked_bytes (ring), 0);
  check_read (0, DISK_SIZE);
  ck_assert_int_eq (ring_fsync (ring), 0);
  check_file ();
  teardown_variant ();
}
END_TEST

START_TEST (test_write_zeroes)
{
  setup_variant (_i);
  ck_assert_int_eq (ring_write (ring, NULL, 10000, 3000, false), 0);
  memset (shadow + 3000, 0, 10000);
  ck_assert_int_eq (ring_write (ring, NULL, 1 << 20, 1 << 20, true), 0);
  memset (shadow + (1 << 20), 0, 1 << 20);
  check_read (0, DISK_SIZE);
  check_file ();
  teardown_variant ();
}
END_TEST

START_TEST (test_fallocate)
{
  int rc;

  setup_variant (_i);
  rc = ring_fallocate (ring, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                       65536, 131072, true);
  if (rc == -EOPNOTSUPP) {
    fprintf (stderr, "test-ring: PUNCH_HOLE not supported here\n");
    teardown_variant ();
    return;
  }
  ck_assert_int_eq (rc, 0);
  memset (shadow + 65536, 0, 131072);
  rc = ring_fallocate (ring, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                       1 << 20, 1 << 20, false);
  if (rc != -EOPNOTSUPP) {
    ck_assert_int_eq (rc, 0);
    memset (shadow + (1 << 20), 0, 1 << 20);
  }
  check_read (0, DISK_SIZE);
  check_file ();
  /* Errors come back as -errno: an invalid mode. */
  ck_assert_int_lt (ring_fallocate (ring, 0x7fff0000, 0, 4096, false), 0);
  /* ...and the ring keeps working afterwards. */
  check_read (0, 8192);
  teardown_variant ();
}
END_TEST

/* The file shrinks under the server: reading past the new end must be
 * an error, never zeroes or success.
 */
START_TEST (test_truncated_underneath)
{
  char buf[8192];

  setup_variant (_i);
  ck_assert_int_eq (ftruncate (fd, DISK_SIZE / 2), 0);
  ck_assert_int_eq (ring_read (ring, buf, sizeof buf, DISK_SIZE - 8192),
                    -EIO);
  /* A read straddling the new end fails as well. */
  ck_assert_int_eq (ring_read (ring, buf, sizeof buf,
                               DISK_SIZE / 2 - 4096), -EIO);
  /* What is still there reads fine. */
  check_read (0, 4096);
  teardown_variant ();
}
END_TEST

/* Writes to a read-only fd fail with -EBADF and leave the file alone. */
START_TEST (test_write_error)
{
  struct ring_config cfg = {
    .use_uring = true, .fixed_buffers = true, .fixed_file = true,
    .buffer_size = 4096, .nbuffers = 2, .block_size = 4096,
  };
  struct ring *r2;
  char buf[4096];
  int rofd;

  setup_variant (_i);
  rofd = open (path, O_RDONLY | O_CLOEXEC);
  ck_assert_int_ge (rofd, 0);
  cfg.use_uring = ring_is_uring (ring);
  ck_assert_int_eq (ring_create (&cfg, rofd, &r2), 0);
  memset (buf, 'x', sizeof buf);
  ck_assert_int_eq (ring_write (r2, buf, sizeof buf, 0, true), -EBADF);
  ck_assert_int_eq (ring_write (r2, buf, 100, 10, false), -EBADF);
  ring_destroy (r2);
  close (rofd);
  check_file ();
  teardown_variant ();
}
END_TEST

START_TEST (test_bad_config)
{
  struct ring_config cfg = {
    .use_uring = false, .buffer_size = 3000, .nbuffers = 1,
    .block_size = 512,
  };
  struct ring *r2 = NULL;

  ck_assert_int_eq (ring_create (&cfg, 0, &r2), -EINVAL);
  cfg.buffer_size = 4096;
  cfg.nbuffers = 0;
  ck_assert_int_eq (ring_create (&cfg, 0, &r2), -EINVAL);
  cfg.nbuffers = 1;
  cfg.block_size = 8192;        /* larger than a buffer */
  ck_assert_int_eq (ring_create (&cfg, 0, &r2), -EINVAL);
  ck_assert_ptr_null (r2);
  ring_destroy (NULL);
}
END_TEST

START_TEST (test_probe)
{
  struct ring_probe p;
  char buf[64];

  ck_assert_int_eq (ring_probe (true, &p), 0);
  if (!p.available) {
    ck_assert_int_lt (p.setup_error, 0);
    return;
  }
  ck_assert (p.op_fsync);
  ring_flags_string (p.setup_flags, buf, sizeof buf);
  ck_assert_uint_gt (strlen (buf), 0);
  ck_assert_int_eq (ring_probe (false, &p), 0);
  ck_assert_uint_eq (p.setup_flags, 0);
  ck_assert_str_eq (ring_flags_string (0, buf, sizeof buf), "none");
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("ring");
  TCase *tc = tcase_create ("core");
  const int n = sizeof variants / sizeof variants[0];
  SRunner *sr;
  int failed;

  tcase_set_timeout (tc, 60);
  tcase_add_loop_test (tc, test_read_shapes, 0, n);
  tcase_add_loop_test (tc, test_write_shapes, 0, n);
  tcase_add_loop_test (tc, test_area_growth, 0, n);
  tcase_add_loop_test (tc, test_write_zeroes, 0, n);
  tcase_add_loop_test (tc, test_fallocate, 0, n);
  tcase_add_loop_test (tc, test_truncated_underneath, 0, n);
  tcase_add_loop_test (tc, test_write_error, 0, n);
  tcase_add_test (tc, test_area_growth_over_memlock);
  tcase_add_test (tc, test_bad_config);
  tcase_add_test (tc, test_probe);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
