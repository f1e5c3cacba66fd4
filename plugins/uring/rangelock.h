/* uringblk: a block range lock for read-modify-write.
 *
 * A write that covers only part of a block must read the block, patch
 * it and write it back.  Two such writes to byte-disjoint parts of the
 * same block would each write back the other's old bytes, so an RMW must
 * not overlap any other in-flight modification of its blocks.
 *
 * Every modifying request (write, zero, trim) takes the lock over the
 * whole blocks it touches: "shared" when it only writes whole blocks,
 * "exclusive" when it read-modify-writes.  Shared holders run in
 * parallel with each other; an exclusive holder excludes every
 * overlapping holder; requests that do not overlap never wait.  Waiters
 * are served in arrival order among overlapping requests, so a stream of
 * aligned writes cannot starve an RMW.  Reads take no lock: an RMW
 * writes back the bytes it did not change with the values they already
 * had, so a concurrent read sees correct data for every byte it asked
 * for that no concurrent write touches.
 *
 * The caller owns the node (usually on its stack) for the duration of
 * the hold.
 */

#ifndef URINGBLK_RANGELOCK_H
#define URINGBLK_RANGELOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

struct rangelock_node {
  uint64_t start, end;          /* [start, end) */
  bool exclusive;
  struct rangelock_node *prev, *next;
};

struct rangelock {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct rangelock_node *head, *tail; /* in arrival order */
  unsigned waiters;
};

extern void rangelock_init (struct rangelock *rl);
extern void rangelock_destroy (struct rangelock *rl);
extern void rangelock_acquire (struct rangelock *rl, struct rangelock_node *n,
                               uint64_t start, uint64_t end, bool exclusive);
extern void rangelock_release (struct rangelock *rl, struct rangelock_node *n);
extern unsigned rangelock_held (struct rangelock *rl);

#endif /* URINGBLK_RANGELOCK_H */
