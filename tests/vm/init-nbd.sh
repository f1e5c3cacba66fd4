#!/bin/busybox sh
# /init of the uringblk VM test (tests/test-vm-nbd.sh).
#
# uringblkd serves the raw virtio disk /dev/vdb with the uring plugin and
# attaches it as /dev/nbd0 with two connections.  On it: mkfs.ext4,
# mount, write files, then kill -9 nbdkit while mounted and keep writing:
# the daemon restarts nbdkit and hands the kernel new connections
# (NBD_CMD_RECONFIGURE), and the file system must not notice.  Then
# unmount, e2fsck, remount and check every file, and SIGTERM must detach
# the device.  The last console line is "URINGBLK-VM: PASS" or
# "URINGBLK-VM: FAIL <why>"; the host test looks for it.

/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /mnt

result ()
{
    sync
    echo "URINGBLK-VM: $*"
    poweroff -f
}

fail ()
{
    echo "--- daemon log"
    cat /tmp/daemon.log 2>/dev/null
    echo "--- kernel log (nbd)"
    dmesg | grep -i -E 'nbd|block' | tail -n 30
    result "FAIL $*"
}

step ()
{
    echo "uringblk-vm: $*"
}

# Wait up to $1 seconds for "$2 ..." to succeed.
wait_for ()
{
    local n=$(( $1 * 10 ))
    shift
    while [ $n -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        n=$(( n - 1 ))
    done
    return 1
}

modprobe virtio_pci || fail "modprobe virtio_pci"
modprobe virtio_blk || fail "modprobe virtio_blk"
modprobe nbd || fail "modprobe nbd"
wait_for 10 test -b /dev/vdb || fail "no /dev/vdb"
wait_for 10 test -b /dev/nbd0 || fail "no /dev/nbd0"

step "starting uringblkd"
uringblkd --nbdkit /usr/sbin/nbdkit \
    --plugin /usr/lib/uringblk/nbdkit-uring-plugin.so \
    --runtime-directory /run/uringblk \
    --device /dev/nbd0 --connections 2 --timeout 10 --dead-timeout 60 \
    /dev/vdb > /tmp/daemon.log 2>&1 &
daemon=$!
attached_or_gone ()
{
    grep -q 'attached /dev/nbd0' /tmp/daemon.log || ! kill -0 $daemon
}
wait_for 60 attached_or_gone
grep -q 'attached /dev/nbd0' /tmp/daemon.log || fail "device not attached"
test -e /sys/block/nbd0/pid || fail "nbd0 not connected"
[ "$(cat /sys/block/nbd0/size)" -gt 0 ] || fail "nbd0 has no size"
cat /tmp/daemon.log

step "a second daemon on the same device is refused"
uringblkd --nbdkit /usr/sbin/nbdkit \
    --plugin /usr/lib/uringblk/nbdkit-uring-plugin.so \
    --socket /run/uringblk/second.sock --device /dev/nbd0 /dev/vda \
    > /tmp/second.log 2>&1
status=$?
cat /tmp/second.log
[ $status -eq 1 ] || fail "second daemon: exit status $status"
grep -q '/dev/nbd0: device is busy' /tmp/second.log ||
    fail "second daemon: no 'device is busy'"
test -e /run/uringblk/second.sock && fail "second daemon left its socket"

step "mkfs.ext4"
/usr/sbin/mke2fs -q -F -t ext4 /dev/nbd0 || fail "mkfs.ext4"
mount -t ext4 /dev/nbd0 /mnt || fail "mount"

# write_files DIR COUNT: files of 4 KiB to ~600 KiB of random data.
write_files ()
{
    local i=0
    mkdir -p "$1"
    while [ $i -lt "$2" ]; do
        dd if=/dev/urandom of="$1/f$i" bs=4096 count=$(( (i * 37) % 150 + 1 )) \
            2>/dev/null || return 1
        i=$(( i + 1 ))
    done
}

step "writing files"
write_files /mnt/before 24 || fail "writing files"
sync || fail "sync"

step "kill -9 nbdkit while mounted"
pid="$(pidof nbdkit)"
[ -n "$pid" ] || fail "no nbdkit"
kill -9 $pid
# Writes keep coming while nbdkit is down; the kernel holds them.
write_files /mnt/during 24 || fail "writing files while nbdkit restarts"
sync || fail "sync after the restart"
wait_for 60 grep -q 'handed 2 new connections' /tmp/daemon.log ||
    fail "daemon did not re-attach"
newpid="$(pidof nbdkit)"
[ -n "$newpid" ] && [ "$newpid" != "$pid" ] || fail "nbdkit not restarted"
write_files /mnt/after 8 || fail "writing files after the restart"
(cd /mnt && find . -type f | sort | xargs sha256sum) > /tmp/sums ||
    fail "checksums"
dmesg | grep -q 'I/O error' && fail "I/O error reported by the kernel"

step "unmount, fsck"
umount /mnt || fail "umount"
/usr/sbin/e2fsck -f -n /dev/nbd0 > /tmp/fsck.log 2>&1 ||
    { cat /tmp/fsck.log; fail "e2fsck"; }
mount -t ext4 /dev/nbd0 /mnt || fail "remount"
(cd /mnt && sha256sum -c -s /tmp/sums) || fail "checksums differ after remount"
[ "$(wc -l < /tmp/sums)" -eq 56 ] || fail "wrong number of files"
umount /mnt || fail "umount (2)"

step "SIGTERM"
kill -TERM $daemon
wait $daemon
status=$?
cat /tmp/daemon.log
[ $status -eq 0 ] || fail "uringblkd exited $status"
test -e /sys/block/nbd0/pid && fail "nbd0 still connected"
pidof nbdkit >/dev/null && fail "nbdkit still running"
grep -q 'detached /dev/nbd0' /tmp/daemon.log || fail "no detach message"
# Sanitized builds: reports nbdkit left (see test-vm-nbd.sh).
for f in /tmp/sanitizer.*; do
    [ -e "$f" ] || continue
    cat "$f"
    fail "sanitizer report in $f"
done
result PASS
