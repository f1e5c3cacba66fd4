/* uringblkd: listening sockets, see listen.h. */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "listen.h"

static int
unix_address (const char *path, struct sockaddr_un *sun)
{
  size_t len = strlen (path);

  if (len >= sizeof sun->sun_path)
    return -ENAMETOOLONG;
  memset (sun, 0, sizeof *sun);
  sun->sun_family = AF_UNIX;
  memcpy (sun->sun_path, path, len);
  return 0;
}

/* If PATH is a socket nobody listens on any more, remove it. */
static int
unix_remove_stale (const struct sockaddr_un *sun)
{
  struct stat st;
  int fd, r;

  if (lstat (sun->sun_path, &st) == -1)
    return errno == ENOENT ? 0 : -errno;
  if (!S_ISSOCK (st.st_mode))
    return -EEXIST;
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1)
    return -errno;
  r = connect (fd, (const struct sockaddr *) sun, sizeof *sun);
  (void) close (fd);
  if (r == 0)
    return -EADDRINUSE;
  if (errno != ECONNREFUSED)
    return -errno;
  if (unlink (sun->sun_path) == -1 && errno != ENOENT)
    return -errno;
  return 0;
}

int
listen_unix (const char *path, gid_t gid, mode_t mode, int *fdp)
{
  struct sockaddr_un sun;
  mode_t old_umask;
  int fd, r;

  r = unix_address (path, &sun);
  if (r < 0)
    return r;
  r = unix_remove_stale (&sun);
  if (r < 0)
    return r;
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1)
    return -errno;
  /* Never let the socket exist with wider permissions than MODE. */
  old_umask = umask (~mode & 0777);
  r = bind (fd, (struct sockaddr *) &sun, sizeof sun);
  umask (old_umask);
  if (r == -1)
    goto fail;
  if (gid != (gid_t) -1 && chown (path, (uid_t) -1, gid) == -1)
    goto fail_unlink;
  if (chmod (path, mode) == -1 || listen (fd, SOMAXCONN) == -1)
    goto fail_unlink;
  *fdp = fd;
  return 0;
 fail_unlink:
  r = -errno;
  (void) unlink (path);
  (void) close (fd);
  return r;
 fail:
  r = -errno;
  (void) close (fd);
  return r;
}

int
listen_tcp (const char *addr, int *fdp)
{
  struct sockaddr_storage ss;
  socklen_t sslen;
  char host[INET6_ADDRSTRLEN + 1];
  const char *colon, *h = addr;
  size_t len;
  long port;
  int fd, one = 1;

  memset (&ss, 0, sizeof ss);
  if (addr[0] == '[') {
    const char *close = strchr (addr, ']');
    if (close == NULL || close[1] != ':')
      return -EINVAL;
    h = addr + 1;
    len = close - h;
    colon = close + 1;
  }
  else {
    colon = strrchr (addr, ':');
    if (colon == NULL)
      return -EINVAL;
    len = colon - addr;
  }
  if (len == 0 || len >= sizeof host)
    return -EINVAL;
  memcpy (host, h, len);
  host[len] = '\0';
  port = strtol (colon + 1, NULL, 10);
  if (port <= 0 || port > 65535)
    return -EINVAL;

  if (addr[0] == '[') {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons (port);
    if (inet_pton (AF_INET6, host, &s6->sin6_addr) != 1)
      return -EINVAL;
    sslen = sizeof *s6;
  }
  else {
    struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons (port);
    if (inet_pton (AF_INET, host, &s4->sin_addr) != 1)
      return -EINVAL;
    sslen = sizeof *s4;
  }

  fd = socket (ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1)
    return -errno;
  if (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
      (ss.ss_family == AF_INET6 &&
       setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == -1) ||
      bind (fd, (struct sockaddr *) &ss, sslen) == -1 ||
      listen (fd, SOMAXCONN) == -1) {
    int r = -errno;
    (void) close (fd);
    return r;
  }
  *fdp = fd;
  return 0;
}

int
listen_from_environment (int *first)
{
  const char *pid_s = getenv ("LISTEN_PID");
  const char *fds_s = getenv ("LISTEN_FDS");
  long pid, n;
  char *end;

  if (pid_s == NULL || fds_s == NULL)
    return 0;
  errno = 0;
  pid = strtol (pid_s, &end, 10);
  if (errno || *end || pid != getpid ())
    return 0;                   /* meant for another process */
  n = strtol (fds_s, &end, 10);
  if (errno || *end || n < 0 || n > 64)
    return -EINVAL;
  unsetenv ("LISTEN_PID");
  unsetenv ("LISTEN_FDS");
  unsetenv ("LISTEN_FDNAMES");
  /* They must not leak into anything but nbdkit, which gets its own
   * copies when it is started.
   */
  for (long i = 0; i < n; i++)
    if (fcntl (3 + i, F_SETFD, FD_CLOEXEC) == -1)
      return -errno;
  *first = 3;
  return n;
}

int
listen_connect (int lfd, int *fdp)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int fd;

  if (getsockname (lfd, (struct sockaddr *) &ss, &len) == -1)
    return -errno;
  /* A wildcard address is reached through the loopback. */
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
    if (s4->sin_addr.s_addr == htonl (INADDR_ANY))
      s4->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  }
  else if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
    if (IN6_IS_ADDR_UNSPECIFIED (&s6->sin6_addr))
      s6->sin6_addr = in6addr_loopback;
  }
  fd = socket (ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1)
    return -errno;
  if (connect (fd, (struct sockaddr *) &ss, len) == -1) {
    int r = -errno;
    (void) close (fd);
    return r;
  }
  *fdp = fd;
  return 0;
}
