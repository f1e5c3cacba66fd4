# uringblk VM tests: assemble an initramfs from the host's own binaries.
#
# Sourced by tests/test-vm-*.sh.  Everything goes under $root, which the
# caller sets; initramfs_pack writes a newc cpio archive of it.  Binaries
# keep their host paths, and each one brings the shared libraries ldd
# lists for it, so the guest runs exactly what was tested on the host.

# Copy FILE to the same path under $root (following symlinks).
initramfs_add_file ()
{
    local f="$1" dest="$root${2:-$1}"
    mkdir -p "$(dirname "$dest")"
    cp -L "$f" "$dest"
}

# Copy a dynamically linked program or shared object and its libraries,
# optionally to another path (second argument).
initramfs_add_binary ()
{
    local f="$1" lib
    initramfs_add_file "$f" "${2:-$f}"
    for lib in $(ldd "$f" 2>/dev/null |
                 sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
        [ -e "$root$lib" ] || initramfs_add_file "$lib"
    done
}

# Copy kernel modules NAME... of kernel $kver with everything they depend
# on, and a modules.dep listing them, so busybox modprobe can load them.
initramfs_add_modules ()
{
    local moddir="/lib/modules/$kver" name path dep line
    local -A seen=()
    local todo=()

    for name in "$@"; do
        path="$(sed -n "s@^\(kernel/.*/$name\.ko[^:]*\):.*@\1@p" "$moddir/modules.dep" |
                head -n1)"
        [ -n "$path" ] || { echo "initramfs: no module $name" >&2; return 1; }
        todo+=("$path")
    done
    mkdir -p "$root$moddir"
    : > "$root$moddir/modules.dep"
    while [ ${#todo[@]} -gt 0 ]; do
        path="${todo[0]}"
        todo=("${todo[@]:1}")
        [ -n "${seen[$path]-}" ] && continue
        seen[$path]=1
        initramfs_add_file "$moddir/$path"
        line="$(grep "^$path:" "$moddir/modules.dep")"
        echo "$line" >> "$root$moddir/modules.dep"
        for dep in ${line#*:}; do
            todo+=("$dep")
        done
    done
}

# busybox (static) as /bin/busybox; the guest's /init installs applets.
# Debian's build prefers its applets to programs on PATH, so the guest
# runs host programs by absolute path.
initramfs_add_busybox ()
{
    mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
    cp "$1" "$root/bin/busybox"
}

# Write the archive to FILE.
initramfs_pack ()
{
    (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) > "$1"
}
