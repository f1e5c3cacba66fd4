/* uringblkd: serve a file or block device with the nbdkit uring plugin,
 * and attach it as /dev/nbdN.  See uringblkd(8).
 */

#include <config.h>

#include <stdlib.h>

#include "uringblkd.h"

int
main (int argc, char *argv[])
{
  int r, status;

  r = parse_argv (argc, argv);
  if (r <= 0) {
    free_args ();
    return r == 0 ? EXIT_SUCCESS : EXIT_USAGE;
  }
  if (check_args () < 0) {
    free_args ();
    return EXIT_USAGE;
  }
  status = service_run ();
  free_args ();
  return status;
}
