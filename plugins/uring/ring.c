/* uringblk: the hot path.  One io_uring per nbdkit worker thread, its
 * registered buffers, and the engine that moves an NBD request through
 * them.
 *
 * Thread model
 * ------------
 * nbdkit runs the plugin with NBDKIT_THREAD_MODEL_PARALLEL: each client
 * connection has its own pool of worker threads (nbdkit -t, 16 by
 * default) and each worker calls one plugin callback at a time.  Every
 * worker owns a private ring (uring.c keeps it in a pthread key and
 * creates it on the worker's first request), so the hot path takes no
 * lock and shares no queue:
 *
 *   - the ring is set up with SINGLE_ISSUER and DEFER_TASKRUN where the
 *     kernel has them (probed once, see ring_probe): only its owner
 *     submits, and completions are run in the owner's context when it
 *     waits, never by interrupting it;
 *   - its buffer area (page aligned; it starts at one buffer_size and
 *     doubles when a request does not fit, up to nbuffers x buffer_size)
 *     and a small area for read-modify-write edge blocks are registered
 *     (READ_FIXED / WRITE_FIXED), and so is the backing fd
 *     (IOSQE_FIXED_FILE), so no request pins pages or looks up the file;
 *     growing re-registers the area, between requests;
 *   - parallelism across requests comes from the worker threads (and
 *     from several connections); a request that fits the area is one
 *     operation, a larger one is split into buffer_size chunks that are
 *     in flight together.
 *
 * Life of a request
 * -----------------
 * nbdkit hands a callback its own, unaligned, buffer.  O_DIRECT needs
 * aligned memory, so data always travels through the ring's buffers:
 *
 *   read:  the range is widened to whole blocks (align.h); if it fits
 *          the area it is one READ_FIXED, else it is cut into buffer_size
 *          chunks, up to nbuffers READ_FIXED in flight at once; as each
 *          completes its useful part is copied out and the buffer is
 *          reused for the next chunk.  One io_uring_enter submits the
 *          new SQEs and waits: for everything in flight once nothing more
 *          can be issued, else for half of it (one wake-up per batch).
 *   write: the same pipeline in the other direction (copy in, then
 *          WRITE_FIXED).  If the first or last block is only partly
 *          written, those blocks are read first (the caller holds the
 *          range lock, so nobody else changes them meanwhile) and the
 *          client's bytes are laid over them.
 *   FUA:   with fua=dsync (the default) every write SQE carries
 *          RWF_DSYNC.  With fua=link the last chunk is submitted, after
 *          all other chunks have completed, together with an fdatasync
 *          linked to it (IOSQE_IO_LINK) in one io_uring_enter.  The
 *          kernel fails the link if the write comes back short,
 *          cancelling the fsync (-ECANCELED); the rest is then
 *          resubmitted with a new linked fsync, so a request is never
 *          acknowledged before its bytes are durable.
 *   flush: IORING_OP_FSYNC with IORING_FSYNC_DATASYNC.  fdatasync acts
 *          on the inode, so it covers writes completed on every fd and
 *          every connection: this is what makes multi-conn safe.
 *   trim/zero: IORING_OP_FALLOCATE (linked to an fdatasync for FUA).
 *
 * Short transfers and -EAGAIN/-EINTR completions are resubmitted for
 * what is left (from the last block boundary reached, so O_DIRECT
 * alignment holds).  A transfer that stops making progress (end of file
 * reached because the file shrank, a device that went away) fails with
 * -EIO; it never returns zeroes or succeeds early.  When a request
 * fails, no new SQE is issued, but the engine still waits for every
 * SQE in flight before returning, because they point at the ring's
 * buffers.
 *
 * Degraded modes, chosen at ring creation: unregistered buffers
 * (IORING_OP_READ/WRITE on the same aligned memory) when registration
 * fails, e.g. under RLIMIT_MEMLOCK; an unregistered fd; and a
 * synchronous engine (pread/pwritev2/fdatasync/fallocate) when io_uring
 * cannot be used at all.  The synchronous engine runs each operation
 * as it is queued and keeps its results in a small completion queue, so
 * the request engine above is the same code in every mode.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <liburing.h>

#include "align.h"
#include "params.h"
#include "ring.h"

#define MEM_ALIGN 4096


/* A chunk that keeps failing to make progress (-EAGAIN forever, reads
 * of less than a block) gives up after this many resubmissions.
 */
#define MAX_STALLS 1000

/* user_data: what a completion belongs to. */
#define UD_KIND_SHIFT 16
#define UD_IO     (UINT64_C(1) << UD_KIND_SHIFT) /* | slot index */
#define UD_FSYNC  (UINT64_C(2) << UD_KIND_SHIFT) /* linked fsync of a write */
#define UD_SINGLE (UINT64_C(3) << UD_KIND_SHIFT) /* a lone operation */
#define UD_KIND(ud) ((ud) & ~((UINT64_C(1) << UD_KIND_SHIFT) - 1))
#define UD_INDEX(ud) ((unsigned) ((ud) & ((UINT64_C(1) << UD_KIND_SHIFT) - 1)))

enum op_code { OP_READ, OP_WRITE, OP_FSYNC, OP_FALLOCATE };

/* One operation for the backend (io_uring or synchronous). */
struct op {
  enum op_code code;
  int buf_index;                /* registered buffer, or -1 */
  void *addr;
  uint64_t len;                 /* 64 bits for fallocate */
  uint64_t offset;
  int rw_flags;                 /* RWF_DSYNC */
  int mode;                     /* fallocate mode */
  bool link;                    /* the next op depends on this one */
  uint64_t user_data;
};

/* One buffer's share of a read or write. */
struct slot {
  bool busy;
  uint64_t offset;              /* file offset of the chunk */
  uint32_t len;                 /* chunk length (block multiple) */
  uint32_t done;                /* bytes completed (block multiple) */
  unsigned stalls;
  bool fua_link;                /* carries the request's linked fsync */
};

/* Completions of the synchronous engine. */
struct sync_cqe {
  uint64_t user_data;
  int res;
};
/* A request queues at most one op per buffer plus a linked fsync before
 * it reaps; a power of 2 so the free-running indexes wrap cleanly.
 */
#define SYNC_CQ_SIZE 128
_Static_assert (PARAM_BUFFERS_MAX + 2 <= SYNC_CQ_SIZE, "SYNC_CQ_SIZE");

struct ring {
  struct ring_config cfg;
  int fd;                       /* the backing (not owned) */
  bool uring;
  bool fixed_buffers;
  int fixed_buffers_error;      /* -errno if registration failed */
  bool fixed_file;
  bool broken;                  /* submission failed: do not reuse */
  struct io_uring ring;

  char *area;                   /* the data buffers (AREA_INDEX) */
  size_t area_size;             /* grows on demand up to area_max */
  size_t area_max;              /* nbuffers x buffer_size */
  char *edge;                   /* two blocks for RMW edges (EDGE_INDEX) */

  struct slot slots[PARAM_BUFFERS_MAX];

  struct sync_cqe scq[SYNC_CQ_SIZE];
  unsigned scq_head, scq_tail;
  bool sync_link_failed;        /* the previous linked sync op failed */
};

/* Registered buffer indexes. */
#define AREA_INDEX 0
#define EDGE_INDEX 1

/* Slot i's memory.  A request that fits the area is one chunk in slot
 * 0 spanning as much of the area as it needs; a larger one is cut into
 * buffer_size chunks, slot i at i x buffer_size (the area is then at
 * its largest, nbuffers x buffer_size).
 */
static inline char *
slot_buf (struct ring *r, unsigned i)
{
  return r->area + (size_t) i * r->cfg.buffer_size;
}

static size_t
edge_size (const struct ring_config *cfg)
{
  return 2 * (size_t) (cfg->block_size > MEM_ALIGN
                       ? cfg->block_size : MEM_ALIGN);
}

/*----------------------------------------------------------------------
 * Backends: queue an operation, reap a completion.
 */

/* The synchronous engine: run the operation now and queue its result. */
static void
sync_queue (struct ring *r, const struct op *op)
{
  struct iovec iov = { .iov_base = op->addr, .iov_len = op->len };
  ssize_t res;

  if (r->sync_link_failed)
    res = -ECANCELED;
  else {
    switch (op->code) {
    case OP_READ:
      res = pread (r->fd, op->addr, op->len, op->offset);
      break;
    case OP_WRITE:
      res = pwritev2 (r->fd, &iov, 1, op->offset, op->rw_flags);
      break;
    case OP_FSYNC:
      res = fdatasync (r->fd);
      break;
    case OP_FALLOCATE:
      res = fallocate (r->fd, op->mode, op->offset, op->len);
      break;
    default:
      abort ();
    }
    if (res == -1)
      res = -errno;
  }

  /* Same rule as the kernel: a failed or short linked op cancels the
   * rest of the chain.
   */
  r->sync_link_failed = op->link &&
    (res < 0 ||
     ((op->code == OP_READ || op->code == OP_WRITE) &&
      (uint64_t) res != op->len));

  r->scq[r->scq_tail % SYNC_CQ_SIZE] =
    (struct sync_cqe) { .user_data = op->user_data, .res = res };
  r->scq_tail++;
}

static int
uring_queue (struct ring *r, const struct op *op)
{
  struct io_uring_sqe *sqe;
  int fd = r->fixed_file ? 0 : r->fd;
  int rc;

  sqe = io_uring_get_sqe (&r->ring);
  if (sqe == NULL) {
    /* Cannot happen with the sizes ring_create picks, but be safe. */
    rc = io_uring_submit (&r->ring);
    if (rc < 0)
      return rc;
    sqe = io_uring_get_sqe (&r->ring);
    if (sqe == NULL)
      return -EBUSY;
  }

  switch (op->code) {
  case OP_READ:
    if (op->buf_index >= 0)
      io_uring_prep_read_fixed (sqe, fd, op->addr, op->len, op->offset,
                                op->buf_index);
    else
      io_uring_prep_read (sqe, fd, op->addr, op->len, op->offset);
    break;
  case OP_WRITE:
    if (op->buf_index >= 0)
      io_uring_prep_write_fixed (sqe, fd, op->addr, op->len, op->offset,
                                 op->buf_index);
    else
      io_uring_prep_write (sqe, fd, op->addr, op->len, op->offset);
    sqe->rw_flags = op->rw_flags;
    break;
  case OP_FSYNC:
    io_uring_prep_fsync (sqe, fd, IORING_FSYNC_DATASYNC);
    break;
  case OP_FALLOCATE:
    io_uring_prep_fallocate (sqe, fd, op->mode, op->offset, op->len);
    break;
  }
  if (r->fixed_file)
    sqe->flags |= IOSQE_FIXED_FILE;
  if (op->link)
    sqe->flags |= IOSQE_IO_LINK;
  io_uring_sqe_set_data64 (sqe, op->user_data);
  return 0;
}

static int
ring_queue (struct ring *r, const struct op *op)
{
  int rc;

  if (!r->uring) {
    sync_queue (r, op);
    return 0;
  }
  rc = uring_queue (r, op);
  if (rc < 0)
    r->broken = true;
  return rc;
}

/* Submit whatever is queued and take one completion.  If none is
 * there yet, sleep until 'want' are (1 <= want <= SQEs in flight): with
 * DEFER_TASKRUN the kernel wakes the thread once for all of them, so a
 * request that only has to collect its last chunks pays for one
 * wake-up instead of one per chunk.
 */
static int
ring_reap (struct ring *r, unsigned want, uint64_t *user_data, int *res)
{
  struct io_uring_cqe *cqe;
  unsigned retries = 0;
  int rc;

  if (!r->uring) {
    struct sync_cqe *c;

    if (r->scq_head == r->scq_tail)
      return -EIO;              /* nothing queued: a bug, not a hang */
    c = &r->scq[r->scq_head % SYNC_CQ_SIZE];
    r->scq_head++;
    *user_data = c->user_data;
    *res = c->res;
    return 0;
  }

  for (;;) {
    if (io_uring_sq_ready (&r->ring) == 0 &&
        io_uring_peek_cqe (&r->ring, &cqe) == 0)
      break;
    /* One io_uring_enter: submit, and wait. */
    rc = io_uring_submit_and_wait (&r->ring, want);
    if (rc < 0) {
      if ((rc == -EINTR || rc == -EAGAIN || rc == -EBUSY) &&
          ++retries < MAX_STALLS)
        continue;
      /* SQEs may be in flight that we can no longer account for. */
      r->broken = true;
      return rc;
    }
    if (io_uring_peek_cqe (&r->ring, &cqe) == 0)
      break;
  }
  *user_data = io_uring_cqe_get_data64 (cqe);
  *res = cqe->res;
  io_uring_cqe_seen (&r->ring, cqe);
  return 0;
}

/*----------------------------------------------------------------------
 * The request engine.
 */

/* Read [offset, offset+len) (aligned, fits one buffer) into 'addr'
 * and wait for all of it.  Used for the edge blocks of an RMW.
 */
static int
ring_read_block (struct ring *r, char *addr, int buf_index,
                 uint32_t len, uint64_t offset)
{
  uint32_t done = 0;
  unsigned stalls = 0;

  while (done < len) {
    struct op op = {
      .code = OP_READ, .buf_index = buf_index, .addr = addr + done,
      .len = len - done, .offset = offset + done, .user_data = UD_SINGLE,
    };
    uint64_t ud;
    int res, rc;

    rc = ring_queue (r, &op);
    if (rc < 0)
      return rc;
    rc = ring_reap (r, 1, &ud, &res);
    if (rc < 0)
      return rc;
    if (res == -EAGAIN || res == -EINTR)
      res = 0;
    else if (res < 0)
      return res;
    else if (res == 0)
      return -EIO;              /* end of file inside the disk */
    else
      res = align_down (done + res, r->cfg.block_size) - done;
    if (res == 0 && ++stalls >= MAX_STALLS)
      return -EIO;
    done += res;
  }
  return 0;
}

static int
slot_queue (struct ring *r, unsigned i, bool is_write, bool fua)
{
  struct slot *s = &r->slots[i];
  struct op op = {
    .code = is_write ? OP_WRITE : OP_READ,
    .buf_index = r->fixed_buffers ? AREA_INDEX : -1,
    .addr = slot_buf (r, i) + s->done,
    .len = s->len - s->done,
    .offset = s->offset + s->done,
    .rw_flags = (is_write && fua && r->cfg.fua_dsync) ? RWF_DSYNC : 0,
    .link = s->fua_link,
    .user_data = UD_IO | i,
  };
  int rc;

  rc = ring_queue (r, &op);
  if (rc < 0 || !s->fua_link)
    return rc;

  op = (struct op) { .code = OP_FSYNC, .buf_index = -1,
                     .user_data = UD_FSYNC | i };
  return ring_queue (r, &op);
}

/* Fill slot i's buffer for a write: the preserved edge blocks first,
 * then the client's bytes (or zeroes) over them.
 */
static void
slot_fill (struct ring *r, unsigned i, const struct align_plan *plan,
           const char *buf, uint64_t offset, uint32_t count)
{
  struct slot *s = &r->slots[i];
  char *b = slot_buf (r, i);
  uint32_t bs = r->cfg.block_size;
  uint64_t start, end;

  if (plan->head_partial && s->offset == plan->start)
    memcpy (b, r->edge, bs);
  if (plan->tail_partial && s->offset + s->len == plan->end)
    memcpy (b + s->len - bs, r->edge + bs, bs);

  if (align_intersect (s->offset, s->offset + s->len,
                       offset, offset + count, &start, &end)) {
    if (buf)
      memcpy (b + (start - s->offset), buf + (start - offset), end - start);
    else
      memset (b + (start - s->offset), 0, end - start);
  }
}

/* The edge blocks of an unaligned write: head into edge[0..bs),
 * tail into edge[bs..2bs).  One read when both are the same block.
 */
static int
read_edges (struct ring *r, const struct align_plan *plan)
{
  uint32_t bs = r->cfg.block_size;
  int idx = r->fixed_buffers ? EDGE_INDEX : -1;
  int rc;

  if (plan->head_partial) {
    rc = ring_read_block (r, r->edge, idx, bs, plan->start);
    if (rc < 0)
      return rc;
  }
  if (plan->tail_partial) {
    if (plan->head_partial && plan->end - plan->start == bs)
      memcpy (r->edge + bs, r->edge, bs);
    else {
      rc = ring_read_block (r, r->edge + bs, idx, bs, plan->end - bs);
      if (rc < 0)
        return rc;
    }
  }
  return 0;
}

/* Register the area and the edge blocks as buffers AREA_INDEX and
 * EDGE_INDEX.
 */
static int
register_buffers (struct ring *r, char *area, size_t area_size)
{
  struct iovec iov[2];

  iov[AREA_INDEX] = (struct iovec) { .iov_base = area, .iov_len = area_size };
  iov[EDGE_INDEX] = (struct iovec) { .iov_base = r->edge,
                                     .iov_len = edge_size (&r->cfg) };
  return io_uring_register_buffers (&r->ring, iov, 2);
}

/* Make the area at least 'need' bytes (need <= area_max), doubling it,
 * so that a request up to area_max bytes goes out as one operation
 * while a ring that only ever sees small requests pins little.  Called
 * between requests, when nothing is in flight.  If the larger area
 * cannot be registered the ring goes on with unregistered buffers.
 */
static int
area_grow (struct ring *r, size_t need)
{
  size_t size = r->area_size;
  char *area;
  int rc;

  if (need <= size)
    return 0;
  while (size < need)
    size *= 2;
  if (size > r->area_max)
    size = r->area_max;

  /* mmap rather than malloc: see ring_create. */
  area = mmap (NULL, size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED)
    return -ENOMEM;
  if (r->fixed_buffers) {
    rc = io_uring_unregister_buffers (&r->ring);
    if (rc == 0)
      rc = register_buffers (r, area, size);
    if (rc < 0) {
      r->fixed_buffers = false;
      r->fixed_buffers_error = rc;
    }
  }
  munmap (r->area, r->area_size);
  r->area = area;
  r->area_size = size;
  return 0;
}

static int
free_slot (struct ring *r)
{
  unsigned i;

  for (i = 0; i < r->cfg.nbuffers; i++)
    if (!r->slots[i].busy)
      return i;
  return -1;
}

/* Move one request through the ring: see "Life of a request" above.
 * 'rbuf' is the destination of a read, 'wbuf' the source of a write
 * (NULL with is_write: zeroes).
 */
static int
ring_transfer (struct ring *r, bool is_write, char *rbuf, const char *wbuf,
               uint32_t count, uint64_t offset, bool fua)
{
  const uint32_t bs = r->cfg.block_size;
  const bool link_fua = is_write && fua && !r->cfg.fua_dsync;
  struct align_plan plan;
  uint64_t next, span;
  uint32_t chunk;
  unsigned inflight = 0, want;
  int err = 0;

  if (r->broken)
    return -EIO;
  if (count == 0)
    return (is_write && fua) ? ring_fsync (r) : 0;

  align_plan_rmw (offset, count, bs, &plan);
  span = plan.end - plan.start;
  err = area_grow (r, span < r->area_max ? span : r->area_max);
  if (err < 0)
    return err;
  chunk = span <= r->area_size ? span : r->cfg.buffer_size;
  if (is_write) {
    err = read_edges (r, &plan);
    if (err < 0)
      return err;
  }

  next = plan.start;
  for (;;) {
    struct slot *s;
    uint64_t ud;
    int i, res, rc;

    /* Issue as many chunks as there are free buffers. */
    while (err == 0 && next < plan.end && (i = free_slot (r)) >= 0) {
      uint32_t len = plan.end - next < chunk ? plan.end - next : chunk;
      bool last = next + len == plan.end;

      /* The linked fsync only orders itself after its own write, so
       * the last chunk goes out when every other chunk is done.
       */
      if (link_fua && last && inflight > 0)
        break;

      s = &r->slots[i];
      *s = (struct slot) { .busy = true, .offset = next, .len = len,
                           .fua_link = link_fua && last };
      if (is_write)
        slot_fill (r, i, &plan, wbuf, offset, count);
      rc = slot_queue (r, i, is_write, fua);
      if (rc < 0) {
        s->busy = false;
        err = rc;
        break;
      }
      inflight += s->fua_link ? 2 : 1;
      next += len;
    }

    if (inflight == 0)
      break;

    /* How many completions are worth a wake-up: all of them once
     * nothing more can be issued before they are back; otherwise half,
     * so that freed buffers are refilled in batches while the other
     * half keeps the disk busy.
     */
    if (err != 0 || next >= plan.end ||
        (link_fua && plan.end - next <= chunk))
      want = inflight;
    else
      want = inflight > 2 ? inflight / 2 : 1;
    rc = ring_reap (r, want, &ud, &res);
    if (rc < 0)
      /* The ring is marked broken and will not be reused; destroying
       * it cancels what is left (see ring_destroy).
       */
      return rc;
    inflight--;

    if (UD_KIND (ud) == UD_FSYNC) {
      /* -ECANCELED means its write was short or failed: the write's
       * own completion decides what happens next.
       */
      if (res < 0 && res != -ECANCELED && err == 0)
        err = res;
      continue;
    }
    if (UD_KIND (ud) != UD_IO || UD_INDEX (ud) >= r->cfg.nbuffers) {
      err = -EIO;
      continue;
    }

    i = UD_INDEX (ud);
    s = &r->slots[i];
    if (res == -EAGAIN || res == -EINTR)
      res = 0;
    else if (res < 0) {
      if (err == 0)
        err = res;
      s->busy = false;
      continue;
    }
    else if (res == 0) {
      /* End of file inside the disk: the backing shrank. */
      if (err == 0)
        err = -EIO;
      s->busy = false;
      continue;
    }
    else {
      uint32_t done = align_down (s->done + res, bs);
      res = done - s->done;
      s->done = done;
    }

    if (s->done < s->len) {
      /* Short or retryable: resubmit the rest (with a new linked
       * fsync if this chunk carries the FUA).
       */
      if (res == 0 && ++s->stalls >= MAX_STALLS) {
        if (err == 0)
          err = -EIO;
        s->busy = false;
        continue;
      }
      if (err != 0) {
        s->busy = false;
        continue;
      }
      rc = slot_queue (r, i, is_write, fua);
      if (rc < 0) {
        err = rc;
        s->busy = false;
        continue;
      }
      inflight += s->fua_link ? 2 : 1;
      continue;
    }

    /* This chunk is complete. */
    if (!is_write) {
      uint64_t start, end;

      if (align_intersect (s->offset, s->offset + s->len,
                           offset, offset + count, &start, &end))
        memcpy (rbuf + (start - offset),
                slot_buf (r, i) + (start - s->offset), end - start);
    }
    s->busy = false;
  }

  return err;
}

int
ring_read (struct ring *r, void *buf, uint32_t count, uint64_t offset)
{
  return ring_transfer (r, false, buf, NULL, count, offset, false);
}

int
ring_write (struct ring *r, const void *buf, uint32_t count,
            uint64_t offset, bool fua)
{
  return ring_transfer (r, true, NULL, buf, count, offset, fua);
}

/* Queue a lone operation, optionally followed by a linked fdatasync,
 * and wait for both.  The first error wins.
 */
static int
ring_single (struct ring *r, struct op *op, bool then_fsync)
{
  unsigned inflight, retries = 0;
  int err, rc;

 again:
  if (r->broken)
    return -EIO;
  err = 0;
  inflight = 0;
  op->link = then_fsync;
  op->user_data = UD_SINGLE;
  rc = ring_queue (r, op);
  if (rc < 0)
    return rc;
  inflight++;
  if (then_fsync) {
    struct op fs = { .code = OP_FSYNC, .buf_index = -1,
                     .user_data = UD_FSYNC };
    rc = ring_queue (r, &fs);
    if (rc < 0)
      return rc;
    inflight++;
  }

  while (inflight > 0) {
    uint64_t ud;
    int res;

    rc = ring_reap (r, inflight, &ud, &res);
    if (rc < 0)
      return rc;
    inflight--;
    if (res == -ECANCELED && UD_KIND (ud) == UD_FSYNC)
      continue;
    if (res < 0 && err == 0)
      err = res;
  }
  if ((err == -EAGAIN || err == -EINTR) && ++retries < MAX_STALLS)
    goto again;
  return err;
}

int
ring_fsync (struct ring *r)
{
  struct op op = { .code = OP_FSYNC, .buf_index = -1 };

  return ring_single (r, &op, false);
}

int
ring_fallocate (struct ring *r, int mode, uint64_t offset, uint64_t len,
                bool fua)
{
  struct op op = { .code = OP_FALLOCATE, .buf_index = -1, .mode = mode,
                   .offset = offset, .len = len };

  /* Kernels without IORING_OP_FALLOCATE (before 5.6): fallocate(2). */
  if (r->uring && !r->cfg.fallocate_op) {
    if (fallocate (r->fd, mode, offset, len) == -1)
      return -errno;
    return fua ? ring_fsync (r) : 0;
  }
  return ring_single (r, &op, fua);
}

/*----------------------------------------------------------------------
 * Setup.
 */

/* The setup flags to try, best first. */
static const unsigned flag_candidates[] = {
  IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
    IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_COOP_TASKRUN,
  0,
};

/* Find out once what io_uring can do here. */
int
ring_probe (bool want_flags, struct ring_probe *p)
{
  struct io_uring ring;
  struct io_uring_probe *ops;
  size_t i;
  int rc = -ENOSYS;

  memset (p, 0, sizeof *p);
  for (i = want_flags ? 0 : 3;
       i < sizeof flag_candidates / sizeof flag_candidates[0]; i++) {
    struct io_uring_params params = { .flags = flag_candidates[i] };

    rc = io_uring_queue_init_params (4, &ring, &params);
    if (rc == 0) {
      p->setup_flags = flag_candidates[i];
      break;
    }
    /* Only EINVAL means "this flag is not known here". */
    if (rc != -EINVAL)
      break;
  }
  if (rc < 0) {
    p->setup_error = rc;
    return 0;
  }
  p->available = true;

  ops = io_uring_get_probe_ring (&ring);
  if (ops) {
    p->op_read_fixed = io_uring_opcode_supported (ops, IORING_OP_READ_FIXED);
    p->op_write_fixed = io_uring_opcode_supported (ops, IORING_OP_WRITE_FIXED);
    p->op_fsync = io_uring_opcode_supported (ops, IORING_OP_FSYNC);
    p->op_fallocate = io_uring_opcode_supported (ops, IORING_OP_FALLOCATE);
    io_uring_free_probe (ops);
  }

  {
    void *buf;
    if (posix_memalign (&buf, MEM_ALIGN, MEM_ALIGN) == 0) {
      struct iovec iov = { .iov_base = buf, .iov_len = MEM_ALIGN };
      p->fixed_buffers = io_uring_register_buffers (&ring, &iov, 1) == 0;
      free (buf);
    }
  }
  io_uring_queue_exit (&ring);
  return 0;
}

const char *
ring_flags_string (unsigned flags, char *buf, size_t len)
{
  snprintf (buf, len, "%s%s%s%s",
            flags & IORING_SETUP_COOP_TASKRUN ? "COOP_TASKRUN " : "",
            flags & IORING_SETUP_SINGLE_ISSUER ? "SINGLE_ISSUER " : "",
            flags & IORING_SETUP_DEFER_TASKRUN ? "DEFER_TASKRUN " : "",
            flags == 0 ? "none " : "");
  buf[strlen (buf) - 1] = '\0';
  return buf;
}

/* Build a ring for the backing 'fd' (not owned).  If io_uring itself
 * cannot be set up, returns -errno and the caller may retry with
 * use_uring = false.  Failing to register buffers or the file is not an
 * error: the ring works without, and says so through its accessors.
 */
int
ring_create (const struct ring_config *cfg, int fd, struct ring **ringp)
{
  struct ring *r;
  int rc;

  if (cfg->nbuffers < 1 || cfg->nbuffers > PARAM_BUFFERS_MAX ||
      !is_power_of_2 (cfg->buffer_size) ||
      !is_power_of_2 (cfg->block_size) ||
      cfg->buffer_size < cfg->block_size)
    return -EINVAL;

  r = calloc (1, sizeof *r);
  if (r == NULL)
    return -ENOMEM;
  r->cfg = *cfg;
  r->fd = fd;

  /* The area starts at one buffer and grows with the requests seen
   * (area_grow).  mmap rather than malloc: rings come and go with
   * connections, and glibc would keep freed half-megabyte blocks in the
   * heap (its mmap threshold rises after the first large free), so a
   * burst of connections would leave the process that much bigger for
   * good.  munmap gives the memory back.
   */
  r->area_max = (size_t) cfg->nbuffers * cfg->buffer_size;
  r->area_size = cfg->buffer_size;
  r->area = mmap (NULL, r->area_size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r->area == MAP_FAILED) {
    free (r);
    return -ENOMEM;
  }
  r->edge = mmap (NULL, edge_size (cfg), PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r->edge == MAP_FAILED) {
    munmap (r->area, r->area_size);
    free (r);
    return -ENOMEM;
  }

  if (!cfg->use_uring)
    goto out;

  {
    struct io_uring_params params = { .flags = cfg->setup_flags };
    /* In flight at once: nbuffers chunks plus one linked fsync. */
    unsigned entries = 2 * cfg->nbuffers + 2;

    rc = io_uring_queue_init_params (entries, &r->ring, &params);
    if (rc == -EINVAL && cfg->setup_flags != 0) {
      params = (struct io_uring_params) { .flags = 0 };
      rc = io_uring_queue_init_params (entries, &r->ring, &params);
    }
    if (rc < 0) {
      munmap (r->edge, edge_size (cfg));
      munmap (r->area, r->area_size);
      free (r);
      return rc;
    }
  }
  r->uring = true;

  if (cfg->fixed_buffers) {
    rc = register_buffers (r, r->area, r->area_size);
    if (rc == 0)
      r->fixed_buffers = true;
    else
      r->fixed_buffers_error = rc;
  }
  if (cfg->fixed_file)
    r->fixed_file = io_uring_register_files (&r->ring, &fd, 1) == 0;

 out:
  *ringp = r;
  return 0;
}

/* Tear down a ring.  Normally nothing is in flight (every request
 * waits for its own SQEs).  After a failed submission something may be:
 * io_uring_queue_exit cancels it, and the kernel holds its own pins on
 * the buffer pages until those requests are gone, so unmapping the
 * buffers is safe.  The registered file is dropped first and
 * synchronously: the ring's asynchronous teardown would otherwise keep
 * the backing open after the process has exited, and a filesystem
 * unmounted right after the server stops would be busy.  NULL is fine.
 */
void
ring_destroy (struct ring *r)
{
  if (r == NULL)
    return;
  if (r->uring) {
    if (r->fixed_file)
      (void) io_uring_unregister_files (&r->ring);
    io_uring_queue_exit (&r->ring);
  }
  munmap (r->edge, edge_size (&r->cfg));
  munmap (r->area, r->area_size);
  free (r);
}

bool ring_is_uring (const struct ring *r) { return r->uring; }
bool ring_has_fixed_buffers (const struct ring *r) { return r->fixed_buffers; }
int ring_fixed_buffers_error (const struct ring *r) { return r->fixed_buffers_error; }
bool ring_has_fixed_file (const struct ring *r) { return r->fixed_file; }
bool ring_is_broken (const struct ring *r) { return r->broken; }
int ring_fd (const struct ring *r) { return r->fd; }

/* Memory the kernel pins for this ring's registered buffers now. */
size_t
ring_locked_bytes (const struct ring *r)
{
  return r->fixed_buffers ? r->area_size + edge_size (&r->cfg) : 0;
}

/* The size of the buffer area now (it grows with the requests seen). */
size_t
ring_area_size (const struct ring *r)
{
  return r->area_size;
}
