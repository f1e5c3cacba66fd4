/* uringblk integration test: concurrent random I/O from several
 * connections.
 *
 * NR_CONNS threads each open their own connection and own a disjoint
 * region of the disk.  Each keeps up to IN_FLIGHT commands outstanding
 * (libnbd aio), so the server sees many requests at once from every
 * connection and runs them on all its worker threads.  Commands in
 * flight on one connection never overlap each other (each holds a
 * "slot" of the region until it completes), so the outcome of every
 * command is defined and is checked against a shadow copy:
 * reads at completion, writes and zeroes by later reads and the final
 * comparison, trims by a follow-up read (each byte old or zero).
 * At the end the whole disk is read back over a fresh connection and
 * the backing store is compared after disconnect.
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
#define IN_FLIGHT 32
#define SLOT_SIZE (256 << 10)

static unsigned char *shadow;
static int64_t size;
static uint64_t align;

enum op { OP_READ, OP_WRITE, OP_ZERO, OP_TRIM, OP_TRIM_CHECK, OP_FLUSH };
static const char *op_name[] = {
  "read", "write", "zero", "trim", "read after trim", "flush"
};

struct command {
  bool busy;                    /* submitted, not yet retired */
  bool done;                    /* completion callback ran */
  int error;
  enum op op;
  uint32_t flags;
  uint64_t slot;
  uint64_t offset, len;
  unsigned char *buf;           /* SLOT_SIZE bytes */
};

struct conn {
  unsigned id;
  pthread_t thread;
  struct rnd_state rnd;
  uint64_t base, nr_slots;      /* region [base, base + nr_slots*SLOT_SIZE) */
  bool *slot_busy;
  struct command cmd[IN_FLIGHT];
  unsigned ops;
};

static int
complete (void *opaque, int *error)
{
  struct command *c = opaque;

  c->error = *error;
  c->done = true;
  return 1;                     /* retire the command */
}

static void
submit (struct nbd_handle *h, struct command *c)
{
  nbd_completion_callback cb = { .callback = complete, .user_data = c };
  int64_t r = -1;

  c->done = false;
  c->error = 0;
  switch (c->op) {
  case OP_READ:
  case OP_TRIM_CHECK:
    r = nbd_aio_pread (h, c->buf, c->len, c->offset, cb, 0);
    break;
  case OP_WRITE:
    r = nbd_aio_pwrite (h, c->buf, c->len, c->offset, cb, c->flags);
    break;
  case OP_ZERO:
    r = nbd_aio_zero (h, c->len, c->offset, cb, c->flags);
    break;
  case OP_TRIM:
    r = nbd_aio_trim (h, c->len, c->offset, cb, c->flags);
    break;
  case OP_FLUSH:
    r = nbd_aio_flush (h, cb, 0);
    break;
  }
  if (r == -1)
    test_fail_nbd (op_name[c->op]);
  c->busy = true;
}

/* Start a new random command in a free slot of this connection. */
static void
start_random (struct nbd_handle *h, struct conn *cn, struct command *c)
{
  uint64_t k = rnd_below (&cn->rnd, 100);
  uint64_t blocks_per_slot = SLOT_SIZE / align, first, nblocks;

  if (k < 3) {
    c->op = OP_FLUSH;
    c->slot = UINT64_MAX;
    submit (h, c);
    return;
  }

  do
    c->slot = rnd_below (&cn->rnd, cn->nr_slots);
  while (cn->slot_busy[c->slot]);
  cn->slot_busy[c->slot] = true;

  first = rnd_below (&cn->rnd, blocks_per_slot);
  nblocks = 1 + rnd_below (&cn->rnd, blocks_per_slot - first);
  if (rnd_below (&cn->rnd, 4))  /* mostly short requests */
    nblocks = 1 + rnd_below (&cn->rnd, nblocks < 8 ? nblocks : 8);
  c->offset = cn->base + c->slot * SLOT_SIZE + first * align;
  c->len = nblocks * align;
  c->flags = 0;

  if (k < 40)
    c->op = OP_READ;
  else if (k < 80) {
    c->op = OP_WRITE;
    if (rnd_below (&cn->rnd, 5) == 0)
      c->flags = LIBNBD_CMD_FLAG_FUA;
    rnd_fill (&cn->rnd, c->buf, c->len);
    memcpy (shadow + c->offset, c->buf, c->len);
  }
  else if (k < 92) {
    c->op = OP_ZERO;
    if (rnd_below (&cn->rnd, 2))
      c->flags |= LIBNBD_CMD_FLAG_NO_HOLE;
    if (rnd_below (&cn->rnd, 5) == 0)
      c->flags |= LIBNBD_CMD_FLAG_FUA;
    memset (shadow + c->offset, 0, c->len);
  }
  else
    c->op = OP_TRIM;
  submit (h, c);
}

/* Check a completed command; returns true if the slot is free again. */
static bool
finish (struct nbd_handle *h, struct conn *cn, struct command *c)
{
  uint64_t i;

  if (c->error)
    test_fail ("connection %u: %s [%" PRIu64 ", +%" PRIu64 "] flags 0x%x "
               "failed: %s", cn->id, op_name[c->op], c->offset, c->len,
               c->flags, strerror (c->error));
  switch (c->op) {
  case OP_READ:
    check_bytes ("concurrent read", c->offset, c->buf, shadow + c->offset,
                 c->len);
    break;
  case OP_TRIM:
    /* Keep the slot and read it back to learn what trim left. */
    c->op = OP_TRIM_CHECK;
    submit (h, c);
    return false;
  case OP_TRIM_CHECK:
    for (i = 0; i < c->len; i++)
      if (c->buf[i] != 0 && c->buf[i] != shadow[c->offset + i])
        test_fail ("trim [%" PRIu64 ", +%" PRIu64 "): byte at %" PRIu64
                   " is 0x%02x, neither the old 0x%02x nor zero",
                   c->offset, c->len, c->offset + i, c->buf[i],
                   shadow[c->offset + i]);
    memcpy (shadow + c->offset, c->buf, c->len);
    break;
  case OP_WRITE:
  case OP_ZERO:
  case OP_FLUSH:
    break;
  }
  return true;
}

static void *
run_conn (void *arg)
{
  struct conn *cn = arg;
  struct nbd_handle *h = test_connect (0);
  unsigned started = 0, i, active;

  for (i = 0; i < IN_FLIGHT; i++)
    cn->cmd[i].buf = xalloc (SLOT_SIZE);

  for (;;) {
    active = 0;
    for (i = 0; i < IN_FLIGHT; i++) {
      struct command *c = &cn->cmd[i];

      if (c->busy && c->done) {
        c->busy = false;
        if (finish (h, cn, c)) {
          if (c->slot != UINT64_MAX)
            cn->slot_busy[c->slot] = false;
        }
      }
      if (!c->busy && started < cn->ops) {
        start_random (h, cn, c);
        started++;
      }
      active += c->busy;
    }
    if (active == 0)
      break;
    if (nbd_poll (h, -1) == -1)
      test_fail_nbd ("nbd_poll");
  }

  test_disconnect (h);
  for (i = 0; i < IN_FLIGHT; i++)
    free (cn->cmd[i].buf);
  return NULL;
}

int
main (int argc, char *argv[])
{
  struct conn conns[NR_CONNS];
  struct nbd_handle *h;
  unsigned i;
  int64_t minb;
  uint64_t region;

  test_init (argc, argv, 64 << 20, 12000);

  h = test_connect (0);
  size = nbd_get_size (h);
  minb = nbd_get_block_size (h, LIBNBD_SIZE_MINIMUM);
  if (size == -1 || minb == -1)
    test_fail_nbd ("nbd_get_size/nbd_get_block_size");
  align = minb > 0 ? minb : 512;
  CHECK (nbd_can_multi_conn (h) == 1);
  region = size / NR_CONNS / SLOT_SIZE * SLOT_SIZE;
  CHECK (region / SLOT_SIZE >= 2 * IN_FLIGHT);

  shadow = xalloc (size);
  for (int64_t off = 0; off < size; off += SLOT_SIZE) {
    uint64_t len = size - off < SLOT_SIZE ? size - off : SLOT_SIZE;
    if (nbd_pread (h, shadow + off, len, off, 0) == -1)
      test_fail_nbd ("nbd_pread");
  }
  test_disconnect (h);

  for (i = 0; i < NR_CONNS; i++) {
    conns[i] = (struct conn) {
      .id = i, .base = i * region, .nr_slots = region / SLOT_SIZE,
      .ops = cfg.ops / NR_CONNS,
    };
    rnd_state_seed (&conns[i].rnd, cfg.seed + i + 1);
    conns[i].slot_busy = calloc (conns[i].nr_slots, sizeof (bool));
    CHECK (conns[i].slot_busy != NULL);
  }
  for (i = 0; i < NR_CONNS; i++) {
    int r = pthread_create (&conns[i].thread, NULL, run_conn, &conns[i]);
    if (r != 0)
      test_fail ("pthread_create: %s", strerror (r));
  }
  for (i = 0; i < NR_CONNS; i++)
    pthread_join (conns[i].thread, NULL);

  /* Everything every connection wrote, read over a new connection. */
  h = test_connect (0);
  {
    unsigned char *buf = xalloc (SLOT_SIZE);
    for (int64_t off = 0; off < size; off += SLOT_SIZE) {
      uint64_t len = size - off < SLOT_SIZE ? size - off : SLOT_SIZE;
      if (nbd_pread (h, buf, len, off, 0) == -1)
        test_fail_nbd ("nbd_pread");
      check_bytes ("final read", off, buf, shadow + off, len);
    }
    free (buf);
  }
  check_extents (h, shadow, 0, size);
  test_disconnect (h);
  check_backing (shadow, size);

  fprintf (stderr, "%s: %u connections x %u commands, up to %u in flight "
           "each: ok\n", program_name, NR_CONNS, cfg.ops / NR_CONNS,
           IN_FLIGHT);
  for (i = 0; i < NR_CONNS; i++)
    free (conns[i].slot_busy);
  free (shadow);
  return EXIT_SUCCESS;
}
