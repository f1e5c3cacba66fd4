#!/usr/bin/env bash
# uringblkd and the service manager: READY=1 only once the export
# answers, STATUS= says what is served, SIGTERM gives STOPPING=1, a clean
# nbdkit shutdown and exit 0.  Then socket activation: systemd passes the
# listening socket, uringblkd hands it to nbdkit, and the client that
# triggered the start gets served.  Also the default image: with no
# BACKING a sparse image is created in the state directory.

test_timeout=120
source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdinfo /usr/bin/python3 systemd-socket-activate
uringblkd="$abs_top_builddir/daemon/uringblkd"
[ -x "$uringblkd" ] || fail "$uringblkd is not built"

# A NOTIFY_SOCKET listener: one line per datagram in $tmpdir/notify.log.
cat > "$tmpdir/listen.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", "|") + "\n")
PY
/usr/bin/python3 "$tmpdir/listen.py" "$tmpdir/notify.sock" "$tmpdir/notify.log" &
listener=$!
cleanup_push "kill $listener 2>/dev/null"
wait_for 10 test -S "$tmpdir/notify.sock" || fail "notify listener did not start"
: > "$tmpdir/notify.log"

# start_daemon LOG ARGS...: run uringblkd in the background with the
# test's notify socket; sets $dpid.
start_daemon ()
{
    local log="$1"; shift
    NOTIFY_SOCKET="$tmpdir/notify.sock" \
        "$uringblkd" --plugin "$PLUGIN" "$@" >"$log" 2>&1 &
    dpid=$!
    cleanup_push "kill $dpid 2>/dev/null"
}

wait_notify ()
{
    wait_for 30 grep -q "$1" "$tmpdir/notify.log" || {
        cat "$tmpdir/notify.log" "$tmpdir"/daemon*.log >&2
        fail "no '$1' from uringblkd"
    }
}

# stop_daemon: SIGTERM, expect exit 0.
stop_daemon ()
{
    local status=0
    kill -TERM "$dpid"
    wait "$dpid" || status=$?
    [ "$status" -eq 0 ] || { cat "$tmpdir"/daemon*.log >&2;
                             fail "uringblkd exited $status on SIGTERM"; }
}

#----------------------------------------------------------------------
# 1. A file backing on a Unix socket.
truncate -s 64M "$tmpdir/disk.img"
sock="$tmpdir/run/disk.sock"
start_daemon "$tmpdir/daemon1.log" --socket "$sock" "$tmpdir/disk.img"
wait_notify '^READY=1'
# READY must come after the export answers, so this cannot race.
size="$(nbdinfo --size "nbd+unix:///?socket=$sock")"
[ "$size" -eq $((64 * 1024 * 1024)) ] || fail "export size $size"
grep -q "^STATUS=serving $tmpdir/disk.img (64.0 MiB) on $sock" \
     "$tmpdir/notify.log" || { cat "$tmpdir/notify.log" >&2; fail "STATUS"; }
[ "$(stat -c %a "$sock")" = 660 ] || fail "socket mode $(stat -c %a "$sock")"
child="$(pgrep -P "$dpid" nbdkit)" || fail "no nbdkit child"

stop_daemon
grep -q '^STOPPING=1' "$tmpdir/notify.log" || fail "no STOPPING=1"
kill -0 "$child" 2>/dev/null && fail "nbdkit $child still running"
[ -e "$sock" ] && fail "socket $sock left behind"

#----------------------------------------------------------------------
# 2. No BACKING: the default sparse image in the state directory, the
# socket named after the instance in the runtime directory.
: > "$tmpdir/notify.log"
start_daemon "$tmpdir/daemon2.log" --default-size 256M \
    --state-directory "$tmpdir/state" --runtime-directory "$tmpdir/rt"
wait_notify '^READY=1'
[ -f "$tmpdir/state/default.img" ] || fail "no default image"
[ "$(stat -c %s "$tmpdir/state/default.img")" -eq $((256 << 20)) ] ||
    fail "default image size"
[ "$(stat -c %b "$tmpdir/state/default.img")" -lt 1024 ] ||
    fail "default image is not sparse"
size="$(nbdinfo --size "nbd+unix:///?socket=$tmpdir/rt/default.sock")"
[ "$size" -eq $((256 << 20)) ] || fail "default export size $size"
stop_daemon

#----------------------------------------------------------------------
# 3. Socket activation: systemd-socket-activate binds the socket and
# starts uringblkd on the first connection; nbdinfo is that connection.
: > "$tmpdir/notify.log"
asock="$tmpdir/act.sock"
# (systemd-socket-activate passes on only the environment named by -E:
# in a sanitized build, also how make check runs nbdkit.)
pass_env=()
for var in URINGBLKD_NBDKIT NBDKIT URINGBLK_SANITIZER_PREINIT; do
    [ -z "${!var-}" ] || pass_env+=(-E "$var")
done
systemd-socket-activate -l "$asock" -E NOTIFY_SOCKET="$tmpdir/notify.sock" \
    "${pass_env[@]}" "$uringblkd" --plugin "$PLUGIN" "$tmpdir/disk.img" \
    >"$tmpdir/daemon3.log" 2>&1 &
dpid=$!
cleanup_push "kill $dpid 2>/dev/null"
wait_for 10 test -S "$asock" || fail "systemd-socket-activate did not listen"
size="$(nbdinfo --size "nbd+unix:///?socket=$asock")"
[ "$size" -eq $((64 * 1024 * 1024)) ] || fail "activated export size $size"
wait_notify '^READY=1'
grep -q 'socket-activated' "$tmpdir/notify.log" || fail "STATUS (activation)"
# A second client after start-up goes to the same nbdkit.
nbdinfo --size "nbd+unix:///?socket=$asock" >/dev/null
stop_daemon
grep -q '^STOPPING=1' "$tmpdir/notify.log" || fail "no STOPPING=1 (activation)"
