/* uringblk integration test: how trim and zero change the allocation of
 * a regular file backing, and what block status says about it.
 *
 * Directed steps on a fresh sparse file, each checked three ways: the
 * bytes read over NBD, base:allocation, and the file itself (SEEK_DATA /
 * SEEK_HOLE and FIEMAP):
 *   - a fresh sparse file is one hole, reported hole+zero;
 *   - written ranges are data and mapped;
 *   - an aligned trim punches a hole (reads zero, hole+zero, unmapped)
 *     and leaves its neighbours alone;
 *   - zero with NO_HOLE reads zero and keeps the range allocated;
 *   - zero that may trim reads zero;
 *   - fast zero reads zero, or fails with ENOTSUP and changes nothing;
 *   - an unaligned trim leaves each byte old or zero and punches the
 *     whole blocks inside it.
 */

#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnbd.h>

#include "test-common.h"

#define K 1024
#define M (1024 * 1024)

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

static void
write_random (uint64_t off, uint64_t len)
{
  rnd_fill (&rnd_global, shadow + off, len);
  if (nbd_pwrite (h, shadow + off, len, off, 0) == -1)
    test_fail_nbd ("nbd_pwrite");
}

static void
expect_mapped (const char *what, uint64_t off, uint64_t len, uint64_t want)
{
  uint64_t got = backing_mapped_bytes (off, len);

  if (got != want)
    test_fail ("%s: [%" PRIu64 ", +%" PRIu64 ") has %" PRIu64
               " bytes mapped in the backing file, expected %" PRIu64,
               what, off, len, got, want);
}

static void
expect_flags (const char *what, uint64_t off, uint64_t len, uint32_t flags)
{
  if (!extents_all_have (h, off, len, flags))
    test_fail ("%s: block status for [%" PRIu64 ", +%" PRIu64 ") lacks "
               "flags 0x%x", what, off, len, flags);
}

int
main (int argc, char *argv[])
{
  uint64_t i;

  test_init (argc, argv, 16 * M, 0);
  if (!cfg.backing_is_file) {
    fprintf (stderr, "%s: SKIP: %s is not a regular file\n",
             program_name, cfg.backing);
    exit (77);
  }
  h = test_connect (LIBNBD_STRICT_ALIGN);
  size = nbd_get_size (h);
  if (size == -1)
    test_fail_nbd ("nbd_get_size");
  CHECK (size >= 8 * M);
  shadow = xalloc (size);
  buf = xalloc (size);
  if (nbd_pread (h, shadow, size, 0, 0) == -1)
    test_fail_nbd ("nbd_pread");

  /* Start sparse: the self-hosted backing is; an external one is made
   * so by trimming all of it.
   */
  if (nbd_trim (h, size, 0, 0) == -1)
    test_fail_nbd ("nbd_trim");
  memset (shadow, 0, size);
  read_and_check ("whole disk after trim", 0, size);
  expect_flags ("whole disk after trim", 0, size,
                LIBNBD_STATE_HOLE|LIBNBD_STATE_ZERO);
  CHECK (backing_is_hole (0, size));
  expect_mapped ("whole disk after trim", 0, size, 0);

  /* Written data is data. */
  write_random (1 * M, 64 * K);
  expect_flags ("written", 1 * M, 64 * K, 0);
  check_extents (h, shadow, 0, 2 * M);
  expect_mapped ("written", 1 * M, 64 * K, 64 * K);

  /* Aligned trim in the middle of it punches exactly that. */
  if (nbd_trim (h, 32 * K, 1 * M + 16 * K, 0) == -1)
    test_fail_nbd ("nbd_trim");
  memset (shadow + 1 * M + 16 * K, 0, 32 * K);
  read_and_check ("around aligned trim", 1 * M - 4 * K, 72 * K);
  expect_flags ("aligned trim", 1 * M + 16 * K, 32 * K,
                LIBNBD_STATE_HOLE|LIBNBD_STATE_ZERO);
  CHECK (backing_is_hole (1 * M + 16 * K, 32 * K));
  expect_mapped ("after aligned trim", 1 * M, 64 * K, 32 * K);
  check_extents (h, shadow, 0, 2 * M);

  /* Zero with NO_HOLE keeps the range allocated. */
  write_random (2 * M, 64 * K);
  if (nbd_zero (h, 64 * K, 2 * M, LIBNBD_CMD_FLAG_NO_HOLE) == -1)
    test_fail_nbd ("nbd_zero NO_HOLE");
  memset (shadow + 2 * M, 0, 64 * K);
  read_and_check ("around zero NO_HOLE", 2 * M - 4 * K, 72 * K);
  expect_mapped ("zero NO_HOLE", 2 * M, 64 * K, 64 * K);
  check_extents (h, shadow, 0, 4 * M);

  /* Zero that may trim, with FUA. */
  write_random (3 * M, 64 * K);
  if (nbd_zero (h, 64 * K, 3 * M, LIBNBD_CMD_FLAG_FUA) == -1)
    test_fail_nbd ("nbd_zero");
  memset (shadow + 3 * M, 0, 64 * K);
  read_and_check ("around zero", 3 * M - 4 * K, 72 * K);
  check_extents (h, shadow, 0, 4 * M);

  /* Fast zero: done, or refused with ENOTSUP and nothing changed. */
  write_random (4 * M, 64 * K);
  if (nbd_zero (h, 64 * K, 4 * M, LIBNBD_CMD_FLAG_FAST_ZERO) == -1) {
    if (nbd_get_errno () != ENOTSUP)
      test_fail_nbd ("nbd_zero FAST_ZERO");
    fprintf (stderr, "%s: fast zero refused with ENOTSUP\n", program_name);
  }
  else
    memset (shadow + 4 * M, 0, 64 * K);
  read_and_check ("around fast zero", 4 * M - 4 * K, 72 * K);
  check_extents (h, shadow, 0, 5 * M);

  /* Zero NO_HOLE over a hole reads zero. */
  if (nbd_zero (h, 64 * K, 6 * M, LIBNBD_CMD_FLAG_NO_HOLE) == -1)
    test_fail_nbd ("nbd_zero NO_HOLE over a hole");
  read_and_check ("zero NO_HOLE over a hole", 6 * M, 64 * K);

  /* Unaligned trim: old or zero; whole blocks inside are punched. */
  write_random (5 * M, 64 * K);
  if (nbd_set_strict_mode (h, nbd_get_strict_mode (h) & ~LIBNBD_STRICT_ALIGN)
      == -1)
    test_fail_nbd ("nbd_set_strict_mode");
  if (nbd_trim (h, 10000, 5 * M + 100, 0) == -1)
    test_fail_nbd ("unaligned nbd_trim");
  if (nbd_pread (h, buf, 64 * K, 5 * M, 0) == -1)
    test_fail_nbd ("nbd_pread");
  for (i = 0; i < 64 * K; i++) {
    bool inside = i >= 100 && i < 100 + 10000;
    unsigned char old = shadow[5 * M + i];
    if (inside ? (buf[i] != 0 && buf[i] != old) : buf[i] != old)
      test_fail ("unaligned trim: byte at %" PRIu64 " is 0x%02x (old 0x%02x,"
                 " %s the trimmed range)", 5 * M + i, buf[i], old,
                 inside ? "inside" : "outside");
  }
  memcpy (shadow + 5 * M, buf, 64 * K);
  expect_flags ("whole blocks in unaligned trim", 5 * M + 4 * K, 4 * K,
                LIBNBD_STATE_HOLE|LIBNBD_STATE_ZERO);
  CHECK (backing_is_hole (5 * M + 4 * K, 4 * K));

  check_extents (h, shadow, 0, size);
  read_and_check ("final contents", 0, size);
  test_disconnect (h);
  check_backing (shadow, size);
  free (shadow);
  free (buf);
  return EXIT_SUCCESS;
}
