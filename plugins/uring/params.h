/* uringblk: parsing of plugin parameters.
 *
 * Pure functions (no nbdkit calls) so the unit tests can drive them.
 * Each returns 0 on success or -EINVAL, leaving the output untouched on
 * error; the caller reports the key and value.
 */

#ifndef URINGBLK_PARAMS_H
#define URINGBLK_PARAMS_H

#include <stdint.h>

/* Three-way switches: direct=, uring=, fixed-buffers=, ... */
enum tristate {
  TRI_OFF = 0,
  TRI_AUTO,
  TRI_ON,                       /* "on", or "require" for uring= */
};

enum fua_mode {
  FUA_LINK = 0,                 /* write + linked fdatasync SQEs */
  FUA_DSYNC,                    /* one write SQE with RWF_DSYNC */
};

/* Defaults and limits, also quoted in the man page. */
#define PARAM_BUFFER_SIZE_DEFAULT (256 * 1024)
#define PARAM_BUFFER_SIZE_MIN     4096
#define PARAM_BUFFER_SIZE_MAX     (64 * 1024 * 1024)
#define PARAM_BUFFERS_DEFAULT     4
#define PARAM_BUFFERS_MIN         1
#define PARAM_BUFFERS_MAX         64

extern int param_parse_size (const char *str, uint64_t *r);
extern int param_parse_uint (const char *str, unsigned min, unsigned max,
                             unsigned *r);
extern int param_parse_tristate (const char *str, const char *on_word,
                                 enum tristate *r);
extern int param_parse_fua (const char *str, enum fua_mode *r);
extern int param_parse_buffer_size (const char *str, uint32_t *r);

#endif /* URINGBLK_PARAMS_H */
