#!/usr/bin/env bash
# uringblk reliability: requests a client should not send.  test-badreq
# (libnbd, strict mode off) and test-badreq-raw (the protocol written by
# hand, for what libnbd will not send) run against a regular file and,
# as root, a loop device with 4096-byte logical blocks, where every
# sub-4K request goes through read-modify-write.  Each asserts the NBD
# error and the data; here the server must still be running afterwards.

test_timeout=100
source "${srcdir:-.}/functions.sh"
requires nbdkit

badreq="$(test_program test-badreq)"
badreq_raw="$(test_program test-badreq-raw)"
: "${SEED:=$(( $(date +%s) % 100000 ))}"
msg "seed=$SEED (replay with SEED=$SEED)"

# run_cases FILE PLUGIN-PATH-ARG
run_cases ()
{
    local file="$1" path="$2" rw_pid ro_sock

    start_server -r "$PLUGIN" file="$path"
    ro_sock="$sock"
    start_server "$PLUGIN" file="$path"
    rw_pid="$(cat "$pidfile")"

    "$badreq" --socket "$sock" --ro-socket "$ro_sock" --backing "$file" \
              --seed "$SEED" || fail "test-badreq on $path (SEED=$SEED)"
    "$badreq_raw" "$sock" || fail "test-badreq-raw on $path"
    kill -0 "$rw_pid" 2>/dev/null || fail "the server died ($path)"
    grep -E 'Assertion|sanitizer|Segmentation' "$server_log" >&2 &&
        fail "the server reported a crash ($path)"
    stop_server
}

make_sparse "$tmpdir/disk.img" 96M
run_cases "$tmpdir/disk.img" "$tmpdir/disk.img"

if [ "$(id -u)" -eq 0 ] && command -v losetup >/dev/null &&
   loop_attach --sector-size 4096 "$tmpdir/disk.img"; then
    msg "4096-byte logical blocks: $loop_dev"
    run_cases "$tmpdir/disk.img" "$loop_dev"
else
    msg "not testing 4K logical blocks (needs root and a loop device)"
fi
