/* uringblk libFuzzer harness: uringblkd's NBD client handshake
 * (daemon/handshake.c), which reads whatever the server sends.
 *
 * The input is the server's side of the conversation: it is written to
 * one end of a socketpair, which is then shut for writing, and
 * handshake_go (or, for inputs starting with '?', handshake_probe) runs
 * on the other end.  Whatever the bytes, it must return without memory
 * errors or hanging, and it must refuse block sizes that break the NBD
 * rules (minimum a power of 2 of at most 64 KiB, preferred a power of 2
 * not below it, maximum a multiple of the minimum or 0xffffffff).
 */

#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "handshake.h"

#define ENSURE(c) do { if (!(c)) abort (); } while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
is_power_of_2 (uint32_t v)
{
  return v != 0 && (v & (v - 1)) == 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct hs_export exp;
  int sv[2], r;
  ssize_t w;

  /* Stay well inside the socket buffer so the write cannot block. */
  if (size > 65536)
    return 0;
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
    abort ();
  w = size ? write (sv[1], data, size) : 0;
  ENSURE (w == (ssize_t) size);
  shutdown (sv[1], SHUT_WR);

  if (size > 0 && data[0] == '?')
    r = handshake_probe (sv[0], 100);
  else {
    memset (&exp, 0, sizeof exp);
    r = handshake_go (sv[0], "", 100, &exp);
    if (r == 0 && exp.block_min != 0) {
      ENSURE (is_power_of_2 (exp.block_min) && exp.block_min <= 65536);
      ENSURE (is_power_of_2 (exp.block_pref) &&
              exp.block_pref >= exp.block_min);
      ENSURE (exp.block_max == UINT32_MAX ||
              exp.block_max % exp.block_min == 0);
    }
  }
  ENSURE (r <= 0);

  close (sv[0]);
  close (sv[1]);
  return 0;
}
