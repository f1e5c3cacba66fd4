#!/usr/bin/env bash
# uringblk: zero and trim of the largest ranges the protocol carries.
#
# NBD lengths are 32-bit, so one zero or trim can cover almost 4 GiB.
# On an 8 GiB sparse file, zero (plain, FUA, fast, NO_HOLE) and trim
# (plain, FUA) of ranges up to 4 GiB - 1, aligned and unaligned at both
# ends, must zero everything inside (for trim: the block-aligned part of
# a file must read as zero; its edges may keep their bytes), leave the
# bytes just outside untouched, and block status must then report the
# punched part as hole+zero.  Catches length truncation and overflow in
# the offset arithmetic.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit nbdsh

disk="$tmpdir/disk.img"
make_sparse "$disk" 8G
start_server "$PLUGIN" file="$disk"

nbdsh --base-allocation -u "$uri" -c '
import errno
G = 1 << 30
h.set_strict_mode(h.get_strict_mode() & ~nbd.STRICT_ALIGN)
OLD, BEFORE, AFTER = b"\xaa" * 4096, b"\xbb" * 4096, b"\xcc" * 4096

ranges = [(0, 4 * G - 4096), (1, 4 * G - 2), (G + 7, 3 * G + 5),
          (4 * G + 4095, 4 * G - 1 - 4095)]
cases = [("zero", 0), ("zero", nbd.CMD_FLAG_FUA),
         ("zero", nbd.CMD_FLAG_FAST_ZERO), ("trim", 0),
         ("trim", nbd.CMD_FLAG_FUA)]

def check_outside(what, off, cnt):
    if off >= 4096:
        assert h.pread(4096, off - 4096) == BEFORE, what + ": bytes before the range changed"
    if off + cnt + 4096 <= h.get_size():
        assert h.pread(4096, off + cnt) == AFTER, what + ": bytes after the range changed"

def extents(off, cnt):
    """(start, length, flags) of the extents the server reports."""
    out = []
    def cb(meta, o, entries, err):
        for i in range(0, len(entries), 2):
            out.append((o, entries[i], entries[i + 1]))
            o += entries[i]
    h.block_status(cnt, off, cb)
    return out

for name, flags in cases:
    for off, cnt in ranges:
        what = "%s flags=0x%x [%d, +%d)" % (name, flags, off, cnt)
        if off >= 4096:
            h.pwrite(BEFORE, off - 4096)
        h.pwrite(OLD, off)
        h.pwrite(OLD, off + cnt // 2 - 4096)
        h.pwrite(OLD, off + cnt - 4096)
        if off + cnt + 4096 <= h.get_size():
            h.pwrite(AFTER, off + cnt)
        try:
            if name == "zero":
                h.zero(cnt, off, flags)
            else:
                h.trim(cnt, off, flags)
        except nbd.Error as e:
            if flags & nbd.CMD_FLAG_FAST_ZERO and e.errno == "ENOTSUP":
                assert h.pread(4096, off + cnt // 2 - 4096) == OLD, what + ": refused fast zero changed data"
                check_outside(what, off, cnt)
                print(what, "refused with ENOTSUP")
                continue
            raise
        # The middle is block-aligned for every range: it must be zero.
        assert h.pread(4096, off + cnt // 2 - 4096) == bytes(4096), what + ": middle not zero"
        if name == "zero":
            assert h.pread(4096, off) == bytes(4096), what + ": start not zero"
            assert h.pread(4096, off + cnt - 4096) == bytes(4096), what + ": end not zero"
        else:
            for o in (off, off + cnt - 4096):
                b = h.pread(4096, o)
                assert all(x in (0, 0xaa) for x in b), what + ": trimmed edge holds other bytes"
        check_outside(what, off, cnt)
        # The aligned interior of a trim is a hole now.
        if name == "trim":
            a = (off + 4095) // 4096 * 4096
            z = (off + cnt) // 4096 * 4096
            ext = [e for e in extents(a, z - a) if e[0] < z]
            assert ext and all(f & 3 == 3 for o, n, f in ext), \
                what + ": block status does not report hole+zero: %r" % ext[:4]
        print(what, "ok")

# NO_HOLE on a smaller range (it allocates what it zeroes).
off, cnt = G + 7, G - 9
h.pwrite(OLD, off + 4089)
h.pwrite(AFTER, off + cnt)
h.zero(cnt, off, nbd.CMD_FLAG_NO_HOLE)
assert h.pread(4096, off + 4089) == bytes(4096), "zero NO_HOLE: not zero"
assert h.pread(4096, off + cnt) == AFTER, "zero NO_HOLE: bytes after changed"
print("zero NO_HOLE [%d, +%d) ok" % (off, cnt))
' || fail "zero/trim of huge ranges"
stop_server
[ "$(stat -c %s "$disk")" -eq $(( 8 << 30 )) ] || fail "the backing changed size"
