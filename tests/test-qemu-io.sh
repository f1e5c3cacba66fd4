#!/usr/bin/env bash
# uringblk: qemu's NBD client (qemu-io).
#
# qemu-io writes patterns through the export (plain, FUA, vectored, aio,
# write-zeroes with and without unmap, discard, and unaligned offsets
# and lengths, which qemu turns into aligned read-modify-write using the
# advertised minimum block size) and reads each back with -P, which fails
# on the first wrong byte.  Neighbouring bytes are checked to be
# untouched.  After the server stops, the same reads run against the
# backing file directly.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit qemu-io

disk="$tmpdir/disk.img"
make_sparse "$disk" 16M
start_server "$PLUGIN" file="$disk"

# The reads that define the expected contents (used twice).
reads=(
    -c "read -P 0xab 0 513"
    -c "read -P 0x11 513 1000"
    -c "read -P 0xab 1513 64023"
    -c "read -P 0 1M 64k"
    -c "read -P 0xcd 1088k 64k"
    -c "read -P 0x5a 2M 4k"
    -c "read -P 0 2052k 4k"
    -c "read -P 0x77 3M 64k"
    -c "read -P 0x78 3136k 64k"
    -c "read -P 0 4M 1"
    -c "read -P 0x22 4194305 4095"
    -c "read -P 0 4198400 4096"
    -c "read -P 0x33 5M 4536"
    -c "read -P 0 6M 64k"
    -c "read -P 0x44 16773120 4095"
    -c "read -P 0x45 16777215 1"
)

qemu-io -f raw "$uri" \
    -c "write -P 0xab 0 64k" \
    -c "write -P 0x11 513 1000" \
    -c "write -P 0xee 1M 128k" \
    -c "write -z 1M 64k" \
    -c "write -P 0xcd 1088k 64k" \
    -c "write -P 0xee 2M 8k" \
    -c "write -f -P 0x5a 2M 4k" \
    -c "discard 2052k 4k" \
    -c "aio_write -P 0x77 3M 64k" \
    -c "aio_write -P 0x78 3136k 64k" \
    -c "aio_flush" \
    -c "write -P 0x22 4194305 4095" \
    -c "writev -P 0x33 5M 512 1024 3000" \
    -c "write -P 0xee 6M 64k" \
    -c "write -z -u 6M 64k" \
    -c "write -P 0x44 16773120 4095" \
    -c "write -f -P 0x45 16777215 1" \
    -c "flush" \
    "${reads[@]}" \
    >"$tmpdir/qemu-io.out" 2>&1 || {
        cat "$tmpdir/qemu-io.out" >&2
        fail "qemu-io through the export"
    }
! grep -i 'fail\|error' "$tmpdir/qemu-io.out" ||
    fail "qemu-io reported a failure"

# Past the end: an error (qemu's block layer refuses it with EIO),
# and the last bytes stay as they were.
qemu-io -f raw "$uri" -c "write -P 0x99 16777214 1024" \
    >"$tmpdir/past.out" 2>&1 || :
grep -q 'write failed' "$tmpdir/past.out" ||
    fail "a write crossing the end of the disk did not fail"
stop_server

qemu-io -f raw -r "$disk" "${reads[@]}" >"$tmpdir/file.out" 2>&1 || {
    cat "$tmpdir/file.out" >&2
    fail "the backing file does not hold what qemu-io wrote"
}
! grep -i 'fail' "$tmpdir/file.out" ||
    fail "the backing file does not hold what qemu-io wrote"
