# procstat.py: what run-bench reads from /proc about a server.
#
# A server is a process tree: nbdkit and qemu-nbd are one process with many
# threads, nbd-server forks a child per connection.  /proc/PID/stat of a
# process already sums all its threads (live and exited); the time of
# children that have exited and been reaped is in its cutime/cstime.  So the
# CPU time of a tree is the sum of utime+stime+cutime+cstime over the root and
# its live descendants, and it never goes backwards while the root lives.

import os
import threading

CLK_TCK = os.sysconf("SC_CLK_TCK")
MEM_KEYS = ("VmRSS", "VmLck", "VmPin")


def _stat_fields(pid):
    """Fields 3.. of /proc/PID/stat (after the command name), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def proc_tree(pid):
    """pid and all its live descendants."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def tree_cpu_seconds(pid):
    """User+system CPU seconds used so far by the tree rooted at pid."""
    ticks = 0
    for p in proc_tree(pid):
        fields = _stat_fields(p)
        if fields:
            # fields[0] is stat field 3; utime..cstime are fields 14..17.
            ticks += sum(int(x) for x in fields[11:15])
    return ticks / CLK_TCK


def proc_status_kb(pid, keys=MEM_KEYS):
    """Selected 'kB' lines of /proc/PID/status (0 when absent)."""
    out = dict.fromkeys(keys, 0)
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in out:
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def tree_memory_kb(pid):
    """VmRSS, VmLck, VmPin summed over the tree (shared pages count twice)."""
    total = dict.fromkeys(MEM_KEYS, 0)
    for p in proc_tree(pid):
        for k, v in proc_status_kb(p).items():
            total[k] += v
    return total


def host_cpu_times():
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]          # idle + iowait
    total = sum(fields[:8])               # through steal; guest is in user
    return total - idle, total


class MemorySampler:
    """Records the peak memory of a process tree, sampled by a thread while
    a job runs (the figures that matter exist only while clients are
    connected)."""

    def __init__(self, pid, interval=0.1):
        self.pid = pid
        self.interval = interval
        self.peak = dict.fromkeys(MEM_KEYS, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            m = tree_memory_kb(self.pid)
            for k in MEM_KEYS:
                self.peak[k] = max(self.peak[k], m[k])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
