/* uringblkd: running the service.
 *
 * The life of the daemon, all in one thread:
 *
 *   1. Check everything that can be checked without side effects: the
 *      backing, nbdkit and the plugin, and for a device the nbd module
 *      and whether the device is free.
 *   2. Get the listening sockets: from systemd (socket activation) or by
 *      binding them.  They belong to the daemon for its whole life.
 *   3. Start nbdkit on them and wait until it answers a handshake.
 *   4. With --device: negotiate N connections, hand them to the kernel
 *      (NBD_CMD_CONNECT) and wait until /dev/nbdN reads.
 *   5. READY=1, then wait in poll() on a signalfd (SIGTERM, SIGINT,
 *      SIGCHLD), a timerfd (restart backoff) and the nbd netlink
 *      multicast socket (links reported dead).
 *   6. If nbdkit dies, restart it after a bounded backoff; the sockets
 *      did not go away, so clients reconnect to the same address.  The
 *      device's connections died with it: the kernel reports each one
 *      (NBD_CMD_LINK_DEAD) and holds I/O for the dead-connection timeout,
 *      during which the daemon negotiates new connections and hands them
 *      over with NBD_CMD_RECONFIGURE.  A mounted file system sees a pause,
 *      not an error.
 *   7. On SIGTERM/SIGINT: STOPPING=1, flush and disconnect the device,
 *      stop nbdkit (it syncs the backing as it closes), remove the socket.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "attach.h"
#include "child.h"
#include "device.h"
#include "handshake.h"
#include "listen.h"
#include "notify.h"
#include "uringblkd.h"

#define MAX_LISTEN 16
#define PROBE_TIMEOUT_MS 500            /* one handshake attempt */
#define START_TIMEOUT_MS (60 * 1000)    /* nbdkit start-up, all attempts */
#define STOP_TIMEOUT_MS (30 * 1000)     /* nbdkit SIGTERM -> SIGKILL */
#define HANDSHAKE_TIMEOUT_MS (10 * 1000)
#define READY_TIMEOUT_MS (30 * 1000)
#define DETACH_TIMEOUT_MS (10 * 1000)
#define LINK_DEAD_WAIT_MS 2000
#define CHILD_EXIT_WAIT_MS 500
#define STABLE_MS (10 * 1000)   /* up this long: backoff starts again */
#define MAX_FAILURES 8          /* consecutive failed starts: give up */

struct service {
  int listen_fds[MAX_LISTEN];
  unsigned nlisten;
  bool own_socket;              /* we bound arg_socket: remove it */
  char *where;                  /* for messages: socket path or address */

  char **child_argv;
  pid_t child;                  /* 0 when not running */
  struct timespec child_ready_at;
  unsigned restarts;            /* since the daemon started */
  unsigned failures;            /* consecutive, reset when stable */
  char last_death[96];

  int sigfd, timerfd;
  bool restart_armed;

  struct hs_export exp;
  /* Device (index < 0 when none attached). */
  int index;
  uint32_t block_size;
  struct attach_monitor *mon;
  unsigned pending_dead;        /* links reported dead, not yet replaced */
};

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
human_size (uint64_t size, char *buf, size_t len)
{
  static const char units[] = "KMGTPE";
  double v = size;
  int u = -1;

  while (v >= 1024 && u < 5) {
    v /= 1024;
    u++;
  }
  if (u < 0)
    snprintf (buf, len, "%" PRIu64 " bytes", size);
  else
    snprintf (buf, len, "%.1f %ciB", v, units[u]);
  return buf;
}

/* Step 1: the backing.  With none given, create (once) and use the
 * default sparse image in the state directory.
 */
static int
service_check_backing (void)
{
  struct stat st;
  int fd;

  if (arg_backing == NULL)
    return 0;
  if (stat (arg_backing, &st) == -1) {
    log_error ("backing %s: %m", arg_backing);
    return -1;
  }
  if (!S_ISREG (st.st_mode) && !S_ISBLK (st.st_mode)) {
    log_error ("backing %s: not a regular file or block device",
               arg_backing);
    return -1;
  }
  fd = open (arg_backing, (arg_readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd == -1) {
    log_error ("backing %s: cannot open %s: %m", arg_backing,
               arg_readonly ? "for reading" : "for reading and writing");
    return -1;
  }
  (void) close (fd);
  return 0;
}

/* mkdir -p DIR with MODE for the components it creates. */
static int
make_directory (const char *dir, mode_t mode)
{
  char *p = strdup (dir), *s;
  int r = 0;

  if (p == NULL)
    return -ENOMEM;
  for (s = p + 1; ; s++) {
    if (*s == '/' || *s == '\0') {
      char c = *s;
      *s = '\0';
      if (mkdir (p, mode) == -1 && errno != EEXIST) {
        r = -errno;
        break;
      }
      *s = c;
      if (c == '\0')
        break;
    }
  }
  free (p);
  return r;
}

static int
service_default_backing (void)
{
  char *path;
  int fd, r;

  if (arg_backing)
    return 0;
  if (asprintf (&path, "%s/default.img", arg_state_directory) == -1)
    return -1;
  r = make_directory (arg_state_directory, 0755);
  if (r < 0) {
    log_error ("state directory %s: %s", arg_state_directory, strerror (-r));
    free (path);
    return -1;
  }
  fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    if (ftruncate (fd, arg_default_size) == -1) {
      log_error ("%s: %m", path);
      (void) close (fd);
      (void) unlink (path);
      free (path);
      return -1;
    }
    (void) close (fd);
    log_info ("created default image %s", path);
  }
  else if (errno != EEXIST) {
    log_error ("%s: %m", path);
    free (path);
    return -1;
  }
  arg_backing = path;
  return service_check_backing ();
}

static int
service_check_programs (void)
{
  if (access (arg_nbdkit, X_OK) == -1) {
    log_error ("nbdkit %s: %m (set --nbdkit or URINGBLKD_NBDKIT)",
               arg_nbdkit);
    return -1;
  }
  if (strchr (arg_plugin, '/') && access (arg_plugin, R_OK) == -1) {
    log_error ("plugin %s: %m (set --plugin or URINGBLKD_PLUGIN)",
               arg_plugin);
    return -1;
  }
  return 0;
}

/* Explain an attach error the way an administrator can act on it. */
static void
log_attach_error (const char *what, int r)
{
  char dev[32];

  if (arg_device_index >= 0)
    snprintf (dev, sizeof dev, "/dev/nbd%d", arg_device_index);
  else
    snprintf (dev, sizeof dev, "nbd device");
  switch (r) {
  case -ENOPKG:
    log_error ("%s %s: the nbd kernel module is not loaded "
               "(run: modprobe nbd)", what, dev);
    break;
  case -EPERM:
  case -EACCES:
    log_error ("%s %s: permission denied (needs CAP_SYS_ADMIN)", what, dev);
    break;
  case -EBUSY:
    log_error ("%s %s: device is busy (already connected)", what, dev);
    break;
  default:
    log_error ("%s %s: %s", what, dev, strerror (-r));
  }
}

static int
service_check_device (struct service *s)
{
  int r;

  if (arg_device_index == DEVICE_NONE)
    return 0;
  /* Subscribe before connecting, so no dead link goes unseen. */
  r = attach_monitor_open (&s->mon);
  if (r < 0) {
    log_attach_error ("attach", r);
    return -1;
  }
  if (arg_device_index >= 0) {
    r = device_is_connected (arg_device_index);
    if (r != 0) {
      log_attach_error ("attach", r > 0 ? -EBUSY : r);
      return -1;
    }
  }
  return 0;
}

/* Step 2: listening sockets. */
static int
service_listen (struct service *s)
{
  int first, n, fd, r;

  n = listen_from_environment (&first);
  if (n < 0) {
    log_error ("socket activation: invalid LISTEN_FDS");
    return -1;
  }
  if (n > 0) {
    if (n > MAX_LISTEN) {
      log_error ("socket activation: too many sockets (%d)", n);
      return -1;
    }
    for (int i = 0; i < n; i++)
      s->listen_fds[i] = first + i;
    s->nlisten = n;
    s->where = strdup ("socket-activated sockets");
    return s->where ? 0 : -1;
  }

  if (arg_socket) {
    r = listen_unix (arg_socket, arg_socket_group, 0660, &fd);
    if (r == -ENOENT) {
      /* The runtime directory (outside systemd) may not exist yet. */
      char *dir = strdup (arg_socket);
      if (dir && strrchr (dir, '/') != dir) {
        *strrchr (dir, '/') = '\0';
        if (make_directory (dir, 0755) == 0)
          r = listen_unix (arg_socket, arg_socket_group, 0660, &fd);
      }
      free (dir);
    }
    if (r < 0) {
      log_error ("socket %s: %s", arg_socket,
                 r == -EADDRINUSE ? "another server is listening there" :
                 r == -EEXIST ? "exists and is not a socket" :
                 strerror (-r));
      return -1;
    }
    s->listen_fds[s->nlisten++] = fd;
    s->own_socket = true;
    s->where = strdup (arg_socket);
  }
  if (arg_listen) {
    r = listen_tcp (arg_listen, &fd);
    if (r < 0) {
      log_error ("listen %s: %s", arg_listen, strerror (-r));
      return -1;
    }
    s->listen_fds[s->nlisten++] = fd;
    if (s->where == NULL)
      s->where = strdup (arg_listen);
  }
  return s->where ? 0 : -1;
}

/* Whether the child is still running; reaps it if not. */
static bool
service_child_alive (struct service *s)
{
  int status;

  if (s->child == 0)
    return false;
  if (waitpid (s->child, &status, WNOHANG) == s->child) {
    child_describe_status (status, s->last_death, sizeof s->last_death);
    s->child = 0;
    return false;
  }
  return true;
}

/* Step 3: start nbdkit and wait until it completes a handshake (or, with
 * TLS, at least greets us).  Returns 0, or -1 if it died or never
 * answered (it is then stopped).
 */
static int
service_child_start (struct service *s)
{
  int64_t deadline;
  int r, last = -ETIMEDOUT;

  r = child_start (s->child_argv, s->listen_fds, s->nlisten, &s->child);
  if (r < 0) {
    log_error ("starting nbdkit: %s", strerror (-r));
    return -1;
  }
  log_debug ("started nbdkit, pid %d", (int) s->child);

  deadline = now_ms () + START_TIMEOUT_MS;
  while (now_ms () < deadline) {
    int fd;

    if (!service_child_alive (s)) {
      log_error ("nbdkit exited during start-up (%s)", s->last_death);
      return -1;
    }
    r = listen_connect (s->listen_fds[0], &fd);
    if (r == 0) {
      if (arg_tls_psk || arg_tls_certificates)
        r = handshake_probe (fd, PROBE_TIMEOUT_MS);
      else {
        struct hs_export e;
        r = handshake_go (fd, "", PROBE_TIMEOUT_MS, &e);
        if (r == 0) {
          s->exp = e;
          (void) handshake_disconnect (fd);
        }
      }
      (void) close (fd);
      if (r == 0) {
        clock_gettime (CLOCK_MONOTONIC, &s->child_ready_at);
        return 0;
      }
    }
    last = r;
    if (r != -ETIMEDOUT)
      usleep (100 * 1000);
  }
  log_error ("nbdkit did not answer within %d s: %s",
             START_TIMEOUT_MS / 1000, strerror (-last));
  (void) child_stop (s->child, STOP_TIMEOUT_MS);
  s->child = 0;
  return -1;
}

/* Step 4: attach /dev/nbdN. */
static int
service_attach (struct service *s)
{
  int fds[16];
  struct attach_params p;
  char size[32];
  int r;

  r = device_open_connections (s->listen_fds[0], arg_connections,
                               HANDSHAKE_TIMEOUT_MS, fds, &s->exp);
  if (r < 0) {
    log_error ("negotiating with nbdkit: %s", strerror (-r));
    return -1;
  }
  if (arg_connections > 1 && !(s->exp.flags & HS_FLAG_CAN_MULTI_CONN)) {
    log_error ("connections %u: the server does not allow several "
               "connections to one export (no multi-conn)",
               arg_connections);
    goto fail;
  }
  r = device_block_size (&s->exp, &s->block_size);
  if (r < 0) {
    log_error ("export: block size %" PRIu32 " or size %" PRIu64
               " unusable for a kernel block device",
               s->exp.block_min, s->exp.size);
    goto fail;
  }

  p = (struct attach_params) {
    .index = arg_device_index,
    .size = s->exp.size,
    .block_size = s->block_size,
    .server_flags = s->exp.flags,
    .timeout = arg_timeout,
    .dead_timeout = arg_dead_timeout,
    .fds = fds,
    .nfds = arg_connections,
  };
  r = attach_connect (&p, &s->index);
  device_close_connections (fds, arg_connections);
  if (r < 0) {
    log_attach_error ("attach", r);
    return -1;
  }
  r = device_wait_ready (s->index, s->block_size, READY_TIMEOUT_MS);
  if (r < 0) {
    log_error ("/dev/nbd%d does not answer: %s", s->index, strerror (-r));
    return -1;
  }
  log_info ("attached /dev/nbd%d (%s, %" PRIu32 "-byte blocks, "
            "%u connection%s)", s->index,
            human_size (s->exp.size, size, sizeof size),
            s->block_size, arg_connections, arg_connections > 1 ? "s" : "");
  return 0;
 fail:
  device_close_connections (fds, arg_connections);
  return -1;
}

static void
service_report (struct service *s)
{
  char size[32], restarts[160] = "";

  human_size (s->exp.size, size, sizeof size);
  if (s->restarts)
    snprintf (restarts, sizeof restarts,
              "; nbdkit restarted %u time%s, last after %s",
              s->restarts, s->restarts > 1 ? "s" : "", s->last_death);
  if (s->index >= 0)
    notify_status ("serving %s as /dev/nbd%d (%s) via %s%s", arg_backing,
                   s->index, size, s->where, restarts);
  else if (s->exp.size)
    notify_status ("serving %s (%s) on %s%s", arg_backing, size,
                   s->where, restarts);
  else
    notify_status ("serving %s on %s%s", arg_backing, s->where, restarts);
}

/* Hand the kernel new connections for the links it reported dead.
 * ATLEAST: offer this many even if fewer deaths were seen (surplus
 * sockets are dropped by the kernel).
 */
static int
service_reconnect (struct service *s, unsigned atleast)
{
  int fds[16];
  unsigned n = s->pending_dead > atleast ? s->pending_dead : atleast;
  struct hs_export e;
  int r;

  if (n == 0)
    return 0;
  if (n > arg_connections)
    n = arg_connections;
  r = device_open_connections (s->listen_fds[0], n, HANDSHAKE_TIMEOUT_MS,
                               fds, &e);
  if (r < 0) {
    log_error ("reconnecting /dev/nbd%d: %s", s->index, strerror (-r));
    return -1;
  }
  if (e.size != s->exp.size) {
    log_error ("reconnecting /dev/nbd%d: export size changed "
               "(%" PRIu64 " -> %" PRIu64 ")", s->index, s->exp.size, e.size);
    device_close_connections (fds, n);
    return -1;
  }
  r = attach_reconfigure (s->index, fds, n);
  device_close_connections (fds, n);
  if (r < 0) {
    log_attach_error ("reconfigure", r);
    return -1;
  }
  log_info ("/dev/nbd%d: handed %u new connection%s to the kernel",
            s->index, n, n > 1 ? "s" : "");
  s->pending_dead = 0;
  return 0;
}

/* Read what the nbd multicast group has for us. */
static void
service_read_monitor (struct service *s)
{
  if (attach_monitor_read (s->mon, s->index, &s->pending_dead) < 0)
    /* Events may be lost: assume every link needs replacing. */
    s->pending_dead = arg_connections;
}

/* After a restart: the kernel reports each connection that died with the
 * old nbdkit.  Give it a moment to notice all of them, then replace them.
 */
static int
service_reattach (struct service *s)
{
  int64_t deadline = now_ms () + LINK_DEAD_WAIT_MS;

  while (s->pending_dead < arg_connections && now_ms () < deadline) {
    struct pollfd pfd = { .fd = attach_monitor_fd (s->mon), .events = POLLIN };
    if (poll (&pfd, 1, 100) > 0)
      service_read_monitor (s);
  }
  return service_reconnect (s, arg_connections);
}

static void
service_arm_restart (struct service *s)
{
  unsigned shift = s->failures < 6 ? s->failures : 6;
  int64_t delay = 100 << shift;        /* 0.1 s .. 6.4 s */
  struct itimerspec it = { 0 };

  if (delay > 5000)
    delay = 5000;
  it.it_value.tv_sec = delay / 1000;
  it.it_value.tv_nsec = (delay % 1000) * 1000000L;
  timerfd_settime (s->timerfd, 0, &it, NULL);
  s->restart_armed = true;
  log_warning ("nbdkit exited unexpectedly (%s); restarting in %.1f s",
               s->last_death, delay / 1000.0);
  notify_status ("nbdkit exited (%s); restarting (restart %u)",
                 s->last_death, s->restarts + 1);
}

/* The child died: count it and schedule a restart.  Returns -1 if it
 * keeps failing and we should give up.
 */
static int
service_child_died (struct service *s)
{
  struct timespec now;
  int64_t up;

  clock_gettime (CLOCK_MONOTONIC, &now);
  up = (now.tv_sec - s->child_ready_at.tv_sec) * 1000 +
    (now.tv_nsec - s->child_ready_at.tv_nsec) / 1000000;
  if (up >= STABLE_MS)
    s->failures = 0;
  if (s->failures >= MAX_FAILURES) {
    log_error ("nbdkit failed %u times in a row; giving up", s->failures);
    return -1;
  }
  service_arm_restart (s);
  return 0;
}

/* nbdkit is running but does not serve the device: replace it. */
static int
service_child_kill (struct service *s)
{
  int status;

  if (s->child) {
    (void) kill (s->child, SIGKILL);
    if (waitpid (s->child, &status, 0) == s->child)
      snprintf (s->last_death, sizeof s->last_death,
                "nbdkit stopped answering");
    s->child = 0;
  }
  return service_child_died (s);
}

static int
service_restart (struct service *s)
{
  s->restart_armed = false;
  s->restarts++;
  s->failures++;
  if (service_child_start (s) < 0)
    return service_child_died (s);
  log_info ("nbdkit restarted (restart %u)", s->restarts);
  if (s->index >= 0 && service_reattach (s) < 0)
    return service_child_kill (s);
  service_report (s);
  return 0;
}

/* Links died (reported by the kernel).  If nbdkit died too, restart it
 * (the restart replaces the links); otherwise replace just those links.
 */
static int
service_dead_links (struct service *s)
{
  int64_t deadline = now_ms () + CHILD_EXIT_WAIT_MS;

  if (s->pending_dead == 0 || s->restart_armed)
    return 0;
  /* A killed nbdkit closes its sockets, which the kernel reports, a
   * little before it can be reaped: give it that moment, or we would
   * negotiate with a server that is already gone.
   */
  while (service_child_alive (s) && now_ms () < deadline)
    usleep (20 * 1000);
  if (!service_child_alive (s))
    return service_child_died (s);
  if (service_reconnect (s, 0) < 0)
    return service_child_kill (s);
  return 0;
}

/* Step 5/6.  Returns 0 on SIGTERM/SIGINT, -1 on a fatal error. */
static int
service_loop (struct service *s)
{
  for (;;) {
    struct pollfd pfd[3] = {
      { .fd = s->sigfd, .events = POLLIN },
      { .fd = s->timerfd, .events = POLLIN },
      { .fd = s->mon ? attach_monitor_fd (s->mon) : -1, .events = POLLIN },
    };

    if (poll (pfd, 3, -1) == -1) {
      if (errno == EINTR)
        continue;
      log_error ("poll: %m");
      return -1;
    }

    if (pfd[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read (s->sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
          log_info ("received %s, stopping", strsignal (si.ssi_signo));
          return 0;
        }
        if (si.ssi_signo == SIGCHLD && s->child && !service_child_alive (s)) {
          if (service_child_died (s) < 0)
            return -1;
        }
      }
    }

    if (pfd[1].revents & POLLIN) {
      uint64_t ticks;
      if (read (s->timerfd, &ticks, sizeof ticks) == sizeof ticks &&
          s->restart_armed && service_restart (s) < 0)
        return -1;
    }

    if (pfd[2].revents & POLLIN) {
      service_read_monitor (s);
      /* A link can also die without nbdkit dying (request timeout). */
      if (service_dead_links (s) < 0)
        return -1;
    }
  }
}

/* Step 7. */
static void
service_stop (struct service *s)
{
  char why[96];
  int r;

  notify_send ("STOPPING=1");
  notify_status ("stopping");

  if (s->index >= 0) {
    if (s->child) {
      r = device_flush (s->index);
      if (r < 0)
        log_warning ("flushing /dev/nbd%d: %s", s->index, strerror (-r));
    }
    r = attach_disconnect (s->index);
    if (r < 0)
      log_attach_error ("disconnect", r);
    else if ((r = device_wait_disconnected (s->index, DETACH_TIMEOUT_MS)) < 0)
      log_warning ("/dev/nbd%d still connected: %s", s->index,
                   strerror (-r));
    else
      log_info ("detached /dev/nbd%d", s->index);
  }
  if (s->child) {
    r = child_stop (s->child, STOP_TIMEOUT_MS);
    if (r < 0)
      log_warning ("stopping nbdkit: %s", strerror (-r));
    else if (!WIFEXITED (r) || WEXITSTATUS (r) != 0)
      log_warning ("nbdkit stopped with %s",
                   child_describe_status (r, why, sizeof why));
    s->child = 0;
  }
}

static void
service_free (struct service *s)
{
  for (unsigned i = 0; i < s->nlisten; i++)
    (void) close (s->listen_fds[i]);
  if (s->own_socket)
    (void) unlink (arg_socket);
  attach_monitor_close (s->mon);
  child_argv_free (s->child_argv);
  if (s->sigfd >= 0)
    (void) close (s->sigfd);
  if (s->timerfd >= 0)
    (void) close (s->timerfd);
  free (s->where);
}

int
service_run (void)
{
  struct service s = { .sigfd = -1, .timerfd = -1, .index = -1 };
  sigset_t mask;
  int r, status = EXIT_FAILURE;

  /* 1. Checks, with no side effects. */
  if (service_check_backing () < 0 || service_check_programs () < 0 ||
      service_check_device (&s) < 0)
    goto out;
  if ((r = notify_init ()) < 0) {
    log_error ("NOTIFY_SOCKET: %s", strerror (-r));
    goto out;
  }

  /* Signals are read from a signalfd; the child unblocks them. */
  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  signal (SIGPIPE, SIG_IGN);
  s.sigfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  s.timerfd = timerfd_create (CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (s.sigfd == -1 || s.timerfd == -1) {
    log_error ("signalfd/timerfd: %m");
    goto out;
  }

  /* 2. The default image and the sockets. */
  if (service_default_backing () < 0 || service_listen (&s) < 0)
    goto out;
  if ((r = child_argv (&s.child_argv)) < 0) {
    log_error ("%s", strerror (-r));
    goto out;
  }
  notify_status ("starting nbdkit");

  /* 3, 4. */
  if (service_child_start (&s) < 0)
    goto stop;
  if (arg_device_index != DEVICE_NONE && service_attach (&s) < 0)
    goto stop;

  /* 5. */
  service_report (&s);
  notify_send ("READY=1");
  if (s.index < 0)
    log_info ("serving %s on %s", arg_backing, s.where);
  if (service_loop (&s) == 0)
    status = EXIT_SUCCESS;

 stop:
  service_stop (&s);
 out:
  service_free (&s);
  notify_close ();
  return status;
}
