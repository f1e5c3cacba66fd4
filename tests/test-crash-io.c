/* uringblk reliability tests: what was acknowledged survives the server.
 *
 * A load generator and checker driven by test-crash-sigkill.sh and
 * test-crash-sigterm.sh, which kill or stop the server while this
 * program writes, restart it on the same backing and run "verify".
 *
 *   test-crash-io write  --socket SOCK --state FILE [--conns N]
 *                        [--seconds S] [--seed N]
 *   test-crash-io verify --socket SOCK --state FILE
 *
 * The export is cut into 4 KiB blocks; each connection (one thread,
 * one libnbd handle, up to QUEUE_DEPTH commands in flight) owns a
 * disjoint range of blocks, and never has two commands on the same
 * block in flight, so no two writes to a block ever race.  Every write
 * carries a generation number, unique and increasing over the whole
 * life of the state file, stamped into each 512-byte sector together
 * with the block number and a pattern derived from both, so a sector
 * read back tells which write it came from, and a torn or misplaced
 * write is detected.
 *
 * The state file keeps, per block, the newest generation
 *   issued:  ever sent (a sector may hold anything up to this);
 *   acked:   acknowledged by the server;
 *   durable: acknowledged with FUA, or acknowledged before a flush was
 *            sent that was itself acknowledged.
 * "verify" reads every block and requires each sector to be a valid
 * stamp with durable <= generation <= issued (the NBD contract, which
 * must hold even across a power cut), and generation >= acked.  The
 * last is stricter than NBD asks, and holds because the plugin has no
 * user-space cache: once a write is acknowledged the kernel has it,
 * and killing the server process cannot lose it.
 *
 * "write" ends when --seconds pass or the server goes away (exit 0
 * either way: that is what the caller arranges); any other error, or
 * a read that does not match the state, exits 1.  The state file is
 * rewritten only with completions the server acknowledged.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
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

#define BLOCK 4096
#define SECTOR 512
#define SECTORS_PER_BLOCK (BLOCK / SECTOR)
#define QUEUE_DEPTH 16
#define MAX_RUN 8               /* blocks per write */
#define STAMP_MAGIC UINT64_C(0x75726e67626c6b31)  /* "urngblk1" */
#define STATE_MAGIC UINT64_C(0x75726e6773746174)

struct block_state {
  uint64_t issued, acked, durable;
};

struct state_header {
  uint64_t magic;
  uint64_t nblocks;
  uint64_t next_gen;
  uint64_t rounds;
};

static const char *program_name = "test-crash-io";
static const char *sock_path;
static const char *state_path;
static unsigned nconns = 4;
static unsigned seconds = 30;
static uint64_t seed;
static struct state_header hdr;
static struct block_state *blocks;
static _Atomic uint64_t next_gen;
static _Atomic bool failed;

/* Per-sector stamp: header then a pattern. */
struct stamp {
  uint64_t magic;
  uint64_t block;
  uint64_t gen;
  uint64_t sector;
};

static uint64_t
mix (uint64_t x)
{
  x ^= x >> 31;
  x *= UINT64_C(0x7fb5d329728ea185);
  x ^= x >> 27;
  x *= UINT64_C(0x81dadef4bc2dd44d);
  x ^= x >> 33;
  return x;
}

static void
stamp_block (unsigned char *buf, uint64_t block, uint64_t gen)
{
  unsigned s;
  size_t i;

  for (s = 0; s < SECTORS_PER_BLOCK; s++) {
    unsigned char *p = buf + s * SECTOR;
    struct stamp st = { STAMP_MAGIC, block, gen, s };
    uint64_t x = mix (block * 1000003 + gen * 131 + s);

    memcpy (p, &st, sizeof st);
    for (i = sizeof st; i < SECTOR; i += 8) {
      x = mix (x + i);
      memcpy (p + i, &x, 8);
    }
  }
}

/* The generation a sector holds: 0 for a never-written (all zero)
 * sector, UINT64_MAX if it is not a valid stamp for this block.
 */
static uint64_t
sector_gen (const unsigned char *p, uint64_t block, unsigned s)
{
  struct stamp st;
  unsigned char expect[BLOCK];
  size_t i;

  for (i = 0; i < SECTOR; i++)
    if (p[i] != 0)
      break;
  if (i == SECTOR)
    return 0;
  memcpy (&st, p, sizeof st);
  if (st.magic != STAMP_MAGIC || st.block != block || st.sector != s ||
      st.gen == 0)
    return UINT64_MAX;
  stamp_block (expect, block, st.gen);
  if (memcmp (p, expect + s * SECTOR, SECTOR) != 0)
    return UINT64_MAX;
  return st.gen;
}

/* Check one block read back against the state.  strict: also require
 * every acknowledged write (not only the durable ones).  Returns false
 * after printing what is wrong.
 */
static bool
check_block (const unsigned char *buf, uint64_t b, bool strict)
{
  const struct block_state *bs = &blocks[b];
  unsigned s;

  for (s = 0; s < SECTORS_PER_BLOCK; s++) {
    uint64_t g = sector_gen (buf + s * SECTOR, b, s);

    if (g == UINT64_MAX) {
      fprintf (stderr, "%s: block %" PRIu64 " sector %u: not a stamp of "
               "this block (corrupt, torn or misplaced write)\n",
               program_name, b, s);
      return false;
    }
    if (g > bs->issued) {
      fprintf (stderr, "%s: block %" PRIu64 " sector %u: generation %"
               PRIu64 " was never written there (newest issued %" PRIu64
               ")\n", program_name, b, s, g, bs->issued);
      return false;
    }
    if (g < bs->durable) {
      fprintf (stderr, "%s: block %" PRIu64 " sector %u: LOST DURABLE "
               "WRITE: holds generation %" PRIu64 ", but generation %"
               PRIu64 " was acknowledged with FUA or before an "
               "acknowledged flush\n", program_name, b, s, g, bs->durable);
      return false;
    }
    if (strict && g < bs->acked) {
      fprintf (stderr, "%s: block %" PRIu64 " sector %u: LOST "
               "ACKNOWLEDGED WRITE: holds generation %" PRIu64 ", but "
               "generation %" PRIu64 " was acknowledged\n",
               program_name, b, s, g, bs->acked);
      return false;
    }
  }
  return true;
}

static void
load_state (uint64_t size)
{
  FILE *fp = fopen (state_path, "r");
  uint64_t nblocks = size / BLOCK;

  if (fp == NULL) {
    if (errno != ENOENT) {
      perror (state_path);
      exit (EXIT_FAILURE);
    }
    hdr = (struct state_header) { STATE_MAGIC, nblocks, 1, 0 };
    blocks = calloc (nblocks, sizeof *blocks);
    if (blocks == NULL) {
      perror ("calloc");
      exit (EXIT_FAILURE);
    }
    return;
  }
  if (fread (&hdr, sizeof hdr, 1, fp) != 1 || hdr.magic != STATE_MAGIC ||
      hdr.nblocks != nblocks) {
    fprintf (stderr, "%s: %s: bad state file or export size changed\n",
             program_name, state_path);
    exit (EXIT_FAILURE);
  }
  blocks = calloc (nblocks, sizeof *blocks);
  if (blocks == NULL ||
      fread (blocks, sizeof *blocks, nblocks, fp) != nblocks) {
    fprintf (stderr, "%s: %s: short state file\n", program_name, state_path);
    exit (EXIT_FAILURE);
  }
  fclose (fp);
}

static void
save_state (void)
{
  char tmp[4096];
  FILE *fp;

  snprintf (tmp, sizeof tmp, "%s.tmp", state_path);
  fp = fopen (tmp, "w");
  if (fp == NULL ||
      fwrite (&hdr, sizeof hdr, 1, fp) != 1 ||
      fwrite (blocks, sizeof *blocks, hdr.nblocks, fp) != hdr.nblocks ||
      fclose (fp) != 0 ||
      rename (tmp, state_path) == -1) {
    perror (tmp);
    exit (EXIT_FAILURE);
  }
}

static struct nbd_handle *
connect_server (void)
{
  struct nbd_handle *h = nbd_create ();

  if (h == NULL || nbd_connect_unix (h, sock_path) == -1) {
    fprintf (stderr, "%s: connect %s: %s\n", program_name, sock_path,
             nbd_get_error ());
    exit (EXIT_FAILURE);
  }
  return h;
}

/* One connection's share of the work. */
struct ack { uint64_t block, gen; };

enum op { OP_WRITE, OP_READ, OP_FLUSH };

struct cmd {
  struct conn *c;
  bool busy;
  enum op op;
  bool fua;
  uint64_t first, n;            /* blocks */
  uint64_t gen;
  struct ack *covers;           /* flush: acks it makes durable */
  size_t ncovers;
  int error;
  unsigned char *buf;
};

struct conn {
  unsigned id;
  pthread_t thread;
  struct nbd_handle *h;
  uint64_t first, last;         /* owned blocks [first, last) */
  bool *in_flight;              /* indexed by block - first */
  uint64_t rnd;
  struct ack *unflushed;        /* acked since the last flush was sent */
  size_t nunflushed, unflushed_cap;
  struct cmd cmd[QUEUE_DEPTH];
  uint64_t writes, fua_writes, flushes, reads;
  bool lost;                    /* the server went away */
};

static uint64_t
rnd_next (struct conn *c)
{
  c->rnd ^= c->rnd >> 12;
  c->rnd ^= c->rnd << 25;
  c->rnd ^= c->rnd >> 27;
  return c->rnd * UINT64_C(2685821657736338717);
}

static void
fail_now (const char *fmt, const char *arg)
{
  fprintf (stderr, "%s: ", program_name);
  fprintf (stderr, fmt, arg);
  fputc ('\n', stderr);
  failed = true;
}

/* Completion of any command: runs in the owning thread, inside
 * nbd_poll, so the block state of this connection needs no lock.
 */
static int
cmd_done (void *user_data, int *error)
{
  struct cmd *cmd = user_data;
  struct conn *c = cmd->c;
  uint64_t i;

  cmd->busy = false;
  for (i = 0; cmd->op != OP_FLUSH && i < cmd->n; i++)
    c->in_flight[cmd->first + i - c->first] = false;
  if (*error != 0) {
    cmd->error = *error;
    free (cmd->covers);
    cmd->covers = NULL;
    return 1;
  }

  switch (cmd->op) {
  case OP_WRITE:
    for (i = 0; i < cmd->n; i++) {
      struct block_state *bs = &blocks[cmd->first + i];

      if (cmd->gen > bs->acked)
        bs->acked = cmd->gen;
      if (cmd->fua) {
        if (cmd->gen > bs->durable)
          bs->durable = cmd->gen;
      }
      else {
        if (c->nunflushed == c->unflushed_cap) {
          c->unflushed_cap = c->unflushed_cap ? 2 * c->unflushed_cap : 256;
          c->unflushed = realloc (c->unflushed,
                                  c->unflushed_cap * sizeof *c->unflushed);
          if (c->unflushed == NULL) {
            perror ("realloc");
            abort ();
          }
        }
        c->unflushed[c->nunflushed++] =
          (struct ack) { cmd->first + i, cmd->gen };
      }
    }
    c->writes++;
    if (cmd->fua)
      c->fua_writes++;
    break;
  case OP_FLUSH:
    for (i = 0; i < cmd->ncovers; i++) {
      struct block_state *bs = &blocks[cmd->covers[i].block];

      if (cmd->covers[i].gen > bs->durable)
        bs->durable = cmd->covers[i].gen;
    }
    free (cmd->covers);
    cmd->covers = NULL;
    c->flushes++;
    break;
  case OP_READ:
    for (i = 0; i < cmd->n; i++)
      if (!check_block (cmd->buf + i * BLOCK, cmd->first + i, true))
        fail_now ("%s", "read back during the run does not match");
    c->reads++;
    break;
  }
  return 1;
}

/* Pick a run of up to MAX_RUN free blocks; false if the random start
 * block is busy.
 */
static bool
pick_run (struct conn *c, uint64_t *first, uint64_t *n)
{
  uint64_t nb = c->last - c->first;
  uint64_t start = rnd_next (c) % nb;
  uint64_t want = 1 + rnd_next (c) % MAX_RUN, k;

  for (k = 0; k < want && start + k < nb && !c->in_flight[start + k]; k++)
    ;
  if (k == 0)
    return false;
  *first = c->first + start;
  *n = k;
  return true;
}

static int
issue (struct conn *c, struct cmd *cmd)
{
  nbd_completion_callback cb = { .callback = cmd_done, .user_data = cmd };
  uint64_t r = rnd_next (c) % 100, i;
  int64_t id;

  cmd->c = c;
  cmd->error = 0;
  if (r < 8 && c->nunflushed > 0) {
    cmd->op = OP_FLUSH;
    cmd->n = 0;
    /* The flush covers exactly what was acknowledged before it is sent. */
    cmd->covers = c->unflushed;
    cmd->ncovers = c->nunflushed;
    c->unflushed = NULL;
    c->nunflushed = c->unflushed_cap = 0;
    cmd->busy = true;
    id = nbd_aio_flush (c->h, cb, 0);
  }
  else {
    if (!pick_run (c, &cmd->first, &cmd->n))
      return 0;
    for (i = 0; i < cmd->n; i++)
      c->in_flight[cmd->first + i - c->first] = true;
    cmd->busy = true;
    if (r < 80) {
      cmd->op = OP_WRITE;
      cmd->fua = rnd_next (c) % 3 == 0;
      cmd->gen = atomic_fetch_add (&next_gen, 1);
      for (i = 0; i < cmd->n; i++) {
        blocks[cmd->first + i].issued = cmd->gen;
        stamp_block (cmd->buf + i * BLOCK, cmd->first + i, cmd->gen);
      }
      id = nbd_aio_pwrite (c->h, cmd->buf, cmd->n * BLOCK,
                           cmd->first * BLOCK, cb,
                           cmd->fua ? LIBNBD_CMD_FLAG_FUA : 0);
    }
    else {
      cmd->op = OP_READ;
      id = nbd_aio_pread (c->h, cmd->buf, cmd->n * BLOCK,
                          cmd->first * BLOCK, cb, 0);
    }
  }
  if (id == -1) {
    /* The callback has already run (with an error) or never will:
     * either way the command is not in flight.
     */
    if (cmd->busy) {
      cmd->busy = false;
      for (i = 0; cmd->op != OP_FLUSH && i < cmd->n; i++)
        c->in_flight[cmd->first + i - c->first] = false;
      free (cmd->covers);
      cmd->covers = NULL;
    }
    return -1;
  }
  return 0;
}

static void *
conn_run (void *arg)
{
  struct conn *c = arg;
  time_t end = time (NULL) + seconds;
  unsigned i;

  while (!failed && time (NULL) < end) {
    for (i = 0; i < QUEUE_DEPTH; i++)
      if (!c->cmd[i].busy && issue (c, &c->cmd[i]) == -1)
        goto out;
    if (nbd_poll (c->h, 1000) == -1)
      goto out;
    for (i = 0; i < QUEUE_DEPTH; i++)
      if (c->cmd[i].error != 0 && !c->cmd[i].busy) {
        if (nbd_aio_is_dead (c->h) || nbd_aio_is_closed (c->h))
          goto out;
        /* The server is stopping (SIGTERM): it fails new commands
         * with ESHUTDOWN and then closes the connection.
         */
        if (c->cmd[i].error == ESHUTDOWN) {
          c->lost = true;
          goto drain;
        }
        /* The connection is up but the server failed a command. */
        errno = c->cmd[i].error;
        fprintf (stderr, "%s: conn %u: %s failed: %m\n", program_name,
                 c->id, c->cmd[i].op == OP_WRITE ? "write" :
                 c->cmd[i].op == OP_READ ? "read" : "flush");
        failed = true;
        goto out;
      }
  }
  /* Time is up, or the server is stopping: let what is in flight
   * finish before closing, so the server never sees a client vanish
   * with replies pending (nbdkit 1.32 can abort then, see
   * docs/SECURITY.md).
   */
 drain:
  while (nbd_aio_in_flight (c->h) > 0)
    if (nbd_poll (c->h, 1000) == -1)
      break;
  return NULL;

 out:
  if (nbd_aio_is_dead (c->h) || nbd_aio_is_closed (c->h))
    c->lost = true;
  return NULL;
}

static int
do_write (void)
{
  struct conn *conns = calloc (nconns, sizeof *conns);
  uint64_t per, writes = 0, fua = 0, flushes = 0, reads = 0;
  unsigned i, j, lost = 0;

  if (conns == NULL) {
    perror ("calloc");
    return EXIT_FAILURE;
  }
  next_gen = hdr.next_gen;
  per = hdr.nblocks / nconns;
  for (i = 0; i < nconns; i++) {
    struct conn *c = &conns[i];

    c->id = i;
    c->first = i * per;
    c->last = i == nconns - 1 ? hdr.nblocks : (i + 1) * per;
    c->in_flight = calloc (c->last - c->first, sizeof (bool));
    c->rnd = mix (seed + i + 1) | 1;
    c->h = connect_server ();
    for (j = 0; j < QUEUE_DEPTH; j++)
      c->cmd[j].buf = aligned_alloc (BLOCK, MAX_RUN * BLOCK);
  }
  for (i = 0; i < nconns; i++)
    pthread_create (&conns[i].thread, NULL, conn_run, &conns[i]);
  for (i = 0; i < nconns; i++) {
    struct conn *c = &conns[i];

    pthread_join (c->thread, NULL);
    writes += c->writes;
    fua += c->fua_writes;
    flushes += c->flushes;
    reads += c->reads;
    lost += c->lost;
    nbd_close (c->h);
    for (j = 0; j < QUEUE_DEPTH; j++) {
      free (c->cmd[j].buf);
      free (c->cmd[j].covers);
    }
    free (c->in_flight);
    free (c->unflushed);
  }
  free (conns);
  hdr.next_gen = next_gen;
  hdr.rounds++;
  save_state ();
  fprintf (stderr, "%s: round %" PRIu64 ": %" PRIu64 " writes acknowledged "
           "(%" PRIu64 " FUA), %" PRIu64 " flushes, %" PRIu64 " reads "
           "checked, %u of %u connections lost\n", program_name,
           hdr.rounds, writes, fua, flushes, reads, lost, nconns);
  if (writes == 0) {
    fprintf (stderr, "%s: no write was acknowledged\n", program_name);
    return EXIT_FAILURE;
  }
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int
do_verify (struct nbd_handle *h)
{
  unsigned char *buf = aligned_alloc (BLOCK, 256 * BLOCK);
  uint64_t b, i, n, bad = 0, durable = 0, acked = 0;

  for (b = 0; b < hdr.nblocks; b += n) {
    n = hdr.nblocks - b < 256 ? hdr.nblocks - b : 256;
    if (nbd_pread (h, buf, n * BLOCK, b * BLOCK, 0) == -1) {
      fprintf (stderr, "%s: verify: read: %s\n", program_name,
               nbd_get_error ());
      free (buf);
      return EXIT_FAILURE;
    }
    for (i = 0; i < n; i++) {
      if (!check_block (buf + i * BLOCK, b + i, true) && ++bad >= 20) {
        fprintf (stderr, "%s: (stopping after 20 bad blocks)\n",
                 program_name);
        free (buf);
        return EXIT_FAILURE;
      }
      durable += blocks[b + i].durable > 0;
      acked += blocks[b + i].acked > 0;
    }
  }
  fprintf (stderr, "%s: verify after %" PRIu64 " rounds: %" PRIu64
           " blocks, %" PRIu64 " with an acknowledged write, %" PRIu64
           " with a durable one, %" PRIu64 " bad\n", program_name,
           hdr.rounds, hdr.nblocks, acked, durable, bad);
  free (buf);
  return bad ? EXIT_FAILURE : EXIT_SUCCESS;
}

int
main (int argc, char *argv[])
{
  static const struct option opts[] = {
    { "conns",   required_argument, NULL, 'c' },
    { "seconds", required_argument, NULL, 't' },
    { "seed",    required_argument, NULL, 'r' },
    { "socket",  required_argument, NULL, 's' },
    { "state",   required_argument, NULL, 'f' },
    { NULL }
  };
  struct nbd_handle *h;
  const char *mode;
  int64_t size;
  int c, r;

  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 'c': nconns = strtoul (optarg, NULL, 0); break;
    case 't': seconds = strtoul (optarg, NULL, 0); break;
    case 'r': seed = strtoull (optarg, NULL, 0); break;
    case 's': sock_path = optarg; break;
    case 'f': state_path = optarg; break;
    default: goto usage;
    }
  }
  if (optind != argc - 1 || sock_path == NULL || state_path == NULL ||
      nconns == 0)
    goto usage;
  mode = argv[optind];
  signal (SIGPIPE, SIG_IGN);

  h = connect_server ();
  size = nbd_get_size (h);
  if (size < (int64_t) (nconns * MAX_RUN * BLOCK)) {
    fprintf (stderr, "%s: export too small\n", program_name);
    return EXIT_FAILURE;
  }
  load_state (size);
  if (strcmp (mode, "write") == 0) {
    nbd_close (h);
    r = do_write ();
    free (blocks);
    return r;
  }
  if (strcmp (mode, "verify") == 0) {
    r = do_verify (h);
    nbd_shutdown (h, 0);
    nbd_close (h);
    free (blocks);
    return r;
  }

 usage:
  fprintf (stderr, "usage: %s write|verify --socket SOCK --state FILE "
           "[--conns N] [--seconds S] [--seed N]\n", program_name);
  return EXIT_FAILURE;
}
