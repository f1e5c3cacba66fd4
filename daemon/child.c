/* uringblkd: the nbdkit child, see child.h. */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "child.h"
#include "uringblkd.h"

void
child_argv_free (char **argv)
{
  for (size_t i = 0; argv && argv[i]; i++)
    free (argv[i]);
  free (argv);
}

/* Append a formatted string to the NULL-terminated *ARGV of *N. */
static int
argv_add (char ***argv, size_t *n, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

static int
argv_add (char ***argv, size_t *n, const char *fmt, ...)
{
  char **a = realloc (*argv, (*n + 2) * sizeof *a);
  va_list ap;
  int r;

  if (a == NULL)
    return -ENOMEM;
  *argv = a;
  va_start (ap, fmt);
  r = vasprintf (&a[*n], fmt, ap);
  va_end (ap);
  if (r == -1)
    return -ENOMEM;
  (*n)++;
  a[*n] = NULL;
  return 0;
}

int
child_argv (char ***argvp)
{
  char **argv = NULL;
  size_t n = 0;
  int r;

#define ADD(...) do {                                   \
    if ((r = argv_add (&argv, &n, __VA_ARGS__)) < 0)    \
      goto fail;                                        \
  } while (0)

  ADD ("%s", arg_nbdkit);
  ADD ("-f");
  ADD ("--exit-with-parent");
  if (arg_readonly)
    ADD ("-r");
  if (arg_threads)
    ADD ("--threads=%u", arg_threads);
  if (arg_tls_psk) {
    ADD ("--tls=require");
    ADD ("--tls-psk=%s", arg_tls_psk);
  }
  else if (arg_tls_certificates) {
    ADD ("--tls=require");
    ADD ("--tls-certificates=%s", arg_tls_certificates);
  }
  else
    ADD ("--tls=off");
  for (size_t i = 0; arg_nbdkit_options && arg_nbdkit_options[i]; i++)
    ADD ("%s", arg_nbdkit_options[i]);
  ADD ("%s", arg_plugin);
  ADD ("file=%s", arg_backing);
  for (size_t i = 0; arg_plugin_params && arg_plugin_params[i]; i++)
    ADD ("%s", arg_plugin_params[i]);
#undef ADD

  *argvp = argv;
  return 0;
 fail:
  child_argv_free (argv);
  return r;
}

/* In the child, between fork and exec: put the listening sockets at
 * 3.., close everything else, and exec.  Never returns.
 */
static void __attribute__ ((noreturn))
child_exec (char **argv, const int *listen_fds, unsigned nfds)
{
  char pid_s[32], nfds_s[32];
  sigset_t none;
  int tmp[64], devnull;

  /* The daemon blocks the signals it reads from a signalfd. */
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  /* Keep terminal signals (^C) away from nbdkit: the daemon decides
   * when it stops, and the disk must be detached first.
   */
  setpgid (0, 0);

  /* Move the sockets above their final slots first, so the dup2 below
   * cannot overwrite one that has not been moved yet.
   */
  for (unsigned i = 0; i < nfds && i < 64; i++) {
    tmp[i] = fcntl (listen_fds[i], F_DUPFD_CLOEXEC, 3 + nfds);
    if (tmp[i] == -1)
      _exit (127);
  }
  for (unsigned i = 0; i < nfds && i < 64; i++)
    if (dup2 (tmp[i], 3 + i) == -1)     /* clears FD_CLOEXEC */
      _exit (127);
  /* Everything else is close-on-exec by the daemon's convention, but
   * make sure nothing leaks into the server.
   */
  close_range (3 + nfds, ~0U, 0);

  devnull = open ("/dev/null", O_RDONLY);
  if (devnull > 0) {
    dup2 (devnull, 0);
    if (devnull > 2 && devnull != 0)
      close (devnull);
  }

  snprintf (pid_s, sizeof pid_s, "%ld", (long) getpid ());
  snprintf (nfds_s, sizeof nfds_s, "%u", nfds);
  setenv ("LISTEN_PID", pid_s, 1);
  setenv ("LISTEN_FDS", nfds_s, 1);
  unsetenv ("LISTEN_FDNAMES");

  execv (argv[0], argv);
  fprintf (stderr, "uringblkd: exec %s: %m\n", argv[0]);
  _exit (127);
}

int
child_start (char **argv, const int *listen_fds, unsigned nfds, pid_t *pidp)
{
  pid_t pid;

  if (nfds > 64)
    return -EINVAL;
  fflush (stderr);
  pid = fork ();
  if (pid == -1)
    return -errno;
  if (pid == 0)
    child_exec (argv, listen_fds, nfds);
  *pidp = pid;
  return 0;
}

int
child_stop (pid_t pid, int timeout_ms)
{
  struct timespec tick = { .tv_sec = 0, .tv_nsec = 20 * 1000 * 1000 };
  int status, waited = 0;
  pid_t r;

  if (kill (pid, SIGTERM) == -1 && errno != ESRCH)
    return -errno;
  for (;;) {
    r = waitpid (pid, &status, WNOHANG);
    if (r == pid)
      return status;
    if (r == -1 && errno != EINTR)
      return -errno;
    if (waited >= timeout_ms) {
      (void) kill (pid, SIGKILL);
      if (waitpid (pid, &status, 0) == pid)
        return status;
      return -errno;
    }
    nanosleep (&tick, NULL);
    waited += 20;
  }
}

const char *
child_describe_status (int status, char *buf, size_t len)
{
  if (WIFEXITED (status))
    snprintf (buf, len, "exit status %d", WEXITSTATUS (status));
  else if (WIFSIGNALED (status))
    snprintf (buf, len, "signal %d (%s)", WTERMSIG (status),
              strsignal (WTERMSIG (status)));
  else
    snprintf (buf, len, "wait status %#x", status);
  return buf;
}
