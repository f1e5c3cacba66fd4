/* uringblkd: the client side of the NBD handshake.
 *
 * The daemon negotiates each connection itself and then hands the socket
 * to the kernel's NBD client, which only speaks the transmission phase
 * with simple replies.  So this never asks for structured replies, meta
 * contexts or extended headers: only NBD_OPT_GO (falling back to
 * NBD_OPT_EXPORT_NAME for servers that lack it), with NBD_INFO_BLOCK_SIZE
 * requested so the device can use the backing's logical block size.
 *
 * The server is only trusted as far as the protocol goes: every length
 * is checked before it is used, and every read is bounded in time.
 */
#ifndef URINGBLKD_HANDSHAKE_H
#define URINGBLKD_HANDSHAKE_H

#include <stdint.h>

/* Transmission flags (the NBD protocol's NBD_FLAG_*). */
#define HS_FLAG_HAS_FLAGS        (1 << 0)
#define HS_FLAG_READ_ONLY        (1 << 1)
#define HS_FLAG_SEND_FLUSH       (1 << 2)
#define HS_FLAG_SEND_FUA         (1 << 3)
#define HS_FLAG_SEND_TRIM        (1 << 5)
#define HS_FLAG_SEND_WRITE_ZEROES (1 << 6)
#define HS_FLAG_CAN_MULTI_CONN   (1 << 8)
#define HS_FLAG_SEND_FAST_ZERO   (1 << 11)

struct hs_export {
  uint64_t size;
  uint16_t flags;               /* transmission flags */
  uint32_t block_min;           /* 0 if the server did not say */
  uint32_t block_pref;
  uint32_t block_max;
};

/* Negotiate export NAME on the connected stream socket FD.  On success
 * FD is in the transmission phase and *EXP describes the export.
 * TIMEOUT_MS bounds each wait for the server.  Returns 0 or -errno:
 *   -EPROTO     the server does not speak fixed-newstyle NBD correctly
 *   -ENOENT     no such export
 *   -EACCES     refused by policy, or TLS is required
 *   -ESHUTDOWN  the server is shutting down
 *   -ETIMEDOUT, -ECONNRESET and others from the socket.
 */
extern int handshake_go (int fd, const char *name, int timeout_ms,
                         struct hs_export *exp);

/* Check that a server answers on FD: read its greeting and end the
 * negotiation with NBD_OPT_ABORT.  Works with servers that require TLS.
 */
extern int handshake_probe (int fd, int timeout_ms);

/* Politely end the transmission phase (NBD_CMD_DISC). */
extern int handshake_disconnect (int fd);

#endif /* URINGBLKD_HANDSHAKE_H */
