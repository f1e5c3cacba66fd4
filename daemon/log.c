/* uringblkd: logging to stderr. */

#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>

#include "uringblkd.h"

/* Under systemd, stderr goes to the journal, which reads a "<N>"
 * priority prefix and records the program name itself.
 */
static void
log_v (int prio, const char *fmt, va_list ap)
{
  if (getenv ("JOURNAL_STREAM") != NULL)
    fprintf (stderr, "<%d>", prio);
  else
    fputs ("uringblkd: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  fflush (stderr);
}

#define LOG_FN(name, prio, cond)                \
  void                                          \
  name (const char *fmt, ...)                   \
  {                                             \
    va_list ap;                                 \
    if (!(cond))                                \
      return;                                   \
    va_start (ap, fmt);                         \
    log_v (prio, fmt, ap);                      \
    va_end (ap);                                \
  }

LOG_FN (log_error, LOG_ERR, true)
LOG_FN (log_warning, LOG_WARNING, true)
LOG_FN (log_info, LOG_INFO, true)
LOG_FN (log_debug, LOG_DEBUG, arg_verbose)
