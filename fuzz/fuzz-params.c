/* uringblk libFuzzer harness: the plugin's parameter parsers
 * (plugins/uring/params.c), which read key=value strings from the
 * nbdkit command line or a uringblkd configuration.
 *
 * The first byte picks the parser (and, for param_parse_uint, the
 * second and third give the bounds); the rest is the value, copied to
 * an exactly sized NUL-terminated buffer so any read past the end is
 * caught.  Besides memory errors, the harness checks each parser's
 * contract: on success the result is within its documented range; on
 * failure -EINVAL and the output untouched.
 */

#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"

#define SENTINEL UINT64_C(0x5a5a5a5a5a5a5a5a)

/* Abort (a finding) unless the condition holds. */
#define ENSURE(c) do { if (!(c)) abort (); } while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *str;
  int r;

  if (size < 3)
    return 0;
  str = malloc (size - 3 + 1);
  if (str == NULL)
    return 0;
  memcpy (str, data + 3, size - 3);
  str[size - 3] = '\0';

  switch (data[0] % 6) {
  case 0: {
    uint64_t v = SENTINEL;
    r = param_parse_size (str, &v);
    ENSURE (r == 0 || (r == -EINVAL && v == SENTINEL));
    break;
  }
  case 1: {
    unsigned min = data[1], max = data[1] + data[2] * 1000u;
    unsigned v = 0x5a5a5a5a;
    r = param_parse_uint (str, min, max, &v);
    ENSURE (r == 0 || (r == -EINVAL && v == 0x5a5a5a5a));
    ENSURE (r != 0 || (v >= min && v <= max));
    break;
  }
  case 2: case 3: {
    enum tristate t = (enum tristate) 99;
    r = param_parse_tristate (str, data[0] % 6 == 2 ? "on" : "require", &t);
    ENSURE (r == 0 || (r == -EINVAL && t == (enum tristate) 99));
    ENSURE (r != 0 || t == TRI_OFF || t == TRI_AUTO || t == TRI_ON);
    break;
  }
  case 4: {
    enum fua_mode f = (enum fua_mode) 99;
    r = param_parse_fua (str, &f);
    ENSURE (r == 0 || (r == -EINVAL && f == (enum fua_mode) 99));
    ENSURE (r != 0 || f == FUA_LINK || f == FUA_DSYNC);
    break;
  }
  case 5: {
    uint32_t v = 0x5a5a5a5a;
    r = param_parse_buffer_size (str, &v);
    ENSURE (r == 0 || (r == -EINVAL && v == 0x5a5a5a5a));
    ENSURE (r != 0 ||
            (v >= PARAM_BUFFER_SIZE_MIN && v <= PARAM_BUFFER_SIZE_MAX &&
             (v & (v - 1)) == 0));
    break;
  }
  }
  free (str);
  return 0;
}
