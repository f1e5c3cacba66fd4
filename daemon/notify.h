/* uringblkd: readiness and status notifications to the service manager.
 *
 * A small implementation of the sd_notify(3) protocol: one datagram per
 * message to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
 * abstract name starting with '@').  Without $NOTIFY_SOCKET every call is
 * a no-op, so the daemon runs the same way outside systemd.
 */
#ifndef URINGBLKD_NOTIFY_H
#define URINGBLKD_NOTIFY_H

/* Read $NOTIFY_SOCKET once and remove it from the environment, so the
 * nbdkit child does not talk to the service manager in our name.
 * Returns 0, or -errno if the variable is set but unusable.
 */
extern int notify_init (void);

/* Send MESSAGE ("READY=1", "STATUS=...", ...).  Returns 0 (also when
 * there is no service manager) or -errno.
 */
extern int notify_send (const char *message);

/* Send "STATUS=" followed by a formatted string. */
extern int notify_status (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));

extern void notify_close (void);

#endif /* URINGBLKD_NOTIFY_H */
