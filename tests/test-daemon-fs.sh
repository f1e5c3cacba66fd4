#!/usr/bin/env bash
# File systems on a disk served by uringblkd, through the kernel: the
# daemon serves its Unix socket, nbdfuse turns the export into a file,
# and a loop device turns that into a block device.  For ext4 and xfs:
# mkfs, mount, write a tree of files, sync, unmount, fsck clean, remount
# and check every checksum.  Then the same on a backing that is itself a
# block device with 4096-byte sectors (a loop device), which the export
# advertises as its minimum block size.

test_timeout=300
source "${srcdir:-$(dirname "$0")}/functions.sh"
requires_root "loop devices and mounts"
requires nbdfuse nbdinfo losetup mkfs.ext4 e2fsck mkfs.xfs xfs_repair \
    sha256sum fusermount3
[ -c /dev/fuse ] || skip "/dev/fuse is missing"
[ -e /dev/loop-control ] || skip "no loop devices"
uringblkd="$abs_top_builddir/daemon/uringblkd"
[ -x "$uringblkd" ] || fail "$uringblkd is not built"

# attach_loop ARGS...: print the loop device.  (The cleanup entry is
# pushed here, not in the command substitution's subshell, by recording
# the device in a file the EXIT trap reads.)
: > "$tmpdir/loops"
cleanup_push 'while read -r l; do losetup -d "$l" 2>/dev/null; done < "$tmpdir/loops"'
attach_loop ()
{
    local l
    l="$(losetup -f --show "$@")" || fail "losetup $*"
    echo "$l" >> "$tmpdir/loops"
    echo "$l"
}

# serve NAME BACKING: start uringblkd on $tmpdir/NAME.sock and expose it
# as a loop device over nbdfuse; sets $dev.  SECTOR is the loop sector.
serve ()
{
    local name="$1" backing="$2" sector="$3" sock="$tmpdir/$1.sock"
    local mp="$tmpdir/$1.fuse" pid
    "$uringblkd" --plugin "$PLUGIN" --socket "$sock" "$backing" \
        >"$tmpdir/$name-daemon.log" 2>&1 &
    pid=$!
    cleanup_push "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
    wait_for 30 nbdinfo --size "nbd+unix:///?socket=$sock" >/dev/null 2>&1 ||
        { cat "$tmpdir/$name-daemon.log" >&2; fail "$name: not serving"; }
    mkdir "$mp"
    nbdfuse "$mp" "nbd+unix:///?socket=$sock" >"$tmpdir/$name-fuse.log" 2>&1 &
    cleanup_push "fusermount3 -u '$mp' 2>/dev/null || umount -l '$mp' 2>/dev/null"
    wait_for 30 test -f "$mp/nbd" || fail "$name: nbdfuse did not start"
    dev="$(attach_loop --sector-size "$sector" "$mp/nbd")"
}

# write_tree DIR: directories of files of assorted sizes.
write_tree ()
{
    local d f
    for d in a a/b a/b/c d; do
        mkdir -p "$1/$d"
        for f in 1 2 3 4 5; do
            head -c $(( (RANDOM % 200 + 1) * 1000 + RANDOM % 4096 )) \
                 /dev/urandom > "$1/$d/f$f"
        done
    done
    dd if=/dev/urandom of="$1/big" bs=1M count=8 status=none
    : > "$1/empty"
}

# check_fs FSTYPE DEV
check_fs ()
{
    local fs="$1" dev="$2" mnt="$tmpdir/mnt-$1-${2##*/}"
    mkdir -p "$mnt"
    case "$fs" in
    ext4) mkfs.ext4 -q -F "$dev" ;;
    xfs)  mkfs.xfs -q -f "$dev" ;;
    esac || fail "mkfs.$fs on $dev"
    mount_tracked -t "$fs" "$dev" "$mnt"
    write_tree "$mnt"
    (cd "$mnt" && find . -type f -print0 | sort -z | xargs -0 sha256sum) \
        > "$tmpdir/sums-$fs"
    sync
    umount "$mnt"
    case "$fs" in
    ext4) e2fsck -f -n "$dev" >"$tmpdir/fsck.log" 2>&1 ;;
    xfs)  xfs_repair -n "$dev" >"$tmpdir/fsck.log" 2>&1 ;;
    esac || { cat "$tmpdir/fsck.log" >&2; fail "$fs: fsck of $dev"; }
    # Drop what the kernel caches, so the checksums come from the server.
    blockdev --flushbufs "$dev"
    echo 3 > /proc/sys/vm/drop_caches
    mount -t "$fs" "$dev" "$mnt"
    (cd "$mnt" && sha256sum --quiet -c "$tmpdir/sums-$fs") ||
        fail "$fs: checksums differ after remount"
    [ "$(wc -l < "$tmpdir/sums-$fs")" -eq 22 ] || fail "$fs: files missing"
    umount "$mnt"
    msg "$fs on $dev: ok"
}

# 1. A sparse file as the backing, 512-byte sectors.
truncate -s 512M "$tmpdir/disk.img"
serve file "$tmpdir/disk.img" 512
check_fs ext4 "$dev"
check_fs xfs "$dev"

# 2. A block device with 4096-byte logical blocks as the backing.
truncate -s 512M "$tmpdir/disk4k.img"
backing4k="$(attach_loop --sector-size 4096 "$tmpdir/disk4k.img")"
serve dev4k "$backing4k" 4096
min="$(nbdinfo --json "nbd+unix:///?socket=$tmpdir/dev4k.sock" |
       sed -n 's/.*"block_size_minimum": *\([0-9]*\).*/\1/p')"
[ "$min" = 4096 ] || fail "4K backing: block size minimum is '$min'"
check_fs ext4 "$dev"
check_fs xfs "$dev"
