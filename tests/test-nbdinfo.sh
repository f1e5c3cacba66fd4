#!/usr/bin/env bash
# uringblk: what nbdinfo sees.
#
# The export must advertise its size, block sizes (minimum = the logical
# block size of the file, 512 here unless the filesystem says otherwise;
# preferred 4096; maximum 64M), FUA, multi-conn, fast zero, trim, zero,
# flush and base:allocation; with -r it must be read-only without trim
# and zero.  nbdinfo --map on a file with a known layout must list
# exactly the data and hole runs that SEEK_DATA/SEEK_HOLE find in it.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit nbdinfo /usr/bin/python3

disk="$tmpdir/disk.img"
make_sparse "$disk" 16M
# Data at 4M (1M long), 10M (4K) and in the last 64K.
dd if=/dev/urandom of="$disk" bs=1M seek=4 count=1 conv=notrunc,fsync status=none
dd if=/dev/urandom of="$disk" bs=4K seek=2560 count=1 conv=notrunc,fsync status=none
dd if=/dev/urandom of="$disk" bs=64K seek=255 count=1 conv=notrunc,fsync status=none

# The logical block size of the file as the plugin should find it: the
# O_DIRECT alignment from statx when the kernel reports it, else 512.
lbs="$(/usr/bin/python3 - "$disk" <<'PY'
import ctypes, os, sys
# struct statx is 256 bytes; stx_dio_offset_align is at offset 156
# (STATX_DIOALIGN = 0x2000, Linux >= 6.1).
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(256)
r = libc.statx(-100, sys.argv[1].encode(), 0, 0x2000, buf)
mask = int.from_bytes(buf.raw[0:4], "little")
align = int.from_bytes(buf.raw[156:160], "little")
print(align if r == 0 and mask & 0x2000 and align else 512)
PY
)"
msg "expected minimum block size: $lbs"

start_server "$PLUGIN" file="$disk"
nbdinfo --json "$uri" >"$tmpdir/info.json"
cat "$tmpdir/info.json" >&2

/usr/bin/python3 - "$tmpdir/info.json" "$lbs" <<'PY' || fail "nbdinfo --json"
import json, sys
info = json.load(open(sys.argv[1]))
e = info["exports"][0]
want = {
    "export-size": 16 << 20,
    "block_size_minimum": int(sys.argv[2]),
    "block_size_preferred": 4096,
    "block_size_maximum": 64 << 20,
    "is_read_only": False,
    "can_flush": True,
    "can_fua": True,
    "can_multi_conn": True,
    "can_trim": True,
    "can_zero": True,
    "can_fast_zero": True,
}
bad = ["%s = %r, expected %r" % (k, e.get(k), v)
       for k, v in want.items() if e.get(k) != v]
if "base:allocation" not in e.get("contexts", []):
    bad.append("base:allocation not offered")
if not info.get("structured"):
    bad.append("no structured replies")
for b in bad:
    print("nbdinfo:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# The map, against SEEK_DATA/SEEK_HOLE on the file.
nbdinfo --map "$uri" >"$tmpdir/map"
cat "$tmpdir/map" >&2
/usr/bin/python3 - "$disk" "$tmpdir/map" <<'PY' || fail "nbdinfo --map"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
truth, off = [], 0
while off < size:
    try:
        data = os.lseek(fd, off, os.SEEK_DATA)
    except OSError:
        data = size
    if data > off:
        truth.append((off, data - off, "hole,zero"))
    if data >= size:
        break
    hole = os.lseek(fd, data, os.SEEK_HOLE)
    truth.append((data, hole - data, "data"))
    off = hole
got = []
for line in open(sys.argv[2]):
    o, n, t, d = line.split(None, 3)
    got.append((int(o), int(n), d.strip()))
if got != truth:
    print("map differs from SEEK_DATA/SEEK_HOLE:", file=sys.stderr)
    print(" got:  ", got, file=sys.stderr)
    print(" truth:", truth, file=sys.stderr)
    sys.exit(1)
# The layout written above must be visible.
if not any(o <= 4 << 20 and o + n >= 5 << 20 and d == "data"
           for o, n, d in got):
    print("data at [4M, 5M) not reported", file=sys.stderr)
    sys.exit(1)
PY
stop_server

# Read-only.
start_server -r "$PLUGIN" file="$disk"
nbdinfo --json "$uri" >"$tmpdir/info-ro.json"
/usr/bin/python3 - "$tmpdir/info-ro.json" <<'PY' || fail "nbdinfo --json with -r"
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
bad = []
if e.get("is_read_only") is not True: bad.append("is_read_only is not true")
if e.get("can_trim"): bad.append("can_trim on a read-only export")
if e.get("can_zero"): bad.append("can_zero on a read-only export")
if e.get("export-size") != 16 << 20: bad.append("size")
for b in bad:
    print("nbdinfo -r:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
