/* uringblkd: the listening sockets nbdkit serves on.
 *
 * The daemon owns them, not nbdkit: it binds them once (or receives them
 * from systemd's socket activation) and passes them to every nbdkit it
 * starts through nbdkit's own socket activation support.  So the socket
 * outlives a crashed nbdkit, clients that connect while nbdkit restarts
 * wait in the backlog instead of being refused, and the daemon can check
 * that nbdkit answers by connecting to them itself.
 */
#ifndef URINGBLKD_LISTEN_H
#define URINGBLKD_LISTEN_H

#include <sys/types.h>

/* Bind and listen on the Unix socket PATH with MODE, owned by group GID
 * ((gid_t) -1 to leave it).  A stale socket left by a dead daemon is
 * replaced; one that still answers gives -EADDRINUSE; anything else at
 * PATH gives -EEXIST.
 */
extern int listen_unix (const char *path, gid_t gid, mode_t mode, int *fd);

/* Bind and listen on "ADDR:PORT" or "[ADDR]:PORT" (numeric). */
extern int listen_tcp (const char *addr, int *fd);

/* Take the sockets systemd passed (LISTEN_PID/LISTEN_FDS, see
 * sd_listen_fds(3)) and clear those variables.  Returns how many (0 if
 * not socket-activated) with *FIRST set to the first (always 3).
 */
extern int listen_from_environment (int *first);

/* Connect a new stream socket to the listening socket LFD. */
extern int listen_connect (int lfd, int *fd);

#endif /* URINGBLKD_LISTEN_H */
