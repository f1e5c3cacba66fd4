# report.py: turn run-bench's measurements into results.md, the CSV files,
# the target verdicts and bench.png.
#
# Every figure reported is the median over the repetitions of one
# (server, workload) pair; ratios are taken between those medians.

import csv
import datetime
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess

from procstat import MEM_KEYS

METRICS = ("iops", "mib_s", "clat_p50_us", "clat_p99_us",
           "server_cpu_us_per_io", "client_cpu_us_per_io", "host_busy_pct",
           "mem_VmRSS", "mem_VmLck", "mem_VmPin")
RUN_COLUMNS = ("rep", "workload", "server", "ios", "iops", "mib_s",
               "clat_p50_us", "clat_p99_us", "server_cpu_s",
               "server_cpu_us_per_io", "client_cpu_us_per_io",
               "host_busy_pct") + tuple(
                   "mem_" + k for k in MEM_KEYS)


def medians(runs):
    """{(server, workload): {metric: median}} from [(rep, wl, sv, rec)]."""
    groups = {}
    for rep, wl, sv, rec in runs:
        groups.setdefault((sv, wl), []).append(rec)
    med = {}
    for key, recs in groups.items():
        recs = [r for r in recs if r]
        if not recs:
            continue
        m = {}
        for k in METRICS:
            vals = [r[k] for r in recs if r.get(k) is not None]
            m[k] = statistics.median(vals) if vals else None
        m["reps"] = len(recs)
        med[key] = m
    return med


def fmt(v, digits=0):
    if v is None:
        return "-"
    return "%.*f" % (digits, v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def _sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def describe_plugin(plugin, top_dir):
    """Which uring plugin was measured: file, build time, source commit."""
    try:
        built = datetime.datetime.fromtimestamp(os.path.getmtime(plugin))
    except OSError:
        return "%s (missing)" % plugin
    commit = _sh("git -C %s describe --always --dirty 2>/dev/null"
                 % shlex.quote(top_dir))
    return "%s, built %s%s" % (
        plugin, built.strftime("%Y-%m-%d %H:%M"),
        " (source tree now at %s)" % commit if commit else "")


def describe_machine(backing):
    """[(key, value)] describing the CPU, kernel, disk and software."""
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    hyper = _sh("lscpu | sed -n 's/^Hypervisor vendor: *//p'")
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    q = shlex.quote(backing)
    src = _sh("findmnt -n -o SOURCE -T %s" % q)
    fs = " ".join(_sh("findmnt -n -o FSTYPE,OPTIONS -T %s" % q).split())
    disk = _sh("lsblk -n -d -o PKNAME %s" % shlex.quote(src)) \
        or os.path.basename(src)
    queue = "/sys/block/%s/queue/" % disk

    def sysfs(name):
        try:
            with open(queue + name) as f:
                return f.read().strip()
        except OSError:
            return "?"

    versions = [_sh("nbdkit --version"),
                _sh("qemu-nbd --version | head -1"),
                _sh("nbd-server -V 2>&1 | sed -n 's/^This is //p'"),
                _sh("fio --version"),
                "libnbd " + _sh("/usr/bin/python3 -c 'import nbd; "
                                "print(nbd.NBD().get_version())'")]
    return [
        ("CPUs (nproc)", str(os.cpu_count())),
        ("CPU model", model + (" (%s guest)" % hyper if hyper else "")),
        ("Memory", "%.1f GiB" % (mem_kb / 1048576.0)),
        ("Kernel", platform.release()),
        ("Backing file", "%s: %s, %s" % (backing, src, fs)),
        ("Disk", "%s: rotational=%s, scheduler %s, write cache %s, "
                 "logical block %s, FUA %s"
         % (disk, sysfs("rotational"), sysfs("scheduler"),
            sysfs("write_cache"), sysfs("logical_block_size"), sysfs("fua"))),
        ("Software", "; ".join(v for v in versions if v.strip())),
        ("Load average at start", load_average()),
    ]


def evaluate_targets(med, base="uringblk"):
    """The performance targets as [(target, measured, verdict)]."""
    rows = []

    def get(server, wl, metric="iops"):
        m = med.get((server, wl))
        return m.get(metric) if m else None

    def at_least(text, mine, theirs, goal, unit=""):
        r = ratio(mine, theirs)
        if r is None:
            rows.append((text, "not measured", "n/a"))
        else:
            rows.append((text, "%.2fx (%s vs %s%s)"
                         % (r, fmt(mine), fmt(theirs), unit),
                         "PASS" if r >= goal else "FAIL"))

    for wl, what in (("randread-4k-qd32", "4k randread depth 32"),
                     ("randwrite-4k-qd32", "4k randwrite depth 32")):
        mine = get(base, wl)
        for other, goal in (("qemu-nbd", 1.5), ("nbdkit-file", 2.0)):
            at_least("%s IOPS >= %.1fx %s" % (what, goal, other),
                     mine, get(other, wl), goal)
        ceil = [x for x in (get("nbdkit-null", wl), get("raw-disk", wl))
                if x is not None]
        at_least("%s IOPS >= 0.85x min(nbdkit-null, raw-disk)" % what,
                 mine, min(ceil) if ceil else None, 0.85)
    for wl, what in (("randread-4k-qd32", "4k randread depth 32"),
                     ("randwrite-4k-qd32", "4k randwrite depth 32")):
        mine = get(base, wl, "server_cpu_us_per_io")
        theirs = get("qemu-nbd", wl, "server_cpu_us_per_io")
        r = ratio(mine, theirs)
        text = "%s server CPU per I/O <= 0.7x qemu-nbd" % what
        if r is None:
            rows.append((text, "not measured", "n/a"))
        else:
            rows.append((text, "%.2fx (%.1f vs %.1f us)" % (r, mine, theirs),
                         "PASS" if r <= 0.7 else "FAIL"))
    mine = get(base, "randread-4k-qd1")
    for other, goal in (("qemu-nbd", 1.2), ("nbdkit-file", 1.1)):
        at_least("4k randread depth 1 IOPS >= %.1fx %s" % (goal, other),
                 mine, get(other, "randread-4k-qd1"), goal)
    at_least("flush every 16 writes IOPS >= 1.5x nbdkit-file",
             get(base, "randwrite-4k-qd1-flush16"),
             get("nbdkit-file", "randwrite-4k-qd1-flush16"), 1.5)
    for wl, what in (("read-1m-qd8", "read"), ("write-1m-qd8", "write")):
        at_least("1 MiB sequential %s MiB/s >= 0.9x raw-disk" % what,
                 get(base, wl, "mib_s"), get("raw-disk", wl, "mib_s"), 0.9,
                 " MiB/s")

    one = med.get((base, "randread-4k-qd32"))
    four = med.get((base, "randread-4k-4conn-qd8"))
    text = "4 connections IOPS > 1 connection (32 in flight in both)"
    if not one or not four or not one["iops"] or four["iops"] is None:
        rows.append((text, "not measured", "n/a"))
    else:
        r = four["iops"] / one["iops"]
        raw = get("raw-disk", "randread-4k-qd32")
        busy = one["host_busy_pct"]
        detail = ("%.2fx (%s vs %s; host CPU %s%% busy with 1 connection)"
                  % (r, fmt(four["iops"]), fmt(one["iops"]), fmt(busy)))
        if r > 1.0:
            verdict = "PASS"
        elif busy is not None and busy >= 95:
            verdict = "n/a: CPU-bound at 1 connection"
        elif raw and one["iops"] >= 0.9 * raw:
            verdict = "n/a: disk-bound at 1 connection"
        else:
            verdict = "FAIL"
        rows.append((text, detail, verdict))
    return rows


def memory_rows(servers, med, one_wl, four_wl):
    """[(server, {key: (idle, 1 conn, 4 conn, per extra conn)})] in KiB."""
    rows = []
    for s in servers:
        if s.is_raw:
            continue
        one = med.get((s.name, one_wl)) or {}
        four = med.get((s.name, four_wl)) or {}
        vals = {}
        for k in MEM_KEYS:
            a, b = one.get("mem_" + k), four.get("mem_" + k)
            per = (b - a) / 3.0 if a is not None and b is not None else None
            vals[k] = (s.idle_mem[k] if s.idle_mem else None, a, b, per)
        rows.append((s.name, vals))
    return rows


def _write_csvs(out, servers, workloads, runs, med, base, mem):
    names = [s.name for s in servers]
    with open(os.path.join(out, "runs.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(RUN_COLUMNS)
        for rep, wl, sv, rec in runs:
            if rec:
                row = dict(rec, rep=rep + 1, workload=wl, server=sv)
                wr.writerow(["" if row.get(c) is None else row[c]
                             for c in RUN_COLUMNS])
    cols = ("iops", "mib_s", "clat_p50_us", "clat_p99_us",
            "server_cpu_us_per_io", "client_cpu_us_per_io", "host_busy_pct")
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(("workload", "server") + cols
                    + ("ratio_to_" + base, "reps"))
        for w in workloads:
            b = med.get((base, w.name))
            for n in names:
                m = med.get((n, w.name))
                if m:
                    r = ratio(m["iops"], b["iops"] if b else None)
                    wr.writerow([w.name, n]
                                + [fmt(m[c], 3) if m[c] is not None else ""
                                   for c in cols]
                                + [fmt(r, 3) if r is not None else "",
                                   m["reps"]])
    with open(os.path.join(out, "memory.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        hdr = ["server"]
        for k in MEM_KEYS:
            hdr += ["%s_%s_kib" % (k, x)
                    for x in ("idle", "1conn", "4conn", "per_extra_conn")]
        wr.writerow(hdr)
        for name, vals in mem:
            wr.writerow([name] + ["" if v is None else "%d" % v
                                  for k in MEM_KEYS for v in vals[k]])


def write_report(out, servers, workloads, runs, med, base, machine, notes,
                 command, reps, runtime, started, elapsed, mem_workloads):
    """Writes results.md, results.csv, runs.csv, memory.csv; returns the
    target rows (empty when the baseline is not uringblk)."""
    names = [s.name for s in servers]
    mem = memory_rows(servers, med, *mem_workloads)
    _write_csvs(out, servers, workloads, runs, med, base, mem)
    targets = evaluate_targets(med, base) if base == "uringblk" else []
    for name, v in mem:
        if targets and name == base and v["VmRSS"][3] is not None:
            targets.append((
                "locked and resident memory per connection (reported)",
                "RSS %s KiB, VmLck %s KiB, VmPin %s KiB per connection"
                % (fmt(v["VmRSS"][3]), fmt(v["VmLck"][3]), fmt(v["VmPin"][3])),
                "reported"))

    md = ["# uringblk benchmark results", "",
          "Run %s, %.0f s: %d repetition(s) of %g s per job, servers "
          "alternating; each figure is the median over the repetitions."
          % (started, elapsed, reps, runtime), "",
          "Command: `%s`" % command, "",
          "## Machine", "", "| | |", "|---|---|"]
    for k, v in machine + [("Load average at end", load_average())]:
        md.append("| %s | %s |" % (k, v.replace("|", "/")))
    md += ["", "## Servers", "", "| server | what | command |",
           "|---|---|---|"]
    for s in servers:
        md.append("| %s | %s | `%s` |"
                  % (s.name, s.desc, (s.command or "").replace("|", "/")))
    md += ["", "## Notes", ""] + ["- " + n for n in notes]

    md += ["", "## Throughput", "",
           "IOPS (ratio to %s). For the 1 MiB workloads IOPS = MiB/s." % base,
           "", "| workload | " + " | ".join(names) + " |",
           "|---|" + "---:|" * len(names)]
    for w in workloads:
        b = med.get((base, w.name))
        cells = []
        for n in names:
            m = med.get((n, w.name))
            if not m or m["iops"] is None:
                cells.append("-")
                continue
            r = ratio(m["iops"], b["iops"] if b else None)
            cells.append(fmt(m["iops"]) + ("" if n == base or r is None
                                           else " (%.2fx)" % r))
        md.append("| %s | %s |" % (w.name, " | ".join(cells)))

    md += ["", "## Details", "",
           "p50/p99: completion latency (fio clat; nbd-fua-write: submit to "
           "completion). Server CPU/IO: the server's utime+stime per I/O "
           "(raw-disk has no server). Client CPU/IO: the same for the client "
           "(fio, or nbd-fua-write; for raw-disk this is the whole cost of "
           "the I/O). Host busy: the whole machine.",
           "", "| workload | server | IOPS | MiB/s | p50 us | p99 us | "
           "server CPU/IO us | client CPU/IO us | host busy % |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for w in workloads:
        for n in names:
            m = med.get((n, w.name))
            if m:
                md.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    w.name, n, fmt(m["iops"]), fmt(m["mib_s"], 1),
                    fmt(m["clat_p50_us"], 1), fmt(m["clat_p99_us"], 1),
                    fmt(m["server_cpu_us_per_io"], 1),
                    fmt(m["client_cpu_us_per_io"], 1),
                    fmt(m["host_busy_pct"])))

    md += ["", "## Memory", "",
           "KiB, peak during the job, summed over the server's processes: "
           "idle = before any client, 1 conn = %s, 4 conn = %s, per conn = "
           "(4 conn - 1 conn) / 3. VmLck is mlock()ed memory, VmPin pinned "
           "pages (io_uring registered buffers)." % mem_workloads, "",
           "| server | RSS idle | RSS 1 conn | RSS 4 conn | RSS per conn | "
           "Lck 1 conn | Lck 4 conn | Pin 1 conn | Pin 4 conn | "
           "Pin per conn |", "|---|" + "---:|" * 9]
    for name, v in mem:
        rss, lck, pin = v["VmRSS"], v["VmLck"], v["VmPin"]
        md.append("| %s | %s |" % (name, " | ".join(fmt(x) for x in (
            rss[0], rss[1], rss[2], rss[3], lck[1], lck[2],
            pin[1], pin[2], pin[3]))))

    if targets:
        md += ["", "## Targets", "", "| target | measured | verdict |",
               "|---|---|---|"]
        md += ["| %s | %s | %s |" % t for t in targets]
    md += ["", "## Workloads", ""]
    md += ["- `%s`: %s" % (w.name, w.desc) for w in workloads]
    md.append("")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md))
    return targets


def plot(out, servers, workloads, med, base):
    """bench.png: per workload, each other server's throughput / base's,
    as bars growing up (faster) or down (slower) from 1 on a log scale."""
    others = [s.name for s in servers if s.name != base]
    if not others:
        return None
    if not shutil.which("gnuplot"):
        return "gnuplot is not installed: no bench.png"
    ratios = []
    with open(os.path.join(out, "ratios.tsv"), "w") as f:
        f.write("workload\t" + "\t".join('"%s"' % n for n in others) + "\n")
        for w in workloads:
            b = med.get((base, w.name))
            row = []
            for n in others:
                m = med.get((n, w.name))
                r = ratio(m["iops"] if m else None, b["iops"] if b else None)
                row.append("NaN" if r is None else "%.4f" % r)
                if r:
                    ratios.append(r)
            f.write('"%s"\t%s\n' % (w.name, "\t".join(row)))
    lo = 2.0 ** math.floor(math.log2(min(ratios + [1.0]) / 1.15))
    hi = 2.0 ** math.ceil(math.log2(max(ratios + [1.0]) * 1.15))
    tics = []
    e = int(math.log2(lo))
    while 2.0 ** e <= hi:
        label = "%g" % 2.0 ** e if e >= 0 else "1/%d" % 2 ** -e
        tics.append('"%s" %g' % (label, 2.0 ** e))
        e += 1
    n = len(others)
    with open(os.path.join(out, "plot.gp"), "w") as f:
        f.write("""\
# Generated by run-bench; run `gnuplot plot.gp` in this directory.
set terminal pngcairo size 1400,720 font "Sans,11"
set output "bench.png"
set datafile separator "\\t"
set datafile missing "NaN"
set key autotitle columnhead outside right top noenhanced
set title "Throughput relative to %(base)s (1 = %(base)s; above = faster, \
below = slower)" noenhanced
set logscale y 2
set yrange [%(lo)g / 1.15:%(hi)g * 1.15]
set ytics (%(tics)s)
set grid ytics
set xrange [-0.6:%(xmax)g]
set xtics rotate by -30 left noenhanced nomirror
set ylabel "IOPS (1 MiB jobs: MiB/s) / %(base)s" noenhanced
set bmargin 9
set style fill solid 0.85 border -1
N = %(n)d
bw = 0.8 / N
x(i) = $0 + (i - 2 - (N - 1) / 2.0) * bw
plot for [i=2:N+1] "ratios.tsv" \\
       using (x(i)):(column(i)):(x(i) - 0.45 * bw):(x(i) + 0.45 * bw):\\
             (column(i) < 1 ? column(i) : 1):(column(i) < 1 ? 1 : column(i)) \\
       with boxxyerror title columnheader(i), \\
     "ratios.tsv" using 0:(1):xtic(1) with dots lc rgb "black" notitle, \\
     1 with lines lw 2 lc rgb "black" title "%(base)s"
""" % {"base": base, "lo": lo, "hi": hi, "tics": ", ".join(tics),
           "xmax": len(workloads) - 0.4, "n": n})
    r = subprocess.run(["gnuplot", "plot.gp"], cwd=out,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0:
        return "gnuplot failed: " + r.stdout.strip()
    return None
