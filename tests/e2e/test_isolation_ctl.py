"""Identity, limits and the per-VM lock between users (issue 11, items 3, 11
and 15), with real users, real QEMU guests and bmd's real control socket.

A root file includes alice's file, as in test_users.py (whose Setup and
helpers are reused); the control socket is 0666.
"""

import json
import os
import random
import re
import signal
import socket
import stat
import subprocess
import time

import pytest

import bmdtest
from bmdtest import wait_until, pid_alive
from test_conf_owner import users  # noqa: F401  (fixture)
from test_users import Setup, ctl, as_user, listed, uid, proc_ids

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="creates users and runs QEMU as them: needs root")

NF = "no VM named"


@pytest.fixture
def setup(bmd, users):  # noqa: F811
    return Setup(bmd)


def write_alice(setup, text):
    with open(setup.afile, "w") as f:
        f.write(text)


def root_vm(name, **keys):
    keys.setdefault("boot", "no")
    return bmdtest.guest_vm(name, **keys)


def owners(bmd, user):
    rc, out, err = ctl(bmd, user, "list", "--json")
    assert rc == 0, err
    return {v["name"]: (v["owner"], v["pid"]) for v in json.loads(out)}


def reload(bmd):
    rc, out, err = ctl(bmd, "root", "reload")
    assert rc == 0, err


def root_console_secret(bmd, name):
    """Boot root's VM, type a secret on its console, power it off."""
    rc, out, err = ctl(bmd, "root", "boot", name)
    assert rc == 0, err
    pid, s = bmd.boot_to_banner(name)
    s.run("echo ROOT$((6*7))SECRET")
    s.close()
    assert "ROOT42SECRET" in ctl(bmd, "root", "console", "--dump", name)[1]
    rc, out, err = ctl(bmd, "root", "poweroff", name)
    assert rc == 0, err
    bmd.wait_state(name, "STOP")
    wait_until(lambda: not pid_alive(pid), 30, "root's QEMU to exit")


# ---- item 3: a running VM keeps its owner; names are not taken over ----

def test_running_root_vm_is_not_taken_over_by_name(setup, bmd):
    # the guest ignores the power button, so that web is still running (and
    # stopping) while alice tries: a removed VM is stopped at once
    setup.start(root_vm("web", stop_timeout=60, flags="bmd.noacpi") +
                root_vm("keep"), "")
    rc, out, err = ctl(bmd, "root", "boot", "web")
    assert rc == 0, err
    pid, s = bmd.boot_to_banner("web")
    # root drops web from its file while it runs; alice defines her own web
    bmd.write_config(root_vm("keep") + '.include "%s";\n' % setup.afile)
    write_alice(setup, setup.vm("web"))
    mark = len(bmd.log_text())
    reload(bmd)
    # the running QEMU stays root's: never listed as alice's ...
    assert "web" not in listed(bmd, "alice")
    o = owners(bmd, "root")
    assert o.get("web", ("root", pid))[0] == "root", o
    # ... alice reaches neither its console nor its control
    for c in (("console", "--dump"), ("poweroff",), ("reset",), ("stop",)):
        rc, out, err = ctl(bmd, "alice", *(c + ("web",)))
        assert rc != 0 and NF in err, (c, rc, out, err)
    assert pid_alive(pid) and proc_ids(pid)["Uid"] == [0] * 4
    # and her definition is refused with a reason, in the daemon's log
    bmd.wait_log(r"vm web: .*alice.*rejected.*root", 10, mark)
    # root's web stops (it left root's file); then alice's web can exist
    wait_until(lambda: not pid_alive(pid), 90, "root's web to stop")
    bmd.wait_log(r"vm web: removed", 30, mark)
    reload(bmd)
    assert "web" in listed(bmd, "alice")
    rc, out, err = ctl(bmd, "alice", "boot", "web")
    assert rc == 0, err
    apid = bmd.wait_running("web")
    assert apid != pid and proc_ids(apid)["Uid"] == [uid("alice")] * 4
    assert owners(bmd, "alice")["web"] == ("alice", apid)
    rc, out, err = ctl(bmd, "alice", "poweroff", "web")
    assert rc == 0, err
    bmd.wait_state("web", "STOP")


def test_several_names_reach_only_the_callers_vms(setup, bmd):
    """alice names her VM and root's in one command: hers obeys, root's is
    'no VM named' to her and is left as it was."""
    setup.start(root_vm("r1"), setup.vm("a1"))
    rc, out, err = ctl(bmd, "root", "boot", "r1")
    assert rc == 0, err
    rpid = bmd.wait_running("r1")
    rc, out, err = ctl(bmd, "alice", "boot", "r1", "a1")
    assert rc == 1 and "boot: %s 'r1'" % NF in err, (rc, out, err)
    apid = bmd.wait_running("a1")
    assert proc_ids(apid)["Uid"] == [uid("alice")] * 4
    rc, out, err = ctl(bmd, "alice", "poweroff", "-w", "r1", "a1")
    assert rc == 1 and "poweroff: %s 'r1'" % NF in err, (rc, out, err)
    assert out == "a1: stopped (powered off by alice)\n", out
    assert bmd.qemus() == {"r1": rpid} and pid_alive(rpid)
    rc, out, err = ctl(bmd, "root", "poweroff", "-w", "r1")
    assert rc == 0, err


def test_stopped_root_vm_renamed_to_alice_keeps_no_scrollback(setup, bmd):
    """A stopped VM whose definition changes owner (here through `name =`)
    becomes a new VM: nothing of root's runs (scrollback) reaches alice."""
    setup.start(root_vm("web") + root_vm("keep"), "")
    root_console_secret(bmd, "web")
    bmd.write_config(root_vm("keep") + '.include "%s";\n' % setup.afile)
    write_alice(setup, setup.vm("mine").replace("{\n", "{\n\tname = web;\n", 1))
    reload(bmd)
    assert "web" in listed(bmd, "alice")
    assert owners(bmd, "root")["web"][0] == "alice"
    rc, out, err = ctl(bmd, "alice", "console", "--dump", "web")
    assert rc == 0, err
    assert "ROOT42SECRET" not in out


def test_boot_of_a_stopped_vm_whose_owner_changed(setup, bmd):
    """`boot` re-reads the VM's definition (no reload in between): a new
    owner's definition starts a new VM, with none of root's scrollback."""
    setup.start(root_vm("web") + root_vm("keep"), "")
    root_console_secret(bmd, "web")
    bmd.write_config(root_vm("keep") + '.include "%s";\n' % setup.afile)
    write_alice(setup, setup.vm("web"))
    rc, out, err = ctl(bmd, "root", "boot", "web")
    assert rc == 0, err
    apid = bmd.wait_running("web")
    assert proc_ids(apid)["Uid"] == [uid("alice")] * 4
    rc, out, err = ctl(bmd, "alice", "console", "--dump", "web")
    assert rc == 0, err
    assert "ROOT42SECRET" not in out
    rc, out, err = ctl(bmd, "alice", "poweroff", "web")
    assert rc == 0, err
    bmd.wait_state("web", "STOP")


# ---- item 15: one hypervisor per VM, whoever starts it ----

def run_popen(bmd, user, name):
    """`bmdctl run NAME` as user, in the background (com1 on a pipe)."""
    return subprocess.Popen(as_user(user, [os.path.join(bmdtest.BUILD, "bmdctl"),
                                           "-f", bmd.conf, "run", name]),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def qemus_of(bmd, name):
    return [p for p in bmd.stray_qemus()
            if (lambda a: "-name" in a[:-1] and a[a.index("-name") + 1] == name)(
                bmdtest.proc_cmdline(p) or [])]


def end_run(p, timeout=30):
    """Stop a `bmdctl run` (SIGTERM reaches its QEMU); its output."""
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
    return out, err


@pytest.mark.parametrize("user,vm", [("root", "rootvm"), ("alice", "a1")])
def test_run_refuses_a_vm_bmd_runs(setup, bmd, user, vm):
    setup.start(root_vm("rootvm"), setup.vm("a1"))
    rc, out, err = ctl(bmd, user, "boot", vm)
    assert rc == 0, err
    pid = bmd.wait_running(vm)
    p = run_popen(bmd, user, vm)
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        pass
    out, err = end_run(p)
    assert p.returncode == 1, (p.returncode, err)
    assert "vm %s: already running (pid %d)" % (vm, pid) in err, err
    assert qemus_of(bmd, vm) == [pid]
    assert bmd.state(vm) == "RUN"
    rc, out, err = ctl(bmd, user, "poweroff", vm)
    assert rc == 0, err
    bmd.wait_state(vm, "STOP")


def test_boot_refuses_a_vm_bmdctl_runs(setup, bmd):
    setup.start(root_vm("rootvm"), setup.vm("a1"))
    p = run_popen(bmd, "alice", "a1")
    try:
        qpid = wait_until(lambda: qemus_of(bmd, "a1"), 30, "bmdctl run's QEMU")[0]
        rc, out, err = ctl(bmd, "alice", "boot", "a1")
        assert rc == 1 and "already running (pid %d)" % qpid in err, err
        bmd.wait_log(r"vm a1: already running \(pid %d\)" % qpid, 10)
        assert bmd.state("a1") == "STOP" and qemus_of(bmd, "a1") == [qpid]
        # the lock is the hypervisor's: it outlives bmdctl itself
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        assert pid_alive(qpid)
        rc, out, err = ctl(bmd, "alice", "boot", "a1")
        assert rc == 1 and "already running (pid %d)" % qpid in err, err
        os.kill(qpid, signal.SIGTERM)
        wait_until(lambda: not pid_alive(qpid), 30, "the QEMU to exit")
        rc, out, err = ctl(bmd, "alice", "boot", "a1")
        assert rc == 0, err
        bmd.wait_running("a1")
        ctl(bmd, "alice", "poweroff", "a1")
        bmd.wait_state("a1", "STOP")
    finally:
        end_run(p)
    # bob reaches neither alice's lock nor root's
    lockroot = bmd.run_dir + ".lock"
    for d in (str(uid("alice")), "0"):
        r = subprocess.run(as_user("bob", ["ls", os.path.join(lockroot, d)]),
                           capture_output=True, text=True)
        assert r.returncode != 0 and "Permission denied" in r.stderr, r


def test_boot_and_run_race_never_two_qemus(setup, bmd):
    setup.start("", setup.vm("a1"))
    wins = {"boot": 0, "run": 0}
    rnd = random.Random(11)
    for i in range(100):
        # either starts first, the other after 0-60 ms: both sides win
        delay = rnd.uniform(0, 0.06)
        if i % 2:
            p = run_popen(bmd, "alice", "a1")
            time.sleep(delay)
            rc, out, berr = ctl(bmd, "alice", "boot", "a1")
        else:
            b = subprocess.Popen(as_user("alice", [os.path.join(bmdtest.BUILD, "bmdctl"),
                                                   "-s", bmd.sock, "boot", "a1"]),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            time.sleep(delay)
            p = run_popen(bmd, "alice", "a1")
            out, berr = b.communicate(timeout=30)
            rc = b.returncode
        if rc == 0:
            wins["boot"] += 1
            pid = bmd.wait_running("a1")        # bmd's QEMU has exec'd
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                pass
            found = qemus_of(bmd, "a1")
            out, err = end_run(p)
            assert p.returncode == 1 and "already running" in err, (i, err)
            assert found == [pid], (i, found, pid)
            rc, out, err = ctl(bmd, "alice", "poweroff", "a1")
            assert rc == 0, err
            bmd.wait_state("a1", "STOP")
        else:
            wins["run"] += 1
            assert "already running" in berr, (i, berr)
            wait_until(lambda: qemus_of(bmd, "a1"), 30, "bmdctl run's QEMU")
            time.sleep(0.05)
            assert len(qemus_of(bmd, "a1")) == 1, i
            assert p.poll() is None, (i, p.communicate())
            end_run(p)
        wait_until(lambda: not qemus_of(bmd, "a1"), 30, "no QEMU of a1 (%d)" % i)
    assert wins["boot"] + wins["run"] == 100
    assert wins["boot"] > 0 and wins["run"] > 0, wins     # a race, both ways


# ---- item 11: what one user may hold does not lock root out ----

HOLDER = r'''
import json, socket, struct, sys
path, n, keep = sys.argv[1], int(sys.argv[2]), sys.argv[4] == "keep"
body = sys.argv[3].encode()
held = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    try:
        s.sendall(struct.pack(">I", len(body)) + body)
    except OSError:
        pass                            # refused: the reason is waiting
    s.settimeout(10)
    try:
        hdr, fds, _, _ = socket.recv_fds(s, 4, 1)
        while 0 < len(hdr) < 4:
            hdr += s.recv(4 - len(hdr))
        data = b""
        if len(hdr) == 4:
            want = struct.unpack(">I", hdr)[0]
            while len(data) < want:
                d = s.recv(want - len(data))
                if not d:
                    break
                data += d
        reply = json.loads(data) if data else None
    except OSError as e:
        reply, fds = {"oserror": str(e)}, []
    print(json.dumps({"reply": reply, "fds": len(fds)}), flush=True)
    held.append((s if keep else s.close(), fds))
sys.stdin.read()                        # hold everything until told
'''


class Holder:
    """A process of user's holding n connections (or console sessions)."""

    def __init__(self, bmd, user, n, req, keep=True):
        path = os.path.join(bmd.dir, "holder.py")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(HOLDER)
            os.chmod(path, 0o644)
        req = dict(req, version=bmdtest.PROTO_VERSION)
        self.p = subprocess.Popen(as_user(user, ["/usr/bin/python3", path, bmd.sock,
                                                 str(n), json.dumps(req),
                                                 "keep" if keep else "close"]),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        self.replies = [json.loads(self.p.stdout.readline())["reply"] for _ in range(n)]

    def ok(self):
        return sum(1 for r in self.replies if r and r.get("ok"))

    def errors(self):
        return [r.get("error") if r else None for r in self.replies
                if not (r and r.get("ok"))]

    def close(self):
        self.p.stdin.close()
        self.p.wait(20)


LIST = {"command": "list"}


def answered(bmd, user):
    rc, out, err = ctl(bmd, user, "list")
    return rc == 0, err


def test_one_user_cannot_hold_every_connection(setup, bmd):
    setup.start(root_vm("rootvm"), setup.vm("a1"))
    a = Holder(bmd, "alice", 40, LIST)
    try:
        assert a.ok() == 32, a.replies                 # the default share
        assert set(a.errors()) == {"too many connections of uid %d (32, the "
                                   "limit per user)" % uid("alice")}, a.errors()
        for u in ("root", "bob"):
            ok, err = answered(bmd, u)
            assert ok, (u, err)
        # bmdctl shows the reason to the user over her limit
        rc, out, err = ctl(bmd, "alice", "list")
        assert rc == 1 and "too many connections of uid" in err, err
    finally:
        a.close()
    ok, err = answered(bmd, "alice")
    assert ok, err


def test_connection_limits_are_tunable_and_leave_root_room(setup, bmd):
    setup.bmd.global_extra += "\tmax_connections = 8;\n\tmax_connections_per_user = 3;\n"
    setup.start(root_vm("rootvm"), setup.vm("a1"))
    a = Holder(bmd, "alice", 4, LIST)
    b = Holder(bmd, "bob", 3, LIST)
    try:
        assert a.ok() == 3 and a.errors() == [
            "too many connections of uid %d (3, the limit per user)" % uid("alice")]
        # users other than root together: 8 - 3
        assert b.ok() == 2 and b.errors() == [
            "too many connections of users other than root (5)"], b.replies
        rc, out, err = ctl(bmd, "carol", "list")
        assert rc == 1 and "users other than root" in err, err
        r = Holder(bmd, "root", 4, LIST)
        try:
            assert r.ok() == 3 and r.errors() == [
                "too many connections (8, the daemon's limit)"], r.replies
        finally:
            r.close()
        ok, err = answered(bmd, "root")
        assert ok, err
        # idle connections still time out (30 s): the room comes back
        time.sleep(32)
        ok, err = answered(bmd, "carol")
        assert ok, err
    finally:
        a.close()
        b.close()


def test_bad_limits_are_refused_at_start(setup, bmd):
    setup.bmd.global_extra += "\tmax_console_sessions = 10;\n\tmax_console_sessions_per_user = 6;\n"
    with open(setup.afile, "w") as f:
        f.write("")
    bmd.write_config(root_vm("rootvm"))
    bmd.start(wait=False)
    assert bmd.proc.wait(30) != 0
    assert ("max_console_sessions_per_user (6) must be at most half of "
            "max_console_sessions (10)") in bmd.log_text()


def test_one_user_cannot_hold_every_console_session(setup, bmd):
    setup.bmd.global_extra += ("\tmax_console_sessions = 8;\n"
                               "\tmax_console_sessions_per_user = 3;\n")
    setup.start(root_vm("rootvm"), setup.vm("a1") + setup.vm("a2", owner="alice:staff"))
    for v in ("a1", "a2"):
        rc, out, err = ctl(bmd, "alice", "boot", v)
        assert rc == 0, err
        bmd.wait_running(v)
    view = {"command": "console", "name": "a1", "port": "com1",
            "mode": "read-only", "replay": False}
    a = Holder(bmd, "alice", 4, view, keep=False)
    c = Holder(bmd, "carol", 3, dict(view, name="a2"), keep=False)
    try:
        assert a.ok() == 3 and a.errors() == [
            "too many console sessions of uid %d (3, the limit per user)"
            % uid("alice")], a.replies
        assert c.ok() == 2 and c.errors() == [
            "too many console sessions of users other than root (5)"], c.replies
        rc, out, err = ctl(bmd, "alice", "console", "--raw", "--read-only", "a1", timeout=10)
        assert rc == 1 and "too many console sessions" in err, err
        # root still attaches
        r = Holder(bmd, "root", 3, view, keep=False)
        try:
            assert r.ok() == 3, r.replies
        finally:
            r.close()
    finally:
        a.close()
        c.close()
    r = Holder(bmd, "alice", 3, view, keep=False)
    try:
        assert r.ok() == 3, r.replies            # released when closed
    finally:
        r.close()
    for v in ("a1", "a2"):
        ctl(bmd, "alice", "poweroff", v)
        bmd.wait_state(v, "STOP")


def test_uefi_variables_never_pass_to_another_owner(setup, bmd):
    """The variables file is kept by VM name: when the name passes from
    root to alice, alice's VM starts from a fresh copy, never root's, and
    root's variables are set aside, never destroyed."""
    setup.start(root_vm("efi", loader="uefi"), "")
    rc, out, err = ctl(bmd, "root", "boot", "efi")
    assert rc == 0, err
    bmd.wait_running("efi")
    rc, out, err = ctl(bmd, "root", "poweroff", "efi")
    assert rc == 0, err
    bmd.wait_state("efi", "STOP")
    vars_path = os.path.join(bmd.vars_dir, "efi.vars")
    st = os.stat(vars_path)
    assert st.st_uid == 0
    # what root's guest stored in its variables
    with open(vars_path, "r+b") as f:
        f.seek(st.st_size - 64)
        f.write(b"ROOT-UEFI-SECRET")
    bmd.write_config('.include "%s";\n' % setup.afile)
    write_alice(setup, setup.vm("efi", loader="uefi"))
    reload(bmd)
    assert "efi" in listed(bmd, "alice")
    rc, out, err = ctl(bmd, "alice", "boot", "efi")
    assert rc == 0, err
    bmd.wait_running("efi")
    st = os.stat(vars_path)
    with open(vars_path, "rb") as f:
        data = f.read()
    assert data.find(b"ROOT-UEFI-SECRET") == -1, "root's UEFI variables reached alice"
    assert st.st_uid == uid("alice")
    assert bmdtest_log_has(bmd, "vm efi: ", "UEFI variables", "another owner",
                           "kept as %s.0" % vars_path)
    aside = os.stat(vars_path + ".0")
    assert aside.st_uid == 0 and stat.S_IMODE(aside.st_mode) & 0o077 == 0
    with open(vars_path + ".0", "rb") as f:
        assert b"ROOT-UEFI-SECRET" in f.read()
    rc, out, err = ctl(bmd, "alice", "poweroff", "efi")
    assert rc == 0, err
    bmd.wait_state("efi", "STOP")


def bmdtest_log_has(bmd, *parts):
    return any(all(p in line for p in parts) for line in bmd.log_text().splitlines())
