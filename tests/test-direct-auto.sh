#!/usr/bin/env bash
# uringblk: a filesystem that refuses O_DIRECT (ramfs; it cannot punch
# holes either, so the workloads here are ones that do not check holes).
#   - direct=auto (the default) warns and serves correct data with
#     buffered I/O, still through io_uring;
#   - direct=on refuses to start, saying that O_DIRECT is refused.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit
requires_root "mounting ramfs"

unaligned="$(test_program test-unaligned)"
sizes="$(test_program test-sizes)"
mnt="$tmpdir/ramfs"
mkdir "$mnt"
mount_tracked -t ramfs ramfs "$mnt" || skip "cannot mount ramfs"
disk="$mnt/disk.img"
make_sparse "$disk" 80M

# Check the premise: this filesystem really refuses O_DIRECT.
if dd if=/dev/zero of="$disk" bs=4096 count=1 oflag=direct conv=notrunc \
      2>/dev/null; then
    skip "ramfs accepts O_DIRECT on this kernel"
fi

start_server -v -D uring.ring=1 "$PLUGIN" file="$disk"
grep -q 'uring: warning: .*O_DIRECT is not supported here, using buffered I/O' \
     "$server_log" || fail "direct=auto gave no warning"
"$unaligned" --socket "$sock" --backing "$disk" --ops 1000 --timeout 60 ||
    fail "unaligned workload with buffered I/O"
"$sizes" --socket "$sock" --backing "$disk" --timeout 60 ||
    fail "request sizes with buffered I/O"
stop_server
grep -q 'buffered, io_uring' "$server_log" ||
    fail "the server did not use io_uring with buffered I/O"

if nbdkit -f -U "$tmpdir/on.sock" "$PLUGIN" file="$disk" direct=on \
     >"$tmpdir/on.log" 2>&1; then
    fail "direct=on started on a filesystem without O_DIRECT"
fi
grep -q 'refuses O_DIRECT' "$tmpdir/on.log" ||
    fail "direct=on did not say why: $(cat "$tmpdir/on.log")"
msg "ok"
