#!/usr/bin/env bash
# uringblk reliability: a backing that runs out of space.
#
# A sparse 128 MiB backing file on a 32 MiB file system (ext4 on a loop
# device, served with O_DIRECT; then tmpfs, which refuses O_DIRECT, so
# the buffered fallback is tested too).  Writing until the space is
# gone must fail with ENOSPC as libnbd sees it (plain, FUA and
# read-modify-write writes alike) after roughly the free space was
# written; what was written before must read back intact, reads must go
# on working, the server must stay up, and space freed by a trim must
# be usable again.

test_timeout=100
source "${srcdir:-.}/functions.sh"
requires_root "mounting small file systems"
requires nbdkit nbdsh

check_full_fs ()
{
    local mp="$1"
    make_sparse "$mp/disk.img" 128M
    start_server "$PLUGIN" file="$mp/disk.img"
    local server_pid
    server_pid="$(cat "$pidfile")"
    FREE_KB="$(df -k --output=avail "$mp" | tail -n 1)" nbdsh -u "$uri" -c '
import errno, os

fails = 0
MiB = 1 << 20
free = int(os.environ["FREE_KB"]) * 1024
h.set_strict_mode(h.get_strict_mode() & ~nbd.STRICT_ALIGN)

def code(e):
    # Depending on the binding, errno is a number or its name.
    return e.errno if isinstance(e.errno, str) else errno.errorcode.get(e.errno)

def check(what, ok):
    global fails
    if not ok:
        print("FAIL: " + what)
        fails += 1

def want_enospc(what, f):
    try:
        f()
        check("%s: succeeded, want ENOSPC" % what, False)
    except nbd.Error as e:
        check("%s: %s, want ENOSPC" % (what, e.string), code(e) == "ENOSPC")

def chunk(i):
    return bytes([i % 251 + 1]) * MiB

# Fill until the file system is full.
written = 0
err = None
while written < 128:
    try:
        h.pwrite(chunk(written), written * MiB)
        written += 1
    except nbd.Error as e:
        err = e
        break
check("the export never filled up", err is not None)
if err is not None:
    check("filling up: %s, want ENOSPC" % err.string, code(err) == "ENOSPC")
print("wrote %d MiB before ENOSPC (%d MiB free)" % (written, free // MiB))
check("only %d MiB written with %d MiB free" % (written, free // MiB),
      written * MiB >= free - 8 * MiB)

# More writes fail the same way; the connection goes on.
want_enospc("FUA write", lambda: h.pwrite(b"f" * 65536, 100 * MiB,
                                          nbd.CMD_FLAG_FUA))
want_enospc("unaligned write into a hole",
            lambda: h.pwrite(b"u" * 100, 110 * MiB + 3))
want_enospc("write past the free space",
            lambda: h.pwrite(chunk(0), (written + 2) * MiB))

# What was written is intact, and reads go on working.
for i in range(written):
    check("chunk %d reads back wrong" % i,
          bytes(h.pread(MiB, i * MiB)) == chunk(i))
check("a never-written chunk is not zero",
      bytes(h.pread(MiB, 120 * MiB)) == bytes(MiB))

# Trim frees space (punch hole), and writing works again.
h.trim(8 * MiB, 0)
h.flush()
check("trimmed range is not zero", bytes(h.pread(MiB, 0)) == bytes(MiB))
try:
    for i in range(4):
        h.pwrite(chunk(200 + i), (120 + i) * MiB)
        check("write after trim reads back wrong",
              bytes(h.pread(MiB, (120 + i) * MiB)) == chunk(200 + i))
    h.pwrite(b"F" * 4096, 124 * MiB, nbd.CMD_FLAG_FUA)
    h.pwrite(b"r" * 100, 125 * MiB + 3)
    check("unaligned write after trim reads back wrong",
          bytes(h.pread(100, 125 * MiB + 3)) == b"r" * 100)
except nbd.Error as e:
    check("write after trim: " + e.string, False)
if fails:
    raise SystemExit("%d failures" % fails)
' || fail "$2: wrong behaviour when out of space"
    kill -0 "$server_pid" 2>/dev/null || fail "$2: the server died"
    stop_server
}

# ext4 on a loop device: O_DIRECT.
if command -v mkfs.ext4 >/dev/null && command -v losetup >/dev/null; then
    truncate -s 32M "$tmpdir/fs.img"
    mkfs.ext4 -q -F -m 0 "$tmpdir/fs.img"
    mkdir "$tmpdir/ext4"
    loop_attach "$tmpdir/fs.img" || fail "losetup"
    mount_tracked "$loop_dev" "$tmpdir/ext4"
    check_full_fs "$tmpdir/ext4" ext4
else
    msg "mkfs.ext4 or losetup missing: ext4 not tested"
fi

# tmpfs: buffered I/O (direct=auto falls back).
mkdir "$tmpdir/tmpfs"
mount_tracked -t tmpfs -o size=32M tmpfs "$tmpdir/tmpfs"
check_full_fs "$tmpdir/tmpfs" tmpfs
