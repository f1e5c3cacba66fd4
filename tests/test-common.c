/* uringblk integration tests: shared pieces of the libnbd test programs.
 * See test-common.h for how the programs are run.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <libnbd.h>

#include "test-common.h"

struct test_config cfg;
const char *program_name;
struct rnd_state rnd_global;

/* The self-hosted server.  Paths are built once so that the SIGALRM
 * handler can clean up with async-signal-safe calls only.
 */
static pid_t server_pid = -1;
static char tmpdir[90];          /* short: a socket path is <= 107 bytes */
static char sock_path[sizeof tmpdir + 8];
static char pid_path[sizeof tmpdir + 8];
static char backing_path[sizeof tmpdir + 16];

static void
remove_self_hosted (void)
{
  if (server_pid > 0) {
    (void) kill (server_pid, SIGTERM);
  }
  if (tmpdir[0]) {
    (void) unlink (sock_path);
    (void) unlink (pid_path);
    (void) unlink (backing_path);
  }
}

static void
stop_server_at_exit (void)
{
  int status;

  if (server_pid > 0) {
    int i;

    /* nbdkit waits for open connections to finish before exiting, and
     * a failing test may still hold some: give it 5 seconds, then kill.
     */
    (void) kill (server_pid, SIGTERM);
    for (i = 0; i < 50; i++) {
      if (waitpid (server_pid, &status, WNOHANG) == server_pid)
        break;
      usleep (100000);
    }
    if (i == 50) {
      (void) kill (server_pid, SIGKILL);
      (void) waitpid (server_pid, &status, 0);
    }
    else if (!(WIFEXITED (status) && WEXITSTATUS (status) == 0) &&
             !(WIFSIGNALED (status) && WTERMSIG (status) == SIGTERM))
      fprintf (stderr, "%s: warning: nbdkit exit status 0x%x\n",
               program_name, (unsigned) status);
    server_pid = -1;
  }
  remove_self_hosted ();
  if (tmpdir[0])
    (void) rmdir (tmpdir);
}

static void
on_alarm (int sig)
{
  static const char m[] = ": time limit reached, giving up\n";

  (void) sig;
  if (write (2, program_name, strlen (program_name)) > 0)
    (void) !write (2, m, sizeof m - 1);
  remove_self_hosted ();
  if (tmpdir[0])
    (void) rmdir (tmpdir);
  _exit (1);
}

void
test_fail (const char *fmt, ...)
{
  va_list ap;

  fprintf (stderr, "%s: FAIL (seed=%" PRIu64 "): ", program_name, cfg.seed);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  exit (EXIT_FAILURE);
}

void
test_fail_nbd (const char *what)
{
  test_fail ("%s: %s (errno %d %s)", what, nbd_get_error (),
             nbd_get_errno (), strerror (nbd_get_errno ()));
}

void *
xalloc (size_t len)
{
  void *p;
  int r = posix_memalign (&p, 4096, len ? len : 1);

  if (r != 0)
    test_fail ("posix_memalign %zu: %s", len, strerror (r));
  return p;
}

/* Start nbdkit with the plugin on a fresh sparse backing file, and wait
 * (bounded) for its pid file, which nbdkit writes once it listens.
 */
static void
start_self_hosted (void)
{
  const char *plugin = getenv ("PLUGIN");
  const char *base = getenv ("TMPDIR");
  int fd, i, status;

  if (!plugin || !*plugin)
    test_fail ("PLUGIN is not set (run through make check)");
  if (!base || !*base)
    base = "/var/tmp";
  if (snprintf (tmpdir, sizeof tmpdir, "%s/uringblk-%s.XXXXXX", base,
                program_name) >= (int) sizeof tmpdir) {
    tmpdir[0] = '\0';
    test_fail ("TMPDIR %s is too long for a socket path", base);
  }
  if (mkdtemp (tmpdir) == NULL) {
    tmpdir[0] = '\0';
    test_fail ("mkdtemp: %m");
  }
  snprintf (sock_path, sizeof sock_path, "%s/sock", tmpdir);
  snprintf (pid_path, sizeof pid_path, "%s/pid", tmpdir);
  snprintf (backing_path, sizeof backing_path, "%s/disk.img", tmpdir);
  atexit (stop_server_at_exit);

  fd = open (backing_path, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0644);
  if (fd == -1 || ftruncate (fd, cfg.size) == -1)
    test_fail ("create %s: %m", backing_path);
  (void) close (fd);

  char file_arg[PATH_MAX + 8];
  snprintf (file_arg, sizeof file_arg, "file=%s", backing_path);

  server_pid = fork ();
  if (server_pid == -1)
    test_fail ("fork: %m");
  if (server_pid == 0) {
    execlp ("nbdkit", "nbdkit", "--exit-with-parent", "-f",
            "-U", sock_path, "-P", pid_path, plugin, file_arg, (char *) NULL);
    perror ("nbdkit");
    _exit (126);
  }

  for (i = 0; i < 300; i++) {
    struct stat st;

    if (stat (pid_path, &st) == 0 && st.st_size > 0 &&
        access (sock_path, F_OK) == 0)
      break;
    if (waitpid (server_pid, &status, WNOHANG) == server_pid) {
      server_pid = -1;
      test_fail ("nbdkit exited during start-up (status 0x%x)",
                 (unsigned) status);
    }
    usleep (100000);
  }
  if (i == 300)
    test_fail ("nbdkit did not start within 30 seconds");

  cfg.socket = sock_path;
  cfg.backing = backing_path;
}

void
test_init (int argc, char **argv, int64_t default_size, unsigned default_ops)
{
  static const struct option long_options[] = {
    { "backing", required_argument, NULL, 'b' },
    { "ops",     required_argument, NULL, 'o' },
    { "seed",    required_argument, NULL, 'r' },
    { "size",    required_argument, NULL, 'z' },
    { "socket",  required_argument, NULL, 's' },
    { "timeout", required_argument, NULL, 't' },
    { NULL }
  };
  const char *p = strrchr (argv[0], '/');
  const char *env_seed = getenv ("SEED");
  bool have_seed = false;
  struct stat st;
  int c;

  program_name = p ? p + 1 : argv[0];
  /* libtool wrappers run the real binary as lt-NAME. */
  if (strncmp (program_name, "lt-", 3) == 0)
    program_name += 3;

  cfg.size = default_size;
  cfg.ops = default_ops;
  cfg.timeout = 100;

  while ((c = getopt_long (argc, argv, "", long_options, NULL)) != -1) {
    switch (c) {
    case 'b': cfg.backing = optarg; break;
    case 'o': cfg.ops = strtoul (optarg, NULL, 0); break;
    case 'r': cfg.seed = strtoull (optarg, NULL, 0); have_seed = true; break;
    case 's': cfg.socket = optarg; break;
    case 't': cfg.timeout = strtoul (optarg, NULL, 0); break;
    case 'z': cfg.size = strtoll (optarg, NULL, 0); break;
    default:
      fprintf (stderr, "usage: %s [--socket SOCK --backing PATH] "
               "[--seed N] [--ops N] [--size BYTES] [--timeout SECS]\n",
               program_name);
      exit (EXIT_FAILURE);
    }
  }
  if (!!cfg.socket != !!cfg.backing) {
    fprintf (stderr, "%s: --socket and --backing go together\n",
             program_name);
    exit (EXIT_FAILURE);
  }

  if (!have_seed && env_seed && *env_seed) {
    cfg.seed = strtoull (env_seed, NULL, 0);
    have_seed = true;
  }
  if (!have_seed) {
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    cfg.seed = (uint64_t) ts.tv_sec * 1000003 + ts.tv_nsec + getpid ();
  }
  rnd_state_seed (&rnd_global, cfg.seed);
  fprintf (stderr, "%s: seed=%" PRIu64 " (replay with SEED=%" PRIu64 ")\n",
           program_name, cfg.seed, cfg.seed);

  signal (SIGALRM, on_alarm);
  alarm (cfg.timeout);

  if (!cfg.socket)
    start_self_hosted ();

  if (stat (cfg.backing, &st) == -1)
    test_fail ("stat %s: %m", cfg.backing);
  cfg.backing_is_file = S_ISREG (st.st_mode);
}

struct nbd_handle *
test_connect (uint32_t strict_clear)
{
  struct nbd_handle *h = nbd_create ();

  if (h == NULL)
    test_fail_nbd ("nbd_create");
  if (nbd_add_meta_context (h, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1)
    test_fail_nbd ("nbd_add_meta_context");
  if (nbd_connect_unix (h, cfg.socket) == -1)
    test_fail_nbd ("nbd_connect_unix");
  if (strict_clear &&
      nbd_set_strict_mode (h, nbd_get_strict_mode (h) & ~strict_clear) == -1)
    test_fail_nbd ("nbd_set_strict_mode");
  return h;
}

void
test_disconnect (struct nbd_handle *h)
{
  if (nbd_shutdown (h, 0) == -1)
    test_fail_nbd ("nbd_shutdown");
  nbd_close (h);
}

/* xorshift64* (Vigna): small, fast, and good enough to pick offsets. */
void
rnd_state_seed (struct rnd_state *r, uint64_t seed)
{
  /* splitmix64 step so that nearby seeds give unrelated streams. */
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  r->s = (z ^ (z >> 31)) | 1;
}

uint64_t
rnd_next (struct rnd_state *r)
{
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545f4914f6cdd1dULL;
}

uint64_t
rnd_below (struct rnd_state *r, uint64_t n)
{
  return n ? rnd_next (r) % n : 0;
}

void
rnd_fill (struct rnd_state *r, void *buf, size_t len)
{
  unsigned char *p = buf;

  while (len >= 8) {
    uint64_t v = rnd_next (r);
    memcpy (p, &v, 8);
    p += 8;
    len -= 8;
  }
  if (len) {
    uint64_t v = rnd_next (r);
    memcpy (p, &v, len);
  }
}

bool
is_zero (const void *p, size_t len)
{
  const unsigned char *b = p;

  /* The classic trick: the first byte is zero and the buffer equals
   * itself shifted by one.
   */
  return len == 0 || (b[0] == 0 && memcmp (b, b + 1, len - 1) == 0);
}

void
check_bytes (const char *what, uint64_t offset,
             const void *got, const void *expected, size_t len)
{
  const unsigned char *g = got, *e = expected;
  size_t i;

  if (memcmp (got, expected, len) == 0)
    return;
  for (i = 0; i < len && g[i] == e[i]; i++)
    ;
  test_fail ("%s [%" PRIu64 ", +%zu): first difference at offset %" PRIu64
             " (byte %zu of the request): got 0x%02x, expected 0x%02x",
             what, offset, len, offset + i, i, g[i], e[i]);
}

void
check_backing (const unsigned char *expected, int64_t size)
{
  const size_t chunk = 4 << 20;
  unsigned char *buf = xalloc (chunk);
  int fd = open (cfg.backing, O_RDONLY|O_CLOEXEC);
  int64_t off;

  if (fd == -1)
    test_fail ("open %s: %m", cfg.backing);
  for (off = 0; off < size; off += chunk) {
    size_t n = size - off < (int64_t) chunk ? (size_t) (size - off) : chunk;
    ssize_t r = pread (fd, buf, n, off);
    if (r != (ssize_t) n)
      test_fail ("pread %s at %" PRIi64 ": %m", cfg.backing, off);
    check_bytes ("backing store after disconnect", off, buf,
                 expected + off, n);
  }
  (void) close (fd);
  free (buf);
}

static int backing_fd = -1;

static int
get_backing_fd (void)
{
  if (backing_fd == -1) {
    backing_fd = open (cfg.backing, O_RDONLY|O_CLOEXEC);
    if (backing_fd == -1)
      test_fail ("open %s: %m", cfg.backing);
  }
  return backing_fd;
}

bool
backing_is_hole (uint64_t offset, uint64_t len)
{
  off_t r = lseek (get_backing_fd (), offset, SEEK_DATA);

  if (r == -1) {
    if (errno == ENXIO)
      return true;
    test_fail ("lseek SEEK_DATA %s: %m", cfg.backing);
  }
  return (uint64_t) r >= offset + len;
}

/* True if [offset, offset+len) is entirely data according to SEEK_HOLE. */
static bool
backing_is_data (uint64_t offset, uint64_t len)
{
  off_t r = lseek (get_backing_fd (), offset, SEEK_HOLE);

  if (r == -1) {
    if (errno == ENXIO)
      return false;
    test_fail ("lseek SEEK_HOLE %s: %m", cfg.backing);
  }
  return (uint64_t) r >= offset + len;
}

uint64_t
backing_mapped_bytes (uint64_t offset, uint64_t len)
{
  const unsigned n = 256;
  struct fiemap *fm = calloc (1, sizeof *fm + n * sizeof (struct fiemap_extent));
  uint64_t pos = offset, end = offset + len, mapped = 0;

  if (fm == NULL)
    test_fail ("calloc: %m");
  while (pos < end) {
    unsigned i;

    memset (fm, 0, sizeof *fm);
    fm->fm_start = pos;
    fm->fm_length = end - pos;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = n;
    if (ioctl (get_backing_fd (), FS_IOC_FIEMAP, fm) == -1)
      test_fail ("FIEMAP %s: %m", cfg.backing);
    if (fm->fm_mapped_extents == 0)
      break;
    for (i = 0; i < fm->fm_mapped_extents; i++) {
      const struct fiemap_extent *e = &fm->fm_extents[i];
      uint64_t a = e->fe_logical > pos ? e->fe_logical : pos;
      uint64_t b = e->fe_logical + e->fe_length < end
        ? e->fe_logical + e->fe_length : end;
      if (b > a)
        mapped += b - a;
      pos = e->fe_logical + e->fe_length;
    }
    if (fm->fm_extents[fm->fm_mapped_extents - 1].fe_flags & FIEMAP_EXTENT_LAST)
      break;
  }
  free (fm);
  return mapped;
}

struct extents_check {
  const unsigned char *expected;
  uint64_t start, end;          /* the range asked about */
  uint64_t next;                /* first offset not yet described */
};

static int
extent_cb (void *opaque, const char *metacontext, uint64_t offset,
           uint32_t *entries, size_t nr_entries, int *error)
{
  struct extents_check *c = opaque;
  size_t i;

  if (strcmp (metacontext, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0)
    return 0;
  if (offset != c->next)
    test_fail ("block status: extents start at %" PRIu64
               ", expected %" PRIu64, offset, c->next);
  for (i = 0; i + 1 < nr_entries; i += 2) {
    uint64_t a = offset, b = offset + entries[i];
    uint32_t flags = entries[i + 1];

    if (entries[i] == 0)
      test_fail ("block status: zero-length extent at %" PRIu64, a);
    offset = b;
    if (a >= c->end)
      break;                    /* beyond what we asked: not checked */
    if (b > c->end)
      b = c->end;
    if ((flags & LIBNBD_STATE_ZERO) && !is_zero (c->expected + a, b - a))
      test_fail ("block status: [%" PRIu64 ", %" PRIu64 ") reported zero "
                 "(flags 0x%x) but holds data", a, b, flags);
    if (cfg.backing_is_file) {
      if ((flags & LIBNBD_STATE_HOLE) && !backing_is_hole (a, b - a))
        test_fail ("block status: [%" PRIu64 ", %" PRIu64 ") reported hole "
                   "but SEEK_DATA finds data there", a, b);
      if (!(flags & LIBNBD_STATE_HOLE) && !backing_is_data (a, b - a))
        test_fail ("block status: [%" PRIu64 ", %" PRIu64 ") reported data "
                   "but SEEK_HOLE finds a hole there", a, b);
      if ((flags & LIBNBD_STATE_HOLE) && !(flags & LIBNBD_STATE_ZERO))
        test_fail ("block status: hole [%" PRIu64 ", %" PRIu64 ") not "
                   "reported as zero", a, b);
    }
  }
  c->next = offset;
  return 0;
}

void
check_extents (struct nbd_handle *h, const unsigned char *expected,
               uint64_t offset, uint64_t count)
{
  struct extents_check c = {
    .expected = expected, .start = offset, .end = offset + count,
    .next = offset,
  };

  while (c.next < c.end) {
    uint64_t before = c.next;
    uint64_t n = c.end - c.next;

    if (n > 0x80000000)
      n = 0x80000000;
    if (nbd_block_status (h, n, c.next,
                          (nbd_extent_callback) { .callback = extent_cb,
                                                  .user_data = &c },
                          0) == -1)
      test_fail_nbd ("nbd_block_status");
    if (c.next == before)
      test_fail ("block status at %" PRIu64 " made no progress", before);
  }
}

struct flags_check {
  uint64_t end, next;
  uint32_t want;
  bool all;
};

static int
flags_cb (void *opaque, const char *metacontext, uint64_t offset,
          uint32_t *entries, size_t nr_entries, int *error)
{
  struct flags_check *c = opaque;
  size_t i;

  if (strcmp (metacontext, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0)
    return 0;
  for (i = 0; i + 1 < nr_entries && offset < c->end; i += 2) {
    if ((entries[i + 1] & c->want) != c->want)
      c->all = false;
    offset += entries[i];
  }
  c->next = offset;
  return 0;
}

bool
extents_all_have (struct nbd_handle *h, uint64_t offset, uint64_t count,
                  uint32_t flags)
{
  struct flags_check c = {
    .end = offset + count, .next = offset, .want = flags, .all = true,
  };

  while (c.next < c.end && c.all) {
    uint64_t before = c.next;
    uint64_t n = c.end - c.next;

    if (n > 0x80000000)
      n = 0x80000000;
    if (nbd_block_status (h, n, c.next,
                          (nbd_extent_callback) { .callback = flags_cb,
                                                  .user_data = &c },
                          0) == -1)
      test_fail_nbd ("nbd_block_status");
    if (c.next == before)
      test_fail ("block status at %" PRIu64 " made no progress", before);
  }
  return c.all;
}
