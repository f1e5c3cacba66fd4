/* uringblk: one io_uring with its registered buffers, and the engine
 * that moves an NBD request through it.  See ring.c for the thread
 * model and the life of a request.
 *
 * Functions return 0 (or a count) on success and -errno on failure,
 * like liburing.  No nbdkit calls: the unit tests link this directly.
 */

#ifndef URINGBLK_RING_H
#define URINGBLK_RING_H

#include <stdbool.h>
#include <stdint.h>

struct ring_config {
  bool use_uring;               /* false: the pread/pwrite engine */
  unsigned setup_flags;         /* IORING_SETUP_* (probed) */
  bool fixed_buffers;           /* try to register the buffers */
  bool fixed_file;              /* try to register the backing fd */
  bool fua_dsync;               /* FUA as RWF_DSYNC, else linked fdatasync */
  bool fallocate_op;            /* IORING_OP_FALLOCATE is supported */
  uint32_t buffer_size;         /* bytes per buffer (power of 2) */
  unsigned nbuffers;            /* buffers per ring */
  uint32_t block_size;          /* O_DIRECT alignment of the backing */
};

/* What ring_probe found out about this kernel. */
struct ring_probe {
  bool available;               /* io_uring_setup works */
  int setup_error;              /* -errno from io_uring_setup if not */
  unsigned setup_flags;         /* the best working set of flags */
  bool fixed_buffers;           /* a buffer could be registered */
  bool op_read_fixed, op_write_fixed, op_fsync, op_fallocate;
};

struct ring;

extern int ring_probe (bool want_flags, struct ring_probe *probe);
extern const char *ring_flags_string (unsigned flags, char *buf, size_t len);

extern int ring_create (const struct ring_config *cfg, int fd,
                        struct ring **ringp);
extern void ring_destroy (struct ring *r);

/* Facts about a created ring, for the plugin's debug log. */
extern bool ring_is_uring (const struct ring *r);
extern int ring_fixed_buffers_error (const struct ring *r);
extern bool ring_has_fixed_buffers (const struct ring *r);
extern bool ring_has_fixed_file (const struct ring *r);
extern bool ring_is_broken (const struct ring *r);
extern int ring_fd (const struct ring *r);
extern size_t ring_locked_bytes (const struct ring *r);
extern size_t ring_area_size (const struct ring *r);

/* Requests.  Offsets and lengths may have any alignment; 'ring_write'
 * read-modify-writes partial edge blocks, so the caller must hold the
 * range lock over the widened range (see rangelock.h).  A NULL 'buf'
 * in ring_write writes zeroes.
 */
extern int ring_read (struct ring *r, void *buf, uint32_t count,
                      uint64_t offset);
extern int ring_write (struct ring *r, const void *buf, uint32_t count,
                       uint64_t offset, bool fua);
extern int ring_fsync (struct ring *r);
extern int ring_fallocate (struct ring *r, int mode, uint64_t offset,
                           uint64_t len, bool fua);

#endif /* URINGBLK_RING_H */
