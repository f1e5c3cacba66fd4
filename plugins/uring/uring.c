/* uringblk: the uring nbdkit plugin.
 *
 * Serves a regular file or a block device.  This file holds the nbdkit
 * callbacks: parameters, opening the backing, and turning each NBD
 * command into ring operations.  The I/O itself, and the thread model,
 * are described at the top of ring.c.
 *
 * Per process: the parameters, the probed facts about the backing and
 * about io_uring, and one range lock shared by every connection (they
 * all write the same blocks).  Per connection: a handle with its own fd
 * (read-only or read-write, as the client asked).  Per worker thread:
 * a ring, created on first use and destroyed when the thread exits.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <linux/falloc.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <liburing.h>

#include "align.h"
#include "backing.h"
#include "params.h"
#include "rangelock.h"
#include "ring.h"

/* -D uring.ring=1: log ring setup and teardown per worker thread. */
NBDKIT_DLL_PUBLIC int uring_debug_ring;

#define MAX_REQUEST (64 * 1024 * 1024)

/* Parameters. */
static char *filename;
static enum tristate direct = TRI_AUTO;
static enum tristate use_uring = TRI_AUTO;
static enum tristate fixed_buffers = TRI_AUTO;
static enum tristate fixed_file = TRI_AUTO;
static enum tristate setup_flags = TRI_AUTO;
static enum fua_mode fua_mode = FUA_DSYNC;  /* measured: see the man page */
static uint32_t buffer_size = PARAM_BUFFER_SIZE_DEFAULT;
static unsigned nbuffers = PARAM_BUFFERS_DEFAULT;

/* What get_ready found out. */
static struct backing backing;
static struct ring_probe probe;
static struct ring_config ring_config;
static int extents_fd = -1;     /* O_RDONLY fd for SEEK_DATA/SEEK_HOLE */

/* Features found missing at run time, so we stop asking. */
static _Atomic bool no_punch_hole;
static _Atomic bool no_zero_range;
static _Atomic bool no_discard;

static struct rangelock rangelock;
static pthread_key_t ring_key;
static bool ring_key_created;

struct handle {
  int fd;
  bool readonly;
  bool dirty;                   /* written since open: sync on close */
};

static void
uring_warning (const char *fmt, ...)
  __attribute__((format (printf, 1, 2)));

/* nbdkit 1.32 has no warning call; debug is hidden without -v, so
 * warnings that the user must see go to stderr as well.
 */
static void
uring_warning (const char *fmt, ...)
{
  va_list args;
  char *msg = NULL;

  va_start (args, fmt);
  if (vasprintf (&msg, fmt, args) == -1)
    msg = NULL;
  va_end (args);
  if (msg == NULL)
    return;
  nbdkit_debug ("warning: %s", msg);
  fprintf (stderr, "nbdkit: uring: warning: %s\n", msg);
  free (msg);
}

static void
ring_key_destroy (void *p)
{
  struct ring *r = p;

  if (uring_debug_ring)
    nbdkit_debug ("ring: thread exit, destroying ring");
  ring_destroy (r);
}

static void
uring_load (void)
{
  rangelock_init (&rangelock);
  ring_key_created = pthread_key_create (&ring_key, ring_key_destroy) == 0;
}

static void
uring_unload (void)
{
  if (ring_key_created) {
    /* Rings of threads that are gone were destroyed by the key's
     * destructor; the main thread may still have one.
     */
    ring_destroy (pthread_getspecific (ring_key));
    pthread_key_delete (ring_key);
  }
  if (extents_fd >= 0)
    (void) close (extents_fd);
  rangelock_destroy (&rangelock);
  free (filename);
}

static int
bad_value (const char *key, const char *value, const char *expected)
{
  nbdkit_error ("invalid %s=%s: expected %s", key, value, expected);
  return -1;
}

static int
uring_config (const char *key, const char *value)
{
  if (strcmp (key, "file") == 0) {
    free (filename);
    filename = nbdkit_realpath (value);
    if (filename == NULL)
      return -1;
  }
  else if (strcmp (key, "direct") == 0) {
    if (param_parse_tristate (value, "on", &direct) < 0)
      return bad_value (key, value, "on, auto or off");
  }
  else if (strcmp (key, "uring") == 0) {
    if (param_parse_tristate (value, "require", &use_uring) < 0)
      return bad_value (key, value, "auto, require or off");
  }
  else if (strcmp (key, "fixed-buffers") == 0) {
    if (param_parse_tristate (value, "on", &fixed_buffers) < 0)
      return bad_value (key, value, "auto or off");
  }
  else if (strcmp (key, "fixed-file") == 0) {
    if (param_parse_tristate (value, "on", &fixed_file) < 0)
      return bad_value (key, value, "auto or off");
  }
  else if (strcmp (key, "setup-flags") == 0) {
    if (strcmp (value, "none") == 0)
      setup_flags = TRI_OFF;
    else if (strcmp (value, "auto") == 0)
      setup_flags = TRI_AUTO;
    else
      return bad_value (key, value, "auto or none");
  }
  else if (strcmp (key, "fua") == 0) {
    if (param_parse_fua (value, &fua_mode) < 0)
      return bad_value (key, value, "link or dsync");
  }
  else if (strcmp (key, "buffer-size") == 0) {
    if (param_parse_buffer_size (value, &buffer_size) < 0)
      return bad_value (key, value,
                        "a power of 2 from 4K to 64M, e.g. 128K");
  }
  else if (strcmp (key, "buffers") == 0) {
    if (param_parse_uint (value, PARAM_BUFFERS_MIN, PARAM_BUFFERS_MAX,
                          &nbuffers) < 0)
      return bad_value (key, value, "a number from 1 to 64");
  }
  else {
    nbdkit_error ("unknown parameter '%s'", key);
    return -1;
  }
  return 0;
}

static int
uring_config_complete (void)
{
  if (filename == NULL) {
    nbdkit_error ("you must supply the file=<FILENAME> parameter "
                  "after the plugin name on the command line");
    return -1;
  }
  return 0;
}

#define uring_config_help \
  "[file=]<FILENAME>     (required) The file or block device to serve.\n" \
  "direct=on|auto|off    Use O_DIRECT (default: auto).\n" \
  "fua=link|dsync        How FUA writes are made durable (default: dsync).\n" \
  "uring=auto|require|off  Use io_uring (default: auto).\n" \
  "fixed-buffers=auto|off  Registered buffers (default: auto).\n" \
  "fixed-file=auto|off   Registered file (default: auto).\n" \
  "setup-flags=auto|none io_uring setup flags (default: auto).\n" \
  "buffer-size=SIZE      Bytes per registered buffer (default: 256K).\n" \
  "buffers=N             Registered buffers per ring (default: 4)."

/* Probe io_uring, honouring uring=.  Returns -1 only for uring=require. */
static int
probe_uring (void)
{
  char flags[64];

  if (use_uring == TRI_OFF) {
    memset (&probe, 0, sizeof probe);
    probe.setup_error = -EPERM;
    return 0;
  }
  ring_probe (setup_flags != TRI_OFF, &probe);
  if (!probe.available) {
    if (use_uring == TRI_ON) {
      nbdkit_error ("io_uring is not available: %s "
                    "(is kernel.io_uring_disabled set, or a seccomp "
                    "filter in the way?)", strerror (-probe.setup_error));
      return -1;
    }
    uring_warning ("io_uring is not available (%s), "
                   "falling back to pread/pwrite",
                   strerror (-probe.setup_error));
    return 0;
  }
  nbdkit_debug ("io_uring available, setup flags: %s",
                ring_flags_string (probe.setup_flags, flags, sizeof flags));
  return 0;
}

static int
uring_get_ready (void)
{
  const char *what;
  int r;

  r = backing_probe (filename, direct, &backing, &what);
  if (r < 0) {
    errno = -r;
    if (r == -EINVAL && direct == TRI_ON && strcmp (what, "open") == 0)
      nbdkit_error ("%s: the filesystem refuses O_DIRECT "
                    "(use direct=auto or direct=off): %m", filename);
    else
      nbdkit_error ("%s: %s: %m", filename, what);
    return -1;
  }
  if (direct != TRI_OFF && !backing.direct)
    uring_warning ("%s: O_DIRECT is not supported here, "
                   "using buffered I/O", filename);
  if (backing.size == 0) {
    nbdkit_error ("%s: the backing is empty (size 0)", filename);
    return -1;
  }
  if (!is_aligned (backing.size, backing.block_size)) {
    nbdkit_error ("%s: size %" PRIu64 " is not a multiple of the "
                  "logical block size %" PRIu32 "; resize it "
                  "(e.g. truncate -s %" PRIu64 ")",
                  filename, backing.size, backing.block_size,
                  align_up (backing.size, backing.block_size));
    return -1;
  }
  if (buffer_size < backing.block_size) {
    nbdkit_error ("buffer-size=%" PRIu32 " is smaller than the logical "
                  "block size %" PRIu32, buffer_size, backing.block_size);
    return -1;
  }

  if (probe_uring () == -1)
    return -1;

  ring_config = (struct ring_config) {
    .use_uring = probe.available,
    .setup_flags = probe.setup_flags,
    .fixed_buffers = fixed_buffers != TRI_OFF && probe.op_read_fixed &&
                     probe.op_write_fixed,
    .fixed_file = fixed_file != TRI_OFF,
    .fua_dsync = fua_mode == FUA_DSYNC,
    .fallocate_op = probe.op_fallocate,
    .buffer_size = buffer_size,
    .nbuffers = nbuffers,
    .block_size = backing.block_size,
  };

  if (!backing.is_device && backing.can_seek_data) {
    extents_fd = open (filename, O_RDONLY | O_CLOEXEC);
    if (extents_fd == -1) {
      nbdkit_error ("open: %s: %m", filename);
      return -1;
    }
  }

  nbdkit_debug ("%s: %s, size %" PRIu64 ", block size %" PRIu32
                ", %s, %s%s",
                filename, backing.is_device ? "block device" : "file",
                backing.size, backing.block_size,
                backing.direct ? "O_DIRECT" : "buffered",
                probe.available ? "io_uring" : "pread/pwrite",
                backing.readonly ? ", read-only" : "");
  return 0;
}

static void
uring_dump_plugin (void)
{
  struct ring_probe p;
  struct utsname u;
  char flags[64];

  ring_probe (true, &p);
  printf ("uring_available=%s\n", p.available ? "yes" : "no");
  if (!p.available)
    printf ("uring_setup_error=%s\n", strerror (-p.setup_error));
  else {
    printf ("uring_setup_flags=%s\n",
            ring_flags_string (p.setup_flags, flags, sizeof flags));
    printf ("uring_fixed_buffers=%s\n", p.fixed_buffers ? "yes" : "no");
    printf ("uring_op_read_fixed=%s\n", p.op_read_fixed ? "yes" : "no");
    printf ("uring_op_write_fixed=%s\n", p.op_write_fixed ? "yes" : "no");
    printf ("uring_op_fsync=%s\n", p.op_fsync ? "yes" : "no");
    printf ("uring_op_fallocate=%s\n", p.op_fallocate ? "yes" : "no");
  }
  printf ("liburing_version=%s\n", LIBURING_VERSION);
  if (uname (&u) == 0)
    printf ("kernel=%s\n", u.release);
  printf ("uring_buffer_size_default=%d\n", PARAM_BUFFER_SIZE_DEFAULT);
  printf ("uring_buffers_default=%d\n", PARAM_BUFFERS_DEFAULT);
}

static void *
uring_open (int readonly)
{
  struct handle *h;
  bool got_readonly;
  int fd;

  fd = backing_open (filename, &backing, readonly, &got_readonly);
  if (fd < 0) {
    errno = -fd;
    nbdkit_error ("open: %s: %m", filename);
    return NULL;
  }
  h = calloc (1, sizeof *h);
  if (h == NULL) {
    nbdkit_error ("calloc: %m");
    (void) close (fd);
    return NULL;
  }
  h->fd = fd;
  h->readonly = got_readonly;
  return h;
}

/* Closing syncs what this connection wrote: nothing a client was told
 * is written stays in volatile caches when the server goes away.
 */
static void
uring_close (void *handle)
{
  struct handle *h = handle;

  if (h->dirty && fdatasync (h->fd) == -1)
    nbdkit_error ("fdatasync: %s: %m", filename);
  (void) close (h->fd);
  free (h);
}

/* The calling worker's ring, built on its first request. */
static struct ring *
get_ring (struct handle *h)
{
  struct ring *r = pthread_getspecific (ring_key);
  struct ring_config cfg;
  static _Atomic bool said_no_fixed_buffers, said_no_uring;
  int rc;

  /* A worker serves one connection, but be safe if a thread were
   * reused: the ring must point at this connection's fd.
   */
  if (r && (ring_fd (r) != h->fd || ring_is_broken (r))) {
    ring_destroy (r);
    r = NULL;
  }
  if (r)
    return r;

  cfg = ring_config;
  rc = ring_create (&cfg, h->fd, &r);
  if (rc < 0 && cfg.use_uring) {
    if (!said_no_uring) {
      said_no_uring = true;
      uring_warning ("io_uring setup failed in a worker (%s), "
                     "this worker uses pread/pwrite", strerror (-rc));
    }
    cfg.use_uring = false;
    rc = ring_create (&cfg, h->fd, &r);
  }
  if (rc < 0) {
    errno = -rc;
    nbdkit_error ("creating ring: %m");
    return NULL;
  }
  if (cfg.use_uring && cfg.fixed_buffers && !ring_has_fixed_buffers (r) &&
      !said_no_fixed_buffers) {
    said_no_fixed_buffers = true;
    nbdkit_debug ("registering buffers failed (%s), using unregistered "
                  "aligned buffers; raise RLIMIT_MEMLOCK (LimitMEMLOCK=) "
                  "to at least %u bytes per worker thread",
                  strerror (-ring_fixed_buffers_error (r)),
                  (unsigned) (nbuffers * buffer_size + 2 * 4096));
  }
  if (uring_debug_ring)
    nbdkit_debug ("ring: new for fd %d: %s, fixed buffers %s, "
                  "fixed file %s, %zu bytes locked",
                  h->fd, ring_is_uring (r) ? "io_uring" : "pread/pwrite",
                  ring_has_fixed_buffers (r) ? "yes" : "no",
                  ring_has_fixed_file (r) ? "yes" : "no",
                  ring_locked_bytes (r));
  pthread_setspecific (ring_key, r);
  return r;
}

/* The errno an NBD client should see.  nbdkit turns unknown errors into
 * EINVAL, which would tell the client its request was wrong; anything
 * the storage failed with that has no NBD code is an I/O error.
 */
static int
nbd_errno (int err)
{
  switch (err) {
  case EIO: case ENOSPC: case EINVAL: case EPERM: case EROFS:
  case ENOMEM: case ENOTSUP: case EOVERFLOW: case ESHUTDOWN:
    return err;
  case EDQUOT: case EFBIG:
    return ENOSPC;
  case EACCES:
    return EPERM;
  default:
    return EIO;
  }
}

/* Convert a -errno from the ring at the callback edge: log once. */
static int
fail (const char *op, int r)
{
  errno = -r;
  nbdkit_error ("%s: %s: %m", op, filename);
  errno = nbd_errno (-r);
  return -1;
}

static int64_t
uring_get_size (void *handle)
{
  return backing.size;
}

static int
uring_block_size (void *handle,
                  uint32_t *minimum, uint32_t *preferred, uint32_t *maximum)
{
  *minimum = backing.block_size;
  *preferred = backing.block_size > 4096 ? backing.block_size : 4096;
  *maximum = MAX_REQUEST;
  return 0;
}

static int
uring_can_write (void *handle)
{
  struct handle *h = handle;

  return !h->readonly;
}

static int uring_can_flush (void *handle) { return 1; }
static int uring_can_trim (void *handle) { return 1; }
static int uring_can_zero (void *handle) { return 1; }
static int uring_can_fast_zero (void *handle) { return 1; }
static int uring_can_fua (void *handle) { return NBDKIT_FUA_NATIVE; }

/* Safe: every flush is an fdatasync of the inode, which covers the
 * completed writes of every connection.
 */
static int uring_can_multi_conn (void *handle) { return 1; }

static int
uring_can_extents (void *handle)
{
  return extents_fd >= 0;
}

static int
uring_pread (void *handle, void *buf, uint32_t count, uint64_t offset,
             uint32_t flags)
{
  struct ring *r = get_ring (handle);
  int rc;

  if (r == NULL)
    return -1;
  rc = ring_read (r, buf, count, offset);
  if (rc < 0)
    return fail ("pread", rc);
  return 0;
}

/* Write with the range lock held over the blocks touched: exclusive
 * when an edge block is read-modify-written.  'buf' NULL writes zeroes.
 */
static int
locked_write (struct handle *h, struct ring *r, const void *buf,
              uint32_t count, uint64_t offset, bool fua)
{
  struct rangelock_node node;
  struct align_plan plan;
  int rc;

  align_plan_rmw (offset, count, backing.block_size, &plan);
  if (plan.start == plan.end)
    return fua ? ring_fsync (r) : 0;

  rangelock_acquire (&rangelock, &node, plan.start, plan.end,
                     plan.head_partial || plan.tail_partial);
  rc = ring_write (r, buf, count, offset, fua);
  rangelock_release (&rangelock, &node);
  h->dirty = true;
  return rc;
}

static int
uring_pwrite (void *handle, const void *buf, uint32_t count, uint64_t offset,
              uint32_t flags)
{
  struct handle *h = handle;
  struct ring *r = get_ring (h);
  int rc;

  if (r == NULL)
    return -1;
  rc = locked_write (h, r, buf, count, offset, flags & NBDKIT_FLAG_FUA);
  if (rc < 0)
    return fail ("pwrite", rc);
  return 0;
}

static int
uring_flush (void *handle, uint32_t flags)
{
  struct ring *r = get_ring (handle);
  int rc;

  if (r == NULL)
    return -1;
  rc = ring_fsync (r);
  if (rc < 0)
    return fail ("flush", rc);
  return 0;
}

/* Trim is advisory: only whole blocks are released, partial edges are
 * left as they are, and a backing that cannot trim ignores it.
 */
static int
uring_trim (void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
  struct handle *h = handle;
  struct ring *r = get_ring (h);
  bool fua = flags & NBDKIT_FLAG_FUA;
  struct rangelock_node node;
  uint64_t start, end;
  int rc = 0;

  if (r == NULL)
    return -1;
  if (!align_interior (offset, count, backing.block_size, &start, &end))
    goto out;

  rangelock_acquire (&rangelock, &node, start, end, false);
  if (backing.is_device) {
    if (!no_discard) {
      rc = backing_discard (h->fd, start, end - start);
      if (rc == -EOPNOTSUPP || rc == -ENOTTY) {
        nbdkit_debug ("BLKDISCARD not supported, trim is a no-op");
        no_discard = true;
        rc = 0;
      }
    }
  }
  else if (!no_punch_hole) {
    rc = ring_fallocate (r, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                         start, end - start, false);
    if (rc == -EOPNOTSUPP) {
      nbdkit_debug ("PUNCH_HOLE not supported, trim is a no-op");
      no_punch_hole = true;
      rc = 0;
    }
  }
  rangelock_release (&rangelock, &node);
  h->dirty = true;
  if (rc < 0)
    return fail ("trim", rc);

 out:
  if (fua) {
    rc = ring_fsync (r);
    if (rc < 0)
      return fail ("trim", rc);
  }
  return 0;
}

/* Zero whole blocks [start, end) without writing data, if the backing
 * can.  Returns 0, -EOPNOTSUPP if no such way exists here, or -errno.
 *
 * Files: PUNCH_HOLE when the client allows a hole, else ZERO_RANGE.
 * Devices: PUNCH_HOLE is a WRITE_ZEROES that may unmap and never falls
 * back to writing; ZERO_RANGE keeps blocks mapped but the kernel may
 * fall back to writing zeroes itself, so a fast zero cannot use it.
 */
static int
zero_blocks (struct ring *r, uint64_t start, uint64_t end, bool may_trim,
             bool fast, bool fua)
{
  const int punch = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
  const int zero = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
  int rc;

  if ((may_trim || (backing.is_device && fast)) && !no_punch_hole) {
    rc = ring_fallocate (r, punch, start, end - start, fua);
    if (rc != -EOPNOTSUPP)
      return rc;
    no_punch_hole = true;
  }
  if (backing.is_device && fast)
    return -EOPNOTSUPP;
  if (!no_zero_range) {
    rc = ring_fallocate (r, zero, start, end - start, fua);
    if (rc != -EOPNOTSUPP)
      return rc;
    no_zero_range = true;
  }
  return -EOPNOTSUPP;
}

static int
uring_zero (void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
  struct handle *h = handle;
  struct ring *r = get_ring (h);
  const bool fua = flags & NBDKIT_FLAG_FUA;
  const bool fast = flags & NBDKIT_FLAG_FAST_ZERO;
  const bool may_trim = flags & NBDKIT_FLAG_MAY_TRIM;
  bool fua_inline;
  struct rangelock_node node;
  struct align_plan plan;
  uint64_t start, end;
  int rc = 0;

  if (r == NULL)
    return -1;

  align_plan_rmw (offset, count, backing.block_size, &plan);
  if (plan.start == plan.end)
    return 0;

  /* Whole blocks in the middle go to fallocate; partial edge blocks are
   * written (read-modify-write), which is cheap enough even for a fast
   * zero.  If nothing can zero the middle without writing, a fast zero
   * fails before touching anything and a normal zero writes zeroes.
   */
  if (!align_interior (offset, count, backing.block_size, &start, &end)) {
    /* Not even one whole block: just write the zeroes. */
    rc = locked_write (h, r, NULL, count, offset, fua);
    if (rc < 0)
      return fail ("zero", rc);
    return 0;
  }

  /* The FUA can ride on the fallocate (a linked fsync) only when the
   * fallocate is the last thing done; otherwise sync at the end.
   */
  fua_inline = fua && !plan.head_partial && !plan.tail_partial;
  rangelock_acquire (&rangelock, &node, plan.start, plan.end,
                     plan.head_partial || plan.tail_partial);
  h->dirty = true;
  rc = zero_blocks (r, start, end, may_trim, fast, fua_inline);
  if (rc == -EOPNOTSUPP) {
    if (fast) {
      rangelock_release (&rangelock, &node);
      errno = ENOTSUP;
      return -1;
    }
    rc = ring_write (r, NULL, end - start, start, fua_inline);
  }
  if (rc == 0 && plan.head_partial)
    rc = ring_write (r, NULL, start - offset, offset, false);
  if (rc == 0 && plan.tail_partial)
    rc = ring_write (r, NULL, offset + count - end, end, false);
  rangelock_release (&rangelock, &node);
  if (rc == 0 && fua && !fua_inline)
    rc = ring_fsync (r);
  if (rc < 0)
    return fail ("zero", rc);
  return 0;
}

struct extents_ctx {
  struct nbdkit_extents *extents;
  bool req_one;
};

static int
add_extent (void *opaque, uint64_t offset, uint64_t len, bool hole)
{
  struct extents_ctx *ctx = opaque;

  if (nbdkit_add_extent (ctx->extents, offset, len,
                         hole ? NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO : 0)
      == -1)
    return -errno;
  return ctx->req_one ? 1 : 0;
}

static int
uring_extents (void *handle, uint32_t count, uint64_t offset, uint32_t flags,
               struct nbdkit_extents *extents)
{
  struct extents_ctx ctx = {
    .extents = extents, .req_one = flags & NBDKIT_FLAG_REQ_ONE,
  };
  int rc;

  rc = backing_extents (extents_fd, backing.size, offset, count,
                        add_extent, &ctx);
  if (rc < 0)
    return fail ("extents", rc);
  return 0;
}

static struct nbdkit_plugin plugin = {
  .name              = "uring",
  .longname          = "uringblk io_uring plugin",
  .version           = PACKAGE_VERSION,
  .load              = uring_load,
  .unload            = uring_unload,
  .config            = uring_config,
  .config_complete   = uring_config_complete,
  .config_help       = uring_config_help,
  .magic_config_key  = "file",
  .get_ready         = uring_get_ready,
  .dump_plugin       = uring_dump_plugin,
  .open              = uring_open,
  .close             = uring_close,
  .get_size          = uring_get_size,
  .block_size        = uring_block_size,
  .can_write         = uring_can_write,
  .can_flush         = uring_can_flush,
  .can_trim          = uring_can_trim,
  .can_zero          = uring_can_zero,
  .can_fast_zero     = uring_can_fast_zero,
  .can_fua           = uring_can_fua,
  .can_multi_conn    = uring_can_multi_conn,
  .can_extents       = uring_can_extents,
  .pread             = uring_pread,
  .pwrite            = uring_pwrite,
  .flush             = uring_flush,
  .trim              = uring_trim,
  .zero              = uring_zero,
  .extents           = uring_extents,
  .errno_is_preserved = 1,
};

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL
NBDKIT_REGISTER_PLUGIN (plugin)
