/* uringblk integration test: unaligned requests, and the
 * read-modify-write race.
 *
 * LIBNBD_STRICT_ALIGN is cleared so that libnbd sends requests at any
 * byte offset and length, which the plugin serves by read-modify-write
 * of the blocks at either end.
 *
 * Part 1: random unaligned reads, writes (some FUA), zeroes (with and
 * without NO_HOLE, some FUA, some fast: done, or refused with ENOTSUP
 * and nothing changed) and trims, one at a time, checked against a
 * shadow.
 *
 * Part 2: the race.  A region is cut at random byte positions into
 * pieces; the pieces are dealt out to NR_CONNS connections, and each
 * connection sends all of its pieces (writes of fresh random bytes, some
 * zeroes, some trims) with up to IN_FLIGHT in flight.  The pieces are byte-disjoint
 * but many share a block with pieces sent concurrently by the other
 * connections (and by the same one), so an unserialised read-modify-
 * write would lose some of them.  After each round the region must hold
 * every written and zeroed piece, and each byte of a trimmed piece must
 * be as it was before the round or zero.
 *
 * Finally the whole disk is compared, and the backing store after
 * disconnect.
 */

#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnbd.h>

#include "test-common.h"

#define NR_CONNS 4
#define IN_FLIGHT 64
#define MAX_LEN (256 << 10)
#define RACE_REGION (1 << 20)
#define MAX_PIECE 1500

static unsigned char *shadow;
static unsigned char *buf;
static int64_t size;

#define BUF_SIZE (4 << 20)

/* Read [off, off+len) in chunks and compare with the shadow. */
static void
read_and_check (struct nbd_handle *h, const char *what,
                uint64_t off, uint64_t len)
{
  while (len > 0) {
    uint64_t n = len < BUF_SIZE ? len : BUF_SIZE;

    if (nbd_pread (h, buf, n, off, 0) == -1)
      test_fail_nbd ("nbd_pread");
    check_bytes (what, off, buf, shadow + off, n);
    off += n;
    len -= n;
  }
}

/* Read and check [off, off+len) widened by margin bytes on each side,
 * clamped to the disk.
 */
static void
read_around (struct nbd_handle *h, const char *what,
             uint64_t off, uint64_t len, uint64_t margin)
{
  uint64_t a = off > margin ? off - margin : 0;
  uint64_t b = off + len + margin;

  if (b > (uint64_t) size)
    b = size;

  read_and_check (h, what, a, b - a);
}

/* A random unaligned length: mostly under a block, sometimes larger. */
static uint64_t
random_length (void)
{
  uint64_t k = rnd (100);

  if (k < 50)
    return 1 + rnd (600);
  if (k < 85)
    return 1 + rnd (9000);
  return 1 + rnd (MAX_LEN);
}

static void
part1 (void)
{
  struct nbd_handle *h = test_connect (LIBNBD_STRICT_ALIGN);
  unsigned n;

  for (n = 0; n < cfg.ops; n++) {
    uint64_t len = random_length ();
    uint64_t off = rnd (size - len + 1);
    uint64_t k = rnd (100), i;
    uint32_t flags = 0;

    if (k < 30)
      read_and_check (h, "unaligned read", off, len);
    else if (k < 70) {
      if (rnd (5) == 0)
        flags |= LIBNBD_CMD_FLAG_FUA;
      rnd_fill (&rnd_global, buf, len);
      if (nbd_pwrite (h, buf, len, off, flags) == -1)
        test_fail_nbd ("unaligned nbd_pwrite");
      memcpy (shadow + off, buf, len);
      if (rnd (4) == 0)
        read_around (h, "read after unaligned write", off, len, 4096);
    }
    else if (k < 88) {
      if (rnd (2))
        flags |= LIBNBD_CMD_FLAG_NO_HOLE;
      if (rnd (5) == 0)
        flags |= LIBNBD_CMD_FLAG_FUA;
      if (rnd (4) == 0)
        flags |= LIBNBD_CMD_FLAG_FAST_ZERO;
      if (nbd_zero (h, len, off, flags) == -1) {
        /* A fast zero may be refused, and then changes nothing. */
        if (!(flags & LIBNBD_CMD_FLAG_FAST_ZERO) || nbd_get_errno () != ENOTSUP)
          test_fail_nbd ("unaligned nbd_zero");
        read_around (h, "after refused unaligned fast zero", off, len, 4096);
        continue;
      }
      memset (shadow + off, 0, len);
      read_around (h, "read after unaligned zero", off, len, 4096);
    }
    else {
      if (nbd_trim (h, len, off, 0) == -1)
        test_fail_nbd ("unaligned nbd_trim");
      if (nbd_pread (h, buf, len, off, 0) == -1)
        test_fail_nbd ("nbd_pread after trim");
      for (i = 0; i < len; i++)
        if (buf[i] != 0 && buf[i] != shadow[off + i])
          test_fail ("unaligned trim [%" PRIu64 ", +%" PRIu64 "): byte at %"
                     PRIu64 " is 0x%02x, neither the old 0x%02x nor zero",
                     off, len, off + i, buf[i], shadow[off + i]);
      memcpy (shadow + off, buf, len);
      /* The blocks around the range must be untouched. */
      read_around (h, "around unaligned trim", off, len, 4096);
    }
  }
  test_disconnect (h);
}

enum piece_op { PIECE_WRITE, PIECE_ZERO, PIECE_TRIM };
static const char *piece_name[] = { "write", "zero", "trim" };

struct piece {
  uint64_t offset, len;
  enum piece_op op;
  unsigned conn;
  bool done;
  int error;
};

struct race {
  struct piece *pieces;
  size_t nr_pieces;
  const unsigned char *data;    /* the bytes each write piece sends */
};

struct racer {
  unsigned id;
  pthread_t thread;
  struct nbd_handle *h;
  struct race *race;
};

static int
piece_done (void *opaque, int *error)
{
  struct piece *p = opaque;

  p->error = *error;
  p->done = true;
  return 1;
}

/* Send every piece dealt to this connection, IN_FLIGHT at a time. */
static void *
run_racer (void *arg)
{
  struct racer *r = arg;
  struct race *race = r->race;
  size_t next = 0, in_flight = 0, i;

  for (;;) {
    while (in_flight < IN_FLIGHT && next < race->nr_pieces) {
      struct piece *p = &race->pieces[next++];
      nbd_completion_callback cb = { .callback = piece_done, .user_data = p };
      int64_t c;

      if (p->conn != r->id)
        continue;
      switch (p->op) {
      case PIECE_ZERO:
        c = nbd_aio_zero (r->h, p->len, p->offset, cb, 0);
        break;
      case PIECE_TRIM:
        c = nbd_aio_trim (r->h, p->len, p->offset, cb, 0);
        break;
      default:
        c = nbd_aio_pwrite (r->h, race->data + p->offset, p->len, p->offset,
                            cb, 0);
      }
      if (c == -1)
        test_fail_nbd ("racing write");
      in_flight++;
    }
    if (in_flight == 0)
      break;
    if (nbd_poll (r->h, -1) == -1)
      test_fail_nbd ("nbd_poll");
    in_flight = nbd_aio_in_flight (r->h);
  }
  for (i = 0; i < race->nr_pieces; i++) {
    struct piece *p = &race->pieces[i];
    if (p->conn == r->id && (!p->done || p->error))
      test_fail ("racing %s [%" PRIu64 ", +%" PRIu64 ") on connection %u: %s",
                 piece_name[p->op], p->offset, p->len, r->id,
                 p->done ? strerror (p->error) : "never completed");
  }
  return NULL;
}

static void
part2 (unsigned rounds)
{
  struct racer racers[NR_CONNS];
  struct race race;
  unsigned char *data = xalloc (size);
  struct piece *pieces = calloc (RACE_REGION, sizeof *pieces);
  unsigned round, i;
  struct nbd_handle *check = test_connect (LIBNBD_STRICT_ALIGN);

  CHECK (pieces != NULL);
  for (i = 0; i < NR_CONNS; i++) {
    racers[i] = (struct racer) { .id = i, .race = &race };
    racers[i].h = test_connect (LIBNBD_STRICT_ALIGN);
  }

  for (round = 0; round < rounds; round++) {
    uint64_t base = rnd ((size - RACE_REGION) / 4096 + 1) * 4096
      + (round & 1 ? rnd (4096) : 0);
    uint64_t pos = base, end = base + RACE_REGION;
    size_t n = 0;

    if (end > (uint64_t) size) {
      end = size;
    }
    while (pos < end) {
      uint64_t len = 1 + rnd (MAX_PIECE);

      if (len > end - pos)
        len = end - pos;
      uint64_t k = rnd (8);

      pieces[n] = (struct piece) {
        .offset = pos, .len = len,
        .op = k == 0 ? PIECE_ZERO : k == 1 ? PIECE_TRIM : PIECE_WRITE,
        .conn = rnd (NR_CONNS),
      };
      switch (pieces[n].op) {
      case PIECE_ZERO: memset (data + pos, 0, len); break;
      case PIECE_TRIM: memcpy (data + pos, shadow + pos, len); break;
      case PIECE_WRITE: rnd_fill (&rnd_global, data + pos, len); break;
      }
      pos += len;
      n++;
    }
    /* Shuffle so that neighbouring pieces go out at about the same time
     * on different connections, in no particular order.
     */
    for (i = n - 1; i > 0; i--) {
      uint64_t j = rnd (i + 1);
      struct piece t = pieces[i];
      pieces[i] = pieces[j];
      pieces[j] = t;
    }
    race = (struct race) { .pieces = pieces, .nr_pieces = n, .data = data };

    for (i = 0; i < NR_CONNS; i++) {
      int r = pthread_create (&racers[i].thread, NULL, run_racer, &racers[i]);
      if (r != 0)
        test_fail ("pthread_create: %s", strerror (r));
    }
    for (i = 0; i < NR_CONNS; i++)
      pthread_join (racers[i].thread, NULL);

    CHECK (end - base <= BUF_SIZE);
    if (nbd_pread (check, buf, end - base, base, 0) == -1)
      test_fail_nbd ("nbd_pread");
    for (i = 0; i < n; i++) {
      const struct piece *p = &pieces[i];
      const unsigned char *got = buf + (p->offset - base);

      if (p->op == PIECE_TRIM) {
        /* data[] holds the bytes from before the round. */
        for (uint64_t j = 0; j < p->len; j++)
          if (got[j] != 0 && got[j] != data[p->offset + j])
            test_fail ("racing trim [%" PRIu64 ", +%" PRIu64 "): byte at %"
                       PRIu64 " is 0x%02x, neither the old 0x%02x nor zero",
                       p->offset, p->len, p->offset + j, got[j],
                       data[p->offset + j]);
        memcpy (data + p->offset, got, p->len);
      }
      else if (memcmp (got, data + p->offset, p->len) != 0)
        check_bytes (p->op == PIECE_ZERO ? "racing zero lost"
                     : "racing write lost",
                     p->offset, got, data + p->offset, p->len);
    }
    memcpy (shadow + base, data + base, end - base);
    /* The blocks around the region were not written at all. */
    read_around (check, "around the race region", base, end - base, 8192);
    fprintf (stderr, "%s: race round %u: %zu pieces at %" PRIu64 ": ok\n",
             program_name, round, n, base);
  }

  for (i = 0; i < NR_CONNS; i++)
    test_disconnect (racers[i].h);
  test_disconnect (check);
  free (pieces);
  free (data);
}

int
main (int argc, char *argv[])
{
  struct nbd_handle *h;

  test_init (argc, argv, 16 << 20, 3000);

  h = test_connect (LIBNBD_STRICT_ALIGN);
  size = nbd_get_size (h);
  if (size == -1)
    test_fail_nbd ("nbd_get_size");
  CHECK (size >= 2 * RACE_REGION);
  shadow = xalloc (size);
  buf = xalloc (BUF_SIZE);
  for (int64_t off = 0; off < size; off += BUF_SIZE) {
    uint64_t n = size - off < BUF_SIZE ? size - off : BUF_SIZE;
    if (nbd_pread (h, shadow + off, n, off, 0) == -1)
      test_fail_nbd ("nbd_pread");
  }
  test_disconnect (h);

  part1 ();
  /* 12 rounds by default; shorter runs (--ops) race fewer rounds. */
  part2 (cfg.ops / 250 < 2 ? 2 : cfg.ops / 250 > 12 ? 12 : cfg.ops / 250);

  h = test_connect (LIBNBD_STRICT_ALIGN);
  read_and_check (h, "final contents", 0, size);
  test_disconnect (h);
  check_backing (shadow, size);
  free (shadow);
  free (buf);
  return EXIT_SUCCESS;
}
