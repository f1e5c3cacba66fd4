/* uringblkd: the configuration file parser.
 *
 * The format is one "key = value" per line.  Blank lines and lines whose
 * first non-blank character is '#' are ignored.  Keys are the long
 * command-line option names (letters, digits and '-'; '_' is read as
 * '-').  Blanks around the key, the '=' and the value are ignored; the
 * value runs to the end of the line and must not be empty.
 *
 * The parser knows nothing about the keys: it hands each pair to a
 * callback, which returns 0 or -errno.  It has no side effects of its
 * own, so a file can be checked completely before anything is done.
 */
#ifndef URINGBLKD_CONFFILE_H
#define URINGBLKD_CONFFILE_H

#include <stddef.h>

#define CONFIG_MAX_LINE 4096
#define CONFIG_MAX_KEY 64
#define CONFIG_MAX_SIZE (1024 * 1024)

/* Where and why parsing stopped. */
struct config_error {
  unsigned line;                /* 1-based; 0 if not about one line */
  char key[CONFIG_MAX_KEY];     /* "" if the line has no usable key */
  const char *why;              /* static string, never NULL on error */
};

/* Called for each "key = value".  Return 0, or -errno and optionally
 * point *why at a static explanation (otherwise the parser uses one
 * derived from the error: -ENOENT "unknown key", -EINVAL "invalid
 * value").
 */
typedef int (*config_set_fn) (void *opaque, const char *key,
                              const char *value, const char **why);

/* Parse LEN bytes of TEXT (need not be NUL-terminated).  Returns 0, or
 * -errno with *ERR filled in.
 */
extern int config_parse (const char *text, size_t len,
                         config_set_fn set, void *opaque,
                         struct config_error *err);

/* Read a whole configuration file into a malloc'd buffer (*TEXT, *LEN,
 * caller frees).  Refuses files over CONFIG_MAX_SIZE with -EFBIG.
 */
extern int config_read_file (const char *path, char **text, size_t *len);

#endif /* URINGBLKD_CONFFILE_H */
