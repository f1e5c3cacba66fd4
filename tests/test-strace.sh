#!/usr/bin/env bash
# uringblk: the system calls that set up the I/O path (strace).
#
# With the defaults, the backing must be opened read-write with
# O_DIRECT, and each worker's ring must register its buffer area (one
# buffer-size to begin with, here 64K, plus 8K of edge blocks) and the
# O_DIRECT descriptor as its fixed file; the ring that serves the 300 KB
# write must unregister that and register its area grown to buffers x
# buffer-size (3 x 64K, to check that the parameters are applied).  With
# direct=off the read-write open has no O_DIRECT; with fixed-buffers=off
# and fixed-file=off the corresponding registrations do not happen for
# the worker rings.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit nbdsh strace /usr/bin/python3
strace -f -o /dev/null true 2>/dev/null ||
    skip "strace cannot trace here (ptrace not permitted)"
nbdkit "$PLUGIN" --dump-plugin | grep -qx 'uring_available=yes' ||
    skip "io_uring is not available on this machine"

disk="$tmpdir/disk.img"
make_sparse "$disk" 16M

# strace_config NAME PARAMS...: serve, run a small workload, and leave
# the trace in $tmpdir/NAME.strace.
strace_config ()
{
    local name="$1"
    shift
    server_wrapper=(strace -f -qq -o "$tmpdir/$name.strace"
                    -e trace=openat,io_uring_setup,io_uring_register)
    start_server "$PLUGIN" file="$disk" "$@"
    server_wrapper=()
    nbdsh -u "$uri" -c '
h.pwrite(b"\x5a" * 8192, 4096, nbd.CMD_FLAG_FUA)
h.pwrite(b"\x5b" * 300032, 65536)
assert h.pread(8192, 4096) == b"\x5a" * 8192
' || fail "workload ($*)"
    stop_server
    [ -s "$tmpdir/$name.strace" ] || fail "no strace output ($*)"
}

# check NAME PYTHON-CONDITIONS: evaluated over the strace lines.
check ()
{
    /usr/bin/python3 - "$tmpdir/$1.strace" "$disk" "$1" <<'PY' ||
import re, sys
# strace -f splits a call that another thread interrupts into
# "PID call(args <unfinished ...>" and "PID <... call resumed>rest":
# join them back into one line.
lines, pending = [], {}
for l in open(sys.argv[1]).read().splitlines():
    pid, _, rest = l.partition(' ')
    rest = rest.lstrip()        # strace pads the PID column
    if l.endswith('<unfinished ...>'):
        pending[pid] = l[:-len('<unfinished ...>')].rstrip()
        continue
    m = re.match(r'<\.\.\. \w+ resumed>(.*)', rest)
    if m and pid in pending:
        l = pending.pop(pid) + m.group(1)
    lines.append(l)
disk, name = sys.argv[2], sys.argv[3]
errors = []
# Read-write opens of the backing, and the descriptors they returned.
rw = [l for l in lines
      if 'openat(' in l and '"%s"' % disk in l and 'O_RDWR' in l]
rw_fds = [m.group(1) for l in rw for m in [re.search(r'= (\d+)$', l)] if m]
direct_rw = [l for l in rw if 'O_DIRECT' in l]
bufs = [l for l in lines if 'IORING_REGISTER_BUFFERS' in l and l.endswith('= 0')]
def area(l):
    m = re.search(r'\[\{iov_base=0x[0-9a-f]+, iov_len=(\d+)\}, '
                  r'\{iov_base=0x[0-9a-f]+, iov_len=8192\}\], 2\)', l)
    return int(m.group(1)) if m else None
def ring_fd(l):
    return re.search(r'io_uring_register\((\d+),', l).group(1)
worker_bufs = [l for l in bufs if area(l) == 65536]
grown = [l for l in bufs if area(l) == 3 * 65536]
unreg = [(i, ring_fd(l)) for i, l in enumerate(lines)
         if 'IORING_UNREGISTER_BUFFERS' in l and l.endswith('= 0')]
files = [l for l in lines if 'IORING_REGISTER_FILES' in l and l.endswith('= 0')]
setups = [l for l in lines if "io_uring_setup(" in l and re.search(r"= \d+$", l)]

if not rw:
    errors.append("the backing was never opened read-write")
if not setups:
    errors.append("no io_uring_setup")
if name in ("default", "nofixedbuf", "nofixedfile"):
    if len(direct_rw) != len(rw):
        errors.append("read-write open without O_DIRECT: %r" % rw)
if name == "buffered" and direct_rw:
    errors.append("O_DIRECT with direct=off: %r" % direct_rw)
if name in ("default", "buffered", "nofixedfile"):
    if not worker_bufs:
        errors.append("no worker ring registered a 64K area + 8K edge")
    if not grown:
        errors.append("no worker ring grew its area to 3 x 64K")
    for l in grown:
        i = lines.index(l)
        if not any(j < i and fd == ring_fd(l) for j, fd in unreg):
            errors.append("area grown without unregistering first: " + l)
if name == "nofixedbuf" and (worker_bufs or grown):
    errors.append("buffers registered with fixed-buffers=off")
if name in ("default", "buffered", "nofixedbuf"):
    if not files:
        errors.append("no fixed file registered")
    for l in files:
        m = re.search(r'IORING_REGISTER_FILES, \[(\d+)\]', l)
        if not m or m.group(1) not in rw_fds:
            errors.append("registered file is not the backing's "
                          "read-write descriptor: %s" % l)
if name == "nofixedfile" and files:
    errors.append("a file registered with fixed-file=off")
for e in errors:
    print(name + ":", e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
        { grep -E 'openat|io_uring' "$tmpdir/$1.strace" | cut -c1-300 >&2
          fail "$1: unexpected system calls"; }
    msg "$1: ok"
}

strace_config default buffer-size=64K buffers=3
check default
strace_config buffered buffer-size=64K buffers=3 direct=off
check buffered
strace_config nofixedbuf buffer-size=64K buffers=3 fixed-buffers=off
check nofixedbuf
strace_config nofixedfile buffer-size=64K buffers=3 fixed-file=off
check nofixedfile
