#!/usr/bin/env bash
# uringblk: regular-file backings other than a fresh sparse file.
#
# (The libnbd programs run on their own use a fresh sparse file.)  Here:
#   - a preallocated file (fallocate -l: unwritten extents that read as
#     zero), where trim must still punch holes and zero NO_HOLE must
#     keep the range allocated (test-allocation);
#   - a file full of random data, whose existing contents the export
#     must serve exactly before anything is written;
# each with the random shadow workload (every command, block status
# against SEEK_DATA/SEEK_HOLE, backing compared afterwards) and the
# unaligned read-modify-write workload.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit fallocate

shadow="$(test_program test-shadow)"
unaligned="$(test_program test-unaligned)"
allocation="$(test_program test-allocation)"
disk="$tmpdir/disk.img"

run_workloads ()
{
    start_server "$PLUGIN" file="$disk"
    "$shadow" --socket "$sock" --backing "$disk" --ops 3000 --timeout 60 ||
        fail "shadow workload on the $1 file"
    "$unaligned" --socket "$sock" --backing "$disk" --ops 1000 \
                 --timeout 60 || fail "unaligned workload on the $1 file"
    stop_server
}

# Preallocated.
rm -f "$disk"
fallocate -l 64M "$disk" || skip "fallocate -l is not supported here"
[ "$(stat -c %b "$disk")" -ge $(( 64 * 2048 )) ] ||
    fail "fallocate did not allocate the file"
start_server "$PLUGIN" file="$disk"
"$allocation" --socket "$sock" --backing "$disk" --timeout 60 ||
    fail "allocation checks on the preallocated file"
stop_server
rm -f "$disk"
fallocate -l 64M "$disk"
run_workloads preallocated

# Full of data.
head -c 64M /dev/urandom >"$disk"
run_workloads "random-filled"
