/* uringblkd: the nbdkit child process.
 *
 * nbdkit runs in the foreground (-f) as our child, dies with us
 * (--exit-with-parent), and serves the daemon's listening sockets, which
 * it receives through socket activation: the child sets LISTEN_PID to
 * its own pid just before exec, as nbdkit checks it.
 */
#ifndef URINGBLKD_CHILD_H
#define URINGBLKD_CHILD_H

#include <sys/types.h>

/* Build the nbdkit command line from the arg_* options.  The result is
 * a NULL-terminated malloc'd array of malloc'd strings.
 */
extern int child_argv (char ***argv);
extern void child_argv_free (char **argv);

/* Start nbdkit with ARGV, passing the NFDS sockets LISTEN_FDS as
 * descriptors 3..3+NFDS-1.  Returns 0 with *PID set, or -errno.
 */
extern int child_start (char **argv, const int *listen_fds, unsigned nfds,
                        pid_t *pid);

/* Ask PID to stop (SIGTERM) and reap it, waiting up to TIMEOUT_MS before
 * SIGKILL.  Returns its wait status, or -errno.
 */
extern int child_stop (pid_t pid, int timeout_ms);

/* Describe a wait status ("exit status 1", "signal 9 (Killed)") into
 * BUF of LEN bytes; returns BUF.
 */
extern const char *child_describe_status (int status, char *buf, size_t len);

#endif /* URINGBLKD_CHILD_H */
