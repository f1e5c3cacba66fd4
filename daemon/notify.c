/* uringblkd: sd_notify(3) protocol, see notify.h. */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "notify.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_addrlen;

int
notify_init (void)
{
  const char *path = getenv ("NOTIFY_SOCKET");
  size_t len;

  if (path == NULL || *path == '\0')
    return 0;
  len = strlen (path);
  if ((path[0] != '/' && path[0] != '@') ||
      len >= sizeof notify_addr.sun_path)
    return -EINVAL;

  memset (&notify_addr, 0, sizeof notify_addr);
  notify_addr.sun_family = AF_UNIX;
  memcpy (notify_addr.sun_path, path, len);
  /* An abstract socket name starts with a NUL byte and is not
   * NUL-terminated: its length is part of the address.
   */
  if (path[0] == '@')
    notify_addr.sun_path[0] = '\0';
  notify_addrlen = offsetof (struct sockaddr_un, sun_path) + len;

  notify_fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (notify_fd == -1)
    return -errno;
  unsetenv ("NOTIFY_SOCKET");
  return 0;
}

int
notify_send (const char *message)
{
  ssize_t r;

  if (notify_fd == -1)
    return 0;
  r = sendto (notify_fd, message, strlen (message), MSG_NOSIGNAL,
              (struct sockaddr *) &notify_addr, notify_addrlen);
  if (r == -1)
    return -errno;
  return 0;
}

int
notify_status (const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  int n;

  if (notify_fd == -1)
    return 0;
  memcpy (buf, "STATUS=", 7);
  va_start (ap, fmt);
  n = vsnprintf (buf + 7, sizeof buf - 7, fmt, ap);
  va_end (ap);
  if (n < 0)
    return -EINVAL;
  /* A status line that does not fit is truncated, not dropped. */
  return notify_send (buf);
}

void
notify_close (void)
{
  if (notify_fd >= 0)
    (void) close (notify_fd);
  notify_fd = -1;
}
