/* uringblk reliability: requests a client should not send, through
 * libnbd with strict mode off (so libnbd sends them as asked).
 *
 *   test-badreq --socket SOCK --backing PATH [--ro-socket SOCK] [--seed N]
 *
 * SOCK serves PATH read-write; --ro-socket, if given, serves the same
 * PATH with nbdkit -r.  Checks, each against a shadow copy of the
 * export:
 *  - unaligned reads, writes and zeroes (served by read-modify-write)
 *    give exactly the bytes asked for, also from two connections
 *    writing neighbouring unaligned ranges of the same blocks at once;
 *  - requests past the end, straddling the end or of length zero get
 *    the error nbdkit gives them (EINVAL for reads, trims and block
 *    status, ENOSPC for writes and zeroes), and change nothing;
 *  - a read or write over 64 MiB is refused by libnbd itself (ERANGE):
 *    test-badreq-raw sends those to the server;
 *  - writes, zeroes and trims on the read-only export fail with EPERM
 *    and change nothing;
 *  - after every refusal the connection still works, and at the end
 *    the whole export, read back and read directly from PATH, equals
 *    the shadow.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libnbd.h>

static const char *sock_path, *ro_sock_path, *backing;
static uint64_t seed, rnd_s;
static unsigned char *shadow;
static int64_t size;
static unsigned failures;

#define FAIL(...)                                                       \
  do {                                                                  \
    fprintf (stderr, "test-badreq: FAIL: " __VA_ARGS__);                \
    fprintf (stderr, " (seed %" PRIu64 ")\n", seed);                    \
    failures++;                                                         \
  } while (0)

static uint64_t
rnd (uint64_t n)
{
  rnd_s ^= rnd_s >> 12;
  rnd_s ^= rnd_s << 25;
  rnd_s ^= rnd_s >> 27;
  return (rnd_s * UINT64_C(2685821657736338717)) % n;
}

static void
fill_random (unsigned char *p, size_t len)
{
  size_t i;

  for (i = 0; i < len; i++)
    p[i] = rnd (256);
}

static struct nbd_handle *
connect_to (const char *path)
{
  struct nbd_handle *h = nbd_create ();

  if (h == NULL ||
      nbd_add_meta_context (h, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1 ||
      nbd_connect_unix (h, path) == -1) {
    fprintf (stderr, "test-badreq: connect %s: %s\n", path, nbd_get_error ());
    exit (EXIT_FAILURE);
  }
  /* Send whatever is asked: unaligned, out of range, zero length,
   * writes to a read-only export.
   */
  if (nbd_set_strict_mode (h, 0) == -1) {
    fprintf (stderr, "test-badreq: %s\n", nbd_get_error ());
    exit (EXIT_FAILURE);
  }
  return h;
}

/* Compare [offset, offset+len) of the export with the shadow, in
 * reads of at most 32 MiB.
 */
static void
check_range (struct nbd_handle *h, const char *after, uint64_t offset,
             uint64_t len)
{
  unsigned char *buf;
  uint64_t i;

  while (len > (32 << 20)) {
    check_range (h, after, offset, 32 << 20);
    offset += 32 << 20;
    len -= 32 << 20;
  }
  buf = malloc (len);
  if (nbd_pread (h, buf, len, offset, 0) == -1)
    FAIL ("read back after %s: %s", after, nbd_get_error ());
  else if (memcmp (buf, shadow + offset, len) != 0) {
    for (i = 0; buf[i] == shadow[offset + i]; i++)
      ;
    FAIL ("after %s: byte %" PRIu64 " is %#x, want %#x", after,
          offset + i, buf[i], shadow[offset + i]);
  }
  free (buf);
}

/* r is the result of a libnbd call that must fail with errno want. */
static void
expect_errno (struct nbd_handle *h, const char *what, int r, int want)
{
  int got = nbd_get_errno ();

  if (r != -1)
    FAIL ("%s: succeeded, want %s", what, strerror (want));
  else if (got != want)
    FAIL ("%s: failed with %s (%s), want %s", what, strerror (got),
          nbd_get_error (), strerror (want));
  else
    fprintf (stderr, "test-badreq: ok: %s -> %s\n", what, strerror (got));
  /* The connection goes on. */
  check_range (h, what, 0, 4096);
}

static void
test_unaligned (struct nbd_handle *h)
{
  unsigned char *buf = malloc (3 * 65536);
  unsigned i;

  for (i = 0; i < 300; i++) {
    uint64_t len = 1 + rnd (i % 3 == 0 ? 3 * 65536 : 9000);
    uint64_t off = rnd (size - len + 1);

    switch (rnd (4)) {
    case 0: case 1:
      fill_random (buf, len);
      if (nbd_pwrite (h, buf, len, off, rnd (2) ? LIBNBD_CMD_FLAG_FUA : 0)
          == -1) {
        FAIL ("unaligned write %" PRIu64 "+%" PRIu64 ": %s", off, len,
              nbd_get_error ());
        break;
      }
      memcpy (shadow + off, buf, len);
      break;
    case 2:
      if (nbd_zero (h, len, off, 0) == -1) {
        FAIL ("unaligned zero %" PRIu64 "+%" PRIu64 ": %s", off, len,
              nbd_get_error ());
        break;
      }
      memset (shadow + off, 0, len);
      break;
    case 3:
      check_range (h, "unaligned I/O", off, len);
      break;
    }
  }
  free (buf);
}

/* Two connections writing interleaved unaligned pieces of the same
 * blocks at once: read-modify-write must not lose either side.
 */
struct rmw_arg {
  int side;
  uint64_t base;
};

static void *
rmw_side (void *p)
{
  struct rmw_arg *a = p;
  struct nbd_handle *h = connect_to (sock_path);
  unsigned i;

  for (i = 0; i < 200; i++) {
    /* 100-byte pieces, alternating sides, all within 8 KiB. */
    uint64_t off = a->base + (2 * (i % 80) + a->side) * 100;

    if (nbd_pwrite (h, shadow + off, 100, off, 0) == -1)
      FAIL ("interleaved unaligned write at %" PRIu64 ": %s", off,
            nbd_get_error ());
  }
  nbd_shutdown (h, 0);
  nbd_close (h);
  return NULL;
}

static void
test_rmw_race (struct nbd_handle *h)
{
  uint64_t base = (rnd (size / 4096 - 4)) * 4096 + 17;
  struct rmw_arg a[2] = { { 0, base }, { 1, base } };
  pthread_t t[2];

  fill_random (shadow + base, 16000);
  pthread_create (&t[0], NULL, rmw_side, &a[0]);
  pthread_create (&t[1], NULL, rmw_side, &a[1]);
  pthread_join (t[0], NULL);
  pthread_join (t[1], NULL);
  check_range (h, "interleaved unaligned writes", base, 16000);
}

static int
ignore_extents (void *user_data, const char *metacontext, uint64_t offset,
                uint32_t *entries, size_t nr_entries, int *error)
{
  return 0;
}

static void
test_out_of_range (struct nbd_handle *h)
{
  char buf[8192] = { 0 };
  uint64_t end = size;

  expect_errno (h, "read past the end",
                nbd_pread (h, buf, 4096, end, 0), EINVAL);
  expect_errno (h, "read straddling the end",
                nbd_pread (h, buf, 8192, end - 4096, 0), EINVAL);
  expect_errno (h, "read at 2^63",
                nbd_pread (h, buf, 4096, UINT64_C(1) << 63, 0), EINVAL);
  expect_errno (h, "write past the end",
                nbd_pwrite (h, buf, 4096, end, 0), ENOSPC);
  expect_errno (h, "write straddling the end",
                nbd_pwrite (h, buf, 8192, end - 4096, 0), ENOSPC);
  expect_errno (h, "unaligned write straddling the end",
                nbd_pwrite (h, buf, 100, end - 50, 0), ENOSPC);
  expect_errno (h, "zero past the end",
                nbd_zero (h, 4096, end, 0), ENOSPC);
  expect_errno (h, "trim straddling the end",
                nbd_trim (h, 8192, end - 4096, 0), EINVAL);
  expect_errno (h, "block status past the end",
                nbd_block_status (h, 4096, end,
                                  (nbd_extent_callback) { .callback = ignore_extents }, 0), EINVAL);
  expect_errno (h, "read of length 0",
                nbd_pread (h, buf, 0, 0, 0), EINVAL);
  expect_errno (h, "write of length 0",
                nbd_pwrite (h, buf, 0, 0, 0), ENOSPC);
  expect_errno (h, "zero of length 0",
                nbd_zero (h, 0, 4096, 0), ENOSPC);
  expect_errno (h, "trim of length 0",
                nbd_trim (h, 0, 4096, 0), EINVAL);
  /* The straddling ones must not have written their in-range part. */
  check_range (h, "refused requests", end - 8192, 8192);
}

static void
test_oversized (struct nbd_handle *h)
{
  size_t len = 64 * 1024 * 1024 + 4096;
  char *buf = calloc (1, len);

  expect_errno (h, "read of 64 MiB + 4 KiB (refused by libnbd)",
                nbd_pread (h, buf, len, 0, 0), ERANGE);
  expect_errno (h, "write of 64 MiB + 4 KiB (refused by libnbd)",
                nbd_pwrite (h, buf, len, 0, 0), ERANGE);
  free (buf);
}

static void
test_readonly (void)
{
  struct nbd_handle *h = connect_to (ro_sock_path);
  char buf[4096];

  if (nbd_is_read_only (h) != 1)
    FAIL ("the -r export does not say it is read-only");
  memset (buf, 0xa5, sizeof buf);
  expect_errno (h, "write to a read-only export",
                nbd_pwrite (h, buf, 4096, 0, 0), EPERM);
  expect_errno (h, "FUA write to a read-only export",
                nbd_pwrite (h, buf, 4096, 8192, LIBNBD_CMD_FLAG_FUA), EPERM);
  expect_errno (h, "unaligned write to a read-only export",
                nbd_pwrite (h, buf, 10, 4097, 0), EPERM);
  expect_errno (h, "zero on a read-only export",
                nbd_zero (h, 65536, 0, 0), EPERM);
  expect_errno (h, "trim on a read-only export",
                nbd_trim (h, 65536, 0, 0), EPERM);
  check_range (h, "writes to a read-only export", 0, 65536);
  nbd_shutdown (h, 0);
  nbd_close (h);
}

static void
check_backing (void)
{
  unsigned char *buf = malloc (size);
  int fd = open (backing, O_RDONLY | O_CLOEXEC);
  int64_t i;

  if (fd == -1 || pread (fd, buf, size, 0) != size) {
    FAIL ("reading %s directly failed", backing);
  }
  else if (memcmp (buf, shadow, size) != 0) {
    for (i = 0; buf[i] == shadow[i]; i++)
      ;
    FAIL ("%s: byte %" PRId64 " is %#x, want %#x", backing, i, buf[i],
          shadow[i]);
  }
  if (fd >= 0)
    close (fd);
  free (buf);
}

int
main (int argc, char *argv[])
{
  static const struct option opts[] = {
    { "backing",   required_argument, NULL, 'b' },
    { "ro-socket", required_argument, NULL, 'R' },
    { "seed",      required_argument, NULL, 'r' },
    { "socket",    required_argument, NULL, 's' },
    { NULL }
  };
  struct nbd_handle *h;
  int c;

  seed = time (NULL);
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'b': backing = optarg; break;
    case 'R': ro_sock_path = optarg; break;
    case 'r': seed = strtoull (optarg, NULL, 0); break;
    case 's': sock_path = optarg; break;
    default:
      fprintf (stderr, "usage: test-badreq --socket SOCK --backing PATH "
               "[--ro-socket SOCK] [--seed N]\n");
      return EXIT_FAILURE;
    }
  }
  if (sock_path == NULL || backing == NULL) {
    fprintf (stderr, "test-badreq: --socket and --backing are required\n");
    return EXIT_FAILURE;
  }
  rnd_s = seed * 2 + 1;
  fprintf (stderr, "test-badreq: seed=%" PRIu64 "\n", seed);

  h = connect_to (sock_path);
  size = nbd_get_size (h);
  if (size < (1 << 20) || size > (256 << 20)) {
    fprintf (stderr, "test-badreq: export size %" PRId64 " out of range\n",
             size);
    return EXIT_FAILURE;
  }
  /* The export starts as it is: read it into the shadow. */
  shadow = malloc (size);
  for (c = 0; c < size; c += 32 << 20)
    if (nbd_pread (h, shadow + c, 32 << 20 < size - c ? 32 << 20 : size - c,
                   c, 0) == -1) {
      fprintf (stderr, "test-badreq: initial read: %s\n", nbd_get_error ());
      return EXIT_FAILURE;
    }

  test_unaligned (h);
  test_rmw_race (h);
  test_out_of_range (h);
  test_oversized (h);
  if (ro_sock_path)
    test_readonly ();
  check_range (h, "everything", 0, size);
  if (nbd_shutdown (h, 0) == -1)
    FAIL ("shutdown: %s", nbd_get_error ());
  nbd_close (h);
  check_backing ();

  if (failures) {
    fprintf (stderr, "test-badreq: %u failures\n", failures);
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
