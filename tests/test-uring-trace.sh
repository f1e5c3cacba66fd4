#!/usr/bin/env bash
# uringblk: what the plugin submits to io_uring, seen by the kernel.
#
# The io_uring_submit_req tracepoint records every SQE the kernel takes
# from nbdkit's rings (opcode and request flags; flag 0x4 is
# IOSQE_IO_LINK).  In a private tracefs instance limited to the nbdkit
# process and its threads, a fixed workload (FUA writes, plain writes,
# plain reads, no flush) must produce:
#   fua=link:           each FUA write is a WRITE_FIXED carrying the
#                       link flag, followed on the same ring by an
#                       FSYNC; plain writes are WRITE_FIXED without link;
#                       reads are READ_FIXED;
#   fua=dsync:          WRITE_FIXED without link and no FSYNC at all;
#   fixed-buffers=off:  plain READ and WRITE, never the _FIXED forms;
#   fua=link with 2 x 4K buffers, 16K FUA writes (larger than the
#                       buffer area, so split in 4 pieces): the
#                       linked piece is submitted only when every other
#                       piece of the request has completed (nothing else
#                       outstanding on its ring), since a linked fsync
#                       orders itself after its own write only.

source "${srcdir:-$(dirname "$0")}/functions.sh"
requires nbdkit nbdsh /usr/bin/python3
requires_root "kernel tracing"

nbdkit "$PLUGIN" --dump-plugin | grep -qx 'uring_available=yes' ||
    skip "io_uring is not available on this machine"

# Find or mount tracefs.
tracefs=
for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
    if [ -d "$d/instances" ]; then tracefs="$d"; break; fi
done
if [ -z "$tracefs" ]; then
    mkdir "$tmpdir/tracefs"
    mount_tracked -t tracefs nodev "$tmpdir/tracefs" 2>/dev/null ||
        skip "tracefs is not available (mount -t tracefs failed)"
    tracefs="$tmpdir/tracefs"
fi
[ -d "$tracefs/events/io_uring/io_uring_submit_req" ] ||
    skip "the kernel has no io_uring tracepoints"

# A private instance so that nothing else's tracing is disturbed.
inst="$tracefs/instances/uringblk-$$"
mkdir "$inst" || skip "cannot create a tracefs instance"
cleanup_push "rmdir '$inst' 2>/dev/null"

disk="$tmpdir/disk.img"
make_sparse "$disk" 16M

cat >"$tmpdir/workload.py" <<'PY'
# 8 FUA writes, 8 plain writes, 8 reads, at distinct 4K blocks; no flush.
for i in range(8):
    h.pwrite(bytes([i + 1]) * 4096, i * 65536, nbd.CMD_FLAG_FUA)
for i in range(8):
    h.pwrite(bytes([i + 101]) * 4096, (i + 64) * 65536)
for i in range(8):
    assert h.pread(4096, i * 65536) == bytes([i + 1]) * 4096
PY
cat >"$tmpdir/split.py" <<'PY'
# 4 FUA writes of 16K each, one after the other.
for i in range(4):
    h.pwrite(bytes([i + 1]) * 16384, i * 65536, nbd.CMD_FLAG_FUA)
    assert h.pread(16384, i * 65536) == bytes([i + 1]) * 16384
PY

# trace_config NAME WORKLOAD PARAMS...: run the workload under tracing
# and leave the events in $tmpdir/NAME.subs as lines
#   S RING OPCODE FLAGS        (a submission)
#   C RING USER_DATA RESULT    (a completion)
trace_config ()
{
    local name="$1" workload="$2"
    shift 2
    make_sparse "$disk" 16M
    start_server "$PLUGIN" file="$disk" "$@"
    echo 0 >"$inst/tracing_on"
    echo >"$inst/trace"
    echo 1 >"$inst/options/event-fork"
    cat "$pidfile" >"$inst/set_event_pid"
    echo 1 >"$inst/events/io_uring/io_uring_submit_req/enable"
    echo 1 >"$inst/events/io_uring/io_uring_complete/enable"
    echo 1 >"$inst/tracing_on"
    nbdsh -u "$uri" -c "exec(open('$tmpdir/$workload.py').read())" ||
        fail "workload ($*)"
    echo 0 >"$inst/tracing_on"
    stop_server
    cat "$inst/trace" >"$tmpdir/$name.trace"
    echo 0 >"$inst/events/io_uring/io_uring_submit_req/enable"
    echo 0 >"$inst/events/io_uring/io_uring_complete/enable"
    echo >"$inst/set_event_pid"
    sed -n -e 's/.*io_uring_submit_req: ring \([0-9a-fx]*\),.* opcode \([A-Z_]*\), flags \(0x[0-9a-f]*\).*/S \1 \2 \3/p' \
           -e 's/.*io_uring_complete: ring \([0-9a-fx]*\),.* user_data \(0x[0-9a-f]*\), result \(-*[0-9]*\).*/C \1 \2 \3/p' \
        "$tmpdir/$name.trace" >"$tmpdir/$name.subs"
    grep -q '^S' "$tmpdir/$name.subs" || {
        tail -n 20 "$tmpdir/$name.trace" >&2
        fail "no io_uring submissions traced for nbdkit ($*)"
    }
    msg "$name: $(awk '$1 == "S" { print $3 }' "$tmpdir/$name.subs" |
                  sort | uniq -c | tr -s ' \n' ' ')"
}

# check NAME: python expressions over the submissions.
check ()
{
    /usr/bin/python3 - "$tmpdir/$1.subs" "$1" <<'PY' || fail "$1: wrong submissions"
import sys
events = [l.split() for l in open(sys.argv[1])]
subs = [e[1:] for e in events if e[0] == "S"]      # ring, opcode, flags
name = sys.argv[2]
LINK = 0x4
def count(op, link=None):
    return sum(1 for r, o, f in subs
               if o == op and (link is None or bool(int(f, 16) & LINK) == link))
errors = []
if name == "link":
    # Every linked write must be followed on its ring by an FSYNC.
    linked = 0
    for i, (ring, op, fl) in enumerate(subs):
        if op.startswith("WRITE") and int(fl, 16) & LINK:
            linked += 1
            nxt = next((o for r, o, f in subs[i + 1:] if r == ring), None)
            if nxt != "FSYNC":
                errors.append("linked %s at #%d followed by %s, not FSYNC"
                              % (op, i, nxt))
    if linked < 8:
        errors.append("%d linked writes, expected 8 (one per FUA write)" % linked)
    if count("WRITE_FIXED", link=True) < 8:
        errors.append("FUA writes are not WRITE_FIXED with IO_LINK")
    if count("FSYNC") < 8:
        errors.append("%d FSYNC, expected at least 8" % count("FSYNC"))
    if count("WRITE_FIXED", link=False) < 8:
        errors.append("plain writes are not unlinked WRITE_FIXED")
    if count("READ_FIXED") < 8 or count("READ") > 0:
        errors.append("reads are not READ_FIXED")
elif name == "dsync":
    if count("FSYNC") != 0:
        errors.append("%d FSYNC submitted with fua=dsync" % count("FSYNC"))
    if count("WRITE_FIXED", link=True) != 0:
        errors.append("linked writes with fua=dsync")
    if count("WRITE_FIXED") < 16:
        errors.append("%d WRITE_FIXED, expected 16" % count("WRITE_FIXED"))
    if count("READ_FIXED") < 8:
        errors.append("reads are not READ_FIXED")
elif name == "split":
    # Outstanding operations per ring when each linked write goes out.
    outstanding, linked = {}, 0
    for i, e in enumerate(events):
        ring = e[1]
        if e[0] == "S":
            if e[2].startswith("WRITE") and int(e[3], 16) & LINK:
                linked += 1
                if outstanding.get(ring, 0):
                    errors.append("linked write #%d submitted with %d other "
                                  "operations of its ring still in flight"
                                  % (i, outstanding[ring]))
            outstanding[ring] = outstanding.get(ring, 0) + 1
        else:
            outstanding[ring] = outstanding.get(ring, 0) - 1
            if int(e[3]) < 0:
                errors.append("completion #%d failed: %s" % (i, e[3]))
    if linked != 4:
        errors.append("%d linked writes, expected 4" % linked)
    if count("WRITE_FIXED", link=False) != 12:
        errors.append("%d unlinked pieces, expected 12 (3 per request)"
                      % count("WRITE_FIXED", link=False))
    if count("FSYNC") != 4:
        errors.append("%d FSYNC, expected 4" % count("FSYNC"))
    if sum(1 for e in events if e[0] == "C") == 0:
        errors.append("no completions traced")
elif name == "unfixed":
    fixed = count("READ_FIXED") + count("WRITE_FIXED")
    if fixed:
        errors.append("%d _FIXED ops with fixed-buffers=off" % fixed)
    if count("READ") < 8 or count("WRITE") < 16:
        errors.append("reads/writes are not plain READ/WRITE")
for e in errors:
    print(name + ":", e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
}

trace_config link workload fua=link
check link
trace_config dsync workload fua=dsync
check dsync
trace_config unfixed workload fixed-buffers=off fua=dsync
check unfixed
trace_config split split fua=link buffer-size=4K buffers=2
check split
