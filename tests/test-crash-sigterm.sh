#!/usr/bin/env bash
# uringblk reliability: SIGTERM under load.  While four connections
# write, flush and read, the server is asked to stop.  It must exit 0
# within a bounded time, and, restarted on the same backing, show every
# write it acknowledged (the plugin syncs each connection's writes on
# close; see test-crash-io.c for what is checked).  Done for fua=dsync
# and fua=link.

test_timeout=120
source "${srcdir:-.}/functions.sh"
requires nbdkit

prog="$(test_program test-crash-io)"
: "${SEED:=$(( $(date +%s) % 100000 ))}"
RANDOM=$SEED
msg "seed=$SEED (replay with SEED=$SEED)"

disk="$tmpdir/disk.img"
state="$tmpdir/state"
make_sparse "$disk" 32M

for fua in dsync link; do
    start_server "$PLUGIN" file="$disk" fua="$fua"
    server_pid="$(cat "$pidfile")"

    "$prog" write --socket "$sock" --state "$state" --conns 4 \
            --seconds 30 --seed "$(( SEED * 10 + ${#fua} ))" &
    writer=$!
    sleep "1.$(( RANDOM % 10 ))"

    msg "fua=$fua: SIGTERM"
    kill -TERM "$server_pid"
    # Bounded wait for a clean exit.
    for (( i = 0; i < 300; i++ )); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$server_pid" 2>/dev/null &&
        fail "fua=$fua: nbdkit still running 30 s after SIGTERM"
    status=0
    wait "$server_pid" || status=$?
    [ "$status" -eq 0 ] ||
        fail "fua=$fua: nbdkit exited with status $status after SIGTERM"
    grep -E 'error|Assertion|sanitizer' "$server_log" >&2 &&
        fail "fua=$fua: nbdkit reported errors while stopping"
    rm -f "$sock" "$pidfile"

    wait "$writer" || fail "fua=$fua: the writer failed"

    start_server "$PLUGIN" file="$disk" fua="$fua"
    "$prog" verify --socket "$sock" --state "$state" ||
        fail "fua=$fua: acknowledged data lost after SIGTERM (SEED=$SEED)"
    stop_server
done
