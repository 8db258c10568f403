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
import subprocess
import time

import pytest

import bmdtest
from bmdtest import wait_until, pid_alive
from test_conf_owner import users  # noqa: F401  (fixture)
from test_users import Setup, ctl, as_user, listed, uid, proc_ids

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="creates users and runs QEMU as them: needs root")

NF = "VM not found"


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
    setup.start(root_vm("web", stop_timeout=60) + root_vm("keep"), "")
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
