#!/usr/bin/env bash
# uringblk: once nbdkit has exited, nothing holds the backing file.
#
# A service manager stops the server and then unmounts the filesystem
# that holds the backing file (or removes the file and expects its space
# back).  So when the nbdkit process has exited and been reaped, its
# filesystem must unmount at once: no reference to the backing may
# outlive the process (a file registered with an io_uring is released
# by the kernel's deferred ring teardown unless the plugin unregisters
# it before closing the ring).  Checked 6 times with the defaults (which
# register the file), and with fixed-file=off and uring=off as controls.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit nbdsh mountpoint
requires_root "mounting tmpfs"

mnt="$tmpdir/mnt"
mkdir "$mnt"
cleanup_push "mountpoint -q '$mnt' && umount -l '$mnt'"

failures=()
for config in "" "fixed-file=off" "uring=off"; do
    busy=0
    for i in $(seq 1 6); do
        mount -t tmpfs -o size=64M tmpfs "$mnt" || skip "cannot mount tmpfs"
        make_sparse "$mnt/disk.img" 16M
        start_server "$PLUGIN" file="$mnt/disk.img" $config
        nbdsh -u "$uri" -c '
h.pwrite(b"\x5a" * 65536, 0, nbd.CMD_FLAG_FUA)
assert h.pread(65536, 0) == b"\x5a" * 65536
' || fail "I/O ($config)"
        # Stop it as a service manager does: signal, and reap at once.
        kill "$(cat "$pidfile")"
        wait "$server_bgpid" || :
        if ! umount "$mnt" 2>/dev/null; then
            busy=$(( busy + 1 ))
            wait_for 10 umount "$mnt" 2>/dev/null ||
                fail "$mnt still busy 10 s after nbdkit exited ($config)"
        fi
    done
    msg "${config:-defaults}: filesystem busy right after exit $busy/6 times"
    [ "$busy" -eq 0 ] || failures+=("${config:-defaults}: $busy/6")
done
[ ${#failures[@]} -eq 0 ] ||
    fail "the backing outlived nbdkit: ${failures[*]}"
