#!/usr/bin/env bash
# uringblk reliability: kill -9 the server at random moments while
# several connections write (with and without FUA) and flush, restart it
# on the same backing, and check that every acknowledged write is there
# (see test-crash-io.c for exactly what is checked).  Rounds alternate
# fua=dsync and fua=link, so both ways of making a FUA write durable are
# exercised.  The seed is printed; SEED=N replays the kill schedule.

test_timeout=150
source "${srcdir:-.}/functions.sh"
requires nbdkit

prog="$(test_program test-crash-io)"
: "${SEED:=$(( $(date +%s) % 100000 ))}"
RANDOM=$SEED
rounds="${CRASH_ROUNDS:-6}"
msg "seed=$SEED rounds=$rounds (replay with SEED=$SEED)"

disk="$tmpdir/disk.img"
state="$tmpdir/state"
make_sparse "$disk" 32M

for (( round = 1; round <= rounds; round++ )); do
    if (( round % 2 )); then fua=dsync; else fua=link; fi
    start_server "$PLUGIN" file="$disk" fua="$fua"
    server_pid="$(cat "$pidfile")"

    "$prog" write --socket "$sock" --state "$state" --conns 4 \
            --seconds 30 --seed "$(( SEED * 100 + round ))" &
    writer=$!

    # Kill somewhere between 0.3 and 2.3 seconds into the load.
    delay_ms=$(( 300 + RANDOM % 2000 ))
    sleep "$(printf '%d.%03d' $(( delay_ms / 1000 )) $(( delay_ms % 1000 )))"
    msg "round $round (fua=$fua): SIGKILL after ${delay_ms}ms"
    kill -9 "$server_pid"
    wait "$server_pid" 2>/dev/null || :
    rm -f "$sock" "$pidfile"

    wait "$writer" || fail "round $round: the writer failed"

    # Restart on the same backing and check everything acknowledged.
    start_server "$PLUGIN" file="$disk" fua="$fua"
    "$prog" verify --socket "$sock" --state "$state" ||
        fail "round $round: acknowledged data lost (SEED=$SEED)"
    stop_server
done
