#!/usr/bin/env bash
# uringblk reliability: EIO from real failing storage.
#
# The backing is a kernel block device whose reads and writes fail on
# command: nbdkit's memory plugin behind its error filter, mounted as a
# file with nbdfuse and attached to a loop device (direct I/O, so no
# page cache hides a failing read).  The error filter fails every read
# while $tmpdir/fail-pread exists and every write while
# $tmpdir/fail-pwrite exists, so the test switches failures on exactly
# around the requests that must fail.  Through the uring plugin served
# on that loop device, the client must get EIO for those requests and
# success, with the right data, for every other one, on the same
# connection; the server must stay up.  Done for fua=dsync and
# fua=link (where a failed write cancels its linked fdatasync).

test_timeout=100
source "${srcdir:-.}/functions.sh"
requires_root "loop devices and FUSE mounts"
requires nbdkit nbdfuse nbdsh losetup fusermount3
[ -c /dev/fuse ] || skip "no /dev/fuse"

start_server --filter=error memory 64M \
    error-pread-rate=100% error-pread-file="$tmpdir/fail-pread" \
    error-pwrite-rate=100% error-pwrite-file="$tmpdir/fail-pwrite"
mem_sock="$sock"

mkdir "$tmpdir/fuse"
cleanup_push "fusermount3 -u '$tmpdir/fuse' 2>/dev/null || umount -l '$tmpdir/fuse' 2>/dev/null"
nbdfuse "$tmpdir/fuse" --unix "$mem_sock" &
wait_for 10 test -f "$tmpdir/fuse/nbd" || fail "nbdfuse did not come up"
loop_attach --direct-io=on "$tmpdir/fuse/nbd" ||
    skip "cannot attach a loop device with direct I/O to a FUSE file"
msg "failing storage: $loop_dev"

for fua in dsync link; do
    start_server "$PLUGIN" file="$loop_dev" fua="$fua"
    server_pid="$(cat "$pidfile")"
    FAIL_DIR="$tmpdir" nbdsh -u "$uri" -c '
import errno, os

fail_dir = os.environ["FAIL_DIR"]
fails = 0

def switch(what, on):
    path = os.path.join(fail_dir, "fail-" + what)
    if on:
        open(path, "w").close()
    else:
        os.unlink(path)

def want_ok(what, f):
    global fails
    try:
        return f()
    except nbd.Error as e:
        print("FAIL: %s: %s" % (what, e.string))
        fails += 1

def want_eio(what, f):
    global fails
    try:
        f()
        print("FAIL: %s: succeeded, want EIO" % what)
        fails += 1
    except nbd.Error as e:
        # Depending on the binding, errno is a number or its name.
        code = e.errno if isinstance(e.errno, str) else \
            errno.errorcode.get(e.errno)
        if code != "EIO":
            print("FAIL: %s: %s, want EIO" % (what, e.string))
            fails += 1

def want_data(what, off, data):
    global fails
    got = want_ok(what, lambda: h.pread(len(data), off))
    if got is not None and bytes(got) != data:
        print("FAIL: %s: wrong data" % what)
        fails += 1

# Unaligned requests are served by read-modify-write.
h.set_strict_mode(h.get_strict_mode() & ~nbd.STRICT_ALIGN)
MiB = 1 << 20
a = bytes([0xaa]) * MiB
c = bytes([0xcc]) * (2 * MiB + 4096)
want_ok("write A", lambda: h.pwrite(a, 0))

# Writes fail: plain, FUA, larger than a ring buffer, unaligned (RMW).
switch("pwrite", True)
want_eio("write while writes fail", lambda: h.pwrite(b"b" * 65536, 4 * MiB))
want_eio("FUA write while writes fail",
         lambda: h.pwrite(b"b" * 4096, 5 * MiB, nbd.CMD_FLAG_FUA))
want_eio("2 MiB write while writes fail", lambda: h.pwrite(c, 8 * MiB))
want_eio("unaligned write while writes fail",
         lambda: h.pwrite(b"u" * 100, 6 * MiB + 7))
# Reads go on working meanwhile.
want_data("read A while writes fail", 0, a)
# So do several writes in flight that all fail.
cookies = [h.aio_pwrite(b"q" * 65536, 12 * MiB + i * 65536) for i in range(8)]
while h.aio_in_flight() > 0:
    h.poll(-1)
for ck in cookies:
    want_eio("queued write while writes fail",
             lambda: h.aio_command_completed(ck))
switch("pwrite", False)

# Writing again works, over the ranges that failed.
want_ok("write C", lambda: h.pwrite(c, 8 * MiB))
want_ok("FUA write", lambda: h.pwrite(b"f" * 4096, 5 * MiB, nbd.CMD_FLAG_FUA))
want_data("read C", 8 * MiB, c)

# Reads fail, writes go on working.
switch("pread", True)
want_eio("read while reads fail", lambda: h.pread(65536, 0))
want_eio("2 MiB read while reads fail", lambda: h.pread(2 * MiB, 8 * MiB))
want_eio("unaligned read while reads fail", lambda: h.pread(10, 3))
want_eio("unaligned write needing a read (RMW)",
         lambda: h.pwrite(b"r" * 100, 6 * MiB + 7))
want_ok("aligned write while reads fail",
        lambda: h.pwrite(b"d" * 4096, 7 * MiB))
switch("pread", False)

want_data("read A again", 0, a)
want_data("read C again", 8 * MiB, c)
want_data("read FUA write", 5 * MiB, b"f" * 4096)
want_data("read write made while reads failed", 7 * MiB, b"d" * 4096)
want_ok("flush", lambda: h.flush())
want_ok("unaligned write", lambda: h.pwrite(b"r" * 100, 6 * MiB + 7))
want_data("read unaligned write", 6 * MiB + 7, b"r" * 100)
if fails:
    raise SystemExit("%d failures" % fails)
' || fail "fua=$fua: wrong results on failing storage"

    kill -0 "$server_pid" 2>/dev/null || fail "fua=$fua: the server died"
    grep -q 'Input/output error' "$server_log" ||
        fail "fua=$fua: the server logged no I/O error"
    stop_server
done
