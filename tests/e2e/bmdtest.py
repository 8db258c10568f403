"""Helpers of the bmd end-to-end tests (also used by bench/): a private bmd,
bmdctl, the test guest's configuration and its serial console.

Everything a test starts lives in one short temporary directory (UNIX socket
paths are limited to 108 bytes), with its own global section, so that several
daemons can run side by side and nothing touches /run.
"""

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("BMD_BUILD") or os.path.join(TOP, "build")
GUEST_DIR = os.path.join(TOP, "tests", "guest", "out")
KERNEL = os.path.join(GUEST_DIR, "vmlinuz")
INITRD = os.path.join(GUEST_DIR, "initrd.gz")
ACCEL = os.environ.get("BMD_TEST_ACCEL", "tcg")
BANNER = b"BMD-GUEST-READY"
PROTO_VERSION = 1

# Generous: a TCG boot takes ~5 s here, more when several guests boot at
# once.  These bound a wait; they are not performance assertions.
BOOT_TIMEOUT = 60
STATE_TIMEOUT = 60


class TestError(AssertionError):
    pass


def wait_until(pred, timeout, what, interval=0.1):
    """Poll pred() until it returns a true value; return it, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(interval)


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode() for a in f.read().split(b"\0")[:-1]]
    except OSError:
        return None


def pids_mentioning(text):
    """Live processes whose command line contains text (our temp dir)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        argv = proc_cmdline(int(d))
        if argv and any(text in a for a in argv) and pid_alive(int(d)):
            found.append(int(d))
    return found


def fd_holders(path):
    """Pids of the processes with a descriptor open on path."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == path:
                    found.append(int(pid))
            except OSError:
                pass
    return found


def frame(obj):
    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return struct.pack(">I", len(data)) + data


def recv_exact(sock, n):
    """Exactly n bytes; fewer if the peer closed first."""
    buf = b""
    while len(buf) < n:
        try:
            data = sock.recv(n - len(buf))
        except ConnectionResetError:
            data = b""
        if not data:
            break
        buf += data
    return buf


def recv_frame(sock, timeout=10):
    """One reply frame as an object; None if the peer closed first.  Reads
    no further than the frame, so pipelined replies stay in the socket."""
    sock.settimeout(timeout)
    hdr = recv_exact(sock, 4)
    if len(hdr) < 4:
        return None
    n = struct.unpack(">I", hdr)[0]
    body = recv_exact(sock, n)
    if len(body) < n:
        return None
    return json.loads(body)


def connect_unix(path, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise TestError("cannot connect to %s" % path)
            time.sleep(0.02)


def attach_console(ctl_path, name, port="com1", mode="force", replay=False,
                   timeout=BOOT_TIMEOUT):
    """A session on a VM's serial port through bmd's console broker (bmd
    holds QEMU's chardev socket, which takes one client): the socket bmd
    passes with its reply, raw bytes both ways.  Retried while the VM is
    not running yet."""
    deadline = time.monotonic() + timeout
    req = {"version": PROTO_VERSION, "command": "console", "name": name,
           "port": port, "mode": mode, "replay": replay}
    while True:
        s = connect_unix(ctl_path, timeout)
        s.settimeout(10)
        s.sendall(frame(req))
        hdr, fds, _, _ = socket.recv_fds(s, 4, 1)
        hdr += recv_exact(s, 4 - len(hdr)) if 0 < len(hdr) < 4 else b""
        body = recv_exact(s, struct.unpack(">I", hdr)[0]) if len(hdr) == 4 else b""
        s.close()
        reply = json.loads(body) if body else {"error": "no reply"}
        if reply.get("ok") and fds:
            return socket.socket(fileno=fds[0])
        for fd in fds:
            os.close(fd)
        if time.monotonic() > deadline:
            raise TestError("console %s %s: %s" % (name, port, reply.get("error")))
        time.sleep(0.05)


class Serial:
    """A VM's serial port through bmd (attach_console, taking it over, no
    scrollback: what the guest writes from now on).  A background thread
    keeps reading.  path is RUN_DIR/NAME.comN; the control socket is
    ctl, by default bmd.sock next to the run directory (class Bmd)."""

    def __init__(self, path, timeout=BOOT_TIMEOUT, ctl=None):
        self.path = path
        name, port = os.path.basename(path).rsplit(".", 1)
        ctl = ctl or os.path.join(os.path.dirname(os.path.dirname(path)), "bmd.sock")
        self.sock = attach_console(ctl, name, port, timeout=timeout)
        self.buf = bytearray()
        self.cond = threading.Condition()
        self.eof = False
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()

    def _reader(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            with self.cond:
                if not data:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.buf += data
                self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.buf)

    def wait_for(self, pattern, timeout=BOOT_TIMEOUT, start=0):
        """Wait until regex pattern (bytes) matches after offset start."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.buf, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise TestError("no %r on %s within %ss%s; output tail:\n%s"
                                    % (pattern, self.path, timeout,
                                       " (connection closed)" if self.eof else "",
                                       self.tail()))
                self.cond.wait(min(left, 0.5))

    def wait_banner(self, timeout=BOOT_TIMEOUT, start=0):
        return self.wait_for(re.escape(BANNER), timeout, start)

    def count(self, needle):
        with self.cond:
            return self.buf.count(needle)

    def send(self, text):
        self.sock.sendall(text.encode())

    def run(self, command, timeout=30):
        """Type a shell command and wait until it has run: the guest answers
        MARK<n> computed by the shell, which cannot appear in the echo."""
        n = int(time.monotonic() * 1000) % 100000
        start = self.mark()
        self.send("%s; echo MARK$((%d+1))\r" % (command, n))
        self.wait_for(b"MARK%d" % (n + 1), timeout, start)

    def wait_closed(self, timeout):
        with self.cond:
            deadline = time.monotonic() + timeout
            while not self.eof and time.monotonic() < deadline:
                self.cond.wait(0.2)
            return self.eof

    def tail(self, n=1500):
        return bytes(self.buf[-n:]).decode("utf-8", "replace")

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


def guest_vm(name, boot="yes", flags="", **keys):
    """The configuration of one test-guest VM; keys add or override keys."""
    cmdline = "console=ttyS0 quiet panic=-1"
    if flags:
        cmdline += " " + flags
    k = {
        "backend": "qemu",
        "memory": "128M",
        "ncpu": "1",
        "kernel": KERNEL,
        "initrd": INITRD,
        "cmdline": '"%s"' % cmdline,
        "accel": ACCEL,
        "com1": "auto",
        "boot": boot,
        "stop_timeout": "30",
    }
    for key, v in keys.items():
        if v is None:
            k.pop(key, None)
        else:
            k[key] = str(v)
    body = "".join("\t%s = %s;\n" % kv for kv in k.items())
    return "vm %s {\n%s}\n" % (name, body)


class Bmd:
    """A private daemon in its own temporary directory."""

    def __init__(self, prefix="bmd-e2e-"):
        self.dir = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        self.sock = os.path.join(self.dir, "bmd.sock")
        self.run_dir = os.path.join(self.dir, "run")
        self.vars_dir = os.path.join(self.dir, "vars")
        os.makedirs(self.vars_dir)
        self.conf = os.path.join(self.dir, "bmd.conf")
        self.log_path = os.path.join(self.dir, "bmd.log")
        self.proc = None
        self.serials = []
        self.exit_status = None
        # bmdctl finds the socket through the configuration, as a user's
        # does; tests that break the configuration pass -s instead
        self.ctl_via_socket = False
        self.global_extra = ""          # more lines for the global section
        self.env = None                 # bmd's environment; None: ours
        self.wrap = []                  # a command bmd is run through

    # ---- configuration ----
    def global_section(self):
        return ("global {\n\tcmd_socket_path = %s;\n\trun_directory = %s;\n"
                "\tpid_file = %s;\n\tvars_directory = %s;\n%s}\n"
                % (self.sock, self.run_dir, os.path.join(self.dir, "bmd.pid"),
                   self.vars_dir, self.global_extra))

    def write_config(self, *vms, raw=None):
        """Write the global section and the VM sections (or raw text)."""
        text = raw if raw is not None else self.global_section() + "".join(vms)
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.conf)

    # ---- the daemon ----
    def start(self, *vms, wait=True, args=()):
        if vms:
            self.write_config(*vms)
        self.log = open(self.log_path, "ab")
        self.t_exec = time.monotonic()
        self.proc = subprocess.Popen(
            self.wrap + [os.path.join(BUILD, "bmd"), "-F", "-f", self.conf]
            + list(args), env=self.env,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def answers(self):
        """True when the control socket answers a list request."""
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall(frame({"version": PROTO_VERSION, "command": "list"}))
            r = recv_frame(s, 5)
            s.close()
            return r is not None
        except OSError:
            return False

    def wait_ready(self, timeout=30):
        def ready():
            if self.proc.poll() is not None:
                raise TestError("bmd exited with status %s before answering; "
                                "log:\n%s" % (self.proc.returncode, self.log_text()))
            return self.answers()
        wait_until(ready, timeout, "bmd to answer on %s" % self.sock, 0.01)
        self.t_ready = time.monotonic()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self):
        """SIGHUP, then wait until the daemon answers again."""
        mark = len(self.log_text())
        self.signal(signal.SIGHUP)
        time.sleep(0.3)
        wait_until(self.answers, 30, "bmd to answer after SIGHUP")
        return mark

    def terminate(self, timeout=120):
        """SIGTERM and wait for the exit status (None if it did not exit)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.exit_status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.exit_status = None
        return self.exit_status

    def leftovers(self):
        """Live processes other than bmd itself that mention our dir."""
        return [p for p in pids_mentioning(self.dir)
                if self.proc is None or p != self.proc.pid]

    def stray_qemus(self):
        return [p for p in self.leftovers()
                if "qemu" in os.path.basename((proc_cmdline(p) or [""])[0])]

    def qemus(self):
        """{VM name: pid} of the live QEMU processes of this daemon."""
        found = {}
        for p in self.stray_qemus():
            argv = proc_cmdline(p) or []
            if "-name" in argv[:-1]:
                found[argv[argv.index("-name") + 1]] = p
        return found

    def cleanup(self, keep=False):
        """Stop everything; return a list of problems found on the way."""
        problems = []
        for s in self.serials:
            s.close()
        if self.proc is not None and self.proc.poll() is None:
            rc = self.terminate()
            if rc is None:
                problems.append("bmd did not exit within 120 s of SIGTERM")
                self.proc.kill()
                self.proc.wait()
            elif rc != 0:
                problems.append("bmd exited with status %s after SIGTERM" % rc)
        left = self.leftovers()
        if left:
            problems.append("left running after bmd exited: %s" % ", ".join(
                "%d (%s)" % (p, " ".join((proc_cmdline(p) or ["?"])[:3]))
                for p in left))
            for p in left:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
        if hasattr(self, "log"):
            self.log.close()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        return problems

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_log(self, pattern, timeout=30, start=0):
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log_text(), start), timeout,
                          "%r in the bmd log" % pattern)

    # ---- bmdctl ----
    def bmdctl(self, *args, timeout=30):
        where = ["-s", self.sock] if self.ctl_via_socket else ["-f", self.conf]
        p = subprocess.run([os.path.join(BUILD, "bmdctl")] + where
                           + [str(a) for a in args],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def vms(self):
        rc, out, err = self.bmdctl("list", "--json")
        if rc != 0:
            raise TestError("bmdctl list --json failed (%d): %s" % (rc, err))
        return json.loads(out)

    def vm(self, name):
        """The list --json object of a VM, or None if not listed."""
        for v in self.vms():
            if v.get("name") == name:
                return v
        return None

    def state(self, name):
        v = self.vm(name)
        return v["state"] if v else None

    def wait_state(self, name, states, timeout=STATE_TIMEOUT):
        if isinstance(states, str):
            states = (states,)
        last = []

        def check():
            v = self.vm(name)
            last[:] = [v]
            return v if v and v["state"] in states else None
        try:
            return wait_until(check, timeout, "%s to be %s" % (name, "/".join(states)), 0.1)
        except TestError as e:
            raise TestError("%s; last seen: %s" % (e, last[0] if last else None))

    def wait_running(self, name, timeout=STATE_TIMEOUT):
        """Wait for RUN with a live QEMU; return its pid."""
        v = self.wait_state(name, "RUN", timeout)
        pid = wait_until(lambda: (self.vm(name) or {}).get("pid"), timeout,
                         "%s to have a pid" % name)
        if not pid_alive(pid):
            raise TestError("%s is RUN with pid %s, which is not alive" % (name, v))
        return pid

    def wait_new_pid(self, name, old, timeout=STATE_TIMEOUT):
        def check():
            v = self.vm(name)
            if v and v["state"] == "RUN" and v.get("pid") not in (None, old):
                return v["pid"]
            return None
        return wait_until(check, timeout, "%s to run with a new QEMU pid" % name)

    # ---- consoles ----
    def com1_path(self, name):
        return os.path.join(self.run_dir, "%s.com1" % name)

    def serial(self, name, timeout=BOOT_TIMEOUT):
        s = Serial(self.com1_path(name), timeout, ctl=self.sock)
        self.serials.append(s)
        return s

    def boot_to_banner(self, name):
        """Wait for RUN, attach to com1 and wait for the banner: (pid, serial)."""
        return self.boot_all_to_banner(name)[0]

    def boot_all_to_banner(self, *names):
        """Like boot_to_banner for VMs booting together: every com1 is
        attached before waiting for any banner (QEMU drops the output of a
        port nobody is connected to).  A list of (pid, serial)."""
        got = []
        for name in names:
            got.append([self.wait_running(name), self.serial(name)])
        for pid, s in got:
            s.wait_banner()
        return [tuple(g) for g in got]
