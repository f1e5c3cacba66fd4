# uringblk integration tests: shared shell helpers.
#
# Sourced by every tests/test-*.sh.  It gives the test:
#   - a time limit: the test re-executes itself under timeout(1), which
#     signals the whole process group (servers and clients included) when
#     the limit passes; the EXIT trap then cleans up as usual;
#   - a private temporary directory $tmpdir, removed on exit;
#   - in a sanitized build, failure if nbdkit made a sanitizer report;
#   - requires / requires_root / skip / fail helpers;
#   - start_server, which runs nbdkit in the background and records it
#     for cleanup by its pid file;
#   - loop_attach, fuse_attach (nbdfuse) and mount_tracked, which record
#     their own undoing;
#   - a cleanup stack (cleanup_push) holding all of that, unwound in
#     reverse order on exit, whatever the exit path.
#
# Exit status follows automake: 0 pass, 77 skip (reason on stderr), other
# fail.

set -e
set -u

# Seconds a test may run; override per test by setting test_timeout
# before sourcing this file.  The limit only stops hung tests, so under
# ThreadSanitizer, which makes nbdkit several times slower, it doubles.
: "${test_timeout:=120}"
if ldd "${PLUGIN-}" 2>/dev/null | grep -q 'libtsan\.so'; then
    test_timeout=$(( test_timeout * 2 ))
fi

if [ -z "${URINGBLK_TEST_GUARDED-}" ]; then
    URINGBLK_TEST_GUARDED=1
    export URINGBLK_TEST_GUARDED
    # timeout(1) puts itself in a new process group and signals all of
    # it, so a hung client or server cannot outlive the test.
    if command -v timeout >/dev/null 2>&1; then
        exec timeout -k 15 "$test_timeout" bash "$0" "$@"
    fi
fi

test_name="$(basename "$0" .sh)"

: "${PLUGIN:?PLUGIN must be the path of nbdkit-uring-plugin.so}"
: "${abs_top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
tests_builddir="$abs_top_builddir/tests"

# Print a message prefixed with the test name.
msg ()
{
    echo "$test_name: $*" >&2
}

# Fail the test.
fail ()
{
    msg "FAIL: $*"
    exit 1
}

# Skip the test with a reason.
skip ()
{
    msg "SKIP: $*"
    exit 77
}

# Skip unless every command named is available.
requires ()
{
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" >/dev/null 2>&1 ||
            skip "'$cmd' is not installed"
    done
}

# Skip unless running as root.
requires_root ()
{
    [ "$(id -u)" -eq 0 ] || skip "needs root: $*"
}

# The cleanup stack.  Each entry is a string evaluated at exit, last in
# first out.  Entries must be safe to run when their object is already
# gone.
_cleanup=()

cleanup_push ()
{
    _cleanup+=("$*")
}

_run_cleanup ()
{
    local status=$? i
    set +e
    trap '' INT TERM HUP
    for (( i = ${#_cleanup[@]} - 1; i >= 0; i-- )); do
        eval "${_cleanup[i]}" </dev/null
    done
    if [ -n "${_sanitizer_log-}" ] && compgen -G "$_sanitizer_log.*" >/dev/null; then
        for f in "$_sanitizer_log".*; do
            echo "--- $f" >&2
            cat "$f" >&2
        done
        msg "FAIL: nbdkit made the sanitizer reports above"
        status=1
    fi
    if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
        # Show server logs so a failure can be diagnosed from the .log.
        for f in "$tmpdir"/nbdkit-*.log; do
            [ -s "$f" ] || continue
            echo "--- $f" >&2
            tail -n 40 "$f" >&2
        done
    fi
    rm -rf "$tmpdir"
    exit "$status"
}

tmpdir="$(mktemp -d "${TMPDIR:-/var/tmp}/uringblk-$test_name.XXXXXX")"
trap _run_cleanup EXIT

# With a sanitized plugin, tests/nbdkit-sanitized writes the reports of
# every nbdkit this test starts to $tmpdir/sanitizer.PID, and any report
# fails the test: nbdkit's own output is not always looked at (uringblkd
# restarts an nbdkit that aborted, some tests discard its output).
_sanitizer_log=
if [ -z "${URINGBLK_SANITIZER_LOG-}" ] &&
   ldd "$PLUGIN" 2>/dev/null | grep -qE '^[[:space:]]*lib(asan|tsan)\.so'; then
    _sanitizer_log="$tmpdir/sanitizer"
    URINGBLK_SANITIZER_LOG="$_sanitizer_log"
    export URINGBLK_SANITIZER_LOG
fi
trap 'msg "interrupted (time limit ${test_timeout}s?)"; exit 124' INT TERM HUP

# Wait up to $1 seconds for command "$2 ..." to succeed.
wait_for ()
{
    local limit=$(( $1 * 10 )) i
    shift
    for (( i = 0; i < limit; i++ )); do
        if "$@"; then return 0; fi
        sleep 0.1
    done
    return 1
}

# Kill the process whose pid is in file $1, and wait (bounded) for it
# to go away.
kill_pidfile ()
{
    local pid i
    [ -s "$1" ] || return 0
    pid="$(cat "$1")"
    kill "$pid" 2>/dev/null || return 0
    for (( i = 0; i < 100; i++ )); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || :
}

# start_server [NBDKIT-OPTIONS] PLUGIN [PARAMS...]
#
# Start nbdkit in the background on a fresh Unix socket and wait until
# it is listening.  Sets $sock, $uri (nbd+unix URI), $pidfile,
# $server_log and $server_bgpid (the background job: nbdkit itself, or
# the wrapper) for the server just started; every server started is
# stopped at exit.  If the array server_wrapper is set, nbdkit runs
# under it (e.g. server_wrapper=(strace -f -o LOG)).  Fails the test if
# nbdkit exits or does not come up within 30 seconds.
server_wrapper=()
_nservers=0
start_server ()
{
    _nservers=$(( _nservers + 1 ))
    sock="$tmpdir/nbdkit-$_nservers.sock"
    pidfile="$tmpdir/nbdkit-$_nservers.pid"
    server_log="$tmpdir/nbdkit-$_nservers.log"
    uri="nbd+unix:///?socket=$sock"
    cleanup_push kill_pidfile "$pidfile"
    "${server_wrapper[@]}" nbdkit -f -U "$sock" -P "$pidfile" "$@" \
        >"$server_log" 2>&1 &
    server_bgpid=$!
    local i
    for (( i = 0; i < 300; i++ )); do
        if [ -s "$pidfile" ] && [ -S "$sock" ]; then
            return 0
        fi
        if ! kill -0 "$server_bgpid" 2>/dev/null; then
            cat "$server_log" >&2
            fail "nbdkit $* exited during start-up"
        fi
        sleep 0.1
    done
    fail "nbdkit $* did not start within 30 seconds"
}

# Stop the server most recently started (or the one whose pid file is
# $1) and wait for it to exit (and for its wrapper, if any).
stop_server ()
{
    kill_pidfile "${1:-$pidfile}"
    if [ $# -eq 0 ]; then
        wait "$server_bgpid" 2>/dev/null || :
    fi
}

# Create a sparse file of the given size.
make_sparse ()
{
    rm -f "$1"
    truncate -s "$2" "$1"
}

# loop_attach [LOSETUP-OPTIONS] FILE
# Attach FILE to a free loop device, set $loop_dev to its name, and
# detach it at exit.  (Not in a command substitution: the cleanup entry
# must be recorded in this shell.)
loop_attach ()
{
    loop_dev="$(losetup -f --show "$@")" || return 1
    cleanup_push "losetup -d $loop_dev 2>/dev/null"
}

# fuse_attach MOUNTPOINT URI
# Expose the NBD export at URI as the file MOUNTPOINT/nbd with nbdfuse,
# wait (bounded) until it is ready, and unmount it at exit (nbdfuse then
# exits; it is killed by its pid file if it does not).
fuse_attach ()
{
    local mp="$1" pidf="$tmpdir/nbdfuse-$(basename "$1").pid"
    nbdfuse -P "$pidf" "$mp" "$2" >"$pidf.log" 2>&1 &
    cleanup_push kill_pidfile "$pidf"
    cleanup_push "mountpoint -q '$mp' && { fusermount3 -u '$mp' 2>/dev/null || fusermount3 -uz '$mp'; }"
    if ! wait_for 30 test -s "$pidf"; then
        cat "$pidf.log" >&2
        return 1
    fi
}

# Mount ARGS... and unmount the mount point (the last argument) at exit.
# Falls back to a lazy unmount if the file system is busy.
mount_tracked ()
{
    local mp="${!#}"
    cleanup_push "mountpoint -q '$mp' && { umount '$mp' 2>/dev/null || umount -l '$mp'; }"
    mount "$@"
}

# Absolute path of a test program built in this directory.
test_program ()
{
    local p="$tests_builddir/$1"
    [ -x "$p" ] || fail "$p is not built (run make check)"
    echo "$p"
}

# Compare two files, failing with the first differing byte.
assert_same_file ()
{
    cmp "$1" "$2" >&2 || fail "$1 and $2 differ"
}
