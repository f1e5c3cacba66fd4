#!/usr/bin/env bash
# uringblk: the sanitizer set-up reports what it should.
#
# Builds tiny nbdkit plugins with a deliberate bug, with the flags
# --enable-sanitizers (or --enable-tsan) uses, runs them in nbdkit
# through tests/nbdkit-sanitized exactly as a sanitized uring plugin
# would be, and checks that the report names the bug and that nbdkit
# stops instead of serving on:
#   - a heap buffer overflow in pread  -> "heap-buffer-overflow"
#   - a signed integer overflow        -> "signed integer overflow"
#   - two connections racing on a global (ThreadSanitizer) -> "data race"
# Each part skips if the compiler lacks that sanitizer runtime.

test_timeout=100
source "${srcdir:-.}/functions.sh"
requires nbdkit nbdsh
: "${CC:=cc}"
command -v "$CC" >/dev/null || skip "no C compiler ($CC)"
[ -f /usr/include/nbdkit-plugin.h ] ||
    pkg-config --exists nbdkit 2>/dev/null || skip "nbdkit-plugin.h not installed"

wrapper="$abs_top_srcdir/tests/nbdkit-sanitized"
[ -x "$wrapper" ] || wrapper="${srcdir:-.}/nbdkit-sanitized"

cat > "$tmpdir/buggy.c" <<'C'
#define NBDKIT_API_VERSION 2
#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL
#include <nbdkit-plugin.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int counter;             /* raced on by pwrite (tsan case) */

static void *buggy_open (int readonly) { return NBDKIT_HANDLE_NOT_NEEDED; }
static int64_t buggy_get_size (void *h) { return 1 << 20; }

static int
buggy_pread (void *h, void *buf, uint32_t count, uint64_t offset,
             uint32_t flags)
{
  char *p = malloc (count);
  int n = INT_MAX - (int) (offset == 4096);
  if (p == NULL)
    return -1;
  memset (p, 0, count);
#if defined BUG_OVERFLOW
  memcpy (buf, p, count + 16);  /* reads 16 bytes past the block */
#elif defined BUG_SIGNED
  n += (int) count;             /* INT_MAX + count */
  memcpy (buf, p, count);
  ((char *) buf)[0] = n & 1;
#else
  memcpy (buf, p, count);
#endif
  free (p);
  return 0;
}

static int
buggy_pwrite (void *h, const void *buf, uint32_t count, uint64_t offset,
              uint32_t flags)
{
  counter++;
  return 0;
}

static struct nbdkit_plugin plugin = {
  .name = "buggy",
  .open = buggy_open,
  .get_size = buggy_get_size,
  .pread = buggy_pread,
  .pwrite = buggy_pwrite,
};
NBDKIT_REGISTER_PLUGIN (plugin)
C

# build NAME SANITIZER-FLAGS... : build buggy-NAME.so.  Returns 1 if
# the compiler has no runtime for those sanitizers; any other build
# failure fails the test.
build ()
{
    local name="$1"; shift
    echo 'int main (void) { return 0; }' > "$tmpdir/probe.c"
    "$CC" "$@" -o "$tmpdir/probe" "$tmpdir/probe.c" \
        2>"$tmpdir/cc-$name.log" || return 1
    "$CC" -shared -fPIC -g -O0 -fno-omit-frame-pointer "$@" \
        $(pkg-config --cflags nbdkit 2>/dev/null) \
        -o "$tmpdir/buggy-$name.so" "$tmpdir/buggy.c" \
        2>"$tmpdir/cc-$name.log" ||
        fail "building the $name plugin: $(cat "$tmpdir/cc-$name.log")"
}

# expect NAME PATTERN NBDSH-COMMAND: run the plugin, send the request,
# require the report and that nbdkit stopped.
expect ()
{
    local name="$1" pattern="$2" cmd="$3" pid i
    local sock="$tmpdir/$name.sock" log="$tmpdir/nbdkit-$name.log"

    # (The report must go to the log, not to functions.sh's files.)
    PLUGIN="$tmpdir/buggy-$name.so" URINGBLK_SANITIZER_LOG= \
        "$wrapper" -f -U "$sock" \
        -P "$tmpdir/$name.pid" "$tmpdir/buggy-$name.so" >"$log" 2>&1 &
    pid=$!
    cleanup_push "kill -9 $pid 2>/dev/null"
    wait_for 30 test -S "$sock" || fail "$name: nbdkit did not start"
    nbdsh -u "nbd+unix:///?socket=$sock" -c "$cmd" >/dev/null 2>&1 || :
    for (( i = 0; i < 300; i++ )); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null &&
        fail "$name: nbdkit kept running after the bug"
    grep -q "$pattern" "$log" || {
        cat "$log" >&2
        fail "$name: no \"$pattern\" report"
    }
    grep -q 'buggy\.c' "$log" ||
        msg "$name: warning: the report does not name buggy.c"
    msg "$name: reported \"$pattern\" and stopped"
}

asan_flags=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
if build overflow "${asan_flags[@]}" -DBUG_OVERFLOW; then
    expect overflow heap-buffer-overflow 'h.pread(4096, 0)'
    build signed "${asan_flags[@]}" -DBUG_SIGNED ||
        fail "UBSan runtime missing: $(cat "$tmpdir/cc-signed.log")"
    expect signed "signed integer overflow" 'h.pread(4096, 4096)'
    tested=1
else
    msg "ASan/UBSan not available: $(head -n 1 "$tmpdir/cc-overflow.log")"
fi

if build race -fsanitize=thread; then
    # Two connections writing at once race on the counter.  ThreadSanitizer
    # sees the race only when the two increments are not ordered by the
    # locks nbdkit takes around each request, about 1 pair in 100, so
    # send enough pairs (the first report stops nbdkit and ends this).
    expect race "data race" '
h2 = nbd.NBD()
h2.connect_uri(h.get_uri())
for i in range(2000):
    c1 = h.aio_pwrite(bytearray(512), 0)
    c2 = h2.aio_pwrite(bytearray(512), 0)
    while h.aio_in_flight() or h2.aio_in_flight():
        h.poll(10); h2.poll(10)
'
    tested=1
else
    msg "TSan not available: $(head -n 1 "$tmpdir/cc-race.log")"
fi

[ -n "${tested-}" ] || skip "no sanitizer runtime for $CC"
