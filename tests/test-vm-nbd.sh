#!/usr/bin/env bash
# The real /dev/nbdX path, in a VM: the host has no nbd module, so boot
# Debian's cloud kernel under qemu (TCG, no networking) with an initramfs
# made here from the host's binaries (busybox, nbdkit, the in-tree uring
# plugin and uringblkd, mke2fs/e2fsck, their libraries, and the kernel
# modules virtio_blk and nbd).  The guest's /init (vm/init-nbd.sh)
# attaches a virtio disk through uringblkd, runs a file system on it,
# kills nbdkit under it, and reports "URINGBLK-VM: PASS" on the console.

test_timeout=420
source "${srcdir:-$(dirname "$0")}/functions.sh"
source "${srcdir:-$(dirname "$0")}/vm/initramfs.sh"

qemu=qemu-system-x86_64
command -v "$qemu" >/dev/null 2>&1 ||
    skip "$qemu is not installed (apt-get install qemu-system-x86)"
kernel="$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n1)"
[ -n "$kernel" ] ||
    skip "no cloud kernel in /boot (apt-get install linux-image-cloud-amd64)"
kver="${kernel#/boot/vmlinuz-}"
[ -d "/lib/modules/$kver" ] || skip "no modules for $kver"
[ -r "$kernel" ] || skip "$kernel is not readable"
requires cpio ldd mke2fs e2fsck nbdkit
busybox=/bin/busybox
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
    skip "$busybox is not static (apt-get install busybox-static)"

uringblkd="$abs_top_builddir/daemon/uringblkd"
[ -x "$uringblkd" ] || fail "$uringblkd is not built"
[ -r "$PLUGIN" ] || fail "$PLUGIN is not built"

# The initramfs.
root="$tmpdir/root"
mkdir -p "$root"/{proc,sys,dev,tmp,run,mnt}
initramfs_add_busybox "$busybox"
# In a sanitized build the plugin needs its runtime preloaded in nbdkit:
# the guest's /usr/sbin/nbdkit runs the real one through
# tests/nbdkit-sanitized, as on the host, and init-nbd.sh fails on any
# report it leaves in /tmp/sanitizer.*.
runtime="$(ldd "$PLUGIN" | awk '$1 ~ /^lib(asan|tsan)\.so/ { print $3; exit }')"
if [ -z "$runtime" ]; then
    initramfs_add_binary "$(command -v nbdkit)" /usr/sbin/nbdkit
else
    : "${NBDKIT:?must be the real nbdkit (make check sets it)}"
    : "${URINGBLK_SANITIZER_PREINIT:?make check sets it in sanitized builds}"
    initramfs_add_binary "$NBDKIT" /usr/lib/uringblk/nbdkit
    initramfs_add_file "$URINGBLK_SANITIZER_PREINIT" \
                       /usr/lib/uringblk/sanitizer-preinit.so
    initramfs_add_file "$abs_top_srcdir/tests/nbdkit-sanitized" \
                       /usr/lib/uringblk/nbdkit-sanitized
    cat > "$root/usr/sbin/nbdkit" <<SH
#!/bin/sh
NBDKIT=/usr/lib/uringblk/nbdkit \\
URINGBLK_SANITIZER_RUNTIME=$runtime \\
URINGBLK_SANITIZER_PREINIT=/usr/lib/uringblk/sanitizer-preinit.so \\
URINGBLK_SANITIZER_LOG=/tmp/sanitizer \\
    exec /usr/lib/uringblk/nbdkit-sanitized "\$@"
SH
    chmod +x "$root/usr/sbin/nbdkit"
fi
initramfs_add_binary "$PLUGIN" /usr/lib/uringblk/nbdkit-uring-plugin.so
initramfs_add_binary "$uringblkd" /usr/sbin/uringblkd
initramfs_add_binary "$(command -v mke2fs)" /usr/sbin/mke2fs
initramfs_add_binary "$(command -v e2fsck)" /usr/sbin/e2fsck
initramfs_add_modules virtio_pci virtio_blk nbd
cp "${srcdir:-$(dirname "$0")}/vm/init-nbd.sh" "$root/init"
chmod +x "$root/init"
initramfs_pack "$tmpdir/initrd.cpio"

# Two virtio disks: vda is a spare, vdb the backing uringblkd serves.
truncate -s 1M "$tmpdir/vda.img"
truncate -s 256M "$tmpdir/vdb.img"

msg "booting $kernel"
start=$SECONDS
status=0
timeout -k 10 300 "$qemu" -accel tcg -m 1024 -smp 2 -nographic -no-reboot \
    -kernel "$kernel" -initrd "$tmpdir/initrd.cpio" \
    -append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init" \
    -drive "file=$tmpdir/vda.img,if=virtio,format=raw" \
    -drive "file=$tmpdir/vdb.img,if=virtio,format=raw" \
    -nic none -monitor none -serial stdio -display none \
    </dev/null >"$tmpdir/console.log" 2>&1 || status=$?
msg "guest ran $(( SECONDS - start )) s (qemu status $status)"

if ! grep -q '^URINGBLK-VM: PASS' "$tmpdir/console.log"; then
    cat "$tmpdir/console.log" >&2
    [ "$status" -eq 124 ] && fail "the guest did not finish within 300 s"
    fail "$(grep '^URINGBLK-VM:' "$tmpdir/console.log" || echo 'no result from the guest')"
fi
grep '^uringblk-vm:\|^uringblkd:' "$tmpdir/console.log" >&2
