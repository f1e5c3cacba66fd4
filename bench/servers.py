# servers.py: the NBD servers run-bench compares, each started on a Unix
# socket and stopped by its pid.
#
# All of them serve the same backing file; they are all started before the
# first job and stay up (idle) while the others are measured, so the order of
# jobs can alternate between servers freely.  nbdkit and qemu-nbd are our
# children (foreground, killed by the kernel if run-bench dies: nbdkit through
# --exit-with-parent, qemu-nbd through PR_SET_PDEATHSIG); nbd-server
# daemonises and is found through its pid file.

import ctypes
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse

from procstat import proc_tree

PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: the server gets SIGTERM when run-bench exits."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def wait_for_socket(path, proc=None, timeout=15.0):
    """Wait until something accepts connections on the Unix socket path."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with status %d before listening"
                               % (proc.args[0], proc.returncode))
        if os.path.exists(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return
            except OSError:
                pass
            finally:
                s.close()
        time.sleep(0.05)
    raise RuntimeError("nothing listening on %s after %gs" % (path, timeout))


def _alive(pid):
    """True while pid exists and is not a zombie (a child of ours that has
    exited stays in /proc until we reap it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _kill_tree(pids, timeout=10.0):
    """SIGTERM every pid, SIGKILL whatever is left after timeout."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pids:
            try:
                os.kill(p, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(_alive(p) for p in pids):
                return
            time.sleep(0.02)


class Server:
    """One NBD server on a Unix socket."""

    is_raw = False
    forks = False            # a child process per connection

    def __init__(self, name, desc, export=""):
        self.name = name
        self.desc = desc
        self.export = export
        self.pid = None          # root of the server's process tree
        self.proc = None         # our Popen, when the server is our child
        self.sock = None
        self.command = None
        self.idle_mem = None

    def available(self):
        """None if this server can run here, else why not."""
        return None

    def argv(self, backing, size, workdir):
        raise NotImplementedError

    @property
    def slug(self):
        """The name as a file name and URI component."""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name).strip("_")

    def uri(self):
        return "nbd+unix:///%s?socket=%s" % (
            self.export, urllib.parse.quote(self.sock, safe="/"))

    def _prepare(self, backing, size, workdir, rawdir):
        self.sock = os.path.join(workdir, self.slug + ".sock")
        argv = self.argv(backing, size, workdir)
        self.command = " ".join(shlex.quote(a) for a in argv)
        return argv, os.path.join(rawdir, "server-%s.log" % self.slug)

    def start(self, backing, size, workdir, rawdir):
        argv, logname = self._prepare(backing, size, workdir, rawdir)
        with open(logname, "w") as logf:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=logf, stderr=logf,
                                         preexec_fn=_die_with_parent)
        wait_for_socket(self.sock, self.proc)
        self.pid = self.proc.pid

    def stop(self):
        if self.pid is not None:
            _kill_tree(proc_tree(self.pid))
            if self.proc is not None:
                self.proc.wait()
        self.pid = None
        self.proc = None


class NbdkitServer(Server):
    """nbdkit with a plugin; @BACKING@ and @SIZE@ in params are replaced."""

    def __init__(self, name, desc, plugin, params=(), options=()):
        super().__init__(name, desc)
        self.plugin = plugin
        self.params = list(params)
        self.options = list(options)

    def available(self):
        if not shutil.which("nbdkit"):
            return "nbdkit is not installed"
        if os.sep in self.plugin and not os.path.exists(self.plugin):
            return "%s does not exist (build the plugin first)" % self.plugin
        return None

    def argv(self, backing, size, workdir):
        params = [p.replace("@BACKING@", backing).replace("@SIZE@", str(size))
                  for p in self.params]
        return (["nbdkit", "-f", "--exit-with-parent", "-U", self.sock]
                + self.options + [self.plugin] + params)


class QemuNbdServer(Server):
    def available(self):
        return (None if shutil.which("qemu-nbd")
                else "qemu-nbd is not installed")

    def argv(self, backing, size, workdir):
        # -t: keep serving after the first client leaves; -e: room for the
        # four connections of the multi-connection job and fio's probe.
        return ["qemu-nbd", "-t", "-e", "16", "-k", self.sock, "-f", "raw",
                "--aio=io_uring", "--cache=none", backing]


class NbdServerServer(Server):
    """nbd-server daemonises (its -d mode serves one client and exits) and
    forks a child per connection."""

    forks = True

    def __init__(self, name, desc):
        super().__init__(name, desc, export="bench")
        self.pidfile = None

    def available(self):
        return (None if shutil.which("nbd-server")
                else "nbd-server is not installed")

    def argv(self, backing, size, workdir):
        conf = os.path.join(workdir, "nbd-server.conf")
        self.pidfile = os.path.join(workdir, "nbd-server.pid")
        with open(conf, "w") as f:
            f.write("[generic]\n"
                    "unixsock = %s\n"
                    "[%s]\n"
                    "exportname = %s\n"
                    "flush = true\n"
                    "fua = true\n" % (self.sock, self.export, backing))
        return ["nbd-server", "-C", conf, "-p", self.pidfile]

    def start(self, backing, size, workdir, rawdir):
        argv, logname = self._prepare(backing, size, workdir, rawdir)
        with open(logname, "w") as logf:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=logf,
                               stderr=logf, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("nbd-server exited with status %d, see %s"
                               % (r.returncode, logname))
        wait_for_socket(self.sock)
        with open(self.pidfile) as f:
            self.pid = int(f.read().split()[0])


class RawDisk(Server):
    """No server: fio's io_uring engine on the backing file, direct=1."""

    is_raw = True

    def start(self, backing, size, workdir, rawdir):
        self.command = ("fio --ioengine=io_uring --direct=1 --fixedbufs "
                        "--registerfiles --filename=%s" % backing)

    def stop(self):
        pass


def split_uring_args(text):
    """'-t 4 fua=dsync' -> (nbdkit options, plugin parameters): key=value
    words go to the plugin, everything else to nbdkit."""
    options, params = [], []
    for tok in shlex.split(text or ""):
        if "=" in tok and not tok.startswith("-"):
            params.append(tok)
        else:
            options.append(tok)
    return options, params


def make_servers(plugin, uring_args="", variants=()):
    """Every server, in the order they appear in tables and plots."""
    opts, params = split_uring_args(uring_args)
    servers = [
        NbdkitServer("uringblk",
                     "nbdkit + uring plugin"
                     + (" " + uring_args if uring_args else ""),
                     plugin, ["file=@BACKING@"] + params, opts),
    ]
    for v in variants:
        vopts, vparams = split_uring_args(v)
        # A path to a .so among the words serves with that build of the
        # plugin instead (A/B comparisons of two builds in one run).
        vplugin = plugin
        for tok in list(vopts):
            if tok.endswith(".so") and os.sep in tok:
                vplugin = tok
                vopts.remove(tok)
        servers.append(NbdkitServer(
            "uringblk[%s]" % " ".join(shlex.split(v)),
            "nbdkit + uring plugin " + v, vplugin,
            ["file=@BACKING@"] + vparams, vopts))
    servers += [
        NbdkitServer("nbdkit-file", "nbdkit file plugin, cache=none", "file",
                     ["file=@BACKING@", "cache=none"]),
        QemuNbdServer("qemu-nbd", "qemu-nbd, io_uring, O_DIRECT"),
        NbdServerServer("nbd-server",
                        "nbd-server, flush and fua on (page cache)"),
        NbdkitServer("nbdkit-null", "nbdkit null: no storage, the ceiling "
                     "of any nbdkit plugin", "null", ["@SIZE@"]),
        RawDisk("raw-disk", "no server: the file through fio's io_uring "
                "engine, O_DIRECT"),
    ]
    return servers
