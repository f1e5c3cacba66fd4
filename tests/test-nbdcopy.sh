#!/usr/bin/env bash
# uringblk: an nbdcopy round trip.
#
# A 64M image with random data, zero runs and holes is copied into an
# empty export (nbdcopy uses several connections since the export offers
# multi-conn, large requests, and zero requests for the zero runs), then
# copied back out of the export into a new file.  Both the backing file
# and the copied-out file must equal the source byte for byte, and the
# source's holes must come out as holes (or zeroes) in the export's map.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit nbdcopy nbdinfo cmp numfmt

src="$tmpdir/src.img"
disk="$tmpdir/disk.img"
out="$tmpdir/out.img"

make_sparse "$src" 64M
# put_random OFFSET LENGTH: random bytes (IEC suffixes allowed).
put_random ()
{
    head -c "$2" /dev/urandom |
        dd of="$src" seek="$(numfmt --from=iec "$1")" oflag=seek_bytes \
           iflag=fullblock conv=notrunc status=none
}
# Runs of assorted sizes and alignments, some with unaligned ends.
put_random 0 1M
put_random 3M 4K
put_random 5M 129K
put_random 9M 8M
put_random 20M 1
put_random 24M 777
put_random 30M 16M
put_random 63M 1M
# A run of written zeroes inside data.
dd if=/dev/zero of="$src" bs=1M seek=12 count=2 conv=notrunc status=none

# The export starts out full of garbage so that nothing passes by luck.
head -c 64M /dev/urandom >"$disk"

start_server "$PLUGIN" file="$disk"
nbdcopy --connections=4 --requests=16 --flush "$src" "$uri" ||
    fail "nbdcopy into the export"
nbdcopy "$uri" "$out" || fail "nbdcopy out of the export"
stop_server

assert_same_file "$src" "$out"
assert_same_file "$src" "$disk"

# Copy again with the smallest buffers so that every request is split.
head -c 64M /dev/urandom >"$disk"
rm -f "$out"
start_server "$PLUGIN" file="$disk" buffer-size=4K buffers=2
nbdcopy --request-size=$((32 << 20)) "$src" "$uri" ||
    fail "nbdcopy into the export (4K buffers)"
nbdcopy --request-size=$((32 << 20)) "$uri" "$out" ||
    fail "nbdcopy out of the export (4K buffers)"
# Holes in the source: nbdcopy zeroes them, which punches them here;
# the map must report them as zero.
nbdinfo --map "$uri" >"$tmpdir/map"
stop_server
assert_same_file "$src" "$out"
assert_same_file "$src" "$disk"
awk '$1 + $2 > 46*1048576 && $1 < 63*1048576 && int($3 / 2) % 2 == 0 {
         bad = 1
     }
     END { exit bad }' "$tmpdir/map" ||
    fail "a hole of the source is not reported as zero in the export"
