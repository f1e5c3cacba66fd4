/* uringblk integration test: request sizes and the ends of the disk.
 *
 * For every size in sizes[] (1 byte to 32 MiB, on and around block and
 * buffer boundaries): writes at the start of the disk, flush against its
 * end, and at random aligned and unaligned offsets read back exactly and
 * leave their neighbours alone; zero, trim and read of that size behave.
 * The first and last bytes of the disk can be written and read alone.
 * Requests that cross or start past the end fail with the errno the NBD
 * protocol gives (EINVAL, ENOSPC for writes), both when libnbd refuses
 * them itself and when the server sees them (strict bounds cleared),
 * and they change nothing: the tail of the disk is intact and the
 * connection still works.
 */

#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnbd.h>

#include "test-common.h"

static const uint64_t sizes[] = {
  1, 511, 512, 513, 4095, 4096, 4097,
  (128 << 10) - 1, 128 << 10, (128 << 10) + 1,
  1 << 20, (1 << 20) + 512, 32 << 20,
};
#define NR_SIZES (sizeof sizes / sizeof sizes[0])
#define MAX_SIZE (32 << 20)

static struct nbd_handle *h;
static unsigned char *shadow, *buf;
static int64_t size;

static void
read_and_check (const char *what, uint64_t off, uint64_t len)
{
  if (nbd_pread (h, buf, len, off, 0) == -1)
    test_fail_nbd ("nbd_pread");
  check_bytes (what, off, buf, shadow + off, len);
}

/* Check len bytes at off and one block either side of them. */
static void
check_around (const char *what, uint64_t off, uint64_t len)
{
  uint64_t a = off >= 4096 ? off - 4096 : 0;
  uint64_t b = off + len + 4096;

  if (b > (uint64_t) size)
    b = size;

  read_and_check (what, a, b - a);
}

static void
write_at (uint64_t off, uint64_t len, uint32_t flags)
{
  char what[64];

  rnd_fill (&rnd_global, buf, len);
  if (nbd_pwrite (h, buf, len, off, flags) == -1)
    test_fail_nbd ("nbd_pwrite");
  memcpy (shadow + off, buf, len);
  snprintf (what, sizeof what, "write of %" PRIu64 " bytes%s", len,
            flags & LIBNBD_CMD_FLAG_FUA ? " (FUA)" : "");
  check_around (what, off, len);
}

/* An out-of-range request must fail with one of the errnos given. */
static void
expect_range_error (const char *what, int r, int errno1, int errno2)
{
  int e = nbd_get_errno ();

  if (r != -1)
    test_fail ("%s past the end of the disk succeeded", what);
  if (e != errno1 && e != errno2)
    test_fail ("%s past the end of the disk: errno %d (%s), expected %s",
               what, e, strerror (e), strerror (errno1));
}

static int
ignore_extent (void *opaque, const char *metacontext, uint64_t offset,
               uint32_t *entries, size_t nr_entries, int *error)
{
  return 0;
}

static void
out_of_range (bool strict)
{
  const uint64_t crossing = size - 512;
  nbd_extent_callback ecb = { .callback = ignore_extent };

  memset (buf, 0xa5, 8192);
  /* Crossing the end. */
  expect_range_error ("read", nbd_pread (h, buf, 1024, crossing, 0),
                      EINVAL, EINVAL);
  expect_range_error ("write", nbd_pwrite (h, buf, 1024, crossing, 0),
                      ENOSPC, EINVAL);
  expect_range_error ("FUA write",
                      nbd_pwrite (h, buf, 8192, crossing,
                                  LIBNBD_CMD_FLAG_FUA), ENOSPC, EINVAL);
  expect_range_error ("zero", nbd_zero (h, 1024, crossing, 0),
                      ENOSPC, EINVAL);
  expect_range_error ("trim", nbd_trim (h, 1024, crossing, 0),
                      EINVAL, ENOSPC);
  expect_range_error ("block status",
                      nbd_block_status (h, 1024, crossing, ecb, 0),
                      EINVAL, EINVAL);
  /* Starting at or beyond the end. */
  expect_range_error ("read at end", nbd_pread (h, buf, 512, size, 0),
                      EINVAL, EINVAL);
  expect_range_error ("write at end", nbd_pwrite (h, buf, 512, size, 0),
                      ENOSPC, EINVAL);
  expect_range_error ("write far beyond",
                      nbd_pwrite (h, buf, 4096, size + (1 << 30), 0),
                      ENOSPC, EINVAL);
  /* Unaligned and crossing. */
  expect_range_error ("unaligned write", nbd_pwrite (h, buf, 2, size - 1, 0),
                      ENOSPC, EINVAL);

  /* Nothing changed, and the connection still works. */
  read_and_check (strict ? "tail after refused requests (libnbd)"
                  : "tail after refused requests (server)",
                  size - (1 << 20), 1 << 20);
  CHECK (nbd_get_size (h) == size);
}

int
main (int argc, char *argv[])
{
  unsigned i;
  uint32_t strict;

  test_init (argc, argv, 80 << 20, 0);
  h = test_connect (LIBNBD_STRICT_ALIGN);
  size = nbd_get_size (h);
  if (size == -1)
    test_fail_nbd ("nbd_get_size");
  CHECK (size >= 2 * MAX_SIZE + (1 << 20));

  shadow = xalloc (size);
  buf = xalloc (MAX_SIZE + 8192 * 2);
  for (int64_t off = 0; off < size; off += MAX_SIZE) {
    uint64_t n = size - off < MAX_SIZE ? size - off : MAX_SIZE;
    if (nbd_pread (h, shadow + off, n, off, 0) == -1)
      test_fail_nbd ("nbd_pread");
  }

  for (i = 0; i < NR_SIZES; i++) {
    const uint64_t len = sizes[i];
    const uint64_t span = size - len + 1;
    uint64_t off;

    write_at (0, len, 0);
    write_at (size - len, len, LIBNBD_CMD_FLAG_FUA);
    write_at (rnd (span) & ~UINT64_C(4095), len, 0);
    write_at (rnd (span), len, 0);
    write_at (rnd (span), len, LIBNBD_CMD_FLAG_FUA);

    off = rnd (span);
    read_and_check ("read", off, len);

    off = rnd (span);
    if (nbd_zero (h, len, off, i & 1 ? LIBNBD_CMD_FLAG_NO_HOLE : 0) == -1)
      test_fail_nbd ("nbd_zero");
    memset (shadow + off, 0, len);
    check_around ("zero", off, len);

    off = rnd (span);
    if (nbd_trim (h, len, off, 0) == -1)
      test_fail_nbd ("nbd_trim");
    if (nbd_pread (h, buf, len, off, 0) == -1)
      test_fail_nbd ("nbd_pread");
    for (uint64_t j = 0; j < len; j++)
      if (buf[j] != 0 && buf[j] != shadow[off + j])
        test_fail ("trim of %" PRIu64 " at %" PRIu64 ": byte at %" PRIu64
                   " is neither old nor zero", len, off, off + j);
    memcpy (shadow + off, buf, len);
    check_around ("trim", off, len);

    fprintf (stderr, "%s: %" PRIu64 " bytes: ok\n", program_name, len);
  }

  /* The very first and last bytes, alone. */
  write_at (0, 1, 0);
  write_at (size - 1, 1, LIBNBD_CMD_FLAG_FUA);
  read_and_check ("first byte", 0, 1);
  read_and_check ("last byte", size - 1, 1);
  read_and_check ("last block", size - 512, 512);

  strict = nbd_get_strict_mode (h);
  CHECK (strict & LIBNBD_STRICT_BOUNDS);
  out_of_range (true);
  if (nbd_set_strict_mode (h, strict & ~LIBNBD_STRICT_BOUNDS) == -1)
    test_fail_nbd ("nbd_set_strict_mode");
  out_of_range (false);

  if (nbd_flush (h, 0) == -1)
    test_fail_nbd ("nbd_flush");
  for (int64_t off = 0; off < size; off += MAX_SIZE) {
    uint64_t n = size - off < MAX_SIZE ? size - off : MAX_SIZE;
    read_and_check ("final contents", off, n);
  }
  test_disconnect (h);
  check_backing (shadow, size);
  free (shadow);
  free (buf);
  return EXIT_SUCCESS;
}
