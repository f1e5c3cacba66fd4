#!/usr/bin/env bash
# uringblk: errors from the backing reach the client with the right
# errno, and the server keeps serving.
#
#   ENOSPC: a 64M sparse file on an 8M tmpfs.  Writes (plain, FUA,
#           unaligned) and zero NO_HOLE beyond the free space fail with
#           ENOSPC; the data already written stays intact; after a trim
#           frees space, writes succeed again on the same connection.
#   EIO:    the backing is a FUSE file (nbdfuse) in front of an nbdkit
#           memory disk with the error filter, which fails every request
#           while a trigger file exists.  Reads, writes, FUA writes,
#           zeroes and trims then fail with EIO; once the trigger is
#           gone the same connection reads and writes correctly again.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit nbdsh nbdfuse fusermount3 mountpoint
requires_root "mounting a small tmpfs"

M=$((1 << 20))

#--- ENOSPC
small="$tmpdir/small"
mkdir "$small"
mount_tracked -t tmpfs -o size=8M tmpfs "$small" || skip "cannot mount tmpfs"
make_sparse "$small/disk.img" 64M
start_server "$PLUGIN" file="$small/disk.img"
nbdsh -u "$uri" -c '
M = 1 << 20
def expect_errno(what, want, f):
    try:
        f()
    except nbd.Error as e:
        if e.errno != want:
            raise AssertionError("%s: %s, expected %s (%s)"
                                 % (what, e.errno, want, e.string))
        return
    raise AssertionError("%s succeeded on a full filesystem" % what)

h.pwrite(b"\x11" * 4 * M, 0)
big = b"\x22" * 16 * M
expect_errno("write", "ENOSPC", lambda: h.pwrite(big, 16 * M))
expect_errno("FUA write", "ENOSPC",
             lambda: h.pwrite(big, 16 * M, nbd.CMD_FLAG_FUA))
h.set_strict_mode(h.get_strict_mode() & ~nbd.STRICT_ALIGN)
expect_errno("unaligned write", "ENOSPC", lambda: h.pwrite(big, 16 * M + 3))
expect_errno("zero NO_HOLE", "ENOSPC",
             lambda: h.zero(32 * M, 32 * M, nbd.CMD_FLAG_NO_HOLE))
assert h.pread(4 * M, 0) == b"\x11" * 4 * M, "data written before ENOSPC changed"

# Free everything but the first 4M, and write again.
h.trim(60 * M, 4 * M)
h.pwrite(b"\x33" * 2 * M, 40 * M + 1)
assert h.pread(2 * M, 40 * M + 1) == b"\x33" * 2 * M, "write after trim"
assert h.pread(4 * M, 0) == b"\x11" * 4 * M, "first 4M after trim"
' || fail "ENOSPC checks"
stop_server
grep -q 'No space left on device' "$server_log" ||
    fail "the server did not log the ENOSPC errors"

#--- EIO
[ -c /dev/fuse ] || skip "no /dev/fuse for the EIO part"
trigger="$tmpdir/fail-now"
start_server --filter=error memory 64M \
             error=EIO error-rate=100% error-file="$trigger"
mem_uri="$uri"
fusedir="$tmpdir/fuse"
mkdir "$fusedir"
nbdfuse -P "$tmpdir/nbdfuse.pid" "$fusedir" "$mem_uri" \
        >"$tmpdir/nbdfuse.log" 2>&1 &
cleanup_push kill_pidfile "$tmpdir/nbdfuse.pid"
cleanup_push "mountpoint -q '$fusedir' && { fusermount3 -u '$fusedir' || fusermount3 -uz '$fusedir'; }"
wait_for 30 test -s "$tmpdir/nbdfuse.pid" || fail "nbdfuse did not start"

start_server "$PLUGIN" file="$fusedir/nbd"
TRIGGER="$trigger" nbdsh -u "$uri" -c '
import os
M = 1 << 20
trigger = os.environ["TRIGGER"]
def expect_eio(what, f):
    try:
        f()
    except nbd.Error as e:
        if e.errno != "EIO":
            raise AssertionError("%s: %s, expected EIO (%s)"
                                 % (what, e.errno, e.string))
        return
    raise AssertionError("%s succeeded while the backing fails" % what)

h.pwrite(b"\x11" * M, 0, nbd.CMD_FLAG_FUA)
open(trigger, "w").close()
expect_eio("read", lambda: h.pread(M, 8 * M))
expect_eio("write", lambda: h.pwrite(b"\x22" * M, 16 * M))
expect_eio("FUA write", lambda: h.pwrite(b"\x22" * M, 20 * M, nbd.CMD_FLAG_FUA))
expect_eio("zero", lambda: h.zero(M, 24 * M))
expect_eio("trim", lambda: h.trim(M, 28 * M))
os.unlink(trigger)

# The same connection works again.
assert h.pread(M, 0) == b"\x11" * M, "data written before the errors"
assert h.pread(M, 8 * M) == bytes(M), "read after the errors"
h.pwrite(b"\x44" * M, 16 * M, nbd.CMD_FLAG_FUA)
assert h.pread(M, 16 * M) == b"\x44" * M, "write after the errors"
' || fail "EIO checks"
stop_server
grep -q 'Input/output error' "$server_log" ||
    fail "the server did not log the EIO errors"
fusermount3 -u "$fusedir"
