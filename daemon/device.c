/* uringblkd: the kernel block device, see device.h. */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "listen.h"

void
device_close_connections (int *fds, unsigned n)
{
  for (unsigned i = 0; i < n; i++) {
    if (fds[i] >= 0)
      (void) close (fds[i]);
    fds[i] = -1;
  }
}

int
device_open_connections (int lfd, unsigned n, int timeout_ms, int *fds,
                         struct hs_export *exp)
{
  struct hs_export e;
  int r;

  for (unsigned i = 0; i < n; i++)
    fds[i] = -1;
  for (unsigned i = 0; i < n; i++) {
    r = listen_connect (lfd, &fds[i]);
    if (r < 0)
      goto fail;
    r = handshake_go (fds[i], "", timeout_ms, i == 0 ? exp : &e);
    if (r < 0)
      goto fail;
    /* The kernel treats the connections as one disk. */
    if (i > 0 && (e.size != exp->size || e.flags != exp->flags)) {
      r = -EPROTO;
      goto fail;
    }
  }
  return 0;
 fail:
  device_close_connections (fds, n);
  return r;
}

int
device_block_size (const struct hs_export *exp, uint32_t *bs)
{
  uint32_t b = exp->block_min;

  if (b < 512)
    b = 512;
  /* The kernel takes powers of two from 512 to the page size. */
  if (b > 4096 || (b & (b - 1)) != 0)
    return -EINVAL;
  if (exp->size % b != 0)
    return -EINVAL;
  *bs = b;
  return 0;
}

/* Read the first line of a sysfs file as an unsigned number. */
static int
sysfs_read_u64 (const char *path, unsigned long long *v)
{
  char buf[64];
  ssize_t n;
  int fd;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return -errno;
  n = read (fd, buf, sizeof buf - 1);
  if (n == -1) {
    int r = -errno;
    (void) close (fd);
    return r;
  }
  (void) close (fd);
  buf[n] = '\0';
  if (sscanf (buf, "%llu", v) != 1)
    return -EINVAL;
  return 0;
}

int
device_is_connected (int index)
{
  char path[64];

  /* The kernel creates "pid" while a device is connected. */
  snprintf (path, sizeof path, "/sys/block/nbd%d/pid", index);
  if (access (path, F_OK) == 0)
    return 1;
  return errno == ENOENT ? 0 : -errno;
}

static void
sleep_ms (int ms)
{
  struct timespec ts = { .tv_sec = ms / 1000,
                         .tv_nsec = (ms % 1000) * 1000000L };
  nanosleep (&ts, NULL);
}

int
device_wait_ready (int index, uint32_t block_size, int timeout_ms)
{
  char sys[64], dev[64];
  unsigned long long sectors = 0;
  void *buf = NULL;
  int waited = 0, fd, r = -ETIMEDOUT;

  snprintf (sys, sizeof sys, "/sys/block/nbd%d/size", index);
  snprintf (dev, sizeof dev, "/dev/nbd%d", index);
  if (posix_memalign (&buf, 4096, block_size) != 0)
    return -ENOMEM;

  for (; waited <= timeout_ms; waited += 50, sleep_ms (50)) {
    if (sysfs_read_u64 (sys, &sectors) < 0 || sectors == 0)
      continue;
    fd = open (dev, O_RDONLY | O_CLOEXEC | O_DIRECT);
    if (fd == -1) {
      r = -errno;
      if (r == -ENOENT)         /* udev/devtmpfs not there yet */
        continue;
      break;
    }
    if (pread (fd, buf, block_size, 0) == (ssize_t) block_size)
      r = 0;
    else
      r = errno ? -errno : -EIO;
    (void) close (fd);
    break;
  }
  free (buf);
  return r;
}

int
device_flush (int index)
{
  char dev[64];
  int fd, r = 0;

  snprintf (dev, sizeof dev, "/dev/nbd%d", index);
  fd = open (dev, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return -errno;
  if (fsync (fd) == -1)
    r = -errno;
  (void) close (fd);
  return r;
}

int
device_wait_disconnected (int index, int timeout_ms)
{
  for (int waited = 0; waited <= timeout_ms; waited += 50) {
    int r = device_is_connected (index);
    if (r <= 0)
      return r;
    sleep_ms (50);
  }
  return -ETIMEDOUT;
}
