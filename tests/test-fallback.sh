#!/usr/bin/env bash
# uringblk: the shadow workload on every forced fallback path.
#
# Each configuration below turns off one fast path (io_uring itself,
# O_DIRECT, registered buffers, the registered file, setup flags),
# picks one FUA mechanism (linked fsync or RWF_DSYNC), or shrinks the
# buffers so that every request is split into 4K pieces through a
# single buffer.  For each, the server log (-v -D
# uring.ring=1) must show that the path really changed, and the random
# shadow workload (test-shadow) and the unaligned/read-modify-write
# workload (test-unaligned) must give exactly the expected bytes, in the
# export and in the file.  With the smallest buffers, request sizes up
# to 32 MiB (test-sizes) are run as well.  uring=require must start on
# this machine, whose kernel has io_uring.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit

shadow="$(test_program test-shadow)"
unaligned="$(test_program test-unaligned)"
sizes="$(test_program test-sizes)"
disk="$tmpdir/disk.img"

nbdkit "$PLUGIN" --dump-plugin | grep -qx 'uring_available=yes' ||
    skip "io_uring is not available on this machine"

# run_config 'EXPECTED LOG TEXT' [PARAM=VALUE ...]
run_config ()
{
    local expect="$1"
    shift
    msg "--- $*"
    make_sparse "$disk" 80M
    start_server -v -D uring.ring=1 "$PLUGIN" file="$disk" "$@"
    "$shadow" --socket "$sock" --backing "$disk" --ops 1500 --timeout 60 ||
        fail "shadow workload with $*"
    "$unaligned" --socket "$sock" --backing "$disk" --ops 500 --timeout 60 ||
        fail "unaligned workload with $*"
    if [ "$*" = "buffer-size=4K buffers=1" ]; then
        "$sizes" --socket "$sock" --backing "$disk" --timeout 60 ||
            fail "request sizes with $*"
    fi
    stop_server
    grep -qF -- "$expect" "$server_log" ||
        fail "with $*, the server log does not say '$expect'"
    if grep -E 'uring: warning|error:' "$server_log" | grep -v 'out of range'
    then
        fail "with $*, the server logged warnings or errors"
    fi
}

run_config "ring: new for fd" uring=require
run_config "pread/pwrite, fixed buffers no, fixed file no" uring=off
run_config "O_DIRECT, pread/pwrite" uring=off direct=on
run_config ", buffered, io_uring" direct=off
run_config "io_uring, fixed buffers no, fixed file yes" fixed-buffers=off
run_config "io_uring, fixed buffers yes, fixed file no" fixed-file=off
run_config "fixed buffers yes, fixed file yes" fua=link
run_config "fixed buffers yes, fixed file yes" fua=dsync
run_config "setup flags: none" setup-flags=none
run_config "fixed buffers yes, fixed file yes, 12288 bytes locked" \
           buffer-size=4K buffers=1
