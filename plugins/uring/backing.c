/* uringblk: the backing store (see backing.h). */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include "align.h"
#include "backing.h"

#define PROBE_ALIGN 4096

static int
open_flags (bool readonly, bool direct)
{
  return (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);
}

/* The smallest O_DIRECT offset alignment a regular file accepts.
 * STATX_DIOALIGN (Linux 6.1) says it; older kernels and filesystems
 * that do not fill it in get a probe: try a 512-byte direct read, and
 * assume 4096 if that is refused.
 */
static int
file_dio_align (int fd, uint64_t size, uint32_t *align)
{
  struct statx stx;
  void *buf;
  ssize_t r;

  if (statx (fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
      (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align != 0) {
    *align = stx.stx_dio_offset_align;
    return 0;
  }

  if (posix_memalign (&buf, PROBE_ALIGN, PROBE_ALIGN) != 0)
    return -ENOMEM;
  r = size >= 512 ? pread (fd, buf, 512, 0) : 0;
  free (buf);
  *align = (r == -1 && errno == EINVAL) ? 4096 : 512;
  return 0;
}

/* Open 'path' read-only once, to check it and learn its geometry.
 * On error '*what' names the step that failed.
 */
int
backing_probe (const char *path, enum tristate direct, struct backing *b,
               const char **what)
{
  struct stat st;
  int fd, r;
  off_t pos;

  memset (b, 0, sizeof *b);
  b->direct = direct != TRI_OFF;

  *what = "open";
  fd = open (path, open_flags (true, b->direct));
  if (fd == -1 && errno == EINVAL && direct == TRI_AUTO) {
    /* The filesystem refuses O_DIRECT. */
    b->direct = false;
    fd = open (path, open_flags (true, false));
  }
  if (fd == -1)
    return -errno;

  *what = "fstat";
  if (fstat (fd, &st) == -1)
    goto err;

  if (S_ISBLK (st.st_mode)) {
    uint64_t size;
    int ssz;

    b->is_device = true;
    *what = "BLKGETSIZE64";
    if (ioctl (fd, BLKGETSIZE64, &size) == -1)
      goto err;
    *what = "BLKSSZGET";
    if (ioctl (fd, BLKSSZGET, &ssz) == -1)
      goto err;
    b->size = size;
    b->block_size = ssz;
  }
  else if (S_ISREG (st.st_mode)) {
    b->size = st.st_size;
    if (b->direct) {
      *what = "O_DIRECT alignment";
      r = file_dio_align (fd, b->size, &b->block_size);
      if (r < 0) {
        (void) close (fd);
        return r;
      }
    }
    else
      b->block_size = 512;

    pos = lseek (fd, 0, SEEK_DATA);
    b->can_seek_data = pos >= 0 || errno == ENXIO;
  }
  else {
    *what = "not a regular file or block device";
    (void) close (fd);
    return S_ISDIR (st.st_mode) ? -EISDIR : -EINVAL;
  }

  *what = "logical block size";
  if (!is_power_of_2 (b->block_size) || b->block_size < 512 ||
      b->block_size > 65536) {
    (void) close (fd);
    return -EINVAL;
  }

  /* Is it writable at all?  Remember, so that connections that want to
   * write are offered a read-only export instead of failing.
   */
  r = open (path, open_flags (false, b->direct));
  if (r >= 0)
    (void) close (r);
  else if (errno == EACCES || errno == EROFS || errno == EPERM)
    b->readonly = true;

  (void) close (fd);
  return 0;

 err:
  r = -errno;
  (void) close (fd);
  return r;
}

/* Open the backing for one connection.  A connection that wants to
 * write to a backing that cannot be written gets a read-only fd and
 * '*got_readonly' is set.  Returns the fd or -errno.
 */
int
backing_open (const char *path, const struct backing *b, bool readonly,
              bool *got_readonly)
{
  int fd;

  readonly = readonly || b->readonly;
  fd = open (path, open_flags (readonly, b->direct));
  if (fd == -1 && !readonly &&
      (errno == EACCES || errno == EROFS || errno == EPERM)) {
    readonly = true;
    fd = open (path, open_flags (true, b->direct));
  }
  if (fd == -1)
    return -errno;
  *got_readonly = readonly;
  return fd;
}

/* A real discard on a block device.  (PUNCH_HOLE on a block device is
 * a zero-out, which is not what trim asks for.)
 */
int
backing_discard (int fd, uint64_t offset, uint64_t len)
{
  uint64_t range[2] = { offset, len };

  if (ioctl (fd, BLKDISCARD, range) == -1)
    return -errno;
  return 0;
}

/* Walk the data and holes of a regular file over [offset, offset+count).
 * lseek's return value is computed per call, so concurrent callers on
 * the same fd each get their own correct answer; the file position it
 * leaves behind is never used, all I/O is positional.
 */
int
backing_extents (int fd, uint64_t size, uint64_t offset, uint64_t count,
                 backing_extent_fn fn, void *opaque)
{
  uint64_t end = offset + count;
  int r;

  while (offset < end) {
    off_t data, hole;

    data = lseek (fd, offset, SEEK_DATA);
    if (data == -1) {
      if (errno != ENXIO)
        return -errno;
      /* No data from here to the end of the file. */
      data = size;
    }
    if ((uint64_t) data > offset) {
      uint64_t len = ((uint64_t) data < end ? (uint64_t) data : end) - offset;
      r = fn (opaque, offset, len, true);
      if (r != 0)
        return r < 0 ? r : 0;
      offset += len;
      continue;
    }

    hole = lseek (fd, offset, SEEK_HOLE);
    if (hole == -1)
      return -errno;
    if ((uint64_t) hole <= offset)
      /* Raced with a write past the old end of data; call it data. */
      hole = end;
    {
      uint64_t len = ((uint64_t) hole < end ? (uint64_t) hole : end) - offset;
      r = fn (opaque, offset, len, false);
      if (r != 0)
        return r < 0 ? r : 0;
      offset += len;
    }
  }
  return 0;
}
