#!/usr/bin/env bash
# uringblk: read-only exports.
#
# Three ways of being read-only, each checked the same way:
#   - nbdkit -r on a writable file;
#   - a backing the server cannot open for writing: an immutable file
#     (chattr +i; as non-root, chmod 0444 instead), then a file reached
#     through a read-only bind mount;
# the export must say it is read-only, serve the file's bytes exactly,
# and fail every write, FUA write, zero and trim with EPERM or EROFS,
# both when libnbd refuses them itself and when they reach the server
# (strict mode cleared); and the file must be unchanged afterwards.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit nbdsh cmp

src="$tmpdir/src"
mkdir "$src"
disk="$src/disk.img"
head -c 8M /dev/urandom >"$disk"
cp "$disk" "$tmpdir/orig.img"

cat >"$tmpdir/check.py" <<'PY'
import os
import sys

path = os.environ["DISK"]
with open(path, "rb") as f:
    expected = f.read()

assert h.is_read_only(), "export is not read-only"
size = h.get_size()
assert size == len(expected), "size %d, file has %d" % (size, len(expected))
for off in range(0, size, 1 << 20):
    assert h.pread(1 << 20, off) == expected[off:off + (1 << 20)], \
        "read at %d differs from the file" % off

def refused(what, f, ok=("EPERM", "EROFS")):
    try:
        f()
    except nbd.Error as e:
        if e.errno not in ok:
            raise AssertionError("%s failed with %s, expected %s: %s"
                                 % (what, e.errno, "/".join(ok), e.string))
        return
    raise AssertionError("%s succeeded on a read-only export" % what)

# A read-only export does not offer zero and trim, so libnbd itself
# refuses them with EINVAL; the server must refuse them with EPERM.
assert not h.can_zero() and not h.can_trim(), "read-only export offers zero/trim"

strict = h.get_strict_mode()
for mode, where in ((strict, "libnbd"), (0, "server")):
    h.set_strict_mode(mode)
    refused("write (%s)" % where, lambda: h.pwrite(b"\xff" * 4096, 0))
    refused("unaligned write (%s)" % where,
            lambda: h.pwrite(b"\xff" * 100, 12345))
    refused("FUA write (%s)" % where,
            lambda: h.pwrite(b"\xff" * 4096, 8192, nbd.CMD_FLAG_FUA))
    refused("zero (%s)" % where, lambda: h.zero(65536, 0),
            ("EINVAL",) if mode else ("EPERM", "EROFS"))
    refused("trim (%s)" % where, lambda: h.trim(65536, 0),
            ("EINVAL",) if mode else ("EPERM", "EROFS"))

for off in range(0, size, 1 << 20):
    assert h.pread(1 << 20, off) == expected[off:off + (1 << 20)], \
        "read at %d differs from the file after refused writes" % off
PY

# check_readonly [NBDKIT-OPTIONS] FILE
check_readonly ()
{
    local file="${!#}"
    start_server "${@:1:$#-1}" "$PLUGIN" file="$file"
    DISK="$file" nbdsh -u "$uri" -c "exec(open('$tmpdir/check.py').read())" ||
        fail "read-only checks failed (nbdkit ${*:1:$#-1} file=$file)"
    stop_server
    cmp "$disk" "$tmpdir/orig.img" || fail "the backing changed"
    msg "ok: nbdkit ${*:1:$#-1} file=$file"
}

# 1. nbdkit -r.
check_readonly -r "$disk"

# 2. A file that cannot be opened for writing.
if [ "$(id -u)" -ne 0 ]; then
    chmod 0444 "$disk"
    check_readonly "$disk"
    chmod 0644 "$disk"
elif chattr +i "$disk" 2>/dev/null; then
    cleanup_push chattr -i "$disk"
    check_readonly "$disk"
    check_readonly -r "$disk"
    chattr -i "$disk"
else
    msg "chattr +i is not supported on $(df --output=fstype "$tmpdir" | tail -n1); immutable file case not run"
fi

# 3. A read-only bind mount (root only).
if [ "$(id -u)" -eq 0 ]; then
    mkdir "$tmpdir/ro"
    mount_tracked --bind "$src" "$tmpdir/ro"
    mount -o remount,bind,ro "$tmpdir/ro"
    # Writing must really be impossible there.
    if : 2>/dev/null >>"$tmpdir/ro/disk.img"; then
        fail "the bind mount is not read-only"
    fi
    check_readonly "$tmpdir/ro/disk.img"
else
    msg "not root: read-only bind mount case not run"
fi
