#!/usr/bin/env bash
# uringblk reliability: a bounded soak of verified I/O with fio's nbd
# engine.  Four jobs, each its own connection on its own 64 MiB of the
# export, write blocks of 4 KiB to 256 KiB at queue depth 16 (three
# random writes, one random mix of reads and writes), flush every 64
# writes, and read back and check (crc32c) what they wrote while they
# run (verify_backlog).  Any mismatch or I/O error fails the test; at the
# end the server must still be running and stop cleanly (exit 0).
#
# SOAK_SECONDS (default 120) sets the length.

: "${SOAK_SECONDS:=120}"
test_timeout=$(( SOAK_SECONDS + 90 ))
source "${srcdir:-.}/functions.sh"
requires nbdkit fio
fio --enghelp=nbd >/dev/null 2>&1 || skip "fio has no nbd engine"

disk="$tmpdir/disk.img"
make_sparse "$disk" 256M
start_server "$PLUGIN" file="$disk"
server_pid="$(cat "$pidfile")"

cat > "$tmpdir/soak.fio" <<FIO
[global]
ioengine=nbd
uri=$uri
bsrange=4k-256k
iodepth=16
size=64M
verify=crc32c
verify_backlog=128
verify_fatal=1
verify_state_save=0
fsync=64
time_based
runtime=$SOAK_SECONDS
group_reporting

[write]
rw=randwrite
numjobs=3
offset_increment=64M

[mixed]
rw=randrw
rwmixread=50
offset=192M
FIO

msg "soak for $SOAK_SECONDS s"
if ! fio --output="$tmpdir/fio.out" "$tmpdir/soak.fio" 2>"$tmpdir/fio.err"; then
    cat "$tmpdir/fio.out" "$tmpdir/fio.err" >&2
    fail "fio reported an error (verify mismatch or I/O error)"
fi
grep -E 'verify|err=' "$tmpdir/fio.out" >&2 || :
grep -qE 'err= *[1-9]' "$tmpdir/fio.out" && fail "fio counted errors"
grep -E '^ *(READ|WRITE):' "$tmpdir/fio.out" >&2

kill -0 "$server_pid" 2>/dev/null || fail "the server died"
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
[ "$status" -eq 0 ] || fail "nbdkit exited with status $status"
grep -E 'error|Assertion|sanitizer' "$server_log" >&2 &&
    fail "the server logged errors"
:
