/* uringblk: parsing of plugin parameters (see params.h). */

#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "align.h"
#include "params.h"

/* A byte count with an optional binary suffix: "4096", "128k", "1M",
 * "2G", "1T" (case-insensitive, an optional trailing "B" or "iB").
 */
int
param_parse_size (const char *str, uint64_t *r)
{
  unsigned long long v;
  uint64_t scale = 1;
  char *end;

  if (str == NULL || !isdigit ((unsigned char) str[0]))
    return -EINVAL;
  errno = 0;
  v = strtoull (str, &end, 10);
  if (errno != 0)
    return -EINVAL;

  switch (*end) {
  case '\0': break;
  case 'k': case 'K': scale = UINT64_C(1) << 10; end++; break;
  case 'm': case 'M': scale = UINT64_C(1) << 20; end++; break;
  case 'g': case 'G': scale = UINT64_C(1) << 30; end++; break;
  case 't': case 'T': scale = UINT64_C(1) << 40; end++; break;
  case 'b': case 'B': break;
  default: return -EINVAL;
  }
  if (scale > 1 && (strcasecmp (end, "ib") == 0 || strcasecmp (end, "b") == 0))
    end += strlen (end);
  else if (scale == 1 && strcasecmp (end, "b") == 0)
    end++;
  if (*end != '\0')
    return -EINVAL;
  if (v > UINT64_MAX / scale)
    return -EINVAL;

  *r = v * scale;
  return 0;
}

/* A decimal integer in [min, max]. */
int
param_parse_uint (const char *str, unsigned min, unsigned max, unsigned *r)
{
  unsigned long v;
  char *end;

  if (str == NULL || !isdigit ((unsigned char) str[0]))
    return -EINVAL;
  errno = 0;
  v = strtoul (str, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max)
    return -EINVAL;
  *r = v;
  return 0;
}

/* "off" | "auto" | on_word ("on" or "require").  The usual boolean
 * spellings are accepted for on and off.
 */
int
param_parse_tristate (const char *str, const char *on_word, enum tristate *r)
{
  static const char *const offs[] = { "off", "no", "false", "0", NULL };
  static const char *const ons[] = { "on", "yes", "true", "1", NULL };
  size_t i;

  if (str == NULL)
    return -EINVAL;
  if (strcasecmp (str, "auto") == 0) {
    *r = TRI_AUTO;
    return 0;
  }
  if (strcasecmp (str, on_word) == 0) {
    *r = TRI_ON;
    return 0;
  }
  for (i = 0; offs[i] != NULL; i++)
    if (strcasecmp (str, offs[i]) == 0) {
      *r = TRI_OFF;
      return 0;
    }
  /* "require" alone does not imply that "on" is accepted too. */
  if (strcmp (on_word, "on") == 0)
    for (i = 0; ons[i] != NULL; i++)
      if (strcasecmp (str, ons[i]) == 0) {
        *r = TRI_ON;
        return 0;
      }
  return -EINVAL;
}

int
param_parse_fua (const char *str, enum fua_mode *r)
{
  if (str == NULL)
    return -EINVAL;
  if (strcasecmp (str, "link") == 0)
    *r = FUA_LINK;
  else if (strcasecmp (str, "dsync") == 0)
    *r = FUA_DSYNC;
  else
    return -EINVAL;
  return 0;
}

/* A size that is a power of 2 within the buffer limits. */
int
param_parse_buffer_size (const char *str, uint32_t *r)
{
  uint64_t v;

  if (param_parse_size (str, &v) < 0)
    return -EINVAL;
  if (v < PARAM_BUFFER_SIZE_MIN || v > PARAM_BUFFER_SIZE_MAX ||
      !is_power_of_2 (v))
    return -EINVAL;
  *r = v;
  return 0;
}
