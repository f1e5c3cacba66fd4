/* uringblk: the backing store (a regular file or a block device).
 *
 * Opening, probing (size, logical block size, O_DIRECT), and the
 * operations that have no io_uring form on the kernels we support:
 * BLKDISCARD, and SEEK_DATA/SEEK_HOLE for block status.  Functions
 * return 0 or -errno and never log; the plugin reports.
 */

#ifndef URINGBLK_BACKING_H
#define URINGBLK_BACKING_H

#include <stdbool.h>
#include <stdint.h>

#include "params.h"

struct backing {
  bool is_device;               /* block device, else regular file */
  bool direct;                  /* opened with O_DIRECT */
  bool readonly;                /* only O_RDONLY could be opened */
  uint64_t size;                /* bytes */
  uint32_t block_size;          /* logical block size: the O_DIRECT unit */
  bool can_seek_data;           /* SEEK_DATA/SEEK_HOLE work */
};

extern int backing_probe (const char *path, enum tristate direct,
                          struct backing *b, const char **what);
extern int backing_open (const char *path, const struct backing *b,
                         bool readonly, bool *got_readonly);
extern int backing_discard (int fd, uint64_t offset, uint64_t len);

/* Called for each extent found by backing_extents: [offset, offset+len)
 * is data (hole == false) or a hole reading as zeroes.  Returns 0 to go
 * on, 1 to stop, -errno to fail.
 */
typedef int (*backing_extent_fn) (void *opaque, uint64_t offset,
                                  uint64_t len, bool hole);
extern int backing_extents (int fd, uint64_t size, uint64_t offset,
                            uint64_t count, backing_extent_fn fn,
                            void *opaque);

#endif /* URINGBLK_BACKING_H */
