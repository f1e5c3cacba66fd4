/* uringblk integration tests: shared pieces of the libnbd test programs.
 *
 * Each program is a test on its own: run without arguments (as "make
 * check" does) it creates a private temporary directory and a sparse
 * backing file, starts "nbdkit --exit-with-parent $PLUGIN file=..." on a
 * Unix socket, runs its workload and then stops the server and removes
 * everything.  The shell tests reuse the same programs against a server
 * they started themselves (other parameters, other backings) with
 *
 *   --socket PATH   connect to this server instead of starting one
 *   --backing PATH  the file or block device that server serves
 *
 * Common options: --seed N (the PRNG seed, printed at start so a failure
 * can be replayed), --ops N (workload length), --size N (size of the
 * backing created when self-hosted).  Every program aborts after
 * --timeout seconds (default 100).
 */

#ifndef URINGBLK_TEST_COMMON_H
#define URINGBLK_TEST_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include <libnbd.h>

struct test_config {
  const char *socket;           /* server socket */
  const char *backing;          /* backing file or device */
  bool backing_is_file;         /* regular file: lseek/FIEMAP truth */
  uint64_t seed;
  unsigned ops;
  int64_t size;                 /* size of a self-hosted backing */
  unsigned timeout;
};

extern struct test_config cfg;
extern const char *program_name;

/* Parse the common options, arm the time limit and, unless --socket
 * was given, start a server of default_size bytes.  default_ops is the
 * workload length unless --ops overrides it.
 */
extern void test_init (int argc, char **argv,
                       int64_t default_size, unsigned default_ops);

/* Connect a new handle to the server.  strict_clear is a set of
 * LIBNBD_STRICT_* flags to clear (e.g. LIBNBD_STRICT_ALIGN to send
 * unaligned requests).  The handle asks for base:allocation.
 */
extern struct nbd_handle *test_connect (uint32_t strict_clear);

/* Disconnect cleanly and close. */
extern void test_disconnect (struct nbd_handle *h);

/* Print a failure (with the seed, and the libnbd error if any) and exit. */
extern void test_fail (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2), noreturn));
extern void test_fail_nbd (const char *what)
  __attribute__ ((noreturn));

/* Check a condition; fail with the source location otherwise. */
#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond))                                                        \
      test_fail ("%s:%d: check failed: %s", __FILE__, __LINE__, #cond); \
  } while (0)

/* The PRNG: xorshift64*, seeded from cfg.seed.  rnd_state_seed() gives
 * independent streams to threads.
 */
struct rnd_state { uint64_t s; };
extern struct rnd_state rnd_global;
extern void rnd_state_seed (struct rnd_state *r, uint64_t seed);
extern uint64_t rnd_next (struct rnd_state *r);
extern uint64_t rnd_below (struct rnd_state *r, uint64_t n);  /* [0, n) */
extern void rnd_fill (struct rnd_state *r, void *buf, size_t len);
static inline uint64_t rnd (uint64_t n) { return rnd_below (&rnd_global, n); }

/* Describe the first difference between got and expected, relative to
 * the export offset, and fail.  Does nothing if they are equal.
 */
extern void check_bytes (const char *what, uint64_t offset,
                         const void *got, const void *expected, size_t len);

/* True if len bytes at p are all zero. */
extern bool is_zero (const void *p, size_t len);

/* Compare the backing file or device with the expected image (size
 * bytes), failing at the first difference.  Call after disconnecting.
 */
extern void check_backing (const unsigned char *expected, int64_t size);

/* Check base:allocation for [offset, offset+count): every extent marked
 * zero must be zero in expected; and on a regular file backing a hole
 * must be a hole (SEEK_DATA) and data must be data (SEEK_HOLE) in the
 * backing file.  The server must be idle (no writes in flight).
 */
extern void check_extents (struct nbd_handle *h, const unsigned char *expected,
                           uint64_t offset, uint64_t count);

/* True if every extent base:allocation reports for [offset,
 * offset+count) has all the given LIBNBD_STATE_* flags.
 */
extern bool extents_all_have (struct nbd_handle *h, uint64_t offset,
                              uint64_t count, uint32_t flags);

/* True if [offset, offset+len) of the backing file is entirely a hole
 * according to SEEK_DATA.  Regular file backings only.
 */
extern bool backing_is_hole (uint64_t offset, uint64_t len);

/* Bytes of [offset, offset+len) of the backing file that are mapped by
 * extents (written or unwritten), from FIEMAP.  Regular files only.
 */
extern uint64_t backing_mapped_bytes (uint64_t offset, uint64_t len);

/* Allocate len bytes aligned to 4096, or fail. */
extern void *xalloc (size_t len);

#endif /* URINGBLK_TEST_COMMON_H */
