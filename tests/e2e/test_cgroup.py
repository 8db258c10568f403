"""VMs in control groups of their own (global `cgroup`), with real QEMU
guests, a real user's VM and the machine's real cgroup file systems: the
version 2 hierarchy, and a version 1 cpu hierarchy where the machine has
one (a hybrid host).  A machine without any cgroup file system fails these
tests: bmd's support for it would go untested.
"""

import json
import os
import subprocess
import uuid

import pytest

import bmdtest
from bmdtest import pid_alive, wait_until
from test_adopt import kill9
from test_isolation_run import Standins, bhyve_vm
from test_conf_owner import users  # noqa: F401  (fixture)
from test_users import Setup, as_user, ctl

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="makes control groups: needs root")


def hierarchies():
    """(name, mount point): cgroup2, and a v1 hierarchy with cpu."""
    found = {}
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype, opts = line.split()[:4]
            if fstype == "cgroup2":
                found.setdefault("v2", mnt)
            elif fstype == "cgroup" and "cpu" in opts.split(","):
                found.setdefault("v1-cpu", mnt)
    return found


HIER = hierarchies()


@pytest.fixture(params=sorted(HIER) or ["none"])
def cgdir(request):
    """A directory for bmd's `cgroup` (bmd makes it); removed after."""
    if request.param == "none":
        pytest.fail("no cgroup file system is mounted")
    d = os.path.join(HIER[request.param], "bmd-e2e-" + uuid.uuid4().hex[:8])
    yield d
    if os.path.isdir(d):
        for sub in os.listdir(d):
            p = os.path.join(d, sub)
            if os.path.isdir(p):
                os.rmdir(p)
        os.rmdir(d)


def group_of(pid, mount):
    """pid's group in the hierarchy mounted at mount, as a path there."""
    v2 = mount in [m for k, m in HIER.items() if k == "v2"]
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if (v2 and hid == "0") or (not v2 and "cpu" in ctrls.split(",")):
                return os.path.join(mount, path.lstrip("/"))
    return None


def members(group):
    with open(os.path.join(group, "cgroup.procs")) as f:
        return {int(x) for x in f.read().split()}


def test_each_vm_runs_in_its_own_group_until_it_exits(users, bmd, cgdir):  # noqa: F811
    s = Setup(bmd)
    bmd.global_extra += "\tcgroup = %s;\n" % cgdir
    s.start(s.vm("rootvm"), s.vm("avm"))
    assert os.path.isdir(cgdir)
    mount = os.path.dirname(cgdir)
    for u, v in (("root", "rootvm"), ("alice", "avm")):
        rc, out, err = ctl(bmd, u, "boot", v)
        assert rc == 0, err
    pids = {v: bmd.wait_running(v) for v in ("rootvm", "avm")}
    for v, pid in pids.items():
        g = os.path.join(cgdir, "vm-" + v)
        # the hypervisor is in the VM's group, and only it
        assert group_of(pid, mount) == g, (v, open("/proc/%d/cgroup" % pid).read())
        assert members(g) == {pid}, (v, members(g))
        st = os.stat(g)
        assert st.st_uid == 0 and os.stat(os.path.join(g, "cgroup.procs")).st_uid == 0
    # the owner cannot move her QEMU out of its group, nor a process in
    for target, pid in ((mount, pids["avm"]),
                        (os.path.join(cgdir, "vm-avm"), None)):
        code = ("import os,sys; open(sys.argv[1] + '/cgroup.procs', 'w')"
                ".write(sys.argv[2])")
        p = subprocess.run(as_user("alice", ["/usr/bin/python3", "-c", code, target,
                                             str(pid if pid else 0)]),
                           capture_output=True, text=True, timeout=20)
        assert p.returncode != 0 and "PermissionError" in p.stderr, (target, p.stderr)
    assert group_of(pids["avm"], mount) == os.path.join(cgdir, "vm-avm")
    # status names the group, to its owner too
    rc, out, err = ctl(bmd, "alice", "status", "avm")
    assert rc == 0 and "control group: %s/vm-avm\n" % cgdir in out, (out, err)
    rc, out, err = ctl(bmd, "alice", "status", "--json", "avm")
    assert rc == 0 and json.loads(out)["cgroup"] == cgdir + "/vm-avm", out
    # a VM's group goes with its process; the other's stays
    rc, out, err = ctl(bmd, "alice", "poweroff", "avm")
    assert rc == 0, err
    bmd.wait_state("avm", "STOP")
    wait_until(lambda: not os.path.exists(os.path.join(cgdir, "vm-avm")), 10,
               "avm's group removed")
    rc, out, err = ctl(bmd, "alice", "status", "--json", "avm")
    assert rc == 3 and "cgroup" not in json.loads(out), out
    assert members(os.path.join(cgdir, "vm-rootvm")) == {pids["rootvm"]}
    # booted again: a group again
    rc, out, err = ctl(bmd, "alice", "boot", "avm")
    assert rc == 0, err
    pid = bmd.wait_new_pid("avm", pids["avm"])
    assert group_of(pid, mount) == os.path.join(cgdir, "vm-avm")
    for v in ("avm", "rootvm"):
        rc, out, err = ctl(bmd, "root", "poweroff", v)
        assert rc == 0, err
        bmd.wait_state(v, "STOP")
    wait_until(lambda: not any(x.startswith("vm-") for x in os.listdir(cgdir)),
               10, "every VM's group removed")
    assert "control group" not in bmd.log_text()


def test_an_adopted_vm_keeps_its_group_which_goes_when_it_exits(users, bmd, cgdir):  # noqa: F811
    s = Setup(bmd)
    bmd.global_extra += "\tcgroup = %s;\n" % cgdir
    s.start(s.vm("vm1"), "")
    mount = os.path.dirname(cgdir)
    rc, out, err = ctl(bmd, "root", "boot", "vm1")
    assert rc == 0, err
    pid = bmd.wait_running("vm1")
    g = os.path.join(cgdir, "vm-vm1")
    assert group_of(pid, mount) == g
    kill9(bmd)
    assert pid_alive(pid) and members(g) == {pid}
    # a VM that ended while no bmd ran left its (empty) group
    os.mkdir(os.path.join(cgdir, "vm-gone"))
    bmd.start()
    assert bmd.vm("vm1")["pid"] == pid
    assert sorted(os.listdir(cgdir)).count("vm-gone") == 0
    assert members(g) == {pid}
    assert "removed 1 empty control group of VMs no longer running" in bmd.log_text()
    rc, out, err = ctl(bmd, "root", "poweroff", "vm1")
    assert rc == 0, err
    bmd.wait_state("vm1", "STOP")
    wait_until(lambda: not os.path.exists(g), 10, "the adopted VM's group removed")


def test_a_cgroup_outside_a_cgroup_file_system_stops_bmd(bmd):
    for path, why in ((os.path.join(bmd.dir, "groups"),
                       "is not in a cgroup file system"),
                      (os.path.join(bmd.dir, "no", "such"), "cannot create")):
        bmd.global_extra = "\tcgroup = %s;\n" % path
        bmd.write_config(bmdtest.guest_vm("vm1", "no"))
        p = subprocess.run([os.path.join(bmdtest.BUILD, "bmd"), "-F", "-f", bmd.conf],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=30)
        assert p.returncode != 0, p.stderr
        assert "cgroup: " in p.stderr and path in p.stderr and why in p.stderr, p.stderr
        assert not os.path.exists(bmd.sock)


def test_a_bhyve_vms_loader_and_bhyve_both_run_in_its_group(bmd, cgdir):
    """The stand-ins (tests/e2e/test_isolation_run.py) record their
    /proc/PID/cgroup: bhyveload, then bhyve, each in the VM's group; what
    bhyve leaves running when it exits is killed, and the group removed."""
    si = Standins(bmd)
    # this bhyve also leaves a process behind, in a session of its own
    hv = os.path.join(si.top, "usr-sbin", "bhyve")
    orphan = os.path.join(si.out, "orphan.pid")
    with open(hv) as f:
        text = f.read()
    with open(hv, "w") as f:
        f.write(text.replace("trap ", "setsid sleep 1000 </dev/null >/dev/null 2>&1 &\n"
                             "echo $! > %s\ntrap " % orphan, 1))
    bmd.global_extra += "\tcgroup = %s;\n" % cgdir
    disk = os.path.join(bmd.dir, "bh.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    bmd.start(bhyve_vm("bh", disk=disk))
    assert bmd.bmdctl("boot", "bh")[0] == 0
    bmd.wait_running("bh")
    wait_until(lambda: si.records("bhyve"), 10, "the stand-in bhyve's record")
    rel = "/" + os.path.relpath(os.path.join(cgdir, "vm-bh"),
                                os.path.dirname(cgdir))
    for prog in ("bhyveload", "bhyve"):
        rec = si.records(prog)
        assert len(rec) == 1, prog
        lines = rec[0]["cgroup"].splitlines()
        assert any(line.endswith(":" + rel) for line in lines), (prog, lines)
    wait_until(lambda: os.path.exists(orphan), 10, "the orphan's pid")
    with open(orphan) as f:
        left = int(f.read())
    assert pid_alive(left)
    assert bmd.bmdctl("poweroff", "bh")[0] == 0
    bmd.wait_state("bh", "STOP")
    # what the VM left in its group dies with it, and the group goes
    wait_until(lambda: not pid_alive(left), 10, "the orphan killed")
    wait_until(lambda: not os.path.exists(os.path.join(cgdir, "vm-bh")), 10,
               "bh's group removed")
    assert "vm bh: killing what its program left in %s/vm-bh" % cgdir in bmd.log_text()
