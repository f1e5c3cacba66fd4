/* uringblk integration test: every NBD command against a shadow copy.
 *
 * Thousands of random commands (read, write, write+FUA, flush, trim,
 * zero with and without NO_HOLE / FUA / FAST_ZERO, block status) are
 * sent one at a time, aligned to the export's minimum block size, and
 * every result is checked against an in-memory copy of what the disk
 * must hold:
 *   - reads return exactly the shadow bytes;
 *   - zero reads back as zero; fast zero either does that or fails with
 *     ENOTSUP leaving the data alone;
 *   - trim leaves each byte either as it was or zero, and on a regular
 *     file the file-system-block-aligned part of the range reads as zero
 *     and is reported as hole+zero (it was punched);
 *   - block status agrees with SEEK_DATA/SEEK_HOLE on the backing file,
 *     and nothing reported as zero holds data;
 * and after disconnecting, the backing store itself equals the shadow.
 */

#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libnbd.h>

#include "test-common.h"

static struct nbd_handle *h;
static unsigned char *shadow;   /* what the disk must hold */
static unsigned char *buf;      /* request buffer */
static int64_t size;
static uint64_t align;          /* export minimum block size */
static uint64_t fs_block;       /* allocation unit of a file backing */

#define MAX_LEN (4 << 20)

static struct {
  unsigned read, write, fua, flush, trim, zero, fast_zero, fast_zero_enotsup,
    block_status;
} stats;

/* A random length, multiple of align: mostly small, sometimes large. */
static uint64_t
random_length (void)
{
  uint64_t k = rnd (100), blocks;

  if (k < 70)
    blocks = 1 + rnd (16);
  else if (k < 95)
    blocks = 1 + rnd ((256 << 10) / align);
  else
    blocks = 1 + rnd (MAX_LEN / align);
  if (blocks * align > (uint64_t) size)
    blocks = size / align;
  return blocks * align;
}

static uint64_t
random_offset (uint64_t len)
{
  return rnd ((size - len) / align + 1) * align;
}

static void
read_and_check (const char *what, uint64_t off, uint64_t len)
{
  if (nbd_pread (h, buf, len, off, 0) == -1)
    test_fail_nbd ("nbd_pread");
  check_bytes (what, off, buf, shadow + off, len);
}

static void
do_write (uint64_t off, uint64_t len)
{
  uint32_t flags = 0;

  if (rnd (5) == 0) {
    flags = LIBNBD_CMD_FLAG_FUA;
    stats.fua++;
  }
  rnd_fill (&rnd_global, buf, len);
  if (nbd_pwrite (h, buf, len, off, flags) == -1)
    test_fail_nbd ("nbd_pwrite");
  memcpy (shadow + off, buf, len);
  stats.write++;
}

/* Trim: each byte is left alone or zeroed; the part of the range that
 * covers whole file-system blocks of a regular file must be punched.
 */
static void
do_trim (uint64_t off, uint64_t len)
{
  uint64_t i, a, b;

  if (nbd_trim (h, len, off, rnd (4) == 0 ? LIBNBD_CMD_FLAG_FUA : 0) == -1)
    test_fail_nbd ("nbd_trim");
  if (nbd_pread (h, buf, len, off, 0) == -1)
    test_fail_nbd ("nbd_pread after trim");
  for (i = 0; i < len; i++)
    if (buf[i] != 0 && buf[i] != shadow[off + i])
      test_fail ("trim [%" PRIu64 ", +%" PRIu64 "): byte at %" PRIu64
                 " is 0x%02x, neither the old 0x%02x nor zero",
                 off, len, off + i, buf[i], shadow[off + i]);

  if (cfg.backing_is_file) {
    a = (off + fs_block - 1) / fs_block * fs_block;
    b = (off + len) / fs_block * fs_block;
    if (a < b) {
      if (!is_zero (buf + (a - off), b - a))
        test_fail ("trim [%" PRIu64 ", +%" PRIu64 "): aligned part [%"
                   PRIu64 ", %" PRIu64 ") of a file backing is not zero",
                   off, len, a, b);
      if (!backing_is_hole (a, b - a))
        test_fail ("trim [%" PRIu64 ", +%" PRIu64 "): aligned part [%"
                   PRIu64 ", %" PRIu64 ") was not punched in the backing "
                   "file", off, len, a, b);
      if (!extents_all_have (h, a, b - a,
                             LIBNBD_STATE_HOLE|LIBNBD_STATE_ZERO))
        test_fail ("trim [%" PRIu64 ", +%" PRIu64 "): block status does not "
                   "report [%" PRIu64 ", %" PRIu64 ") as hole+zero",
                   off, len, a, b);
    }
  }
  memcpy (shadow + off, buf, len);
  stats.trim++;
}

/* Zero with random flags.  Fast zero may be refused with ENOTSUP, and
 * then must not have touched the data.
 */
static void
do_zero (uint64_t off, uint64_t len)
{
  uint32_t flags = 0;
  bool fast = false;

  if (rnd (2))
    flags |= LIBNBD_CMD_FLAG_NO_HOLE;
  if (rnd (5) == 0)
    flags |= LIBNBD_CMD_FLAG_FUA;
  if (rnd (4) == 0) {
    flags |= LIBNBD_CMD_FLAG_FAST_ZERO;
    fast = true;
    stats.fast_zero++;
  }

  if (nbd_zero (h, len, off, flags) == -1) {
    if (!fast || nbd_get_errno () != ENOTSUP)
      test_fail_nbd ("nbd_zero");
    stats.fast_zero_enotsup++;
    read_and_check ("data after refused fast zero", off, len);
    return;
  }
  memset (shadow + off, 0, len);
  read_and_check ("read after zero", off, len);
  stats.zero++;
}

int
main (int argc, char *argv[])
{
  unsigned n;
  int64_t minb;
  struct stat st;

  test_init (argc, argv, 64 << 20, 4000);
  h = test_connect (0);

  size = nbd_get_size (h);
  if (size == -1)
    test_fail_nbd ("nbd_get_size");
  minb = nbd_get_block_size (h, LIBNBD_SIZE_MINIMUM);
  if (minb == -1)
    test_fail_nbd ("nbd_get_block_size");
  align = minb > 0 ? minb : 512;
  CHECK (size > 0 && size % align == 0);
  CHECK (nbd_is_read_only (h) == 0);
  CHECK (nbd_can_flush (h) == 1);
  CHECK (nbd_can_fua (h) == 1);
  CHECK (nbd_can_trim (h) == 1);
  CHECK (nbd_can_zero (h) == 1);
  CHECK (nbd_can_fast_zero (h) == 1);
  CHECK (nbd_can_meta_context (h, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1);

  fs_block = 4096;
  if (cfg.backing_is_file && stat (cfg.backing, &st) == 0 &&
      st.st_blksize > 0)
    fs_block = st.st_blksize;

  shadow = xalloc (size);
  buf = xalloc (MAX_LEN);

  /* Start from what the backing store holds, and check that the server
   * serves exactly that.
   */
  {
    FILE *fp = fopen (cfg.backing, "re");
    if (fp == NULL || fread (shadow, 1, size, fp) != (size_t) size)
      test_fail ("read %s: %m", cfg.backing);
    fclose (fp);
  }
  for (int64_t off = 0; off < size; off += MAX_LEN) {
    uint64_t len = size - off < MAX_LEN ? size - off : MAX_LEN;
    read_and_check ("initial contents", off, len);
  }
  check_extents (h, shadow, 0, size);

  for (n = 0; n < cfg.ops; n++) {
    uint64_t k = rnd (100);
    uint64_t len = random_length ();
    uint64_t off = random_offset (len);

    if (k < 30) {
      read_and_check ("read", off, len);
      stats.read++;
    }
    else if (k < 60)
      do_write (off, len);
    else if (k < 64) {
      if (nbd_flush (h, 0) == -1)
        test_fail_nbd ("nbd_flush");
      stats.flush++;
    }
    else if (k < 74)
      do_trim (off, len);
    else if (k < 90)
      do_zero (off, len);
    else {
      check_extents (h, shadow, off, len);
      stats.block_status++;
    }

    if (n % 1000 == 999)
      check_extents (h, shadow, 0, size);
  }

  if (nbd_flush (h, 0) == -1)
    test_fail_nbd ("nbd_flush");
  for (int64_t off = 0; off < size; off += MAX_LEN) {
    uint64_t len = size - off < MAX_LEN ? size - off : MAX_LEN;
    read_and_check ("final contents", off, len);
  }
  check_extents (h, shadow, 0, size);
  test_disconnect (h);
  check_backing (shadow, size);

  fprintf (stderr, "%s: size=%" PRIi64 " align=%" PRIu64 " ops=%u: "
           "%u reads, %u writes (%u FUA), %u flushes, %u trims, "
           "%u zeroes, %u fast zeroes (%u ENOTSUP), %u block status\n",
           program_name, size, align, cfg.ops, stats.read, stats.write,
           stats.fua, stats.flush, stats.trim, stats.zero, stats.fast_zero,
           stats.fast_zero_enotsup, stats.block_status);
  free (shadow);
  free (buf);
  return EXIT_SUCCESS;
}
