"""What root processes do for users (issue 11, items 1, 4, 5, 12, 13, 16),
with real users, real QEMU guests and, for bhyve, stand-in programs.

bhyve, bhyveload and grub-bhyve cannot run on this Linux host.  Their
stand-ins are small shell scripts, named stand-in-*, that follow the
documented interface (argv as bhyve(8), bhyveload(8) and grub-bhyve take
it; bhyve runs until SIGTERM, its ACPI power button) and record their uid,
argv and environment.  bmd runs them from the paths it always uses
(/usr/sbin/bhyve, /usr/sbin/bhyveload, /usr/local/sbin/grub-bhyve): the
test's daemon runs in a private mount namespace where a read-only overlay
adds the stand-ins to those directories, so nothing on the host changes.
"""

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

import pytest

import bmdtest
from bmdtest import wait_until
from test_conf_owner import users  # noqa: F401  (fixture)
from test_plugins import plugin_dir, pbmd  # noqa: F401  (fixtures)
from test_users import Setup, chown, ctl, uid

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="creates users and namespaces: needs root")

LEAK = "BMD_TEST_LEAK"


@pytest.fixture
def setup(bmd, users):  # noqa: F811
    return Setup(bmd)


def environ_of(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return dict(e.decode().split("=", 1) for e in f.read().split(b"\0") if b"=" in e)


def script(path, body, owner="root", mode=0o755):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, mode)
    chown(path, owner)
    return path


# bmd run ignoring signals, as whatever starts it may leave them (a
# background job ignores SIGINT and SIGQUIT; this sandbox's own runner left
# signal 32 ignored): what bmd starts must not ignore any.  glibc refuses
# to touch signal 32, hence the system call (rt_sigaction, x86-64: 13).
IGNORING = ["python3", "-c", """
import ctypes, os, signal, sys
for s in (signal.SIGQUIT, signal.SIGUSR2):
    signal.signal(s, signal.SIG_IGN)
ka = (ctypes.c_ulong * 8)(1)
L = ctypes.c_long
if ctypes.CDLL(None, use_errno=True).syscall(L(13), L(32), ka, None, L(8)):
    sys.exit("cannot ignore signal 32: errno %d" % ctypes.get_errno())
os.execvp(sys.argv[1], sys.argv[1:])
"""]


# ---- bhyve stand-ins in a private mount namespace ----

class Standins:
    """Stand-in bhyve programs in an overlay only the test's daemon sees.
    Each records "uid", "argv", "env", "sig", "sid", "ppid", "cgroup"
    (/proc/PID/cgroup) and "reads" (the first 4 bytes of each file an
    argument names, as the program opening it would read them) as JSON in
    OUT/NAME.N.json."""

    def __init__(self, bmd):
        self.bmd = bmd
        self.top = os.path.join(bmd.dir, "standin")
        self.out = os.path.join(bmd.dir, "standin-out")
        for d in (self.top, self.out):
            os.makedirs(d)
        os.chmod(self.out, 0o777)
        # "sig": the signals the stand-in's shell ignores, as bmd left
        # them (sh clears its blocked ones itself: test_users checks those
        # in QEMU); "sid": its session (the shell leads its own)
        record = ('/usr/bin/python3 -c \'import json,os,sys; '
                  'json.dump({"uid": os.getuid(), "argv": sys.argv[1:], '
                  '"env": dict(os.environ), "sig": [l.split()[1] for l in '
                  'open("/proc/%%d/status" %% os.getppid()) if '
                  'l.startswith("SigIgn")], "sid": os.getsid(0), '
                  '"ppid": os.getppid(), "cgroup": open("/proc/%%d/cgroup" '
                  '%% os.getppid()).read(), "reads": {p: open(p, "rb").read(4)'
                  '.decode("latin1") for a in sys.argv[2:] for p in a.split(",") '
                  'if p.startswith("/") and os.path.isfile(p)}}, '
                  'open(sys.argv[1], "w"))\' '
                  '"%s/$(basename "$0").$$.json" "$@"\n' % self.out)
        sbin = os.path.join(self.top, "usr-sbin")
        lsbin = os.path.join(self.top, "usr-local-sbin")
        os.makedirs(sbin)
        os.makedirs(lsbin)
        script(os.path.join(sbin, "bhyve"),
               "# stand-in-bhyve: records, then runs until SIGTERM (the ACPI\n"
               "# power button: bhyve's exit status 1, powered off)\n" + record
               + "trap 'exit 1' TERM\nwhile :; do sleep 0.2; done")
        script(os.path.join(sbin, "bhyvectl"),
               "# stand-in-bhyvectl: records and exits 0\n" + record)
        script(os.path.join(sbin, "bhyveload"),
               "# stand-in-bhyveload: records and exits 0\n" + record)
        script(os.path.join(lsbin, "grub-bhyve"),
               "# stand-in-grub-bhyve: records, with the device map (-m)\n"
               + record + 'while [ $# -gt 1 ]; do [ "$1" = -m ] && '
               '{ stat -c "%%a %%U" "$2"; cat "$2"; } > "%s/devmap.$$"; shift; done'
               % self.out)
        mount = ("mount -t overlay -o ro,lowerdir=%s:/usr/sbin overlay /usr/sbin && "
                 "mount -t overlay -o ro,lowerdir=%s:/usr/local/sbin overlay "
                 "/usr/local/sbin && exec \"$@\"" % (sbin, lsbin))
        bmd.wrap = IGNORING + ["unshare", "--mount", "--propagation",
                               "private", "sh", "-c", mount, "sh"]
        # on Linux the bhyve backend runs only with bhyve_program set
        bmd.global_extra += ("\tbhyve_program = /usr/sbin/bhyve;\n"
                             "\tbhyvectl_program = /usr/sbin/bhyvectl;\n")

    def records(self, prog):
        found = []
        for n in sorted(os.listdir(self.out)):
            if n.startswith(prog + ".") and n.endswith(".json"):
                with open(os.path.join(self.out, n)) as f:
                    found.append(json.load(f))
        return found

    def devmaps(self):
        found = []
        for n in sorted(os.listdir(self.out)):
            if n.startswith("devmap."):
                with open(os.path.join(self.out, n)) as f:
                    found.append(f.read())
        return found


def bhyve_vm(name, **keys):
    k = {"backend": "bhyve", "loader": "bhyveload", "memory": "128M",
         "boot": "no", "stop_timeout": "10"}
    k.update({a: b for a, b in keys.items() if b is not None})
    return "vm %s {\n%s}\n" % (name, "".join("\t%s = %s;\n" % kv for kv in k.items()))


# ---- item 13: commas in values QEMU parses as options ----

def test_comma_in_disk_path_cannot_inject_options(bmd):
    """A disk "x,file.locking=off" is that file, not x with an option."""
    d = os.path.join(bmd.dir, "disks")
    os.makedirs(d)
    plain, comma = os.path.join(d, "x"), os.path.join(d, "x,file.locking=off")
    for p in (plain, comma):
        with open(p, "wb") as f:
            f.truncate(1 << 20)
    bmd.start(bmdtest.guest_vm("c", "yes", disk='"%s"' % comma))
    pid = bmd.wait_running("c")

    def opened():
        try:
            return {os.readlink("/proc/%d/fd/%s" % (pid, fd))
                    for fd in os.listdir("/proc/%d/fd" % pid)}
        except OSError:
            return set()
    wait_until(lambda: comma in opened() or plain in opened(), 30, "QEMU to open the disk")
    assert comma in opened() and plain not in opened()
    argv = bmdtest.proc_cmdline(pid)
    assert "file=%s,if=none" % comma.replace(",", ",,") in " ".join(argv)


# ---- item 12: bmd's environment stays bmd's ----

def test_users_qemu_and_hook_get_a_clean_environment(setup, pbmd):
    pw = __import__("pwd").getpwnam("alice")
    out = os.path.join(pbmd.dir, "hook-out")
    os.makedirs(out)
    os.chmod(out, 0o777)
    hook = script(os.path.join(setup.adir, "hook"),
                  "env > %s/env.$2; grep SigIgn /proc/$$/status > %s/sig.$2" % (out, out),
                  owner="alice")
    pbmd.env = dict(os.environ, **{LEAK: "secret-of-bmd", "LD_LIBRARY_PATH": "/nonexistent"})
    pbmd.wrap = IGNORING
    setup.start("", setup.vm("e", hookcmd=hook))
    rc, _, err = ctl(pbmd, "alice", "boot", "e")
    assert rc == 0, err
    pid = pbmd.wait_running("e")
    env = environ_of(pid)
    assert LEAK not in env and "LD_LIBRARY_PATH" not in env
    assert {k: env.get(k) for k in ("HOME", "USER", "LOGNAME", "SHELL")} == {
        "HOME": pw.pw_dir, "USER": "alice", "LOGNAME": "alice", "SHELL": pw.pw_shell}
    assert env.get("PATH")
    wait_until(lambda: os.path.exists(os.path.join(out, "env.RUN")), 30, "the hook's RUN run")
    time.sleep(0.3)
    with open(os.path.join(out, "env.RUN")) as f:
        henv = dict(l.split("=", 1) for l in f.read().splitlines() if "=" in l)
    assert LEAK not in henv and "LD_LIBRARY_PATH" not in henv
    assert henv.get("USER") == "alice" and henv.get("HOME") == pw.pw_dir
    assert henv.get("VM_NAME") == "e" and henv.get("PATH")
    with open(os.path.join(out, "sig.RUN")) as f:
        assert f.read().split() == ["SigIgn:", "0000000000000000"]


# ---- item 4: only the VM's own threads are pinned ----

# A user's own qemu_binary: the QMP connection bmd makes on the descriptor
# it passes (-chardev socket,id=qmp,fd=N), accepted.
QMP_ACCEPT = r'''import json, os, signal, socket, sys, threading, time
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
fd = None
for a in sys.argv:
    if a.startswith("socket,id=qmp,fd="):
        fd = int(a.split("fd=")[1].split(",")[0])
srv = socket.socket(fileno=fd)
c, _ = srv.accept()
'''

QMP_STANDIN = r'''#!/usr/bin/python3
# stand-in-qemu: the user's own qemu_binary.  Answers QMP and reports a
# foreign thread id as vCPU 0 and its own as vCPU 1.
''' + QMP_ACCEPT + r'''f = c.makefile("rwb", buffering=0)
def send(o):
    f.write(json.dumps(o).encode() + b"\r\n")
send({"QMP": {"version": {"qemu": {"major": 8, "minor": 0, "micro": 0}}, "capabilities": []}})
for line in f:
    try:
        req = json.loads(line)
    except ValueError:
        continue
    cmd = req.get("execute")
    if cmd == "query-cpus-fast":
        ret = [{"cpu-index": 0, "thread-id": FOREIGN, "qom-path": "/c0", "target": "x86_64"},
               {"cpu-index": 1, "thread-id": os.getpid(), "qom-path": "/c1", "target": "x86_64"}]
    elif cmd == "query-status":
        ret = {"status": "running", "running": True}
    elif cmd == "quit":
        send({"return": {}})
        os._exit(0)
    else:
        ret = {}
    r = {"return": ret}
    if "id" in req:
        r["id"] = req["id"]
    send(r)
'''


def test_cpu_pin_only_touches_the_vms_own_threads(setup, bmd):
    victim = subprocess.Popen(["sleep", "1000"])
    try:
        before = os.sched_getaffinity(victim.pid)
        assert len(before) > 1
        host = max(before)
        standin = os.path.join(setup.adir, "stand-in-qemu")
        with open(standin, "w") as f:
            f.write(QMP_STANDIN.replace("FOREIGN", str(victim.pid)))
        os.chmod(standin, 0o755)
        chown(standin, "alice")
        setup.start("", setup.vm("p", qemu_binary=standin, ncpu=2, com1=None,
                                 cpu_pin="0:%d, 1:%d" % (host, host)))
        rc, _, err = ctl(bmd, "alice", "boot", "p")
        assert rc == 0, err
        pid = bmd.wait_running("p")
        # the stand-in's own thread is pinned: the check is not vacuous
        bmd.wait_log(r"vm p: vCPU 1 pinned to host CPU %d" % host)
        assert os.sched_getaffinity(pid) == {host}
        # vCPU 0 came first in the reply: root's process was left alone
        assert os.sched_getaffinity(victim.pid) == before
        bmd.wait_log(r"vm p: vCPU 0: thread %d is not a thread of the VM's process %d; "
                     r"not pinned" % (victim.pid, pid))
    finally:
        victim.kill()
        victim.wait()


# A user's "QEMU" may be any program of hers: what it says on QMP is
# hostile input.  This one answers the negotiation, then floods bmd with
# events and never answers again, reading (and counting) what bmd sends.
QMP_FLOOD = r'''#!/usr/bin/python3
# stand-in-qemu (hostile): STOP and SHUTDOWN events by the thousand
''' + QMP_ACCEPT + r'''report = os.path.join(os.path.dirname(sys.argv[0]), "report")
c.sendall(b'{"QMP": {"version": {}, "capabilities": []}}\r\n')
f = c.makefile("rb", buffering=0)
f.readline()                                    # qmp_capabilities
c.sendall(b'{"return": {}}\r\n')
seen = [b""]
def count():
    while True:
        b = c.recv(65536)
        if not b:
            return
        seen[0] += b
threading.Thread(target=count, daemon=True).start()
try:
    for _ in range(200):
        c.sendall(b'{"event": "STOP", "data": {}}\r\n' * 100)
        time.sleep(0.01)
    for _ in range(20):
        c.sendall(b'{"event": "SHUTDOWN", "data": {"reason": "flood"}}\r\n' * 100)
except OSError:
    pass
time.sleep(2)
with open(report + ".tmp", "w") as r:
    r.write("%d\n" % seen[0].count(b"query-status"))
os.rename(report + ".tmp", report)
time.sleep(1000)
'''


def test_a_users_qemu_flooding_qmp_costs_bmd_nothing(setup, bmd):
    """20,000 STOP events from a user's program in place of QEMU: bmd asks
    query-status once (one query at a time, and a bounded queue of
    commands), not once per event, so its memory and every other user's
    requests do not pay for her flood; 2,000 SHUTDOWN events are logged
    once.  The VM is then stopped by her like any other."""
    standin = os.path.join(setup.adir, "stand-in-qemu")
    with open(standin, "w") as f:
        f.write(QMP_FLOOD)
    os.chmod(standin, 0o755)
    chown(standin, "alice")
    setup.start(setup.vm("r"), setup.vm("p", qemu_binary=standin,
                                        com1=None, stop_timeout=5))
    rc, _, err = ctl(bmd, "alice", "boot", "p")
    assert rc == 0, err
    bmd.wait_running("p")
    report = os.path.join(setup.adir, "report")
    wait_until(lambda: os.path.exists(report), 60, "the stand-in's report")
    with open(report) as f:
        asked = int(f.read())
    assert 1 <= asked <= 2, "bmd sent query-status %d times" % asked
    assert len(re.findall(r"vm p: shutdown \(", bmd.log_text())) == 1
    rc, out, err = ctl(bmd, "alice", "list")
    assert rc == 0 and "p" in out, err
    bmd.wait_state("p", ["STOP"], 60)     # her SHUTDOWN, then its grace


# ---- item 5: grub's device map ----

def test_grub_device_map_is_private_and_removed(bmd):
    si = Standins(bmd)
    disk = os.path.join(bmd.dir, "g.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    bmd.start(bhyve_vm("g", loader="grub", disk=disk))
    # a FIFO where the map used to be created (any user can make one)
    fifo = "/tmp/bmd.g.%d.XXXXXX" % bmd.proc.pid
    os.mkfifo(fifo, 0o666)
    try:
        rc, _, err = bmd.bmdctl("boot", "g", timeout=20)
        assert rc == 0, err
        bmd.wait_running("g")
        assert bmd.answers()
        wait_until(si.devmaps, 10, "the stand-in grub-bhyve's record")
        mode_owner, text = si.devmaps()[0].split("\n", 1)
        assert mode_owner == "600 root" and text == "(hd0) %s\n" % disk
        grub = si.records("grub-bhyve")[0]["argv"]
        path = grub[grub.index("-m") + 1]
        assert os.path.dirname(path) == bmd.run_dir
        assert re.fullmatch(r"g\.devmap\.[A-Za-z0-9]{6}", os.path.basename(path))
        assert not os.path.exists(path)             # removed after the loader ran
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # never touched
        assert bmd.bmdctl("poweroff", "g")[0] == 0
        bmd.wait_state("g", "STOP")
        assert [n for n in os.listdir(bmd.run_dir) if ".devmap." in n] == []
    finally:
        # a daemon blocked on the FIFO is released
        try:
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        except OSError:
            pass
        os.unlink(fifo)


# ---- item 16: a hook's whole tree dies at its timeout ----

def test_hook_timeout_kills_children_that_left_the_session(pbmd):
    d = os.path.join(pbmd.dir, "hooks")
    os.makedirs(d)
    pidfile = os.path.join(d, "escaped.pid")
    orphanfile = os.path.join(d, "orphan.pid")
    # one child leaves the session while the hook lives; another leaves it
    # and loses its parent at once (only the hook's cgroup still holds it)
    pre = script(os.path.join(d, "pre"),
                 "setsid sleep 1000 &\necho $! > %s\n"
                 "sh -c 'setsid sleep 1001 & echo $! > %s'\n"
                 "sleep 100 & wait" % (pidfile, orphanfile))
    pbmd.start(bmdtest.guest_vm("h", "no", prestart=pre, hook_timeout=2))
    escaped = orphan = None
    try:
        rc, out, err = pbmd.bmdctl("boot", "h")
        assert rc == 1 and "did not finish within 2 s" in err, err
        with open(pidfile) as f:
            escaped = int(f.read())
        with open(orphanfile) as f:
            orphan = int(f.read())
        wait_until(lambda: not bmdtest.pid_alive(escaped), 10,
                   "the setsid'd child of the hook to be killed")
        wait_until(lambda: not bmdtest.pid_alive(orphan), 10,
                   "the orphaned setsid'd grandchild of the hook to be killed")
        leftovers = subprocess.run(["pgrep", "-f", "sleep 100[01]"], capture_output=True,
                                   text=True).stdout.split()
        assert str(escaped) not in leftovers and str(orphan) not in leftovers
    finally:
        for p in (escaped, orphan):
            if p is not None and bmdtest.pid_alive(p):
                os.kill(p, signal.SIGKILL)


# ---- item 1: a user's bhyve VM and root's bhyve ----

def test_users_bhyve_vm_hands_root_nothing_unsafe(setup, bmd):
    si = Standins(bmd)
    bmd.env = dict(os.environ, **{LEAK: "secret-of-bmd"})
    mine = os.path.join(setup.adir, "mine.img")
    with open(mine, "wb") as f:
        f.truncate(1 << 20)
    chown(mine, "alice")
    os.chmod(mine, 0o600)
    evil = os.path.join(setup.adir, "evil.so")
    with open(evil, "wb") as f:
        f.write(b"\x7fELF")
    chown(evil, "alice")
    # a device node only root may open (it is /dev/null's)
    node = os.path.join(bmd.dir, "rootonly")
    os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    # a file whose name would add a line to grub's device map, and one
    # whose comma would add an option to bhyve's -s
    nl = os.path.join(setup.adir, "nl\n(hd1) x")
    comma = os.path.join(setup.adir, "c,nocache")
    for p in (nl, comma):
        with open(p, "wb") as f:
            f.truncate(1 << 20)
        chown(p, "alice")
    alice = (bhyve_vm("ok", disk=mine)
             + bhyve_vm("vga", disk=mine, loader="uefi", graphics="yes",
                        graphics_vga='"io,tcp=0.0.0.0:80"')
             + bhyve_vm("lsn", disk=mine, loader="uefi", graphics="yes",
                        graphics_listen='"127.0.0.1,wait"')
             + bhyve_vm("nl", disk='"%s"' % nl.replace("\n", "\\n"))
             + bhyve_vm("cma", disk='"%s"' % comma)
             + bhyve_vm("grb", disk=mine, loader="grub")
             + bhyve_vm("env1", disk=mine, bhyve_env='"LD_PRELOAD=%s"' % evil)
             + bhyve_vm("env2", disk=mine, bhyveload_env='"LD_PRELOAD=%s"' % evil)
             + bhyve_vm("ldr", disk=mine, bhyveload_loader=evil)
             + bhyve_vm("dev", disk=node)
             + bhyve_vm("tty", disk=mine, com1=node)
             + bhyve_vm("share", disk=mine, sharefs="\"s=%s\"" % setup.adir)
             + bhyve_vm("gdb", disk=mine, debug_port="w23")
             + bhyve_vm("snd", disk=mine, hda=node)
             + bhyve_vm("vnc", disk=mine, loader="uefi", graphics="yes",
                        graphics_path="/root/alice-vnc.sock"))
    # root's own disk: no two VMs run on one disk
    rootdisk = os.path.join(bmd.dir, "root.img")
    with open(rootdisk, "wb") as f:
        f.truncate(1 << 20)
    setup.start(bhyve_vm("rootvm", disk=rootdisk, bhyve_env='"FOO=bar"'), alice)
    log = bmd.log_text()
    for vm, key in (("env1", "bhyve_env"), ("env2", "bhyveload_env"), ("share", "sharefs")):
        assert re.search(r'alice\.conf:\d+:\d+: %s: bhyve runs as root: only root\'s VMs '
                         r'may set it \(this VM belongs to uid %d\)' % (key, uid("alice")),
                         log), log
        assert 'vm "%s" is not loaded' % vm in log
    assert re.search(r'alice\.conf:\d+:\d+: graphics_vga: "io,tcp=0\.0\.0\.0:80" is not on, '
                     r'off or io', log), log
    assert 'vm "vga" is not loaded' in log
    for vm, key, what in (("lsn", "graphics_listen", "a comma"),
                          ("nl", "disk", "a control character"),
                          ("cma", "disk", "a comma")):
        assert re.search(r"alice\.conf:\d+:\d+: %s: bhyve runs as root: in a user's VM a "
                         r"value may not contain %s" % (key, what), log), (vm, log)
        assert 'vm "%s" is not loaded' % vm in log
    assert re.search(r"alice\.conf:\d+:\d+: loader: grub-bhyve runs as root and its "
                     r"\(host\) device reads the host's files", log), log
    assert 'vm "grb" is not loaded' in log
    assert re.search(r"alice\.conf:\d+:\d+: debug_port: bhyve runs as root: a user's VM "
                     r"may not use port 23 \(below 1024\)", log), log
    for vm in ("env1", "env2", "share", "gdb"):
        assert 'vm "%s" is not loaded' % vm in log
        assert ctl(bmd, "alice", "boot", vm)[2].strip() == "bmdctl: boot: no VM named '%s'" % vm
    for vm, why in (("ldr", "bhyveload_loader %s: it runs in bhyveload as root: it must "
                             "be a file owned by root that only root may write" % evil),
                    ("dev", "disk %s: alice cannot read/write it" % node),
                    ("tty", "com1 %s: alice cannot read/write it" % node),
                    ("snd", "hda %s: alice cannot read/write it" % node),
                    ("vnc", "graphics_path /root/alice-vnc.sock: alice cannot create "
                            "a socket there")):
        rc, _, err = ctl(bmd, "alice", "boot", vm)
        assert rc != 0 and why in err, (vm, err)
    assert si.records("bhyveload") == [] and si.records("bhyve") == []
    # a good one runs; the loader and bhyve get a clean environment
    rc, _, err = ctl(bmd, "alice", "boot", "ok")
    assert rc == 0, err
    bmd.wait_running("ok")
    wait_until(lambda: si.records("bhyve"), 10, "the stand-in bhyve's record")
    ld, hv = si.records("bhyveload"), si.records("bhyve")
    assert len(ld) == 1 and len(hv) == 1
    for r in ld + hv:
        assert r["uid"] == 0                      # bhyve needs root on FreeBSD
        # no signal ignored, in a session of its own
        assert r["sig"] == ["0000000000000000"], r["sig"]
        assert r["sid"] == r["ppid"], r
        assert LEAK not in r["env"] and not any(k.startswith("LD_") for k in r["env"])
        assert r["env"].get("USER") == "root" and r["env"].get("PATH")
    assert ld[0]["env"].get("TERM") == "vt100"
    # root's own VM may still set bhyve's environment
    assert bmd.bmdctl("boot", "rootvm")[0] == 0
    bmd.wait_running("rootvm")
    wait_until(lambda: len(si.records("bhyve")) == 2, 10, "root's bhyve record")
    assert [r["env"].get("FOO") for r in si.records("bhyve")].count("bar") == 1
    # every start checks again: the disk is no longer alice's
    assert ctl(bmd, "alice", "poweroff", "ok")[0] == 0
    bmd.wait_state("ok", "STOP")
    os.chown(mine, 0, 0)
    rc, _, err = ctl(bmd, "alice", "boot", "ok")
    assert rc != 0 and "disk %s: alice cannot read/write it" % mine in err, err


def test_users_bhyve_files_are_the_ones_checked_as_her(setup, pbmd):
    bmd = pbmd
    """bhyve and bhyveload run as root.  Had they opened a user's disk by
    path after bmd checked it as her, a link she swapped in between (here
    at a prestart hook of root's, which runs after the check) would hand
    her guest any file of root's.  They get the files opened as her, as
    /dev/fd/N, and the link's new target is never opened."""
    si = Standins(bmd)
    mine = os.path.join(setup.adir, "mine.img")
    cd = os.path.join(setup.adir, "mine.iso")
    for p in (mine, cd):
        with open(p, "wb") as f:
            f.write(b"HERS" + bytes(1 << 16))
        chown(p, "alice")
    secret = os.path.join(bmd.dir, "secret.img")
    with open(secret, "wb") as f:
        f.write(b"ROOT" + bytes(1 << 16))
    os.chmod(secret, 0o600)
    links = [os.path.join(setup.adir, n) for n in ("disk.img", "cd.iso")]
    swap = ""
    for link, target in zip(links, (mine, cd)):
        subprocess.run(["setpriv", "--reuid=alice", "--regid=alice",
                        "--clear-groups", "ln", "-s", target, link], check=True)
        swap += ("setpriv --reuid=alice --regid=alice --clear-groups "
                 "ln -sfn %s %s.new && setpriv --reuid=alice --regid=alice "
                 "--clear-groups mv -T %s.new %s\n" % (secret, link, link, link))
    hook = script(os.path.join(bmd.dir, "swap"), "sleep 1\n" + swap)
    setup.start(bhyve_vm("sw", owner="alice", disk=links[0], iso=links[1],
                         prestart=hook), "")
    rc, _, err = ctl(bmd, "alice", "boot", "sw")
    assert rc == 0, err
    bmd.wait_running("sw")
    wait_until(lambda: si.records("bhyve"), 10, "the stand-in bhyve's record")
    assert os.path.realpath(links[0]) == secret     # the swap took place
    for rec in si.records("bhyveload") + si.records("bhyve"):
        assert "ROOT" not in rec["reads"].values(), rec
        assert not any(l in a for a in rec["argv"] for l in links), rec
    ld, hv = si.records("bhyveload")[0], si.records("bhyve")[0]
    disk = ld["argv"][ld["argv"].index("-d") + 1]
    assert disk.startswith("/dev/fd/") and ld["reads"][disk] == "HERS", ld
    fds = [p for a in hv["argv"] for p in a.split(",")
           if p.startswith("/dev/fd/")]
    assert len(fds) == 2 and all(hv["reads"][p] == "HERS" for p in fds), hv
    # and her files were opened once, as her: a file she may not write is
    # refused, as before
    assert ctl(bmd, "alice", "poweroff", "sw")[0] == 0
    bmd.wait_state("sw", "STOP")
    for link, target in zip(links, (mine, cd)):
        os.unlink(link)
        os.symlink(target, link)
    os.chown(mine, 0, 0)
    rc, _, err = ctl(bmd, "alice", "boot", "sw")
    assert rc != 0 and "disk %s: alice cannot read/write it" % links[0] in err, err


def test_users_bhyve_vnc_socket_goes_only_where_she_cannot_redirect_it(setup,
                                                                       bmd):
    """bhyve binds a user's VNC socket as root, after the check: through a
    directory she may replace (hers, or a link of hers), she could have it
    made in any directory of root's.  Refused, saying why; a socket
    straight in her own directory, below root's, is fine."""
    si = Standins(bmd)
    mine = os.path.join(setup.adir, "mine.img")
    with open(mine, "wb") as f:
        f.truncate(1 << 20)
    chown(mine, "alice")
    sub = os.path.join(setup.adir, "sub")
    link = os.path.join(setup.adir, "l")
    shared = os.path.join(bmd.dir, "shared")
    os.makedirs(shared)
    os.chmod(shared, 0o1777)
    for argv in (["mkdir", sub], ["ln", "-s", shared, link]):
        subprocess.run(["setpriv", "--reuid=alice", "--regid=alice",
                        "--clear-groups"] + argv, check=True)
    vnc = lambda name, path: bhyve_vm(name, disk=mine, loader="uefi",  # noqa: E731
                                      graphics="yes", graphics_path=path)
    setup.start("", vnc("insub", os.path.join(sub, "v.sock"))
                + vnc("vialink", os.path.join(link, "v.sock"))
                + vnc("ok", os.path.join(setup.adir, "v.sock"))
                + vnc("intmp", os.path.join(shared, "v.sock")))
    for vm, why in (("insub", "%s: it belongs to uid %d" % (setup.adir,
                                                            uid("alice"))),
                    ("vialink", "%s is reached through a symbolic link" % link)):
        rc, _, err = ctl(bmd, "alice", "boot", vm)
        assert rc != 0 and "graphics_path" in err and why in err, (vm, err)
    assert si.records("bhyve") == []
    for vm in ("ok", "intmp"):       # one disk: one after the other
        rc, _, err = ctl(bmd, "alice", "boot", vm)
        assert rc == 0, (vm, err)
        bmd.wait_running(vm)
        assert ctl(bmd, "alice", "poweroff", vm)[0] == 0
        bmd.wait_state(vm, "STOP")


@pytest.mark.parametrize("case", ["run-hers", "run-below-hers", "run-world",
                                  "vars-hers", "vars-below-hers"])
def test_directories_another_user_controls_are_refused(bmd, users,  # noqa: F811
                                                       case):
    """run_directory holds root's records, QMP and console sockets;
    vars_directory the firmware variables bmd copies and hands to each
    owner.  A directory alice could empty, rename or fill (hers, below one
    of hers, or one anybody may write) is refused at start, naming the
    directory and why, and nothing starts."""
    top = tempfile.mkdtemp(prefix="bmd-e2e-dir-", dir="/tmp")
    try:
        culprit = top
        if case == "run-world":
            os.chmod(top, 0o777)
        else:
            chown(top, "alice")
            os.chmod(top, 0o755)
        key = case.split("-")[0]
        path = top if case.endswith("-hers") and "below" not in case \
            else os.path.join(top, key)
        if key == "run":
            bmd.run_dir = path
        else:
            bmd.vars_dir = path
        bmd.start(bmdtest.guest_vm("vm1", "yes"), wait=False)
        try:
            rc = bmd.proc.wait(20)
        except subprocess.TimeoutExpired:
            rc = None
        log = bmd.log_text()
        assert rc not in (None, 0), "bmd started with %s:\n%s" % (path, log)
        why = ("anybody may write it" if case == "run-world" else
               "it belongs to uid %d" % uid("alice"))
        said = "%s_directory %s: %s: %s" % (key, path, culprit, why)
        assert said in log, log
        assert bmd.qemus() == {}
        # bmd -n says what would stop the daemon
        r = subprocess.run([os.path.join(bmdtest.BUILD, "bmd"), "-n", "-f",
                            bmd.conf], capture_output=True, text=True)
        assert r.returncode == 1 and said in r.stderr, r.stderr
        assert "configuration OK" not in r.stderr
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_pid_file_is_never_written_through_a_planted_link(bmd, users):  # noqa: F811
    """A pid file in a directory alice may write: a link she planted there
    is not followed (it would truncate any file of root's with bmd's pid);
    bmd goes on without a pid file and says so."""
    top = tempfile.mkdtemp(prefix="bmd-e2e-pid-", dir="/tmp")
    victim = os.path.join(bmd.dir, "victim")
    with open(victim, "w") as f:
        f.write("root's own\n")
    try:
        chown(top, "alice")
        link = os.path.join(top, "bmd.pid")
        subprocess.run(["setpriv", "--reuid=alice", "--regid=alice",
                        "--clear-groups", "ln", "-s", victim, link],
                       check=True)
        bmd.write_config()
        log = os.path.join(bmd.dir, "daemon.log")
        rc = subprocess.run([os.path.join(bmdtest.BUILD, "bmd"), "-f",
                             bmd.conf, "-P", link, "-l", log],
                            timeout=30).returncode
        assert rc == 0
        holders = bmdtest.fd_holders(bmd.run_dir + ".lock/daemon.lock")
        assert len(holders) == 1
        try:
            with open(victim) as f:
                assert f.read() == "root's own\n", "written through the link"
            assert os.path.islink(link)
            with open(log) as f:
                assert "%s: Too many levels of symbolic links" % link in \
                    f.read()
        finally:
            os.kill(holders[0], signal.SIGTERM)
            wait_until(lambda: not bmdtest.pid_alive(holders[0]), 30,
                       "bmd to exit")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_root_vms_logs_are_never_written_into_a_users_file(bmd, users):  # noqa: F811
    """Root's VM logs to files in a sticky directory every user may write
    (/tmp, say): files alice made there first, writable by all, are not
    used (she would read root's console and command lines), and the VM
    runs without them."""
    pub = tempfile.mkdtemp(prefix="bmd-e2e-pub-", dir="/tmp")
    try:
        os.chmod(pub, 0o1777)
        logs = {k: os.path.join(pub, k) for k in ("console_logfile",
                                                  "err_logfile")}
        for path in logs.values():
            subprocess.run(["setpriv", "--reuid=alice", "--regid=alice",
                            "--clear-groups", "sh", "-c",
                            "umask 0; touch %s" % path], check=True)
        bmd.start(bmdtest.guest_vm("rvm", **logs))
        bmd.boot_to_banner("rvm")
        for key, path in logs.items():
            bmd.wait_log(r"vm rvm: %s %s: owned by uid %d, not by the VM's "
                         r"owner; not used" % (key, re.escape(path),
                                               uid("alice")))
            assert os.path.getsize(path) == 0, key
        # files of root's own there are used
        rc, out, err = bmd.bmdctl("poweroff", "-w", "rvm")
        assert rc == 0, err
        for path in logs.values():
            os.unlink(path)
        rc, out, err = bmd.bmdctl("boot", "rvm")
        assert rc == 0, err
        bmd.boot_to_banner("rvm")
        wait_until(lambda: os.path.getsize(logs["console_logfile"]) > 0, 30,
                   "root's console log")
        assert os.stat(logs["console_logfile"]).st_uid == 0
    finally:
        shutil.rmtree(pub, ignore_errors=True)


def test_control_socket_in_a_directory_alice_writes_is_refused(bmd,
                                                               users):  # noqa: F811
    """From a directory she may write, alice could put her own socket in
    bmd's place and read what root's bmdctl sends, console keystrokes
    included: bmd refuses it at start.  A sticky directory such as /tmp
    is fine (nobody else can rename root's socket there), and the socket
    has its mode from the start."""
    top = tempfile.mkdtemp(prefix="bmd-e2e-sock-", dir="/tmp")
    try:
        chown(top, "alice")
        os.chmod(top, 0o755)
        bmd.sock = os.path.join(top, "bmd.sock")
        bmd.write_config()
        bmd.start(wait=False)
        try:
            rc = bmd.proc.wait(20)
        except subprocess.TimeoutExpired:
            rc = None
        assert rc not in (None, 0), bmd.log_text()
        said = "cmd_socket_path %s: %s: it belongs to uid %d" % (
            bmd.sock, top, uid("alice"))
        assert said in bmd.log_text()
        assert not os.path.exists(bmd.sock)
        r = subprocess.run([os.path.join(bmdtest.BUILD, "bmd"), "-n", "-f",
                            bmd.conf], capture_output=True, text=True)
        assert r.returncode == 1 and said in r.stderr, r.stderr
        # root's again, and sticky, writable by all: accepted
        os.chown(top, 0, 0)
        os.chmod(top, 0o1777)
        bmd.global_extra = "\tcmd_socket_mode = 0660;\n"
        bmd.write_config()
        bmd.start()
        assert stat.S_IMODE(os.lstat(bmd.sock).st_mode) == 0o660
    finally:
        bmd.terminate()
        shutil.rmtree(top, ignore_errors=True)
