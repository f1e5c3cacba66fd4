/* Run a command with io_uring_setup(2) failing, the way a container's
 * seccomp profile or kernel.io_uring_disabled makes it fail:
 *
 *   no-uring EPERM|ENOSYS COMMAND [ARGS...]
 *
 * Used by test-no-uring.sh to check the plugin's fallback for real,
 * rather than through a switch in the plugin.
 */

#include <config.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

int
main (int argc, char *argv[])
{
  unsigned err;

  if (argc < 3) {
    fprintf (stderr, "usage: no-uring EPERM|ENOSYS COMMAND [ARGS...]\n");
    exit (EXIT_FAILURE);
  }
  if (strcmp (argv[1], "EPERM") == 0)
    err = EPERM;
  else if (strcmp (argv[1], "ENOSYS") == 0)
    err = ENOSYS;
  else {
    fprintf (stderr, "no-uring: unknown errno %s\n", argv[1]);
    exit (EXIT_FAILURE);
  }

  {
    struct sock_filter filter[] = {
      BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
                offsetof (struct seccomp_data, arch)),
      BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT (BPF_LD | BPF_W | BPF_ABS,
                offsetof (struct seccomp_data, nr)),
      BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
      BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {
      .len = sizeof filter / sizeof filter[0],
      .filter = filter,
    };

    if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
      perror ("prctl: PR_SET_NO_NEW_PRIVS");
      exit (77);
    }
    if (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1) {
      perror ("prctl: PR_SET_SECCOMP");
      exit (77);
    }
  }

  execvp (argv[2], &argv[2]);
  perror (argv[2]);
  exit (EXIT_FAILURE);
}
