#!/usr/bin/env bash
# uringblk: block device backings (loop devices with 512- and 4096-byte
# logical sectors).
#
# For each sector size the export must advertise that size as its
# minimum block size (nbdinfo), and the random shadow workload (every
# command, trim and zero through BLKDISCARD / fallocate on the device,
# the device compared with the shadow afterwards), the unaligned
# read-modify-write workload (on the 4096 device even 512-byte aligned
# requests are unaligned) and the request size workload must all give
# exactly the expected bytes.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit nbdinfo losetup blockdev /usr/bin/python3
requires_root "attaching loop devices"
[ -e /dev/loop-control ] || skip "no loop device support (/dev/loop-control)"

shadow="$(test_program test-shadow)"
unaligned="$(test_program test-unaligned)"
sizes="$(test_program test-sizes)"

for ss in 512 4096; do
    file="$tmpdir/loop-$ss.img"
    make_sparse "$file" 80M
    loop_attach --sector-size "$ss" "$file" ||
        skip "losetup --sector-size $ss failed"
    dev="$loop_dev"
    [ "$(blockdev --getss "$dev")" -eq "$ss" ] ||
        fail "$dev has sector size $(blockdev --getss "$dev"), not $ss"
    msg "--- $dev, $ss-byte sectors"

    start_server "$PLUGIN" file="$dev"
    nbdinfo --json "$uri" >"$tmpdir/info-$ss.json"
    /usr/bin/python3 - "$tmpdir/info-$ss.json" "$ss" <<'PY' ||
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
ss = int(sys.argv[2])
bad = []
if e["block_size_minimum"] != ss:
    bad.append("block_size_minimum %d, expected %d" % (e["block_size_minimum"], ss))
if e["block_size_preferred"] != 4096:
    bad.append("block_size_preferred %d" % e["block_size_preferred"])
if e["export-size"] != 80 << 20:
    bad.append("size %d" % e["export-size"])
for k in ("can_fua", "can_multi_conn", "can_trim", "can_zero", "can_flush"):
    if e.get(k) is not True:
        bad.append("%s is not true" % k)
for b in bad:
    print("nbdinfo:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
        fail "nbdinfo on the $ss-byte loop device"

    "$shadow" --socket "$sock" --backing "$dev" --ops 2000 --timeout 60 ||
        fail "shadow workload on the $ss-byte loop device"
    "$unaligned" --socket "$sock" --backing "$dev" --ops 500 --timeout 60 ||
        fail "unaligned workload on the $ss-byte loop device"
    "$sizes" --socket "$sock" --backing "$dev" --timeout 60 ||
        fail "request sizes on the $ss-byte loop device"
    stop_server

    losetup -d "$dev"
done
