/* Unit tests for daemon/handshake.c: uringblkd's side of the NBD
 * handshake, against a scripted server on a socketpair.  The server's
 * whole side is written up front; the client's side is read back and
 * checked afterwards.
 */

#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <check.h>

#include "handshake.h"

#define NBDMAGIC        UINT64_C(0x4e42444d41474943)
#define IHAVEOPT        UINT64_C(0x49484156454F5054)
#define REPLY_MAGIC     UINT64_C(0x3e889045565a9)
#define OPT_GO          7
#define OPT_STRUCTURED  8
#define REP_ACK         1
#define REP_INFO        3
#define REP_ERR_UNKNOWN ((UINT32_C(1) << 31) + 6)
#define INFO_EXPORT     0
#define INFO_BLOCK_SIZE 3

struct script {
  unsigned char buf[1024];
  size_t len;
};

static void
put (struct script *s, const void *p, size_t n)
{
  ck_assert_uint_le (s->len + n, sizeof s->buf);
  memcpy (s->buf + s->len, p, n);
  s->len += n;
}

static void
put16 (struct script *s, uint16_t v)
{
  unsigned char b[2] = { v >> 8, v };
  put (s, b, 2);
}

static void
put32 (struct script *s, uint32_t v)
{
  put16 (s, v >> 16);
  put16 (s, v);
}

static void
put64 (struct script *s, uint64_t v)
{
  put32 (s, v >> 32);
  put32 (s, v);
}

static void
greeting (struct script *s)
{
  put64 (s, NBDMAGIC);
  put64 (s, IHAVEOPT);
  put16 (s, 1 | 2);             /* FIXED_NEWSTYLE | NO_ZEROES */
}

static void
reply (struct script *s, uint32_t opt, uint32_t type, uint32_t len)
{
  put64 (s, REPLY_MAGIC);
  put32 (s, opt);
  put32 (s, type);
  put32 (s, len);
}

static void
info_export (struct script *s, uint64_t size, uint16_t flags)
{
  reply (s, OPT_GO, REP_INFO, 12);
  put16 (s, INFO_EXPORT);
  put64 (s, size);
  put16 (s, flags);
}

static void
info_block_size (struct script *s, uint32_t min, uint32_t pref, uint32_t max)
{
  reply (s, OPT_GO, REP_INFO, 14);
  put16 (s, INFO_BLOCK_SIZE);
  put32 (s, min);
  put32 (s, pref);
  put32 (s, max);
}

static int client_side;         /* what the client wrote, readable here */

/* Run handshake_go against the script; keep the client's bytes. */
static int
run_go (const struct script *s, struct hs_export *exp)
{
  int sv[2], r;

  ck_assert_int_eq (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    0);
  ck_assert_int_eq (write (sv[1], s->buf, s->len), (ssize_t) s->len);
  shutdown (sv[1], SHUT_WR);
  memset (exp, 0, sizeof *exp);
  r = handshake_go (sv[0], "", 1000, exp);
  close (sv[0]);
  client_side = sv[1];
  return r;
}

static uint64_t
get (const unsigned char *p, int n)
{
  uint64_t v = 0;
  int i;

  for (i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/* The options the client sent, in order (at most 8). */
static unsigned
client_options (uint32_t *opts)
{
  unsigned char b[4096];
  ssize_t n = read (client_side, b, sizeof b);
  size_t pos = 4;               /* client flags */
  unsigned count = 0;

  close (client_side);
  ck_assert_int_ge (n, 4);
  ck_assert_uint_eq (get (b, 4) & 1, 1); /* FIXED_NEWSTYLE */
  while (pos + 16 <= (size_t) n && count < 8) {
    ck_assert_uint_eq (get (b + pos, 8), IHAVEOPT);
    opts[count++] = get (b + pos + 8, 4);
    pos += 16 + get (b + pos + 12, 4);
  }
  return count;
}

START_TEST (test_go)
{
  struct script s = { .len = 0 };
  struct hs_export exp;
  uint32_t opts[8];
  unsigned n, i;

  greeting (&s);
  info_export (&s, UINT64_C(1) << 30,
               HS_FLAG_HAS_FLAGS | HS_FLAG_SEND_FLUSH |
               HS_FLAG_SEND_FUA | HS_FLAG_CAN_MULTI_CONN);
  info_block_size (&s, 4096, 4096, 64 << 20);
  reply (&s, OPT_GO, REP_ACK, 0);

  ck_assert_int_eq (run_go (&s, &exp), 0);
  ck_assert_uint_eq (exp.size, UINT64_C(1) << 30);
  ck_assert (exp.flags & HS_FLAG_CAN_MULTI_CONN);
  ck_assert (exp.flags & HS_FLAG_SEND_FUA);
  ck_assert_uint_eq (exp.block_min, 4096);
  ck_assert_uint_eq (exp.block_pref, 4096);
  ck_assert_uint_eq (exp.block_max, 64 << 20);

  /* The kernel client cannot take structured replies: never ask. */
  n = client_options (opts);
  ck_assert_uint_ge (n, 1);
  for (i = 0; i < n; i++)
    ck_assert_uint_ne (opts[i], OPT_STRUCTURED);
  ck_assert_uint_eq (opts[n - 1], OPT_GO);
}
END_TEST

START_TEST (test_no_block_size)
{
  struct script s = { .len = 0 };
  struct hs_export exp;
  uint32_t opts[8];

  greeting (&s);
  info_export (&s, 512 * 100, HS_FLAG_HAS_FLAGS);
  reply (&s, OPT_GO, REP_ACK, 0);
  ck_assert_int_eq (run_go (&s, &exp), 0);
  ck_assert_uint_eq (exp.size, 51200);
  ck_assert_uint_eq (exp.block_min, 0);
  client_options (opts);
}
END_TEST

START_TEST (test_bad_block_sizes)
{
  static const uint32_t cases[][3] = {
    { 3000, 4096, 65536 },          /* minimum not a power of 2 */
    { 131072, 131072, 1 << 20 },    /* minimum over 64 KiB */
    { 4096, 512, 65536 },           /* preferred below minimum */
    { 512, 4096, 1000 },            /* maximum not a multiple */
    { 0, 4096, 65536 },             /* minimum zero */
  };
  size_t i;

  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct script s = { .len = 0 };
    struct hs_export exp;
    uint32_t opts[8];

    greeting (&s);
    info_export (&s, 1 << 20, HS_FLAG_HAS_FLAGS);
    info_block_size (&s, cases[i][0], cases[i][1], cases[i][2]);
    reply (&s, OPT_GO, REP_ACK, 0);
    ck_assert_int_eq (run_go (&s, &exp), -EPROTO);
    client_options (opts);
  }
}
END_TEST

START_TEST (test_bad_magic)
{
  struct script s = { .len = 0 };
  struct hs_export exp;
  uint32_t opts[8];

  put64 (&s, NBDMAGIC);
  put64 (&s, UINT64_C(0x00420281861253));   /* oldstyle */
  put16 (&s, 0);
  ck_assert_int_eq (run_go (&s, &exp), -EPROTO);
  (void) opts;
  close (client_side);
}
END_TEST

START_TEST (test_unknown_export)
{
  struct script s = { .len = 0 };
  struct hs_export exp;
  uint32_t opts[8];

  greeting (&s);
  reply (&s, OPT_GO, REP_ERR_UNKNOWN, 0);
  ck_assert_int_eq (run_go (&s, &exp), -ENOENT);
  client_options (opts);
}
END_TEST

START_TEST (test_truncated)
{
  struct script s = { .len = 0 };
  struct hs_export exp;
  int r;

  greeting (&s);
  info_export (&s, 1 << 20, HS_FLAG_HAS_FLAGS);
  s.len -= 3;                   /* the server dies mid-reply */
  r = run_go (&s, &exp);
  ck_assert_int_lt (r, 0);
  close (client_side);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("handshake");
  TCase *tc = tcase_create ("core");
  SRunner *sr;
  int failed;

  tcase_add_test (tc, test_go);
  tcase_add_test (tc, test_no_block_size);
  tcase_add_test (tc, test_bad_block_sizes);
  tcase_add_test (tc, test_bad_magic);
  tcase_add_test (tc, test_unknown_export);
  tcase_add_test (tc, test_truncated);
  suite_add_tcase (s, tc);
  sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
