/* uringblk reliability: NBD requests no well-behaved client sends,
 * written straight to the socket.
 *
 * libnbd refuses to send some requests even with strict mode off (a
 * read or write over 64 MiB), and never sends malformed ones, so this
 * program speaks the protocol itself: the fixed newstyle handshake with
 * NBD_OPT_EXPORT_NAME, simple replies only.  Each case says what the
 * server must do: answer with a given NBD error and keep the connection
 * (checked by a good read that follows), or drop the connection.  After
 * every case a fresh connection must still be served, and at the end
 * the first 1 MiB of the export must still hold what was written first.
 *
 *   test-badreq-raw SOCKET
 */

#include <config.h>

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#define NBD_REQUEST_MAGIC 0x25609513
#define NBD_SIMPLE_REPLY_MAGIC 0x67446698
#define NBD_CMD_READ 0
#define NBD_CMD_WRITE 1
#define NBD_CMD_DISC 2
#define NBD_CMD_FLUSH 3
#define NBD_CMD_TRIM 4
#define NBD_CMD_WRITE_ZEROES 6
#define NBD_CMD_FLAG_FUA (1 << 0)
#define NBD_CMD_FLAG_DF (1 << 2)
#define NBD_EPERM 1
#define NBD_EIO 5
#define NBD_ENOMEM 12
#define NBD_EINVAL 22
#define NBD_ENOSPC 28
#define NBD_EOVERFLOW 75

#define MIB (1024 * 1024)
#define MAX_REQUEST (64 * MIB)

static const char *sock_path;
static uint64_t export_size;
static uint64_t next_handle = 1;
static unsigned errors;

static void
fail (const char *fmt, ...)
  __attribute__((format (printf, 1, 2)));

static void
fail (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  fprintf (stderr, "test-badreq-raw: FAIL: ");
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  errors++;
}

/* Read or write exactly len bytes; false on EOF or error. */
static bool
read_full (int fd, void *buf, size_t len)
{
  char *p = buf;

  while (len > 0) {
    ssize_t r = read (fd, p, len);

    if (r <= 0) {
      if (r == -1 && errno == EINTR)
        continue;
      return false;
    }
    p += r;
    len -= r;
  }
  return true;
}

static bool
write_full (int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0) {
    ssize_t r = write (fd, p, len);

    if (r <= 0) {
      if (r == -1 && errno == EINTR)
        continue;
      return false;
    }
    p += r;
    len -= r;
  }
  return true;
}

static int
connect_raw (void)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct timeval tv = { .tv_sec = 20 };

  if (fd == -1) {
    perror ("socket");
    exit (EXIT_FAILURE);
  }
  strncpy (addr.sun_path, sock_path, sizeof addr.sun_path - 1);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) == -1) {
    perror (sock_path);
    exit (EXIT_FAILURE);
  }
  /* Never hang on a server that neither answers nor closes. */
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

/* Connect and do the handshake; exits on failure (the server must
 * always accept a well-formed client).
 */
static int
connect_nbd (void)
{
  int fd = connect_raw ();
  char magic[16];
  uint16_t hflags;
  uint32_t cflags = htobe32 (1 | 2);    /* FIXED_NEWSTYLE | NO_ZEROES */
  struct {
    char magic[8];
    uint32_t opt, len;
  } __attribute__((packed)) opt = { "IHAVEOPT", htobe32 (1), 0 };
  uint64_t size;
  uint16_t tflags;

  if (!read_full (fd, magic, 16) || memcmp (magic, "NBDMAGICIHAVEOPT", 16) ||
      !read_full (fd, &hflags, 2) ||
      !write_full (fd, &cflags, 4) ||
      !write_full (fd, &opt, sizeof opt) ||
      !read_full (fd, &size, 8) || !read_full (fd, &tflags, 2)) {
    fprintf (stderr, "test-badreq-raw: handshake with %s failed\n",
             sock_path);
    exit (EXIT_FAILURE);
  }
  export_size = be64toh (size);
  return fd;
}

static bool
send_request (int fd, uint16_t flags, uint16_t type, uint64_t handle,
              uint64_t offset, uint32_t count)
{
  struct {
    uint32_t magic;
    uint16_t flags, type;
    uint64_t handle, offset;
    uint32_t count;
  } __attribute__((packed)) rq = {
    htobe32 (NBD_REQUEST_MAGIC), htobe16 (flags), htobe16 (type),
    handle, htobe64 (offset), htobe32 (count)
  };

  return write_full (fd, &rq, sizeof rq);
}

/* Receive a simple reply; returns its NBD error, or -1 if the
 * connection dropped.  For a successful read, data_len bytes of data
 * follow and are stored in data.
 */
static int
recv_reply (int fd, uint64_t handle, void *data, size_t data_len)
{
  struct {
    uint32_t magic, error;
    uint64_t handle;
  } __attribute__((packed)) rp;

  if (!read_full (fd, &rp, sizeof rp))
    return -1;
  if (be32toh (rp.magic) != NBD_SIMPLE_REPLY_MAGIC || rp.handle != handle) {
    fail ("malformed reply (magic %#x)", be32toh (rp.magic));
    return -1;
  }
  if (rp.error == 0 && data_len > 0 && !read_full (fd, data, data_len))
    return -1;
  return be32toh (rp.error);
}

/* A request with no payload, expecting error "want" (0 = success, with
 * count bytes of data for a read).
 */
static void
expect (int fd, const char *what, uint16_t flags, uint16_t type,
        uint64_t offset, uint32_t count, int want)
{
  uint64_t handle = next_handle++;
  void *data = NULL;
  int r;

  /* A read that succeeds is followed by its data, wanted or not. */
  if (type == NBD_CMD_READ && count <= MAX_REQUEST)
    data = malloc (count);
  if (!send_request (fd, flags, type, handle, offset, count)) {
    fail ("%s: sending failed", what);
    return;
  }
  r = recv_reply (fd, handle, data, data ? count : 0);
  free (data);
  if (r != want)
    fail ("%s: got NBD error %d, want %d", what, r, want);
  else
    fprintf (stderr, "test-badreq-raw: ok: %s -> %d\n", what, r);
}

/* The connection still works: a small read succeeds. */
static void
expect_alive (int fd, const char *after)
{
  char what[256];

  snprintf (what, sizeof what, "read after %s", after);
  expect (fd, what, 0, NBD_CMD_READ, 0, 4096, 0);
}

/* The server dropped the connection: EOF within the receive timeout. */
static void
expect_dropped (int fd, const char *what)
{
  char c;
  ssize_t r = read (fd, &c, 1);

  /* An error reply before the close is allowed; then EOF must follow. */
  while (r > 0)
    r = read (fd, &c, 1);
  if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
    fail ("%s: the server kept the connection open", what);
  else
    fprintf (stderr, "test-badreq-raw: ok: %s -> connection dropped\n", what);
}

/* A write whose payload is sent in full; expects error "want". */
static void
expect_write (int fd, const char *what, uint16_t flags, uint64_t offset,
              uint32_t count, const void *payload, int want)
{
  uint64_t handle = next_handle++;
  int r;

  if (!send_request (fd, flags, NBD_CMD_WRITE, handle, offset, count) ||
      !write_full (fd, payload, count)) {
    fail ("%s: sending failed", what);
    return;
  }
  r = recv_reply (fd, handle, NULL, 0);
  if (r != want)
    fail ("%s: got NBD error %d, want %d", what, r, want);
  else
    fprintf (stderr, "test-badreq-raw: ok: %s -> %d\n", what, r);
}

int
main (int argc, char *argv[])
{
  unsigned char *big, *check;
  int fd, i;

  if (argc != 2) {
    fprintf (stderr, "usage: test-badreq-raw SOCKET\n");
    return EXIT_FAILURE;
  }
  sock_path = argv[1];
  signal (SIGPIPE, SIG_IGN);

  big = malloc (2 * MAX_REQUEST);
  check = malloc (MIB);
  if (big == NULL || check == NULL) {
    perror ("malloc");
    return EXIT_FAILURE;
  }
  for (i = 0; i < 2 * MAX_REQUEST; i++)
    big[i] = (i * 7 + i / 4096) & 0xff;

  fd = connect_nbd ();
  if (export_size < 2 * MIB) {
    fprintf (stderr, "test-badreq-raw: export too small\n");
    return EXIT_FAILURE;
  }
  expect_write (fd, "write 1 MiB", 0, 0, MIB, big, 0);

  /* Over the 64 MiB request limit, but small enough for the server to
   * read past the payload: an error, and the connection goes on.
   */
  expect (fd, "read 64 MiB + 4 KiB", 0, NBD_CMD_READ, 0,
          MAX_REQUEST + 4096, NBD_ENOMEM);
  expect_alive (fd, "oversized read");
  expect_write (fd, "write 64 MiB + 4 KiB", 0, 0, MAX_REQUEST + 4096,
                big + 1, NBD_ENOMEM);
  expect_alive (fd, "oversized write");

  /* Commands, flags and ranges the server must refuse. */
  expect (fd, "unknown command 99", 0, 99, 0, 4096, NBD_EINVAL);
  expect_alive (fd, "unknown command");
  /* FUA means nothing to a read: nbdkit ignores it. */
  expect (fd, "read with FUA", NBD_CMD_FLAG_FUA, NBD_CMD_READ, 0, 4096, 0);
  expect (fd, "read with DF (not negotiated)", NBD_CMD_FLAG_DF,
          NBD_CMD_READ, 0, 4096, NBD_EINVAL);
  expect (fd, "unknown flag 0x8000", 0x8000, NBD_CMD_READ, 0, 4096,
          NBD_EINVAL);
  expect (fd, "read at offset 2^64 - 4096", 0, NBD_CMD_READ,
          UINT64_MAX - 4095, 4096, NBD_EINVAL);
  expect (fd, "trim wrapping past 2^64", 0, NBD_CMD_TRIM,
          UINT64_MAX - 4095, 8192, NBD_EINVAL);
  expect (fd, "zero wrapping past 2^64", 0, NBD_CMD_WRITE_ZEROES,
          UINT64_MAX - 4095, 8192, NBD_ENOSPC);
  expect (fd, "flush with a range", 0, NBD_CMD_FLUSH, 4096, 4096,
          NBD_EINVAL);
  expect_alive (fd, "refused commands");
  (void) close (fd);

  /* A write far over the limit cannot be skipped: the server drops the
   * connection, and keeps serving others.
   */
  fd = connect_nbd ();
  if (send_request (fd, 0, NBD_CMD_WRITE, next_handle++, 0, 0xfffff000))
    (void) write_full (fd, big, MIB);
  expect_dropped (fd, "write of 4 GiB - 4 KiB");
  (void) close (fd);

  /* A request with a bad magic number. */
  fd = connect_nbd ();
  {
    uint32_t junk[7] = { htobe32 (0xdeadbeef) };
    (void) write_full (fd, junk, sizeof junk);
  }
  expect_dropped (fd, "bad request magic");
  (void) close (fd);

  /* Handshakes that stop short or send garbage. */
  fd = connect_raw ();
  (void) close (fd);
  fd = connect_raw ();
  (void) write_full (fd, "GET / HTTP/1.0\r\n\r\n", 18);
  expect_dropped (fd, "HTTP request instead of a handshake");
  (void) close (fd);
  fd = connect_raw ();
  {
    char hello[18];
    uint32_t cflags = htobe32 (1 | 2);
    struct {
      char magic[8];
      uint32_t opt, len;
    } __attribute__((packed)) opt = {
      "IHAVEOPT", htobe32 (6 /* NBD_OPT_INFO */), htobe32 (0xffffffff)
    };

    if (read_full (fd, hello, sizeof hello) &&
        write_full (fd, &cflags, 4))
      (void) write_full (fd, &opt, sizeof opt);
  }
  expect_dropped (fd, "option with a 4 GiB length");
  (void) close (fd);

  /* Disconnect with a read in flight (small, see docs/SECURITY.md). */
  fd = connect_nbd ();
  (void) send_request (fd, 0, NBD_CMD_READ, next_handle++, 0, 4096);
  (void) close (fd);

  /* The server still serves, and the data written first is intact. */
  fd = connect_nbd ();
  {
    uint64_t handle = next_handle++;

    if (!send_request (fd, 0, NBD_CMD_READ, handle, 0, MIB) ||
        recv_reply (fd, handle, check, MIB) != 0)
      fail ("final read failed");
    else if (memcmp (check, big, MIB) != 0)
      fail ("the first 1 MiB changed: a refused request wrote data");
    else
      fprintf (stderr, "test-badreq-raw: ok: data intact\n");
    (void) send_request (fd, 0, NBD_CMD_DISC, next_handle++, 0, 0);
  }
  (void) close (fd);

  free (big);
  free (check);
  if (errors > 0) {
    fprintf (stderr, "test-badreq-raw: %u failures\n", errors);
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
