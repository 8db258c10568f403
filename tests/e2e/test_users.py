"""Ordinary users own and run their VMs, safely (issue 5), with real users
and real QEMU.

Users alice, bob and carol and the group staff (alice and carol) come from
test_conf_owner's `users` fixture.  A root file includes alice's file; the
control socket is 0666 (every request is authorised per VM).  bmdctl runs as
the users through setpriv.  At most three guests boot at once.
"""

import ctypes
import os
import pty
import pwd
import grp
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

import bmdtest
from bmdtest import wait_until
from hangfs import HangFS
from test_conf_owner import users  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="creates users and runs QEMU as them: needs root")

NF = "no VM named"


def uid(u):
    return pwd.getpwnam(u).pw_uid


def as_user(user, argv):
    if user == "root":
        return argv
    pw = pwd.getpwnam(user)
    return ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
            "--init-groups"] + argv


def ctl(bmd, user, *args, timeout=30):
    p = subprocess.run(as_user(user, [os.path.join(bmdtest.BUILD, "bmdctl"),
                                      "-s", bmd.sock] + [str(a) for a in args]),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def listed(bmd, user):
    import json
    rc, out, err = ctl(bmd, user, "list", "--json")
    assert rc == 0, err
    return sorted(v["name"] for v in json.loads(out))


def chown(path, user, group=None):
    pw = pwd.getpwnam(user)
    os.chown(path, pw.pw_uid, grp.getgrnam(group).gr_gid if group else pw.pw_gid)


def proc_ids(pid):
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid", "Groups"):
                ids[k] = [int(x) for x in v.split()]
            elif k == "SigBlk":
                ids[k] = int(v, 16)
    return ids


# what bmd must not leave blocked in what it starts (QEMU blocks others)
SIGNALS_OPEN = sum(1 << (s - 1) for s in (signal.SIGHUP, signal.SIGINT,
                                          signal.SIGTERM, signal.SIGCHLD))


class Setup:
    """bmd's dir made traversable; alice's directory and guest files."""

    def __init__(self, bmd):
        self.bmd = bmd
        os.chmod(bmd.dir, 0o755)
        bmd.global_extra = "\tcmd_socket_mode = 0666;\n"
        self.adir = os.path.join(bmd.dir, "alice")
        os.mkdir(self.adir, 0o755)
        chown(self.adir, "alice")
        self.kernel = os.path.join(self.adir, "vmlinuz")
        self.initrd = os.path.join(self.adir, "initrd.gz")
        for src, dst in ((bmdtest.KERNEL, self.kernel), (bmdtest.INITRD, self.initrd)):
            shutil.copy(src, dst)
            os.chmod(dst, 0o644)
            chown(dst, "alice")
        self.afile = os.path.join(self.adir, "alice.conf")

    def vm(self, name, **keys):
        keys.setdefault("kernel", self.kernel)
        keys.setdefault("initrd", self.initrd)
        keys.setdefault("boot", "no")
        return bmdtest.guest_vm(name, **keys)

    def start(self, root_text, alice_text):
        with open(self.afile, "w") as f:
            f.write(alice_text)
        os.chmod(self.afile, 0o644)
        chown(self.afile, "alice")
        self.bmd.write_config(root_text + '.include "%s";\n' % self.afile)
        self.bmd.start()
        assert stat.S_IMODE(os.stat(self.bmd.sock).st_mode) == 0o666


@pytest.fixture
def setup(bmd, users):  # noqa: F811
    return Setup(bmd)


def test_access_matrix_qemu_uid_and_private_sockets(setup, bmd):
    setup.start(setup.vm("rootvm"),
                setup.vm("a1") + setup.vm("as", owner="alice:staff"))
    vms = ["rootvm", "a1", "as"]
    allowed = {"root": set(vms), "alice": {"a1", "as"}, "carol": {"as"}, "bob": set()}
    # list hides what a user may not access
    for u, ok in allowed.items():
        assert listed(bmd, u) == sorted(ok), u
    # denied: every command answers exactly like a missing VM
    denied_cmds = [("boot",), ("stop",), ("poweroff",), ("reset",),
                   ("console", "--dump"), ("show", "network")]
    for u, ok in allowed.items():
        for v in vms + ["nosuch"]:
            if v in ok:
                continue
            for c in denied_cmds:
                rc, out, err = ctl(bmd, u, *(c + (v,)))
                assert rc != 0 and NF in err, (u, c, v, rc, out, err)
    # allowed: each owner boots; the group member boots the group's VM
    for u, v in (("root", "rootvm"), ("alice", "a1"), ("carol", "as")):
        rc, out, err = ctl(bmd, u, "boot", v)
        assert rc == 0, (u, v, err)
    pids = {v: bmd.wait_running(v) for v in vms}
    # QEMU runs as the owner, with the VM's group or the primary group
    a = pwd.getpwnam("alice")
    staff = grp.getgrnam("staff").gr_gid
    ids = proc_ids(pids["a1"])
    assert ids["Uid"] == [a.pw_uid] * 4 and ids["Gid"] == [a.pw_gid] * 4, ids
    assert staff in ids["Groups"] and 0 not in ids["Groups"], ids
    assert ids["SigBlk"] & SIGNALS_OPEN == 0, hex(ids["SigBlk"])
    ids = proc_ids(pids["as"])
    assert ids["Uid"] == [a.pw_uid] * 4 and ids["Gid"] == [staff] * 4, ids
    ids = proc_ids(pids["rootvm"])
    assert ids["Uid"] == [0] * 4, ids
    # the QMP and console sockets: root's, 0600, in root's 0700 run dir
    assert stat.S_IMODE(os.stat(bmd.run_dir).st_mode) == 0o700
    for v in ("a1", "as"):
        for suffix in ("qmp", "com1"):
            st = os.stat(os.path.join(bmd.run_dir, "%s.%s" % (v, suffix)))
            assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600, (v, suffix)
    for u in ("alice", "bob"):
        p = subprocess.run(as_user(u, ["/usr/bin/python3", "-c",
                                       "import socket,sys; s=socket.socket(socket.AF_UNIX);"
                                       "s.connect(sys.argv[1])",
                                       os.path.join(bmd.run_dir, "a1.qmp")]),
                           capture_output=True, text=True, timeout=20)
        assert p.returncode != 0 and "PermissionError" in p.stderr, (u, p.stderr)
    # the consoles through bmd, for those allowed
    for u, v in (("alice", "a1"), ("alice", "as"), ("carol", "as"), ("root", "a1")):
        wait_until(lambda: bmdtest.BANNER.decode() in ctl(bmd, u, "console", "--dump", v)[1],
                   bmdtest.BOOT_TIMEOUT, "banner in %s's dump of %s" % (u, v), 0.3)
        rc, out, err = ctl(bmd, u, "list")
        assert rc == 0 and v in out
    # bob, while they run
    for v in vms:
        for c in denied_cmds:
            rc, out, err = ctl(bmd, "bob", *(c + (v,)))
            assert rc != 0 and NF in err and bmdtest.BANNER.decode() not in out
    # reset, then stop and poweroff by the allowed users
    rc, out, err = ctl(bmd, "alice", "reset", "a1")
    assert rc == 0, err
    rc, out, err = ctl(bmd, "carol", "reset", "as")
    assert rc == 0, err
    rc, out, err = ctl(bmd, "carol", "reset", "a1")
    assert rc != 0 and NF in err
    rc, out, err = ctl(bmd, "alice", "poweroff", "a1")
    assert rc == 0, err
    rc, out, err = ctl(bmd, "carol", "poweroff", "as")
    assert rc == 0, err
    rc, out, err = ctl(bmd, "alice", "stop", "rootvm")
    assert rc != 0 and NF in err
    rc, out, err = ctl(bmd, "root", "poweroff", "rootvm")
    assert rc == 0, err
    for v in vms:
        bmd.wait_state(v, "STOP")
    # reload is root's only
    rc, out, err = ctl(bmd, "alice", "reload")
    assert rc != 0


def test_file_level_refusals(setup, bmd):
    secret = os.path.join(setup.adir, "secret.conf")
    with open(secret, "w") as f:
        f.write("vm hidden { memory = 1G; }\n")
    os.chmod(secret, 0o600)                     # root's, unreadable by alice
    alice = ("global { cmd_socket_path = /tmp/alice-took-it.sock; }\n"
             '.include "%s";\n' % secret
             + setup.vm("tobob", owner="bob")
             + setup.vm("todaemon", owner="alice:daemon")
             + "template t { memory = 64M; }\n"
             + setup.vm("fine"))
    root = "vm rooted { backend = qemu; memory = 128M; .apply t; }\n"
    setup.start(root, alice)
    assert listed(bmd, "root") == ["fine"]
    log = bmd.log_text()
    assert "Changing owner is not allowed" in log or '"owner"' in log
    assert "alice is not a member of group daemon" in log
    assert "secret.conf" in log
    assert "cannot apply template" in log and "owned by alice" in log
    assert "global" in log
    assert not os.path.exists("/tmp/alice-took-it.sock")
    assert os.path.exists(bmd.sock)


def peer_sndbuf(pid, path):
    """SO_SNDBUF of the socket process pid accepted on path (its console
    end), reached as bmd reaches it: a duplicate through pidfd_getfd."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = libc.syscall(434, pid, 0)           # pidfd_open
    assert pidfd >= 0, os.strerror(ctypes.get_errno())
    try:
        for name in os.listdir("/proc/%d/fd" % pid):
            if not os.readlink("/proc/%d/fd/%s" % (pid, name)).startswith("socket:"):
                continue
            fd = libc.syscall(438, pidfd, int(name), 0)     # pidfd_getfd
            if fd < 0:
                continue
            s = socket.socket(fileno=fd)
            try:
                if (s.family == socket.AF_UNIX and s.getsockname() == path and
                        not s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)):
                    return s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
            finally:
                s.close()
    finally:
        os.close(pidfd)
    raise AssertionError("no connection on %s in process %d" % (path, pid))


def test_console_buffer_only_for_root_processes(setup, bmd):
    """bmd enlarges the send buffer of QEMU's end of a console socket by
    taking a duplicate of QEMU's descriptors.  A user's process may swap
    any descriptor under it (one on her FUSE file system, whose close
    would hold bmd), so a user's QEMU is left alone; root's gets it."""
    setup.start(setup.vm("r1"), setup.vm("a1"))
    assert ctl(bmd, "root", "boot", "r1")[0] == 0
    rc, out, err = ctl(bmd, "alice", "boot", "a1")
    assert rc == 0, err
    (rpid, rs), (apid, as_) = bmd.boot_all_to_banner("r1", "a1")
    assert peer_sndbuf(rpid, bmd.com1_path("r1")) >= 8 << 20
    assert peer_sndbuf(apid, bmd.com1_path("a1")) < 8 << 20
    as_.run("true")                     # alice's console still works
    for name in ("r1", "a1"):
        ctl(bmd, "root", "poweroff", name)
        bmd.wait_state(name, "STOP")


def test_err_logfile_is_alices_0640(setup, bmd):
    logp = os.path.join(setup.adir, "a1.log")
    setup.start("", setup.vm("a1", err_logfile=logp))
    rc, out, err = ctl(bmd, "alice", "boot", "a1")
    assert rc == 0, err
    bmd.wait_running("a1")
    wait_until(lambda: os.path.exists(logp) and os.path.getsize(logp) > 0, 30,
               "the err_logfile")
    st = os.stat(logp)
    assert (st.st_uid, st.st_gid) == (uid("alice"), pwd.getpwnam("alice").pw_gid)
    assert stat.S_IMODE(st.st_mode) == 0o640
    with open(logp) as f:
        assert "qemu-system" in f.read()
    rc, out, err = ctl(bmd, "alice", "poweroff", "a1")
    assert rc == 0, err
    bmd.wait_state("a1", "STOP")


def test_alices_console_logfile_rotates_without_losing_output(setup, bmd):
    """A user's console_logfile is opened, and opened again at each
    rotation, by a child running as her, without bmd waiting for it: what
    the guest prints meanwhile waits in the ring and follows in the new
    file, with no line lost."""
    log = os.path.join(setup.adir, "a1.console")
    setup.start("", setup.vm("a1", console_logfile=log, console_logfile_max="16K",
                             console_logfile_keep=2))
    rc, out, err = ctl(bmd, "alice", "boot", "a1")
    assert rc == 0, err
    pid, s = bmd.boot_to_banner("a1")
    s.run("i=0; while [ $i -lt 2000 ]; do echo fill-fill-fill-fill-$i; "
          "i=$((i+1)); done; echo FILL-DONE", timeout=120)
    wait_until(lambda: os.path.exists(log + ".2"), 30, "a second rotation")

    def text(p):
        with open(p, "rb") as f:
            return f.read().decode("utf-8", "replace")
    wait_until(lambda: "FILL-DONE" in text(log), 30, "the last line in the file")
    for p in (log, log + ".1", log + ".2"):
        st = os.stat(p)
        assert st.st_uid == uid("alice") and stat.S_IMODE(st.st_mode) == 0o640, p
    # across the rotations, every line is there, once, in order
    seen = [int(n) for n in re.findall(r"^fill-fill-fill-fill-(\d+)\r?$",
                                       text(log + ".2") + text(log + ".1") + text(log),
                                       re.M)]
    assert seen and seen == list(range(seen[0], 2000)), seen[:5]
    assert len(seen) >= 1000     # three files of 16K hold that many
    ctl(bmd, "alice", "poweroff", "a1")
    bmd.wait_state("a1", "STOP")


def test_planted_symlink_at_err_logfile(setup, bmd):
    shared = os.path.join(bmd.dir, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o1777)                    # like /tmp
    rootfile = os.path.join(bmd.dir, "root-file")
    with open(rootfile, "w") as f:
        f.write("root's\n")
    os.chmod(rootfile, 0o644)
    alicefile = os.path.join(setup.adir, "precious")
    with open(alicefile, "w") as f:
        f.write("alice's\n")
    chown(alicefile, "alice")
    logs = {"v1": os.path.join(shared, "v1.log"), "v2": os.path.join(shared, "v2.log")}
    # bob plants links where alice's logs will be, to root's and alice's files
    for v, target in (("v1", rootfile), ("v2", alicefile)):
        subprocess.run(as_user("bob", ["ln", "-s", target, logs[v]]), check=True)
    setup.start("", setup.vm("v1", err_logfile=logs["v1"]) +
                setup.vm("v2", err_logfile=logs["v2"]))
    for v in ("v1", "v2"):
        rc, out, err = ctl(bmd, "alice", "boot", v)
        assert rc == 0, err                     # the VM runs, without a log
    for v in ("v1", "v2"):
        bmd.wait_running(v)
        bmd.wait_log(r"vm %s: err_logfile %s: .*(symbolic link|Permission denied)"
                     % (v, re.escape(logs[v])))
    with open(rootfile) as f:
        assert f.read() == "root's\n"
    with open(alicefile) as f:
        assert f.read() == "alice's\n"
    assert os.stat(rootfile).st_uid == 0
    for v in ("v1", "v2"):
        ctl(bmd, "alice", "poweroff", v)
    for v in ("v1", "v2"):
        bmd.wait_state(v, "STOP")


def test_logs_on_proc_files_are_refused(setup, bmd):
    """alice points her logs at a proc file of her own process.  The kernel
    checks the privileges of whoever writes there, and bmd writes the logs
    as root: "-20" from her program into /proc/PID/autogroup would give her
    processes nice -20.  Such a file is refused when opened, by its file
    system, and the VM runs without that log."""
    # a session of its own: its own autogroup, not the test runner's
    victim = subprocess.Popen(as_user("alice", ["sleep", "1000"]),
                              start_new_session=True)
    try:
        ag = "/proc/%d/autogroup" % victim.pid
        wait_until(lambda: proc_ids(victim.pid)["Uid"] == [uid("alice")] * 4,
                   10, "alice's sleep")
        with open(ag) as f:
            before = f.read()
        assert before.endswith(" nice 0\n"), before
        fake = os.path.join(setup.adir, "fake-qemu")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho -20\nexec sleep 1000\n")
        os.chmod(fake, 0o755)
        chown(fake, "alice")
        setup.start("", setup.vm("a1", qemu_binary=fake, err_logfile=ag,
                                 console_logfile=ag))
        rc, out, err = ctl(bmd, "alice", "boot", "a1")
        assert rc == 0, err
        for key in ("err_logfile", "console_logfile"):
            bmd.wait_log(r"vm a1: %s %s: on a proc file system" % (key, re.escape(ag)))
        time.sleep(1)                   # what the program printed is in
        with open(ag) as f:
            assert f.read() == before
    finally:
        victim.kill()
        victim.wait()
    ctl(bmd, "alice", "poweroff", "a1")
    bmd.wait_state("a1", ["STOP", "FAILED"])


def test_alices_logs_take_nothing_of_roots_reserve(setup, bmd):
    """bmd appends what alice's program prints to her err_logfile and
    console_logfile.  It must write there as she would: on a file system
    whose space left is root's reserve, her own writes fail, so bmd's for
    her must fail too (her quota likewise), or her program fills the
    space kept for root."""
    img, mnt = os.path.join(bmd.dir, "small.img"), os.path.join(bmd.dir, "small")
    with open(img, "wb") as f:
        f.truncate(32 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "50", img], check=True)
    os.mkdir(mnt)
    subprocess.run(["mount", "-o", "loop", img, mnt], check=True)
    try:
        d = os.path.join(mnt, "alice")
        os.mkdir(d)
        chown(d, "alice")
        fill = subprocess.run(as_user("alice", ["sh", "-c", "cat /dev/zero > %s/fill"
                                                % d]), capture_output=True, text=True)
        assert "No space left" in fill.stderr, fill.stderr

        def free():
            st = os.statvfs(mnt)
            return st.f_bfree * st.f_frsize
        before = free()
        assert before > 8 << 20             # root's reserve is all that is left
        fake = os.path.join(setup.adir, "fake-qemu")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\nhead -c 6000000 /dev/zero | tr '\\0' x\n"
                    "touch %s\nexec sleep 1000\n" % os.path.join(setup.adir, "printed"))
        os.chmod(fake, 0o755)
        chown(fake, "alice")
        log, clog = os.path.join(d, "a1.log"), os.path.join(d, "a1.console")
        setup.start("", setup.vm("a1", qemu_binary=fake, err_logfile=log,
                                 console_logfile=clog))
        rc, out, err = ctl(bmd, "alice", "boot", "a1")
        assert rc == 0, err
        # all of it is printed, and read by bmd once the program is gone
        wait_until(lambda: os.path.exists(os.path.join(setup.adir, "printed")),
                   60, "the program to print")
        ctl(bmd, "alice", "poweroff", "a1")
        bmd.wait_state("a1", ["STOP", "FAILED"])
        assert os.path.getsize(log) < 1 << 20, os.path.getsize(log)   # of 6 MB
        assert free() > before - (1 << 20), (before, free())
    finally:
        subprocess.run(["umount", "-l", mnt])


def bmd_children(bmd):
    """The pids whose parent is bmd (its QEMUs and helpers)."""
    with open("/proc/%d/task/%d/children" % (bmd.proc.pid, bmd.proc.pid)) as f:
        return [int(p) for p in f.read().split()]


def test_a_users_hung_file_system_never_hangs_bmd(setup, bmd):
    """alice's err_logfile and console_logfile are on a FUSE file system
    whose server never answers.  The openers, running as her, wait there
    and cannot even be killed until the server answers.  bmd must not wait
    for them, neither for ever nor meanwhile: it answers at once, after
    the openers' time limit the VM runs without the logs, and the openers
    are reaped once the server goes."""
    hang = HangFS(os.path.join(bmd.dir, "hang"))
    try:
        log = os.path.join(hang.mnt, "a1.log")
        clog = os.path.join(hang.mnt, "a1.console")
        setup.start("", setup.vm("a1", err_logfile=log, console_logfile=clog))
        rc, out, err = ctl(bmd, "alice", "boot", "a1", timeout=60)
        assert rc == 0, (rc, out, err)
        # the openers wait without holding bmd: it answers meanwhile
        assert listed(bmd, "root") == ["a1"]
        assert "did not answer" not in bmd.log_text(), "answered only after"
        for what, path in (("err_logfile", log), ("console_logfile", clog)):
            bmd.wait_log(r"vm a1: %s %s: the opener running as uid %d did not "
                         r"answer within 10 s; killed" % (what, re.escape(path),
                                                          uid("alice")))
        assert hang.requests > 0            # it did wait there
        rc, out, err = ctl(bmd, "root", "list")
        assert rc == 0 and "a1" in out, err
        pid = bmd.wait_running("a1")
        helpers = [p for p in bmd_children(bmd) if p != pid]
        assert helpers, "no opener left waiting: the test did not hang it"
    finally:
        hang.close()
    # the server has gone: the opener ends and bmd reaps it
    wait_until(lambda: not any(os.path.exists("/proc/%d" % p) for p in helpers),
               30, "the opener to be reaped")
    assert bmd.answers()
    ctl(bmd, "alice", "poweroff", "a1")
    bmd.wait_state("a1", "STOP")


def descendants_of(pid):
    """Every process whose parent is pid, whichever of its threads made it."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/status" % d) as f:
                if any(l.split()[1:] == [str(pid)] for l in f if l.startswith("PPid:")):
                    out.append(int(d))
        except OSError:
            pass
    return out


def test_a_users_hung_file_system_never_hangs_a_load(setup, bmd):
    """alice's disk is on a FUSE file system whose server never answers.
    bmd checks her paths and reads her files through a process running as
    her, never in its own threads: bmd starts (after that process's time
    limit), loads and answers; while the process waits there, whatever
    would be read as alice fails at once, with the reason, and everyone
    else is served; once the server goes, all is as before."""
    hang = HangFS(os.path.join(bmd.dir, "hang"))
    try:
        img = os.path.join(hang.mnt, "a2.img")
        setup.start(setup.vm("r1"), setup.vm("a1") + setup.vm("a2", disk=img))
        bmd.wait_log(r"disk %s: no answer within 10 s; given up" % re.escape(img))
        assert hang.requests > 0            # it did wait there
        assert listed(bmd, "root") == ["a1", "r1"]
        waiting = [p for p in descendants_of(bmd.proc.pid)]
        assert waiting, "nothing left waiting: the test did not hang it"
        # nothing more is read as alice while it waits: at once, and why
        rc, out, err = ctl(bmd, "alice", "boot", "a1", timeout=8)
        assert rc != 0 and "alice.conf: not parsed: a process reading as " \
            "this user still waits in a file system that does not answer" \
            in err, (rc, err)
        assert bmd.state("a1") == "STOP"
        # everyone else is served, and alice keeps what she had
        rc, out, err = ctl(bmd, "root", "boot", "r1", timeout=8)
        assert rc == 0, err
        rc, out, err = ctl(bmd, "root", "reload", timeout=8)
        assert listed(bmd, "root") == ["a1", "r1"], (rc, out, err)
        # her changed file is not even parsed (the parser would run as her)
        with open(setup.afile, "a") as f:
            f.write("# changed\n")
        rc, out, err = ctl(bmd, "root", "reload", timeout=8)
        assert "alice.conf: not parsed: a process reading as this user " \
            "still waits" in err, (rc, err)
        assert listed(bmd, "root") == ["a1", "r1"]
        bmd.wait_running("r1")
    finally:
        hang.close()
    # the server has gone: the process ends, is reaped, alice is served
    wait_until(lambda: not any(bmdtest.pid_alive(p) for p in waiting), 30,
               "the reader to end")
    # and, once 30 s have passed since it was given up, alice is served
    wait_until(lambda: ctl(bmd, "alice", "boot", "a1")[0] == 0, 45,
               "alice's boot to be served again")
    bmd.wait_running("a1")
    rc, out, err = ctl(bmd, "root", "reload")
    assert "disk %s: No such file or directory" % img in err, err
    for v in ("a1", "r1"):
        ctl(bmd, "root", "poweroff", v)
        bmd.wait_state(v, "STOP")


def test_a_start_check_that_waits_never_holds_the_daemon(setup, bmd):
    """alice's sharefs directory is on a FUSE file system whose server never
    answers.  No load looks at it; the check of her paths at a start does,
    as her, and waits there.  Meanwhile bmd answers everyone, root's VM
    boots; her boot is answered when the check is given up, with why."""
    hang = HangFS(os.path.join(bmd.dir, "hang"))
    try:
        share = os.path.join(hang.mnt, "share")
        setup.start(setup.vm("r1"), setup.vm("a1", sharefs='"data=%s"' % share))
        boot = subprocess.Popen(as_user("alice", [os.path.join(bmdtest.BUILD, "bmdctl"),
                                                  "-s", bmd.sock, "boot", "a1"]),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        wait_until(lambda: hang.requests > 0, 20, "the check to wait there")
        given_up = r"vm a1: the check of its files as alice did not answer"
        assert listed(bmd, "bob") == []
        rc, out, err = ctl(bmd, "root", "boot", "r1")
        assert rc == 0, err
        assert bmd.state("a1") == "PRESTART"
        # all of that came before the check was given up
        assert not re.search(given_up, bmd.log_text()), "answered only after it"
        out, err = boot.communicate(timeout=60)
        assert boot.returncode != 0 and "a1: the check of its files as alice " \
            "did not answer within 10 s; killed" in err, err
        assert bmd.state("a1") == "STOP"
        bmd.wait_running("r1")
    finally:
        hang.close()
    ctl(bmd, "root", "poweroff", "r1")
    bmd.wait_state("r1", "STOP")


def test_a_restart_check_that_waits_never_holds_the_daemon(setup, bmd):
    """alice's boot = always VM names a sharefs directory that, once the VM
    runs, is under a FUSE file system whose server never answers.  Her
    QEMU dies; the restart checks her paths again, as a start does, and
    waits there, without bmd waiting: it answers meanwhile, the VM shows
    PRESTART, and the restart is given up with why; the run's poststop
    follows (FAILED)."""
    sw = os.path.join(bmd.dir, "sw")
    share = os.path.join(sw, "share")
    os.makedirs(share)
    chown(share, "alice")
    setup.start(setup.vm("r1"), setup.vm("a1", sharefs='"data=%s"' % share,
                                         boot="always"))
    pid = bmd.wait_running("a1")
    hang = HangFS(sw)                   # over the directory: share now hangs
    try:
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: bmd.state("a1") == "PRESTART", 30, "the restart's check")
        wait_until(lambda: hang.requests > 0, 20, "the check to wait there")
        rc, out, err = ctl(bmd, "root", "boot", "r1")
        assert rc == 0, err
        assert listed(bmd, "alice") == ["a1"]
        assert "did not answer" not in bmd.log_text(), "answered only after"
        bmd.wait_log(r"vm a1: the check of its files as alice did not answer "
                     r"within 10 s; killed")
        bmd.wait_state("a1", "FAILED")
        rc, out, err = ctl(bmd, "alice", "status", "a1")
        assert "could not start: the check of its files as alice did not " \
            "answer" in out, out
        bmd.wait_running("r1")
    finally:
        hang.close()
    ctl(bmd, "root", "poweroff", "r1")
    bmd.wait_state("r1", "STOP")


def open_paths(pid):
    """What pid's descriptors name now (one closed meanwhile is left out)."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return out


def test_alices_disk_on_her_own_fuse_mount(setup, bmd):
    """alice keeps her image on a FUSE file system she mounted herself
    (bindfs here; sshfs is alike) without allow_other: only a process
    with all of her ids may enter it, not even root.  Her QEMU can open
    it, so bmd accepts the disk (checked by a process with all of her
    ids), and her VM boots from it."""
    src, mnt = os.path.join(setup.adir, "src"), os.path.join(setup.adir, "mnt")
    for d in (src, mnt):
        os.mkdir(d, 0o755)
        chown(d, "alice")
    img = os.path.join(src, "d.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    chown(img, "alice")
    # Debian's udev leaves /dev/fuse 0666, as fusermount3 expects
    mode = stat.S_IMODE(os.stat("/dev/fuse").st_mode)
    os.chmod("/dev/fuse", 0o666)
    try:
        subprocess.run(as_user("alice", ["bindfs", "--no-allow-other", src, mnt]),
                       check=True, timeout=30)
        try:
            disk = os.path.join(mnt, "d.img")
            with pytest.raises(PermissionError):
                os.stat(disk)               # not even root enters it
            setup.start(setup.vm("r1"), setup.vm("a1", disk=disk))
            assert listed(bmd, "root") == ["a1", "r1"], bmd.log_text()
            rc, out, err = ctl(bmd, "alice", "boot", "a1")
            assert rc == 0, err
            bmd.wait_running("a1")
            qemu = bmd.vm("a1")["pid"]
            wait_until(lambda: disk in open_paths(qemu), 30,
                       "her QEMU to open the disk on her mount")
            ctl(bmd, "alice", "poweroff", "a1")
            bmd.wait_state("a1", "STOP")
        finally:
            subprocess.run(as_user("alice", ["fusermount3", "-u", mnt]), timeout=30)
    finally:
        os.chmod("/dev/fuse", mode)


def test_disk_alice_cannot_read_is_refused(setup, bmd):
    disk = os.path.join(bmd.dir, "root.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    os.chmod(disk, 0o600)
    link = os.path.join(setup.adir, "mine.img")
    os.symlink(disk, link)
    os.lchown(link, uid("alice"), pwd.getpwnam("alice").pw_gid)
    ro = os.path.join(bmd.dir, "ro.img")
    with open(ro, "wb") as f:
        f.truncate(1 << 20)
    os.chmod(ro, 0o644)
    rootkernel = os.path.join(bmd.dir, "vmlinuz.root")
    shutil.copy(bmdtest.KERNEL, rootkernel)
    os.chmod(rootkernel, 0o600)
    setup.start("", setup.vm("d1", disk=disk) + setup.vm("d2", disk=link)
                + setup.vm("d3", disk=ro) + setup.vm("d4", disk="readonly:" + ro)
                + setup.vm("k1", kernel=rootkernel))
    for v, path in (("d1", disk), ("d2", link), ("d3", ro)):
        rc, out, err = ctl(bmd, "alice", "boot", v)
        assert rc != 0 and "disk %s: alice cannot read/write it" % path in err, (v, err)
        assert bmd.state(v) == "STOP"
    rc, out, err = ctl(bmd, "alice", "boot", "k1")
    assert rc != 0 and "kernel %s: alice cannot read it" % rootkernel in err, err
    # read-only is enough for a readonly disk
    rc, out, err = ctl(bmd, "alice", "boot", "d4")
    assert rc == 0, err
    bmd.wait_running("d4")
    ctl(bmd, "alice", "poweroff", "d4")
    bmd.wait_state("d4", "STOP")
    with open(disk, "rb") as f:
        assert f.read() == b"\0" * (1 << 20)


def test_alice_reaches_her_shell_through_bmdctl_console(setup, bmd):
    setup.start("", setup.vm("a1"))
    rc, out, err = ctl(bmd, "alice", "boot", "a1")
    assert rc == 0, err
    bmd.wait_running("a1")
    master, slave = pty.openpty()
    proc = subprocess.Popen(as_user("alice", [os.path.join(bmdtest.BUILD, "bmdctl"),
                                              "-s", bmd.sock, "console", "a1"]),
                            stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    buf = bytearray()
    done = threading.Event()

    def reader():
        while True:
            try:
                d = os.read(master, 65536)
            except OSError:
                d = b""
            if not d:
                done.set()
                return
            buf.extend(d)
    threading.Thread(target=reader, daemon=True).start()
    try:
        wait_until(lambda: bmdtest.BANNER in buf or b"bmdguest#" in buf,
                   bmdtest.BOOT_TIMEOUT, "the guest on alice's console", 0.2)
        os.write(master, b"echo USER$((40+2))OK\r")
        wait_until(lambda: b"USER42OK" in buf, 30, "the guest shell's answer", 0.2)
        os.write(master, b"\r~.")
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    rc, out, err = ctl(bmd, "alice", "poweroff", "a1")
    assert rc == 0, err
    bmd.wait_state("a1", "STOP")


def test_requests_that_change_something_are_audited(setup, bmd):
    setup.start("", setup.vm("a1", stop_timeout=1))
    rc, out, err = ctl(bmd, "alice", "boot", "a1")
    assert rc == 0, err
    rc, out, err = ctl(bmd, "bob", "poweroff", "a1")
    assert rc == 1
    rc, out, err = ctl(bmd, "alice", "reload")
    assert rc == 1
    rc, out, err = ctl(bmd, "root", "reload", "--dry-run")
    assert rc == 0, err
    rc, out, err = ctl(bmd, "alice", "list")
    assert rc == 0, err
    rc, out, err = ctl(bmd, "alice", "poweroff", "a1")
    assert rc == 0, err
    alice, bob = (pwd.getpwnam(u).pw_uid for u in ("alice", "bob"))
    bmd.wait_log(r"request: uid %d \(alice, pid \d+\): boot a1: done" % alice)
    bmd.wait_log(r"request: uid %d \(bob, pid \d+\): poweroff a1: refused: "
                 r"no VM named 'a1'" % bob)
    bmd.wait_log(r"request: uid %d \(alice, pid \d+\): reload: refused: "
                 r"permission denied: only root may reload" % alice)
    bmd.wait_log(r"request: uid %d \(alice, pid \d+\): poweroff a1: done" % alice)
    # what changes nothing is not in the trail
    log = bmd.log_text()
    assert not re.search(r"request: .*: (list|reload: done)", log), log[-3000:]
