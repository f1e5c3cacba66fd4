#!/usr/bin/env bash
# uringblkd supervises nbdkit: kill -9 the child, and the daemon starts
# a new one on the same socket (which never went away), clients can
# connect again and see the data written before, and STATUS= says what
# happened.  Then SIGTERM still stops everything with exit status 0.

test_timeout=120
source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdinfo nbdsh /usr/bin/python3
uringblkd="$abs_top_builddir/daemon/uringblkd"
[ -x "$uringblkd" ] || fail "$uringblkd is not built"

cat > "$tmpdir/listen.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", "|") + "\n")
PY
/usr/bin/python3 "$tmpdir/listen.py" "$tmpdir/notify.sock" "$tmpdir/notify.log" &
cleanup_push "kill $! 2>/dev/null"
wait_for 10 test -S "$tmpdir/notify.sock" || fail "notify listener did not start"

truncate -s 32M "$tmpdir/disk.img"
sock="$tmpdir/d.sock"
uri="nbd+unix:///?socket=$sock"
NOTIFY_SOCKET="$tmpdir/notify.sock" \
    "$uringblkd" --plugin "$PLUGIN" --socket "$sock" "$tmpdir/disk.img" \
    >"$tmpdir/daemon.log" 2>&1 &
dpid=$!
cleanup_push "kill $dpid 2>/dev/null"
wait_for 30 grep -q '^READY=1' "$tmpdir/notify.log" ||
    { cat "$tmpdir/daemon.log" >&2; fail "not ready"; }

# Write a pattern through the daemon's socket.
nbdsh -u "$uri" -c '
h.pwrite(b"\xa5" * 65536 + b"uringblk" * 512, 1048576, nbd.CMD_FLAG_FUA)
'

for round in 1 2; do
    child="$(pgrep -P "$dpid" nbdkit)" || fail "round $round: no nbdkit child"
    kill -9 "$child"
    wait_for 30 grep -q "^STATUS=serving .*nbdkit restarted $round time" \
         "$tmpdir/notify.log" ||
        { cat "$tmpdir/notify.log" "$tmpdir/daemon.log" >&2;
          fail "round $round: no restart reported"; }
    grep -q "^STATUS=nbdkit exited (signal 9 (Killed)); restarting (restart $round)" \
         "$tmpdir/notify.log" || fail "round $round: death not reported"
    new="$(pgrep -P "$dpid" nbdkit)" || fail "round $round: not restarted"
    [ "$new" != "$child" ] || fail "round $round: same child"
    # Same socket path, same data.
    nbdsh -u "$uri" -c '
buf = h.pread(65536 + 4096, 1048576)
assert buf == b"\xa5" * 65536 + b"uringblk" * 512, "data lost across restart"
'
done
grep -q 'after signal 9 (Killed)' "$tmpdir/notify.log" || fail "STATUS cause"

kill -TERM "$dpid"
status=0
wait "$dpid" || status=$?
[ "$status" -eq 0 ] || { cat "$tmpdir/daemon.log" >&2; fail "exit $status"; }
pgrep -f "nbdkit.*$tmpdir/disk.img" >/dev/null && fail "nbdkit left running"
[ -e "$sock" ] && fail "socket left behind"
exit 0
