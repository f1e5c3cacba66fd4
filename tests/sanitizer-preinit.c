/* Initialise a preloaded sanitizer runtime before any other library.
 *
 * tests/nbdkit-sanitized preloads libasan (or libtsan) into nbdkit, which
 * is not instrumented, and then this module after it.  A program built
 * with -fsanitize= starts its runtime from .preinit_array, before every
 * library constructor; nbdkit has no such entry, so the runtime would
 * start lazily at the first call it intercepts.  In nbdkit that is the
 * malloc inside newlocale() in libp11-kit's constructor, made while
 * newlocale holds glibc's locale lock for writing.  The runtime's
 * start-up calls dlerror(), whose gettext read-locks the same lock (the
 * EDEADLK is ignored) and then unlocks it, releasing newlocale's write
 * lock; newlocale's own unlock then takes the reader count below zero.
 * From then on, once any strerror() has run (an error message with %m),
 * the next write lock waits forever: nbdkit hangs at exit, in
 * libp11-kit's destructor (freelocale).
 *
 * Linked with -z initfirst, this module's constructor runs before every
 * other one and does what .preinit_array would have done.
 */

#include <config.h>

extern void __asan_init (void) __attribute__ ((weak));
extern void __tsan_init (void) __attribute__ ((weak));

/* Start whichever sanitizer runtime is loaded; both calls are idempotent. */
static void __attribute__ ((constructor))
sanitizer_preinit (void)
{
  if (__asan_init)
    __asan_init ();
  if (__tsan_init)
    __tsan_init ();
}
