/* uringblk: alignment arithmetic for O_DIRECT I/O (see align.h). */

#include <config.h>

#include <assert.h>

#include "align.h"

/* Widen [offset, offset+count) to whole blocks of 'bs' bytes and say
 * whether the first and last blocks need a read-modify-write.  A
 * zero-length request gives an empty plan (start == end).
 */
void
align_plan_rmw (uint64_t offset, uint64_t count, uint32_t bs,
                struct align_plan *plan)
{
  assert (is_power_of_2 (bs));

  plan->start = align_down (offset, bs);
  plan->end = align_up (offset + count, bs);
  if (count == 0) {
    plan->end = plan->start;
    plan->head_partial = plan->tail_partial = false;
    return;
  }
  plan->head_partial = !is_aligned (offset, bs);
  plan->tail_partial = !is_aligned (offset + count, bs);
}

/* The whole blocks lying inside [offset, offset+count): used by trim
 * and zero, which act on whole blocks and leave partial edges to the
 * caller.  Returns false if there is no whole block inside.
 */
bool
align_interior (uint64_t offset, uint64_t count, uint32_t bs,
                uint64_t *start, uint64_t *end)
{
  uint64_t s = align_up (offset, bs);
  uint64_t e = align_down (offset + count, bs);

  assert (is_power_of_2 (bs));

  if (s >= e)
    return false;
  *start = s;
  *end = e;
  return true;
}

/* Intersection of two half-open ranges; false if it is empty. */
bool
align_intersect (uint64_t a_start, uint64_t a_end,
                 uint64_t b_start, uint64_t b_end,
                 uint64_t *start, uint64_t *end)
{
  uint64_t s = a_start > b_start ? a_start : b_start;
  uint64_t e = a_end < b_end ? a_end : b_end;

  if (s >= e)
    return false;
  *start = s;
  *end = e;
  return true;
}
