/* uringblkd: client side of the NBD fixed-newstyle handshake.
 * See handshake.h, and the NBD protocol document for the wire format.
 */

#include <config.h>

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "handshake.h"

#define NBD_MAGIC            UINT64_C(0x4e42444d41474943) /* "NBDMAGIC" */
#define NBD_OPT_MAGIC        UINT64_C(0x49484156454f5054) /* "IHAVEOPT" */
#define NBD_OLD_MAGIC        UINT64_C(0x0000420281861253)
#define NBD_REP_MAGIC        UINT64_C(0x0003e889045565a9)
#define NBD_REQUEST_MAGIC_   UINT32_C(0x25609513)

#define NBD_FLAG_FIXED_NEWSTYLE 1
#define NBD_FLAG_NO_ZEROES      2

#define NBD_OPT_EXPORT_NAME  1
#define NBD_OPT_ABORT        2
#define NBD_OPT_GO           7

#define NBD_REP_ACK          1
#define NBD_REP_INFO         3
#define NBD_REP_FLAG_ERROR   (UINT32_C(1) << 31)
#define NBD_REP_ERR_UNSUP    (NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY   (NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_TLS_REQD (NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN  (NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN (NBD_REP_FLAG_ERROR | 7)

#define NBD_INFO_EXPORT      0
#define NBD_INFO_BLOCK_SIZE  3

#define NBD_CMD_DISC         2

/* Longest export name we send, and longest option reply we accept. */
#define MAX_NAME 4096
#define MAX_REPLY (64 * 1024)

/* Read exactly N bytes, waiting at most TIMEOUT_MS for each chunk. */
static int
read_full (int fd, void *buf, size_t n, int timeout_ms)
{
  char *p = buf;

  while (n > 0) {
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    ssize_t r;

    r = poll (&pfd, 1, timeout_ms);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (r == 0)
      return -ETIMEDOUT;
    r = recv (fd, p, n, 0);
    if (r == -1) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      return -errno;
    }
    if (r == 0)
      return -ECONNRESET;
    p += r;
    n -= r;
  }
  return 0;
}

/* Read and throw away N bytes. */
static int
read_discard (int fd, size_t n, int timeout_ms)
{
  char buf[512];
  int r;

  while (n > 0) {
    size_t c = n < sizeof buf ? n : sizeof buf;
    r = read_full (fd, buf, c, timeout_ms);
    if (r < 0)
      return r;
    n -= c;
  }
  return 0;
}

static int
write_full (int fd, const void *buf, size_t n)
{
  const char *p = buf;

  while (n > 0) {
    ssize_t r = send (fd, p, n, MSG_NOSIGNAL);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += r;
    n -= r;
  }
  return 0;
}

static uint64_t
get_be64 (const unsigned char *p)
{
  uint64_t v;
  memcpy (&v, p, 8);
  return be64toh (v);
}

static uint32_t
get_be32 (const unsigned char *p)
{
  uint32_t v;
  memcpy (&v, p, 4);
  return be32toh (v);
}

static uint16_t
get_be16 (const unsigned char *p)
{
  uint16_t v;
  memcpy (&v, p, 2);
  return be16toh (v);
}

static void
put_be64 (unsigned char *p, uint64_t v)
{
  v = htobe64 (v);
  memcpy (p, &v, 8);
}

static void
put_be32 (unsigned char *p, uint32_t v)
{
  v = htobe32 (v);
  memcpy (p, &v, 4);
}

static void
put_be16 (unsigned char *p, uint16_t v)
{
  v = htobe16 (v);
  memcpy (p, &v, 2);
}

/* Read the server greeting and send our client flags.  *NO_ZEROES says
 * whether both sides agreed to drop the 124 bytes of padding.
 */
static int
greeting_exchange (int fd, int timeout_ms, bool *no_zeroes)
{
  unsigned char g[18], cflags[4];
  uint16_t sflags;
  uint32_t flags = 0;
  int r;

  r = read_full (fd, g, sizeof g, timeout_ms);
  if (r < 0)
    return r;
  if (get_be64 (g) != NBD_MAGIC)
    return -EPROTO;
  if (get_be64 (g + 8) == NBD_OLD_MAGIC)
    return -EPROTO;             /* oldstyle: cannot pick an export */
  if (get_be64 (g + 8) != NBD_OPT_MAGIC)
    return -EPROTO;
  sflags = get_be16 (g + 16);
  if (!(sflags & NBD_FLAG_FIXED_NEWSTYLE))
    return -EPROTO;
  flags = NBD_FLAG_FIXED_NEWSTYLE;
  *no_zeroes = (sflags & NBD_FLAG_NO_ZEROES) != 0;
  if (*no_zeroes)
    flags |= NBD_FLAG_NO_ZEROES;
  put_be32 (cflags, flags);
  return write_full (fd, cflags, sizeof cflags);
}

/* Send option OPT with LEN bytes of DATA. */
static int
option_send (int fd, uint32_t opt, const void *data, uint32_t len)
{
  unsigned char h[16];
  int r;

  put_be64 (h, NBD_OPT_MAGIC);
  put_be32 (h + 8, opt);
  put_be32 (h + 12, len);
  r = write_full (fd, h, sizeof h);
  if (r < 0 || len == 0)
    return r;
  return write_full (fd, data, len);
}

/* Map an error reply to -errno. */
static int
option_error (uint32_t type)
{
  switch (type) {
  case NBD_REP_ERR_UNSUP:    return -EOPNOTSUPP;
  case NBD_REP_ERR_POLICY:   return -EACCES;
  case NBD_REP_ERR_TLS_REQD: return -EACCES;
  case NBD_REP_ERR_UNKNOWN:  return -ENOENT;
  case NBD_REP_ERR_SHUTDOWN: return -ESHUTDOWN;
  default:                   return -EPROTO;
  }
}

/* Handle one NBD_REP_INFO payload of LEN bytes already in BUF. */
static bool
hs_power_of_2 (uint32_t v)
{
  return v != 0 && (v & (v - 1)) == 0;
}

static int
info_parse (const unsigned char *buf, uint32_t len, struct hs_export *exp,
            bool *have_export)
{
  uint16_t type;

  if (len < 2)
    return -EPROTO;
  type = get_be16 (buf);
  switch (type) {
  case NBD_INFO_EXPORT:
    if (len != 12)
      return -EPROTO;
    exp->size = get_be64 (buf + 2);
    exp->flags = get_be16 (buf + 10);
    *have_export = true;
    return 0;
  case NBD_INFO_BLOCK_SIZE:
    if (len != 14)
      return -EPROTO;
    exp->block_min = get_be32 (buf + 2);
    exp->block_pref = get_be32 (buf + 6);
    exp->block_max = get_be32 (buf + 10);
    /* The minimum becomes the device's logical block size: hold the
     * server to the protocol's rules (minimum a power of 2 up to
     * 64 KiB, preferred a power of 2 not below it, maximum a multiple
     * of the minimum or "no limit").
     */
    if (!hs_power_of_2 (exp->block_min) || exp->block_min > 65536 ||
        !hs_power_of_2 (exp->block_pref) ||
        exp->block_pref < exp->block_min ||
        (exp->block_max != UINT32_MAX &&
         (exp->block_max < exp->block_pref ||
          exp->block_max % exp->block_min != 0)))
      return -EPROTO;
    return 0;
  default:
    return 0;                   /* information we did not ask for */
  }
}

/* NBD_OPT_GO.  Returns -EOPNOTSUPP if the server does not know it. */
static int
option_go (int fd, const char *name, size_t namelen, int timeout_ms,
           struct hs_export *exp)
{
  unsigned char req[4 + MAX_NAME + 2 + 2];
  unsigned char rep[20];
  unsigned char info[32];
  bool have_export = false;
  size_t n = 0;
  int r;

  put_be32 (req, namelen);
  n += 4;
  memcpy (req + n, name, namelen);
  n += namelen;
  put_be16 (req + n, 1);        /* one information request */
  n += 2;
  put_be16 (req + n, NBD_INFO_BLOCK_SIZE);
  n += 2;
  r = option_send (fd, NBD_OPT_GO, req, n);
  if (r < 0)
    return r;

  for (;;) {
    uint32_t type, len;

    r = read_full (fd, rep, sizeof rep, timeout_ms);
    if (r < 0)
      return r;
    if (get_be64 (rep) != NBD_REP_MAGIC ||
        get_be32 (rep + 8) != NBD_OPT_GO)
      return -EPROTO;
    type = get_be32 (rep + 12);
    len = get_be32 (rep + 16);
    if (len > MAX_REPLY)
      return -EPROTO;

    if (type == NBD_REP_INFO && len <= sizeof info) {
      r = read_full (fd, info, len, timeout_ms);
      if (r < 0)
        return r;
      r = info_parse (info, len, exp, &have_export);
      if (r < 0)
        return r;
      continue;
    }
    /* Anything else: skip its payload (error messages included). */
    r = read_discard (fd, len, timeout_ms);
    if (r < 0)
      return r;
    if (type == NBD_REP_INFO)
      continue;                 /* long, so not one we asked for */
    if (type == NBD_REP_ACK)
      return have_export ? 0 : -EPROTO;
    if (type & NBD_REP_FLAG_ERROR)
      return option_error (type);
    return -EPROTO;
  }
}

/* NBD_OPT_EXPORT_NAME, for servers without NBD_OPT_GO. */
static int
option_export_name (int fd, const char *name, size_t namelen,
                    bool no_zeroes, int timeout_ms, struct hs_export *exp)
{
  unsigned char rep[10];
  int r;

  r = option_send (fd, NBD_OPT_EXPORT_NAME, name, namelen);
  if (r < 0)
    return r;
  /* A server that does not have the export just hangs up. */
  r = read_full (fd, rep, sizeof rep, timeout_ms);
  if (r == -ECONNRESET)
    return -ENOENT;
  if (r < 0)
    return r;
  exp->size = get_be64 (rep);
  exp->flags = get_be16 (rep + 8);
  if (!no_zeroes)
    return read_discard (fd, 124, timeout_ms);
  return 0;
}

int
handshake_go (int fd, const char *name, int timeout_ms,
              struct hs_export *exp)
{
  size_t namelen = strlen (name);
  bool no_zeroes;
  int r;

  if (namelen > MAX_NAME)
    return -ENAMETOOLONG;
  memset (exp, 0, sizeof *exp);
  r = greeting_exchange (fd, timeout_ms, &no_zeroes);
  if (r < 0)
    return r;
  r = option_go (fd, name, namelen, timeout_ms, exp);
  if (r == -EOPNOTSUPP) {
    memset (exp, 0, sizeof *exp);
    r = option_export_name (fd, name, namelen, no_zeroes, timeout_ms, exp);
  }
  if (r < 0)
    return r;
  if (!(exp->flags & HS_FLAG_HAS_FLAGS))
    return -EPROTO;
  return 0;
}

int
handshake_probe (int fd, int timeout_ms)
{
  unsigned char rep[20];
  bool no_zeroes;
  int r;

  r = greeting_exchange (fd, timeout_ms, &no_zeroes);
  if (r < 0)
    return r;
  r = option_send (fd, NBD_OPT_ABORT, NULL, 0);
  if (r < 0)
    return r;
  /* The server may acknowledge or simply close: both are fine. */
  r = read_full (fd, rep, sizeof rep, timeout_ms);
  if (r == -ECONNRESET)
    return 0;
  if (r < 0)
    return r;
  if (get_be64 (rep) != NBD_REP_MAGIC)
    return -EPROTO;
  return 0;
}

int
handshake_disconnect (int fd)
{
  unsigned char req[28];

  memset (req, 0, sizeof req);
  put_be32 (req, NBD_REQUEST_MAGIC_);
  put_be16 (req + 6, NBD_CMD_DISC);
  return write_full (fd, req, sizeof req);
}
