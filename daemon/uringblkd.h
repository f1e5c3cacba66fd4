/* uringblkd: state shared between the daemon's files.
 *
 * The command line and the configuration file fill the arg_* globals
 * (options.c); nothing else writes them.  service.c runs the daemon from
 * them.
 */
#ifndef URINGBLKD_H
#define URINGBLKD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Exit codes. */
#define EXIT_USAGE 2            /* bad option or configuration file */

/* arg_device_index when there is no --device, or --device auto. */
#define DEVICE_NONE (-2)
#define DEVICE_AUTO (-1)

extern char *arg_backing;
extern char *arg_config;
extern char *arg_name;
extern char *arg_socket;
extern gid_t arg_socket_group;          /* (gid_t) -1: unchanged */
extern char *arg_listen;                /* "ADDR:PORT" or "[ADDR]:PORT" */
extern bool arg_insecure;
extern char *arg_tls_psk;
extern char *arg_tls_certificates;
extern int arg_device_index;
extern unsigned arg_connections;
extern unsigned arg_timeout;
extern unsigned arg_dead_timeout;
extern bool arg_readonly;
extern unsigned arg_threads;            /* 0: nbdkit's default */
extern char *arg_nbdkit;
extern char *arg_plugin;
extern char **arg_plugin_params;        /* NULL-terminated */
extern char **arg_nbdkit_options;       /* NULL-terminated */
extern uint64_t arg_default_size;
extern char *arg_state_directory;
extern char *arg_runtime_directory;
extern bool arg_verbose;

/* Parse the command line (and any --config file).  Returns 1 to carry
 * on, 0 to exit successfully (--help, --version), or -EINVAL after
 * printing why.
 */
extern int parse_argv (int argc, char *argv[]);

/* Check the options against each other and fill in defaults.  Touches
 * nothing.  Returns 0 or -EINVAL after printing why.
 */
extern int check_args (void);

extern void free_args (void);

/* Run the daemon.  Returns the exit status. */
extern int service_run (void);

/* Logging (log.c): one line to stderr, with a syslog priority prefix
 * that the journal understands when stderr is connected to it.
 */
extern void log_error (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));
extern void log_warning (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));
extern void log_info (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));
extern void log_debug (const char *fmt, ...)
  __attribute__ ((format (printf, 1, 2)));

#endif /* URINGBLKD_H */
