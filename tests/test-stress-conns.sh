#!/usr/bin/env bash
# uringblk reliability: 64 connections doing verified I/O at once, while
# other clients queue dozens of requests and are killed with SIGKILL
# before reading a reply.  The server must keep serving the others, and
# once every client is gone return to its idle state: the same open
# file descriptors, the same number of io_uring instances (each worker
# thread's ring is destroyed when its connection ends), and resident
# memory that does not grow from one round to the next.

test_timeout=150
source "${srcdir:-.}/functions.sh"
requires nbdkit

prog="$(test_program test-stress-conns)"
: "${SEED:=$(( $(date +%s) % 100000 ))}"
msg "seed=$SEED (replay with SEED=$SEED)"

disk="$tmpdir/disk.img"
make_sparse "$disk" 256M
# Under ASan, freed memory waits in a quarantine (256 MiB by default)
# before it is reused; filling it over both rounds would look like
# growth.  A small quarantine is full by the end of the first round.
if ldd "$PLUGIN" | grep -q 'libasan\.so'; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
fi
# Ring buffers are mmapped and unmapped with their rings, so bursts of
# connections must not leave the process bigger (with malloc'd buffers
# glibc's rising mmap threshold kept hundreds of MB resident).
start_server "$PLUGIN" file="$disk"
pid="$(cat "$pidfile")"

count_fds () { ls "/proc/$pid/fd" | wc -l; }
count_rings ()
{
    local n=0 f
    for f in /proc/"$pid"/fd/*; do
        [ "$(readlink "$f" 2>/dev/null)" = "anon_inode:[io_uring]" ] &&
            n=$(( n + 1 ))
    done
    echo "$n"
}
rss_kb () { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; }
threads () { awk '/^Threads:/ { print $2 }' "/proc/$pid/status"; }

# Idle: nothing connected.
idle ()
{
    [ "$(count_fds)" -eq "$fds0" ] && [ "$(count_rings)" -eq "$rings0" ] &&
        [ "$(threads)" -eq "$threads0" ]
}

fds0="$(count_fds)"
rings0="$(count_rings)"
threads0="$(threads)"
# ThreadSanitizer's runtime starts a thread of its own along with the
# first thread nbdkit creates, and keeps it.
if grep -q 'libtsan\.so' "/proc/$pid/maps"; then
    threads0=$(( threads0 + 1 ))
fi
rss0="$(rss_kb)"
msg "idle: $fds0 fds, $rings0 rings, $threads0 threads, VmRSS ${rss0} kB"

for round in 1 2; do
    "$prog" load --socket "$sock" --conns 64 --seconds 15 \
            --seed "$(( SEED + round ))" &
    load=$!

    # Clients that vanish with requests in flight, while the load runs.
    for (( i = 0; i < 6; i++ )); do
        sleep 1
        "$prog" hog --socket "$sock" --seed "$(( SEED * 10 + i ))" \
                > "$tmpdir/hog.out" &
        hog=$!
        wait_for 10 grep -q ready "$tmpdir/hog.out" ||
            fail "round $round: hog client did not get its requests out"
        mid_rings="$(count_rings)"
        kill -9 "$hog"
        wait "$hog" 2>/dev/null || :
        rm -f "$tmpdir/hog.out"
        kill -0 "$pid" 2>/dev/null ||
            fail "round $round: the server died after a client vanished"
    done
    msg "round $round: $mid_rings rings while loaded"

    wait "$load" || fail "round $round: verified I/O failed (SEED=$SEED)"
    kill -0 "$pid" 2>/dev/null || fail "round $round: the server died"

    wait_for 20 idle ||
        fail "round $round: not back to idle: $(count_fds) fds (was $fds0)," \
             "$(count_rings) rings (was $rings0)," \
             "$(threads) threads (was $threads0)"
    rss="$(rss_kb)"
    msg "round $round: idle again: $(count_fds) fds, $(count_rings) rings," \
        "VmRSS ${rss} kB"
    eval "rss$round=$rss"
done

# The first round may grow the heap (thread arenas); a second identical
# round must not grow it much further.  Under a sanitizer (its runtime
# mapped in nbdkit) the first round also fills the sanitizer's
# quarantine and shadow memory, so only a looser second check applies.
slack_kb=$(( 16 * 1024 ))
if grep -qE 'lib(asan|tsan)' "/proc/$pid/maps"; then
    msg "sanitizer runtime in nbdkit: not bounding the first round's growth"
    slack_kb=$(( 64 * 1024 ))
else
    (( rss1 - rss0 < 64 * 1024 )) ||
        fail "VmRSS grew from $rss0 kB to $rss1 kB after 64 connections"
fi
(( rss2 - rss1 < slack_kb )) ||
    fail "VmRSS keeps growing: $rss1 kB after round 1, $rss2 kB after round 2"
grep -E 'Assertion|sanitizer|Segmentation' "$server_log" >&2 &&
    fail "the server reported a crash"
:
