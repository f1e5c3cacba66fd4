#!/usr/bin/env bash
# uringblk: io_uring refused by the system, for real.
#
# no-uring runs nbdkit under a seccomp filter that fails io_uring_setup
# with EPERM (what kernel.io_uring_disabled and container profiles do)
# or ENOSYS (a kernel without io_uring).  Then:
#   - --dump-plugin reports uring_available=no;
#   - uring=auto warns at start-up and serves correct data through the
#     pread/pwrite engine (shadow and unaligned workloads);
#   - uring=require refuses to start, saying why.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit

nouring="$(test_program no-uring)"
shadow="$(test_program test-shadow)"
unaligned="$(test_program test-unaligned)"
disk="$tmpdir/disk.img"
real_nbdkit="$(command -v nbdkit)"

for err in EPERM ENOSYS; do
    msg "--- io_uring_setup fails with $err"

    # start_server runs "nbdkit": put a wrapper first on PATH.
    mkdir -p "$tmpdir/bin-$err"
    cat >"$tmpdir/bin-$err/nbdkit" <<WRAP
#!/bin/sh
exec "$nouring" $err "$real_nbdkit" "\$@"
WRAP
    chmod +x "$tmpdir/bin-$err/nbdkit"
    PATH="$tmpdir/bin-$err:$PATH"

    out="$(nbdkit "$PLUGIN" --dump-plugin)" ||
        fail "--dump-plugin failed under the filter"
    grep -qx 'uring_available=no' <<<"$out" ||
        fail "$err: --dump-plugin does not say uring_available=no"

    make_sparse "$disk" 64M
    start_server "$PLUGIN" file="$disk"
    grep -q 'uring: warning: io_uring is not available' "$server_log" ||
        fail "$err: no fallback warning in the server log"
    "$shadow" --socket "$sock" --backing "$disk" --ops 1500 --timeout 60 ||
        fail "$err: shadow workload on the fallback engine"
    "$unaligned" --socket "$sock" --backing "$disk" --ops 300 --timeout 60 ||
        fail "$err: unaligned workload on the fallback engine"
    stop_server

    if nbdkit -f -U "$tmpdir/req.sock" "$PLUGIN" file="$disk" uring=require \
        >"$tmpdir/require.log" 2>&1; then
        fail "$err: uring=require started without io_uring"
    fi
    grep -q 'io_uring is not available' "$tmpdir/require.log" ||
        fail "$err: uring=require did not say why: $(cat "$tmpdir/require.log")"

    PATH="${PATH#"$tmpdir/bin-$err:"}"
done
msg "ok"
