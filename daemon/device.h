/* uringblkd: the kernel block device side of the daemon.
 *
 * Opens negotiated connections to our own listening socket, attaches
 * them as /dev/nbdN (attach.h), checks that the device answers, and on
 * the way out flushes and detaches it.
 */
#ifndef URINGBLKD_DEVICE_H
#define URINGBLKD_DEVICE_H

#include <stdint.h>

#include "handshake.h"

/* Open N connections to the listening socket LFD and negotiate each; all
 * must describe the same export, returned in *EXP.  On error no fd is
 * left open.  Returns 0 or -errno (see handshake_go).
 */
extern int device_open_connections (int lfd, unsigned n, int timeout_ms,
                                    int *fds, struct hs_export *exp);

extern void device_close_connections (int *fds, unsigned n);

/* The logical block size the device should use for EXP: the server's
 * minimum block size, at least 512.  -EINVAL if the kernel cannot do it.
 */
extern int device_block_size (const struct hs_export *exp, uint32_t *bs);

/* Whether /dev/nbdINDEX is connected already (1), free (0), or -errno. */
extern int device_is_connected (int index);

/* Wait up to TIMEOUT_MS until /dev/nbdINDEX has its size and its first
 * block of BLOCK_SIZE bytes can be read.
 */
extern int device_wait_ready (int index, uint32_t block_size, int timeout_ms);

/* Write back everything cached for the device and have the server
 * flush (fsync on the block device).
 */
extern int device_flush (int index);

/* Wait up to TIMEOUT_MS for the device to be disconnected. */
extern int device_wait_disconnected (int index, int timeout_ms);

#endif /* URINGBLKD_DEVICE_H */
