/* uringblk: a block range lock for read-modify-write (see rangelock.h). */

#include <config.h>

#include <assert.h>
#include <stddef.h>

#include "rangelock.h"

void
rangelock_init (struct rangelock *rl)
{
  pthread_mutex_init (&rl->lock, NULL);
  pthread_cond_init (&rl->cond, NULL);
  rl->head = rl->tail = NULL;
  rl->waiters = 0;
}

void
rangelock_destroy (struct rangelock *rl)
{
  assert (rl->head == NULL);
  pthread_cond_destroy (&rl->cond);
  pthread_mutex_destroy (&rl->lock);
}

static bool
conflicts (const struct rangelock_node *a, const struct rangelock_node *b)
{
  if (a->end <= b->start || b->end <= a->start)
    return false;
  return a->exclusive || b->exclusive;
}

/* True if some node that arrived before 'n' conflicts with it. */
static bool
must_wait (const struct rangelock_node *n)
{
  const struct rangelock_node *p;

  for (p = n->prev; p != NULL; p = p->prev)
    if (conflicts (p, n))
      return true;
  return false;
}

/* Take [start, end), waiting for earlier conflicting holders and
 * waiters to go.
 */
void
rangelock_acquire (struct rangelock *rl, struct rangelock_node *n,
                   uint64_t start, uint64_t end, bool exclusive)
{
  assert (start < end);

  n->start = start;
  n->end = end;
  n->exclusive = exclusive;
  n->next = NULL;

  pthread_mutex_lock (&rl->lock);
  n->prev = rl->tail;
  if (rl->tail)
    rl->tail->next = n;
  else
    rl->head = n;
  rl->tail = n;

  if (must_wait (n)) {
    rl->waiters++;
    do
      pthread_cond_wait (&rl->cond, &rl->lock);
    while (must_wait (n));
    rl->waiters--;
  }
  pthread_mutex_unlock (&rl->lock);
}

void
rangelock_release (struct rangelock *rl, struct rangelock_node *n)
{
  pthread_mutex_lock (&rl->lock);
  if (n->prev)
    n->prev->next = n->next;
  else
    rl->head = n->next;
  if (n->next)
    n->next->prev = n->prev;
  else
    rl->tail = n->prev;
  /* Only wake anyone if someone is waiting: the common uncontended
   * case costs a lock/unlock pair and nothing else.
   */
  if (rl->waiters > 0)
    pthread_cond_broadcast (&rl->cond);
  pthread_mutex_unlock (&rl->lock);
}

/* Number of nodes holding or waiting (for tests and debugging). */
unsigned
rangelock_held (struct rangelock *rl)
{
  const struct rangelock_node *p;
  unsigned n = 0;

  pthread_mutex_lock (&rl->lock);
  for (p = rl->head; p != NULL; p = p->next)
    n++;
  pthread_mutex_unlock (&rl->lock);
  return n;
}
