/* uringblkd: command line and configuration file options.
 *
 * Every option can be given either way: "--key value" on the command
 * line or "key = value" in the file named by --config.  Both go through
 * option_set(), so they accept exactly the same values.  Options are
 * applied in order, so command-line options after --config override the
 * file and those before it are overridden by it.
 */

#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "conffile.h"
#include "uringblkd.h"

#ifndef NBDKIT_PATH
#define NBDKIT_PATH "nbdkit"
#endif
#ifndef URING_PLUGIN_PATH
#define URING_PLUGIN_PATH "uring"
#endif

char *arg_backing;
char *arg_config;
char *arg_name;
char *arg_socket;
gid_t arg_socket_group = (gid_t) -1;
char *arg_listen;
bool arg_insecure;
char *arg_tls_psk;
char *arg_tls_certificates;
int arg_device_index = DEVICE_NONE;
unsigned arg_connections = 1;
unsigned arg_timeout = 30;
unsigned arg_dead_timeout = 30;
bool arg_readonly;
unsigned arg_threads;
char *arg_nbdkit;
char *arg_plugin;
char **arg_plugin_params;
char **arg_nbdkit_options;
uint64_t arg_default_size = UINT64_C (1) << 30;
char *arg_state_directory;
char *arg_runtime_directory;
bool arg_verbose;

static size_t n_plugin_params, n_nbdkit_options;

/* Long options.  The configuration file accepts the same names, except
 * those marked CLI_ONLY in option_set().
 */
enum {
  OPT_BACKING = 0x100, OPT_CONFIG, OPT_NAME, OPT_SOCKET, OPT_SOCKET_GROUP,
  OPT_LISTEN, OPT_INSECURE, OPT_TLS_PSK, OPT_TLS_CERTIFICATES, OPT_DEVICE,
  OPT_CONNECTIONS, OPT_TIMEOUT, OPT_DEAD_TIMEOUT, OPT_THREADS, OPT_NBDKIT,
  OPT_PLUGIN, OPT_PLUGIN_PARAM, OPT_NBDKIT_OPTION, OPT_DEFAULT_SIZE,
  OPT_STATE_DIRECTORY, OPT_RUNTIME_DIRECTORY, OPT_VERSION,
};

static const struct option long_options[] = {
  { "backing",           required_argument, NULL, OPT_BACKING },
  { "config",            required_argument, NULL, OPT_CONFIG },
  { "connections",       required_argument, NULL, OPT_CONNECTIONS },
  { "dead-timeout",      required_argument, NULL, OPT_DEAD_TIMEOUT },
  { "default-size",      required_argument, NULL, OPT_DEFAULT_SIZE },
  { "device",            required_argument, NULL, OPT_DEVICE },
  { "help",              no_argument,       NULL, 'h' },
  { "insecure",          no_argument,       NULL, OPT_INSECURE },
  { "listen",            required_argument, NULL, OPT_LISTEN },
  { "name",              required_argument, NULL, OPT_NAME },
  { "nbdkit",            required_argument, NULL, OPT_NBDKIT },
  { "nbdkit-option",     required_argument, NULL, OPT_NBDKIT_OPTION },
  { "plugin",            required_argument, NULL, OPT_PLUGIN },
  { "plugin-param",      required_argument, NULL, OPT_PLUGIN_PARAM },
  { "readonly",          no_argument,       NULL, 'r' },
  { "runtime-directory", required_argument, NULL, OPT_RUNTIME_DIRECTORY },
  { "socket",            required_argument, NULL, OPT_SOCKET },
  { "socket-group",      required_argument, NULL, OPT_SOCKET_GROUP },
  { "state-directory",   required_argument, NULL, OPT_STATE_DIRECTORY },
  { "threads",           required_argument, NULL, OPT_THREADS },
  { "timeout",           required_argument, NULL, OPT_TIMEOUT },
  { "tls-certificates",  required_argument, NULL, OPT_TLS_CERTIFICATES },
  { "tls-psk",           required_argument, NULL, OPT_TLS_PSK },
  { "verbose",           no_argument,       NULL, 'v' },
  { "version",           no_argument,       NULL, OPT_VERSION },
  { NULL }
};
static const char short_options[] = "hrvV";

static void
usage (FILE *fp)
{
  fprintf (fp,
"uringblkd: serve a file or block device over NBD with the nbdkit uring\n"
"plugin, and optionally attach it as a kernel block device (/dev/nbdN).\n"
"\n"
"Usage: uringblkd [OPTIONS] [BACKING]\n"
"\n"
"  --config FILE            read 'key = value' options from FILE\n"
"  --name NAME              instance name (default: config file name, or\n"
"                           \"default\")\n"
"  --socket PATH            Unix socket (default: RUNTIME_DIR/NAME.sock)\n"
"  --socket-group GROUP     group owning the socket (mode 0660)\n"
"  --listen ADDR:PORT       serve on TCP instead; needs TLS or --insecure\n"
"  --tls-psk FILE           require TLS with pre-shared keys from FILE\n"
"  --tls-certificates DIR   require TLS with X.509 certificates from DIR\n"
"  --insecure               allow plain TCP\n"
"  --device /dev/nbdN|auto  attach the export as a kernel block device\n"
"  --connections N          connections per device (default 1)\n"
"  --timeout SECONDS        device request timeout (default 30)\n"
"  --dead-timeout SECONDS   how long the device waits for a reconnect\n"
"                           after losing the server (default 30)\n"
"  -r, --readonly           serve read-only\n"
"  --threads N              nbdkit worker threads\n"
"  --plugin-param KEY=VALUE parameter for the uring plugin (repeatable)\n"
"  --nbdkit-option ARG      extra nbdkit argument (repeatable)\n"
"  --nbdkit PATH            nbdkit binary (default %s)\n"
"  --plugin PATH            uring plugin (default %s)\n"
"  --default-size SIZE      size of the default image (default 1G)\n"
"  --state-directory DIR    where the default image lives\n"
"                           (default $STATE_DIRECTORY or /var/lib/uringblk)\n"
"  --runtime-directory DIR  where the socket lives\n"
"                           (default $RUNTIME_DIRECTORY or /run/uringblk)\n"
"  -v, --verbose            debug messages\n"
"  -h, --help               this help\n"
"  -V, --version            print the version\n"
"\n"
"Without BACKING, a sparse image STATE_DIR/default.img is created and\n"
"served.  See uringblkd(8).\n",
           NBDKIT_PATH, URING_PLUGIN_PATH);
}

/* Replace *DST with a copy of VALUE. */
static int
set_string (char **dst, const char *value)
{
  char *s = strdup (value);

  if (s == NULL)
    return -ENOMEM;
  free (*dst);
  *dst = s;
  return 0;
}

/* Append a copy of VALUE to the NULL-terminated list *LIST of *N. */
static int
list_append (char ***list, size_t *n, const char *value)
{
  char **l = realloc (*list, (*n + 2) * sizeof *l);

  if (l == NULL)
    return -ENOMEM;
  *list = l;
  l[*n] = strdup (value);
  if (l[*n] == NULL)
    return -ENOMEM;
  (*n)++;
  l[*n] = NULL;
  return 0;
}

static int
parse_bool (const char *value, bool *b)
{
  if (value == NULL || !strcmp (value, "yes") || !strcmp (value, "true") ||
      !strcmp (value, "on") || !strcmp (value, "1")) {
    *b = true;
    return 0;
  }
  if (!strcmp (value, "no") || !strcmp (value, "false") ||
      !strcmp (value, "off") || !strcmp (value, "0")) {
    *b = false;
    return 0;
  }
  return -EINVAL;
}

static int
parse_uint (const char *value, unsigned min, unsigned max, unsigned *u)
{
  unsigned long long v;
  char *end;

  if (*value < '0' || *value > '9')
    return -EINVAL;
  errno = 0;
  v = strtoull (value, &end, 10);
  if (errno || *end || v < min || v > max)
    return -EINVAL;
  *u = v;
  return 0;
}

/* A size in bytes with an optional K, M, G or T (powers of 1024). */
static int
parse_size (const char *value, uint64_t *size)
{
  unsigned long long v;
  unsigned shift = 0;
  char *end;

  if (*value < '0' || *value > '9')
    return -EINVAL;
  errno = 0;
  v = strtoull (value, &end, 10);
  if (errno)
    return -EINVAL;
  switch (*end) {
  case '\0': break;
  case 'k': case 'K': shift = 10; end++; break;
  case 'm': case 'M': shift = 20; end++; break;
  case 'g': case 'G': shift = 30; end++; break;
  case 't': case 'T': shift = 40; end++; break;
  default: return -EINVAL;
  }
  if (*end || v == 0 || v > (UINT64_MAX >> shift))
    return -EINVAL;
  *size = (uint64_t) v << shift;
  return 0;
}

/* "/dev/nbdN", "nbdN", "N" or "auto". */
static int
parse_device (const char *value, int *index)
{
  unsigned u;

  if (!strcmp (value, "auto")) {
    *index = DEVICE_AUTO;
    return 0;
  }
  if (!strncmp (value, "/dev/", 5))
    value += 5;
  if (!strncmp (value, "nbd", 3))
    value += 3;
  if (parse_uint (value, 0, INT_MAX, &u) < 0)
    return -EINVAL;
  *index = u;
  return 0;
}

/* A group name or number. */
static int
parse_group (const char *value, gid_t *gid)
{
  struct group *gr;
  unsigned u;

  if (parse_uint (value, 0, INT_MAX, &u) == 0) {
    *gid = u;
    return 0;
  }
  errno = 0;
  gr = getgrnam (value);
  if (gr == NULL)
    return errno ? -errno : -ENOENT;
  *gid = gr->gr_gid;
  return 0;
}

/* "ADDR:PORT" with a numeric IPv4 address, or "[ADDR]:PORT" with a
 * numeric IPv6 address.  No name resolution: the daemon must not depend
 * on DNS to start.
 */
static int
parse_listen (const char *value)
{
  char host[INET6_ADDRSTRLEN + 1];
  unsigned char buf[sizeof (struct in6_addr)];
  const char *colon;
  size_t len;
  unsigned port;
  int af = AF_INET;

  if (value[0] == '[') {
    const char *close = strchr (value, ']');
    if (close == NULL || close[1] != ':')
      return -EINVAL;
    len = close - value - 1;
    value++;
    colon = close + 1;
    af = AF_INET6;
  }
  else {
    colon = strrchr (value, ':');
    if (colon == NULL)
      return -EINVAL;
    len = colon - value;
  }
  if (len == 0 || len >= sizeof host)
    return -EINVAL;
  memcpy (host, value, len);
  host[len] = '\0';
  if (inet_pton (af, host, buf) != 1)
    return -EINVAL;
  if (parse_uint (colon + 1, 1, 65535, &port) < 0)
    return -EINVAL;
  return 0;
}

/* Set option NAME from VALUE (NULL for a command-line flag).  FROM_FILE
 * says whether it comes from the configuration file.  On error returns
 * -errno with *WHY explaining.
 */
static int
option_set (int opt, const char *value, bool from_file, const char **why)
{
  int r;

  switch (opt) {
  case OPT_BACKING:
    return set_string (&arg_backing, value);
  case OPT_NAME:
    if (!*value || strchr (value, '/') || value[0] == '.') {
      *why = "expected a name without '/' that does not start with '.'";
      return -EINVAL;
    }
    return set_string (&arg_name, value);
  case OPT_SOCKET:
    if (value[0] != '/') {
      *why = "expected an absolute path";
      return -EINVAL;
    }
    return set_string (&arg_socket, value);
  case OPT_SOCKET_GROUP:
    r = parse_group (value, &arg_socket_group);
    if (r < 0)
      *why = "no such group";
    return r;
  case OPT_LISTEN:
    r = parse_listen (value);
    if (r < 0) {
      *why = "expected IPV4:PORT or [IPV6]:PORT with a numeric address";
      return r;
    }
    return set_string (&arg_listen, value);
  case OPT_INSECURE:
    r = parse_bool (value, &arg_insecure);
    goto bool_done;
  case 'r':
    r = parse_bool (value, &arg_readonly);
    goto bool_done;
  case 'v':
    r = parse_bool (value, &arg_verbose);
  bool_done:
    if (r < 0)
      *why = "expected yes or no";
    return r;
  case OPT_TLS_PSK:
    return set_string (&arg_tls_psk, value);
  case OPT_TLS_CERTIFICATES:
    return set_string (&arg_tls_certificates, value);
  case OPT_DEVICE:
    r = parse_device (value, &arg_device_index);
    if (r < 0)
      *why = "expected /dev/nbdN or auto";
    return r;
  case OPT_CONNECTIONS:
    r = parse_uint (value, 1, 16, &arg_connections);
    if (r < 0)
      *why = "expected a number from 1 to 16";
    return r;
  case OPT_TIMEOUT:
    r = parse_uint (value, 0, 86400, &arg_timeout);
    goto seconds_done;
  case OPT_DEAD_TIMEOUT:
    r = parse_uint (value, 1, 86400, &arg_dead_timeout);
  seconds_done:
    if (r < 0)
      *why = "expected a number of seconds";
    return r;
  case OPT_THREADS:
    r = parse_uint (value, 1, 1024, &arg_threads);
    if (r < 0)
      *why = "expected a number from 1 to 1024";
    return r;
  case OPT_NBDKIT:
    return set_string (&arg_nbdkit, value);
  case OPT_PLUGIN:
    return set_string (&arg_plugin, value);
  case OPT_PLUGIN_PARAM:
    if (strchr (value, '=') == NULL || value[0] == '=') {
      *why = "expected KEY=VALUE";
      return -EINVAL;
    }
    return list_append (&arg_plugin_params, &n_plugin_params, value);
  case OPT_NBDKIT_OPTION:
    return list_append (&arg_nbdkit_options, &n_nbdkit_options, value);
  case OPT_DEFAULT_SIZE:
    r = parse_size (value, &arg_default_size);
    if (r < 0)
      *why = "expected a size such as 1G or 512M";
    return r;
  case OPT_STATE_DIRECTORY:
    return set_string (&arg_state_directory, value);
  case OPT_RUNTIME_DIRECTORY:
    return set_string (&arg_runtime_directory, value);
  case OPT_CONFIG:
  case OPT_VERSION:
  case 'h':
    if (from_file) {
      *why = "only allowed on the command line";
      return -EINVAL;
    }
    return 0;
  default:
    return -ENOENT;
  }
}

/* Configuration file keys are looked up in long_options. */
static int
config_set (void *opaque, const char *key, const char *value,
            const char **why)
{
  for (const struct option *o = long_options; o->name; o++)
    if (!strcmp (o->name, key))
      return option_set (o->val, value, true, why);
  return -ENOENT;
}

/* Load PATH.  Prints "PATH:LINE: KEY: why" on error. */
static int
load_config (const char *path)
{
  struct config_error err;
  char *text = NULL;
  size_t len = 0;
  int r;

  r = config_read_file (path, &text, &len);
  if (r < 0) {
    log_error ("%s: %s", path,
               r == -EFBIG ? "configuration file too large" :
               r == -EINVAL ? "not a regular file" : strerror (-r));
    return -EINVAL;
  }
  r = config_parse (text, len, config_set, NULL, &err);
  free (text);
  if (r < 0) {
    if (err.key[0])
      log_error ("%s:%u: %s: %s", path, err.line, err.key, err.why);
    else
      log_error ("%s:%u: %s", path, err.line, err.why);
    return -EINVAL;
  }
  return 0;
}

int
parse_argv (int argc, char *argv[])
{
  const char *why;
  int c, r;

  while ((c = getopt_long (argc, argv, short_options, long_options,
                           NULL)) != -1) {
    switch (c) {
    case 'h':
      usage (stdout);
      return 0;
    case 'V':
    case OPT_VERSION:
      printf ("uringblkd %s\n", PACKAGE_VERSION);
      return 0;
    case OPT_CONFIG:
      r = set_string (&arg_config, optarg);
      if (r < 0)
        return r;
      r = load_config (optarg);
      if (r < 0)
        return r;
      break;
    case '?':
      log_error ("try 'uringblkd --help'");
      return -EINVAL;
    default:
      why = NULL;
      r = option_set (c, optarg, false, &why);
      if (r < 0) {
        for (const struct option *o = long_options; o->name; o++)
          if (o->val == c)
            log_error ("--%s %s: %s", o->name, optarg ? optarg : "",
                       why ? why : strerror (-r));
        return -EINVAL;
      }
    }
  }

  if (optind < argc - 1) {
    log_error ("only one BACKING may be given; try 'uringblkd --help'");
    return -EINVAL;
  }
  if (optind == argc - 1) {
    r = set_string (&arg_backing, argv[optind]);
    if (r < 0)
      return r;
  }
  return 1;
}

/* Default for a directory: the option, else the first entry of the
 * environment variable systemd sets (it may list several, ':'-separated),
 * else the compiled-in path.
 */
static int
default_directory (char **dir, const char *env, const char *fallback)
{
  const char *e = getenv (env);
  size_t len;

  if (*dir)
    return 0;
  if (e == NULL || e[0] != '/')
    return set_string (dir, fallback);
  len = strcspn (e, ":");
  *dir = strndup (e, len);
  return *dir ? 0 : -ENOMEM;
}

int
check_args (void)
{
  bool tls = arg_tls_psk || arg_tls_certificates;
  int r;

  if (arg_tls_psk && arg_tls_certificates) {
    log_error ("tls-psk and tls-certificates are mutually exclusive");
    return -EINVAL;
  }
  if (arg_listen && !tls && !arg_insecure) {
    log_error ("listen %s: TCP needs tls-psk or tls-certificates "
               "(or insecure, to serve without encryption)", arg_listen);
    return -EINVAL;
  }
  if (arg_device_index != DEVICE_NONE && tls) {
    log_error ("device: the kernel NBD client cannot use TLS; "
               "drop tls-psk/tls-certificates or the device");
    return -EINVAL;
  }
  if (arg_device_index != DEVICE_NONE && arg_listen) {
    log_error ("device and listen cannot be combined: a device is a "
               "local disk, and sharing its blocks with remote clients "
               "would corrupt its file system; run a second instance");
    return -EINVAL;
  }
  if (arg_connections > 1 && arg_device_index == DEVICE_NONE)
    log_warning ("connections %u: only used with device", arg_connections);

  if (arg_name == NULL) {
    const char *base = arg_config ? strrchr (arg_config, '/') : NULL;
    const char *b = base ? base + 1 : arg_config;
    size_t len;

    if (b == NULL || *b == '\0' || *b == '.')
      b = "default";
    len = strlen (b);
    if (len > 5 && !strcmp (b + len - 5, ".conf"))
      len -= 5;
    arg_name = strndup (b, len);
    if (arg_name == NULL)
      return -ENOMEM;
  }
  if ((r = default_directory (&arg_state_directory, "STATE_DIRECTORY",
                              "/var/lib/uringblk")) < 0 ||
      (r = default_directory (&arg_runtime_directory, "RUNTIME_DIRECTORY",
                              "/run/uringblk")) < 0)
    return r;
  if (arg_socket == NULL && arg_listen == NULL) {
    if (asprintf (&arg_socket, "%s/%s.sock",
                  arg_runtime_directory, arg_name) == -1)
      return -ENOMEM;
  }
  if (arg_nbdkit == NULL) {
    const char *e = getenv ("URINGBLKD_NBDKIT");
    if ((r = set_string (&arg_nbdkit, e ? e : NBDKIT_PATH)) < 0)
      return r;
  }
  if (arg_plugin == NULL) {
    const char *e = getenv ("URINGBLKD_PLUGIN");
    if ((r = set_string (&arg_plugin, e ? e : URING_PLUGIN_PATH)) < 0)
      return r;
  }
  return 0;
}

static void
free_list (char **l)
{
  for (size_t i = 0; l && l[i]; i++)
    free (l[i]);
  free (l);
}

void
free_args (void)
{
  free (arg_backing);
  free (arg_config);
  free (arg_name);
  free (arg_socket);
  free (arg_listen);
  free (arg_tls_psk);
  free (arg_tls_certificates);
  free (arg_nbdkit);
  free (arg_plugin);
  free_list (arg_plugin_params);
  free_list (arg_nbdkit_options);
  free (arg_state_directory);
  free (arg_runtime_directory);
}
