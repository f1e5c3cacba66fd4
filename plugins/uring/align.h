/* uringblk: alignment arithmetic for O_DIRECT I/O.
 *
 * O_DIRECT wants file offsets and lengths that are multiples of the
 * backing's logical block size.  NBD clients may send any offset and
 * length, so every request is widened to the blocks it touches, and a
 * write whose first or last block is only partly covered has to
 * read-modify-write that block.  This file is pure arithmetic so that it
 * can be unit-tested on its own.
 */

#ifndef URINGBLK_ALIGN_H
#define URINGBLK_ALIGN_H

#include <stdbool.h>
#include <stdint.h>

/* The blocks a request [offset, offset+count) touches. */
struct align_plan {
  uint64_t start;          /* first byte of the first block */
  uint64_t end;            /* one past the last byte of the last block */
  bool head_partial;       /* the first block is only partly covered */
  bool tail_partial;       /* the last block is only partly covered */
};

static inline bool
is_power_of_2 (uint64_t v)
{
  return v != 0 && (v & (v - 1)) == 0;
}

/* 'bs' must be a power of 2 in all of these. */
static inline uint64_t
align_down (uint64_t v, uint64_t bs)
{
  return v & ~(bs - 1);
}

static inline uint64_t
align_up (uint64_t v, uint64_t bs)
{
  return (v + bs - 1) & ~(bs - 1);
}

static inline bool
is_aligned (uint64_t v, uint64_t bs)
{
  return (v & (bs - 1)) == 0;
}

extern void align_plan_rmw (uint64_t offset, uint64_t count, uint32_t bs,
                            struct align_plan *plan);
extern bool align_interior (uint64_t offset, uint64_t count, uint32_t bs,
                            uint64_t *start, uint64_t *end);
extern bool align_intersect (uint64_t a_start, uint64_t a_end,
                             uint64_t b_start, uint64_t b_end,
                             uint64_t *start, uint64_t *end);

#endif /* URINGBLK_ALIGN_H */
