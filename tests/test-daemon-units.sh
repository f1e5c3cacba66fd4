#!/usr/bin/env bash
# The systemd units: systemd-analyze verify finds nothing to say about
# uringblk@.service and uringblk@.socket, the service keeps the io_uring
# system calls in its filter, and its security exposure stays "OK".

test_timeout=60
source "${srcdir:-$(dirname "$0")}/functions.sh"
requires systemd-analyze
unitsrc="$abs_top_srcdir/systemd"
service="$abs_top_builddir/systemd/uringblk@.service"
[ -r "$service" ] || fail "$service is not built"
uringblkd="$abs_top_builddir/daemon/uringblkd"
[ -x "$uringblkd" ] || fail "$uringblkd is not built"

# verify wants an instance, and an ExecStart= binary that exists.
sed "s|^ExecStart=[^ ]*/uringblkd |ExecStart=$uringblkd |" "$service" \
    > "$tmpdir/uringblk@test.service"
cp "$unitsrc/uringblk@.socket" "$tmpdir/uringblk@test.socket"
grep -q "^ExecStart=$uringblkd --config /etc/uringblk/%i.conf\$" \
     "$tmpdir/uringblk@test.service" || fail "ExecStart= not as expected"

systemd-analyze verify --man=no "$tmpdir/uringblk@test.service" \
    "$tmpdir/uringblk@test.socket" >"$tmpdir/verify.log" 2>&1 ||
    { cat "$tmpdir/verify.log" >&2; fail "systemd-analyze verify failed"; }
if [ -s "$tmpdir/verify.log" ]; then
    cat "$tmpdir/verify.log" >&2
    fail "systemd-analyze verify has warnings"
fi

# The filter must not lose io_uring, whatever @system-service holds.
for call in io_uring_setup io_uring_enter io_uring_register; do
    grep -q "^SystemCallFilter=.*\b$call\b" "$service" ||
        fail "$call is not in SystemCallFilter="
done
grep -q '^Type=notify$' "$service" || fail "not Type=notify"
grep -q '^KillMode=mixed$' "$service" ||
    fail "KillMode=mixed: nbdkit must not get SIGTERM before the device is detached"

# Offline security analysis needs systemd 250.
if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
    systemd-analyze security --offline=true --no-pager \
        "$tmpdir/uringblk@test.service" >"$tmpdir/security.log" 2>&1 || :
    level="$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
                 "$tmpdir/security.log")"
    [ -n "$level" ] || { cat "$tmpdir/security.log" >&2;
                         fail "no exposure level"; }
    msg "systemd-analyze security: exposure $level"
    awk -v l="$level" 'BEGIN { exit !(l <= 4.0) }' ||
        fail "exposure $level is above 4.0"
fi
