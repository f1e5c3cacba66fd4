#!/usr/bin/env bash
# uringblk: a kernel filesystem on the export, through FUSE and loop.
#
# The stack, built bottom up and torn down in reverse (also on failure):
#   backing file <- nbdkit uring <- nbdfuse (FUSE file) <- loop device
#   <- ext4 or xfs, mounted.
# For each filesystem: mkfs, mount, write a small tree of files (sizes
# from 0 bytes to 40M, nested directories, a symlink, a hard link), sync,
# unmount, check with e2fsck -fn / xfs_repair -n (must be clean), mount
# again and verify every checksum.  Then, with the whole stack gone, the
# backing file itself is checked and mounted directly (its own loop
# device) and the checksums verified once more: the data really reached
# the backing store.

test_timeout=150
source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit nbdfuse fusermount3 losetup mount umount mountpoint \
         sha256sum mkfs.ext4 e2fsck mkfs.xfs xfs_repair
requires_root "loop devices and mounting filesystems"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -e /dev/loop-control ] || skip "no loop device support"

disk="$tmpdir/disk.img"
fusedir="$tmpdir/fuse"
mnt="$tmpdir/mnt"
mkdir "$fusedir" "$mnt"
# xfs needs at least 300M.
make_sparse "$disk" 512M

# Write the tree into $1 and its checksums into $2.
write_tree ()
{
    local root="$1" i
    mkdir -p "$root/a/b/c" "$root/empty" "$root/d"
    : >"$root/zero-length"
    for i in 1 511 4096 4097 65536 131073 1048576 4194304; do
        head -c "$i" /dev/urandom >"$root/a/f$i"
    done
    for i in $(seq 1 200); do
        head -c $(( i * 997 )) /dev/urandom >"$root/a/b/c/small$i"
    done
    head -c 40M /dev/urandom >"$root/d/big"
    cat "$root/a/f4097" "$root/a/f1" >"$root/d/joined"
    ln -s ../a/f4096 "$root/d/symlink"
    ln "$root/a/f65536" "$root/d/hardlink"
    (cd "$root" && find . -type f -print0 | sort -z |
         xargs -0 sha256sum) >"$2"
}

verify_tree ()
{
    (cd "$1" && sha256sum --quiet -c "$2") ||
        fail "checksums differ in $1 ($3)"
    [ "$(readlink "$1/d/symlink")" = "../a/f4096" ] ||
        fail "symlink lost ($3)"
    [ "$(stat -c %h "$1/d/hardlink")" -eq 2 ] ||
        fail "hard link lost ($3)"
}

start_server "$PLUGIN" file="$disk"

fuse_attach "$fusedir" "$uri" || fail "nbdfuse did not start"
[ "$(stat -c %s "$fusedir/nbd")" -eq $(( 512 << 20 )) ] ||
    fail "the FUSE file has the wrong size"

loop_attach "$fusedir/nbd" || fail "losetup on the FUSE file"
loop="$loop_dev"
msg "stack: $disk <- nbdkit <- $fusedir/nbd <- $loop"

for fs in ext4 xfs; do
    msg "--- $fs"
    case "$fs" in
        ext4)
            mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$loop"
            check="e2fsck -fn" ;;
        xfs)
            mkfs.xfs -q -f "$loop"
            check="xfs_repair -n" ;;
    esac
    mount_tracked "$loop" "$mnt"
    write_tree "$mnt" "$tmpdir/sums.$fs"
    sync
    umount "$mnt"

    $check "$loop" >"$tmpdir/fsck.$fs" 2>&1 || {
        cat "$tmpdir/fsck.$fs" >&2
        fail "$check found problems after writing through the export"
    }
    mount "$loop" "$mnt"
    verify_tree "$mnt" "$tmpdir/sums.$fs" "$fs, remounted through nbd"
    umount "$mnt"

    # Keep the last filesystem for the direct check below.
done

# Tear the stack down in order, then look at the backing file alone.
losetup -d "$loop"
fusermount3 -u "$fusedir"
wait_for 10 eval '! kill -0 "$(cat "$tmpdir/nbdfuse-fuse.pid")" 2>/dev/null' ||
    fail "nbdfuse did not exit after unmount"
stop_server

xfs_repair -n -f "$disk" >"$tmpdir/fsck.file" 2>&1 || {
    cat "$tmpdir/fsck.file" >&2
    fail "xfs_repair on the backing file found problems"
}
loop_attach -r "$disk" || fail "losetup on the backing file"
direct="$loop_dev"
mount_tracked -o ro "$direct" "$mnt"
verify_tree "$mnt" "$tmpdir/sums.xfs" "xfs, backing file mounted directly"
umount "$mnt"
losetup -d "$direct"
