/* uringblkd: attach an NBD export as a kernel block device (/dev/nbdN)
 * through the kernel's generic netlink "nbd" family.
 *
 * The sockets handed over must already be in the NBD transmission phase
 * (see handshake.h); the kernel takes its own reference to each, so the
 * caller closes its copies afterwards.
 *
 * The monitor listens to the family's multicast group, where the kernel
 * reports NBD_CMD_LINK_DEAD each time one of a device's connections
 * fails; the daemon answers with NBD_CMD_RECONFIGURE and fresh sockets.
 */
#ifndef URINGBLKD_ATTACH_H
#define URINGBLKD_ATTACH_H

#include <stdint.h>

struct attach_params {
  int index;                    /* N of /dev/nbdN, or -1 for any free one */
  uint64_t size;                /* bytes */
  uint64_t block_size;          /* logical block size, bytes */
  uint64_t server_flags;        /* NBD transmission flags */
  uint64_t timeout;             /* request timeout, s (0: kernel default) */
  uint64_t dead_timeout;        /* how long to wait for a reconnect, s */
  const int *fds;               /* connected, negotiated sockets */
  unsigned nfds;
};

/* Connect a device.  Returns 0 with *INDEX set, or -errno:
 *   -ENOPKG  the nbd module is not loaded (no "nbd" netlink family)
 *   -EBUSY   the device is already connected
 *   -EPERM   not allowed (needs CAP_SYS_ADMIN)
 *   -EINVAL  the kernel refused the parameters.
 */
extern int attach_connect (const struct attach_params *p, int *index);

/* Replace dead connections of device INDEX with FDS.  The kernel takes
 * one socket per connection it has marked dead and silently drops the
 * rest, so offer sockets only for links reported dead by the monitor.
 */
extern int attach_reconfigure (int index, const int *fds, unsigned nfds);

/* Ask the kernel to disconnect device INDEX. */
extern int attach_disconnect (int index);

struct attach_monitor;

extern int attach_monitor_open (struct attach_monitor **mon);
extern int attach_monitor_fd (const struct attach_monitor *mon);
/* Read pending notifications; add the number of dead links reported for
 * device INDEX to *DEAD.  Returns 0 or -errno.
 */
extern int attach_monitor_read (struct attach_monitor *mon, int index,
                                unsigned *dead);
extern void attach_monitor_close (struct attach_monitor *mon);

#endif /* URINGBLKD_ATTACH_H */
