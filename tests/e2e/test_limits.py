"""Per-user limits (issue 14): max_vms_per_user, max_memory_per_user and
max_ncpu_per_user, with real users and real QEMU guests.

Users alice, bob and carol and the group staff (alice and carol) come from
test_conf_owner's `users` fixture; alice's VMs are in her own file.
"""

import json
import os
import signal

from test_conf_owner import users  # noqa: F401  (fixture)
from test_users import Setup, ctl


def limits(bmd, user):
    rc, out, err = ctl(bmd, user, "show", "limits", "--json")
    assert rc == 0, err
    return {u["user"]: u for u in json.loads(out)}


def start(bmd, limits_text, alice_vms, root_vms=()):
    s = Setup(bmd)
    bmd.global_extra += limits_text
    # the guests need not stop nicely: the teardown is quick
    s.start("".join(s.vm(n, stop_timeout=1) for n in root_vms),
            "".join(s.vm(n, stop_timeout=1, **k) for n, k in alice_vms))
    return s


def test_a_boot_over_a_limit_is_refused_with_the_figures(bmd, users):  # noqa: F811
    # staff (alice's group) may run 2 VMs, other users 1; root is never limited
    start(bmd, "\tmax_vms_per_user = 1, @staff:2;\n",
          [("a1", {}), ("a2", {}), ("a3", {})], ["rootvm"])
    for name in ("a1", "a2"):
        rc, out, err = ctl(bmd, "alice", "boot", name)
        assert rc == 0, err
    rc, out, err = ctl(bmd, "alice", "boot", "a3")
    assert rc == 1
    assert "alice: 2 VMs running, max_vms_per_user is 2" in err, err
    assert bmd.state("a3") == "STOP"
    # what each one may see of the usage
    seen = limits(bmd, "alice")
    assert list(seen) == ["alice"]
    assert (seen["alice"]["vms"], seen["alice"]["max_vms"]) == (2, 2)
    assert seen["alice"]["memory"] == 128 << 20 << 1
    assert seen["alice"]["max_memory"] is None
    assert limits(bmd, "bob") == {}
    assert list(limits(bmd, "root")) == ["alice"]
    rc, out, err = ctl(bmd, "alice", "show", "limits")
    assert rc == 0, err
    assert out.splitlines()[1].split() == ["alice", "2/2", "256M/none", "2/none"]
    # a stop frees the place
    rc, out, err = ctl(bmd, "alice", "poweroff", "-w", "a2")
    assert rc == 0, err
    rc, out, err = ctl(bmd, "alice", "boot", "a3")
    assert rc == 0, err
    rc, out, err = ctl(bmd, "root", "boot", "rootvm")
    assert rc == 0, err
    assert list(limits(bmd, "root")) == ["alice"]


def test_memory_and_ncpu_limits_follow_a_reload(bmd, users):  # noqa: F811
    s = start(bmd, "\tmax_memory_per_user = 1G, alice:200M;\n",
              [("m1", {}), ("m2", {"ncpu": 2})])
    rc, out, err = ctl(bmd, "alice", "boot", "m1")
    assert rc == 0, err
    rc, out, err = ctl(bmd, "alice", "boot", "m2")
    assert rc == 1
    assert ("alice: 128M of memory in running VMs, m2 needs 128M more, "
            "max_memory_per_user is 200M") in err, err
    # root raises memory and limits vCPUs: the new figures apply at once
    bmd.global_extra = bmd.global_extra.replace(
        "alice:200M", "alice:1G;\n\tmax_ncpu_per_user = @staff:2")
    # (alice's file stays; only root's global section changes)
    bmd.write_config('.include "%s";\n' % s.afile)
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 0, err
    rc, out, err = ctl(bmd, "alice", "boot", "m2")
    assert rc == 1
    assert ("alice: 1 vCPU in running VMs, m2 needs 2 more, "
            "max_ncpu_per_user is 2") in err, err
    assert limits(bmd, "alice")["alice"]["max_memory"] == 1 << 30


def test_boot_yes_over_a_limit_is_not_started_and_logged(bmd, users):  # noqa: F811
    start(bmd, "\tmax_vms_per_user = alice:1;\n",
          [("y1", {"boot": "yes"}), ("y2", {"boot": "yes"})])
    bmd.wait_running("y1")
    bmd.wait_log(r"vm y2: alice: 1 VM running, max_vms_per_user is 1")
    assert bmd.state("y2") in ("STOP", "FAILED")



def test_a_restart_over_a_lowered_limit_is_refused(bmd, users):  # noqa: F811
    s = start(bmd, "\tmax_memory_per_user = alice:200M;\n",
              [("x", {"boot": "always"})])
    pid = bmd.wait_running("x")
    # a lower limit never stops what runs...
    bmd.global_extra = bmd.global_extra.replace("alice:200M", "alice:100M")
    bmd.write_config('.include "%s";\n' % s.afile)
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 0, err
    assert bmd.state("x") == "RUN" and bmd.vm("x")["pid"] == pid
    # ...but the restart after a crash is a start: refused, with why
    os.kill(pid, signal.SIGKILL)
    bmd.wait_state("x", "FAILED")
    stop = bmd.vm("x")["last_stop"]
    assert stop["reason"] == "failed", stop
    assert ("could not start: alice: 0 of memory in running VMs, x needs "
            "128M more, max_memory_per_user is 100M") in stop["text"], stop
