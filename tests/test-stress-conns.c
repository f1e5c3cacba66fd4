/* uringblk reliability: many connections at once, and clients that
 * vanish with requests in flight.  Driven by test-stress-conns.sh.
 *
 *   test-stress-conns load --socket SOCK [--conns N] [--seconds S]
 *                          [--seed N]
 *     N threads (default 64), each with its own connection, own a
 *     disjoint slice of the export (less its last 32 MiB) and do random writes (some FUA),
 *     zeroes and reads with up to 4 commands in flight, every read
 *     checked against the thread's shadow of its slice; at the end each
 *     thread reads its whole slice back.  Exit 1 on any error or
 *     mismatch.
 *
 *   test-stress-conns hog --socket SOCK [--seed N]
 *     Connect, queue many writes and small reads (in the last 32 MiB
 *     of the export, which "load" leaves alone) without waiting for
 *     replies, print "ready" and wait to be killed (kill -9), so that
 *     the server sees a client vanish with requests in flight.  Reads
 *     are kept at 16 KiB: nbdkit 1.32 can abort when a client goes away
 *     with large read replies pending (see docs/SECURITY.md).
 */

#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libnbd.h>

#define QUEUE_DEPTH 4
#define MAX_IO (64 * 1024)
#define ALIGN 4096
#define HOG_AREA (32 * 1024 * 1024) /* the end of the export, for "hog" */

static const char *sock_path;
static unsigned nconns = 64;
static unsigned seconds = 20;
static uint64_t seed;
static int64_t size;
static _Atomic unsigned failures;
static _Atomic uint64_t total_ops;

struct cmd {
  bool busy;
  bool is_read;
  uint64_t off, len;            /* relative to the slice */
  unsigned char *buf;
  int error;
};

struct conn {
  unsigned id;
  pthread_t thread;
  struct nbd_handle *h;
  uint64_t base, len;           /* slice of the export */
  unsigned char *shadow;
  unsigned char *busy;          /* per 4 KiB unit of the slice */
  uint64_t rnd;
  struct cmd cmd[QUEUE_DEPTH];
};

static uint64_t
rnd_next (uint64_t *s)
{
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

static struct nbd_handle *
connect_server (void)
{
  struct nbd_handle *h = nbd_create ();

  if (h == NULL || nbd_connect_unix (h, sock_path) == -1) {
    fprintf (stderr, "test-stress-conns: connect: %s\n", nbd_get_error ());
    return NULL;
  }
  return h;
}

static void
conn_fail (struct conn *c, const char *what, uint64_t off)
{
  fprintf (stderr, "test-stress-conns: conn %u: %s at %" PRIu64
           ": %s (seed %" PRIu64 ")\n", c->id, what, c->base + off,
           nbd_get_error () ? nbd_get_error () : "data mismatch", seed);
  failures++;
}

static int
cmd_done (void *user_data, int *error)
{
  struct cmd *cmd = user_data;

  cmd->error = *error;
  cmd->busy = false;
  return 1;
}

/* Retire finished commands: check reads, release the busy units. */
static void
retire (struct conn *c)
{
  unsigned i;
  uint64_t u;

  for (i = 0; i < QUEUE_DEPTH; i++) {
    struct cmd *cmd = &c->cmd[i];

    if (cmd->busy || cmd->len == 0)
      continue;
    if (cmd->error) {
      errno = cmd->error;
      fprintf (stderr, "test-stress-conns: conn %u: %s at %" PRIu64
               " failed: %m\n", c->id, cmd->is_read ? "read" : "write",
               c->base + cmd->off);
      failures++;
    }
    else if (cmd->is_read &&
             memcmp (cmd->buf, c->shadow + cmd->off, cmd->len) != 0)
      conn_fail (c, "read does not match", cmd->off);
    for (u = cmd->off / ALIGN; u < (cmd->off + cmd->len) / ALIGN; u++)
      c->busy[u] = 0;
    cmd->len = 0;
    total_ops++;
  }
}

static bool
range_free (struct conn *c, uint64_t off, uint64_t len)
{
  uint64_t u;

  for (u = off / ALIGN; u < (off + len) / ALIGN; u++)
    if (c->busy[u])
      return false;
  return true;
}

static bool
issue (struct conn *c, struct cmd *cmd)
{
  nbd_completion_callback cb = { .callback = cmd_done, .user_data = cmd };
  uint64_t len = ALIGN * (1 + rnd_next (&c->rnd) % (MAX_IO / ALIGN));
  uint64_t off = ALIGN * (rnd_next (&c->rnd) % ((c->len - len) / ALIGN + 1));
  uint64_t r = rnd_next (&c->rnd) % 10, u, i;
  int64_t id;

  if (!range_free (c, off, len))
    return true;
  for (u = off / ALIGN; u < (off + len) / ALIGN; u++)
    c->busy[u] = 1;
  cmd->off = off;
  cmd->len = len;
  cmd->error = 0;
  cmd->busy = true;
  cmd->is_read = r < 5;
  if (cmd->is_read)
    id = nbd_aio_pread (c->h, cmd->buf, len, c->base + off, cb, 0);
  else if (r < 9) {
    for (i = 0; i < len; i += 8) {
      uint64_t x = rnd_next (&c->rnd);
      memcpy (cmd->buf + i, &x, 8);
    }
    memcpy (c->shadow + off, cmd->buf, len);
    id = nbd_aio_pwrite (c->h, cmd->buf, len, c->base + off, cb,
                         r == 8 ? LIBNBD_CMD_FLAG_FUA : 0);
  }
  else {
    memset (c->shadow + off, 0, len);
    id = nbd_aio_zero (c->h, len, c->base + off, cb, 0);
  }
  if (id == -1) {
    conn_fail (c, "submit", off);
    cmd->busy = false;
    return false;
  }
  return true;
}

static void *
conn_load (void *arg)
{
  struct conn *c = arg;
  time_t end = time (NULL) + seconds;
  unsigned char *buf;
  unsigned i;
  uint64_t off;

  while (failures == 0 && time (NULL) < end) {
    for (i = 0; i < QUEUE_DEPTH; i++)
      if (!c->cmd[i].busy && c->cmd[i].len == 0 && !issue (c, &c->cmd[i]))
        goto out;
    if (nbd_poll (c->h, 1000) == -1) {
      conn_fail (c, "poll", 0);
      goto out;
    }
    retire (c);
  }
  while (nbd_aio_in_flight (c->h) > 0)
    if (nbd_poll (c->h, 1000) == -1) {
      conn_fail (c, "poll", 0);
      goto out;
    }
  retire (c);

  /* The whole slice, as this connection last wrote it. */
  buf = malloc (c->len);
  for (off = 0; off < c->len; off += MAX_IO) {
    uint64_t n = c->len - off < MAX_IO ? c->len - off : MAX_IO;

    if (nbd_pread (c->h, buf + off, n, c->base + off, 0) == -1) {
      conn_fail (c, "final read", off);
      break;
    }
  }
  if (off >= c->len && memcmp (buf, c->shadow, c->len) != 0)
    conn_fail (c, "final read of the slice does not match", 0);
  free (buf);
  nbd_shutdown (c->h, 0);
 out:
  return NULL;
}

static int
do_load (void)
{
  struct conn *conns = calloc (nconns, sizeof *conns);
  uint64_t slice = ((size - HOG_AREA) / nconns) & ~(uint64_t) (ALIGN - 1);
  unsigned i, j;

  if (conns == NULL || size < 2 * HOG_AREA || slice < MAX_IO) {
    fprintf (stderr, "test-stress-conns: export too small\n");
    return EXIT_FAILURE;
  }
  for (i = 0; i < nconns; i++) {
    struct conn *c = &conns[i];
    struct nbd_handle *h = connect_server ();

    if (h == NULL)
      return EXIT_FAILURE;
    c->id = i;
    c->h = h;
    c->base = i * slice;
    c->len = slice;
    c->rnd = seed * 1000 + i + 1;
    c->shadow = malloc (slice);
    c->busy = calloc (slice / ALIGN, 1);
    for (j = 0; j < QUEUE_DEPTH; j++)
      c->cmd[j].buf = aligned_alloc (ALIGN, MAX_IO);
    /* Start from what is there. */
    for (j = 0; j < slice / MAX_IO; j++)
      if (nbd_pread (h, c->shadow + j * MAX_IO, MAX_IO,
                     c->base + j * MAX_IO, 0) == -1) {
        conn_fail (c, "initial read", j * MAX_IO);
        return EXIT_FAILURE;
      }
  }
  for (i = 0; i < nconns; i++)
    pthread_create (&conns[i].thread, NULL, conn_load, &conns[i]);
  for (i = 0; i < nconns; i++) {
    pthread_join (conns[i].thread, NULL);
    nbd_close (conns[i].h);
    for (j = 0; j < QUEUE_DEPTH; j++)
      free (conns[i].cmd[j].buf);
    free (conns[i].shadow);
    free (conns[i].busy);
  }
  free (conns);
  fprintf (stderr, "test-stress-conns: %u connections, %" PRIu64
           " verified commands, %u failures\n", nconns, total_ops, failures);
  return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int
do_hog (void)
{
  struct nbd_handle *h = connect_server ();
  static unsigned char wbuf[1 << 20], rbuf[64][16384];
  uint64_t s = seed | 1;
  unsigned i;

  if (h == NULL)
    return EXIT_FAILURE;
  memset (wbuf, 0x5a, sizeof wbuf);
  for (i = 0; i < 64; i++) {
    uint64_t off = size - HOG_AREA +
      (rnd_next (&s) % (HOG_AREA / sizeof wbuf)) * sizeof wbuf;

    if (nbd_aio_pwrite (h, wbuf, sizeof wbuf, off,
                        NBD_NULL_COMPLETION, 0) == -1 ||
        nbd_aio_pread (h, rbuf[i], sizeof rbuf[i], off,
                       NBD_NULL_COMPLETION, 0) == -1) {
      fprintf (stderr, "test-stress-conns: hog: %s\n", nbd_get_error ());
      return EXIT_FAILURE;
    }
  }
  /* Push the requests out, then stop reading replies. */
  for (i = 0; i < 50 && nbd_aio_in_flight (h) > 0; i++)
    nbd_poll (h, 10);
  printf ("ready\n");
  fflush (stdout);
  pause ();
  return EXIT_SUCCESS;
}

int
main (int argc, char *argv[])
{
  static const struct option opts[] = {
    { "conns",   required_argument, NULL, 'c' },
    { "seconds", required_argument, NULL, 't' },
    { "seed",    required_argument, NULL, 'r' },
    { "socket",  required_argument, NULL, 's' },
    { NULL }
  };
  struct nbd_handle *h;
  int c;

  seed = time (NULL);
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'c': nconns = strtoul (optarg, NULL, 0); break;
    case 't': seconds = strtoul (optarg, NULL, 0); break;
    case 'r': seed = strtoull (optarg, NULL, 0); break;
    case 's': sock_path = optarg; break;
    default: goto usage;
    }
  }
  if (optind != argc - 1 || sock_path == NULL || nconns == 0)
    goto usage;
  signal (SIGPIPE, SIG_IGN);

  h = connect_server ();
  if (h == NULL)
    return EXIT_FAILURE;
  size = nbd_get_size (h);
  nbd_shutdown (h, 0);
  nbd_close (h);

  if (strcmp (argv[optind], "load") == 0)
    return do_load ();
  if (strcmp (argv[optind], "hog") == 0)
    return do_hog ();
 usage:
  fprintf (stderr, "usage: test-stress-conns load|hog --socket SOCK "
           "[--conns N] [--seconds S] [--seed N]\n");
  return EXIT_FAILURE;
}
