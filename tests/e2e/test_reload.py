"""SIGHUP (and bmdctl reload): spec 4.5 with the fixes of issue 3."""

import os
import re
import signal
import time

import pytest

import bmdtest
from bmdtest import pid_alive, proc_cmdline

MiB = 1024 * 1024


def test_reload_adds_vms(bmd, guest):
    bmd.start(guest("old", "no"))
    bmd.write_config(guest("old", "no"), guest("newyes", "yes"),
                     guest("newno", "no"))
    bmd.reload()
    bmd.boot_to_banner("newyes")
    assert bmd.state("newno") == "STOP"
    assert bmd.state("old") == "STOP"
    assert set(bmd.qemus()) == {"newyes"}


def test_reload_removes_running_vm(bmd, guest):
    bmd.start(guest("keep", "yes"), guest("gone", "yes", stop_timeout=20))
    (pid_keep, _), (pid_gone, _) = bmd.boot_all_to_banner("keep", "gone")
    bmd.write_config(guest("keep", "yes"))
    bmd.reload()
    bmdtest.wait_until(lambda: bmd.vm("gone") is None, bmdtest.STATE_TIMEOUT,
                       "gone to leave the list")
    bmdtest.wait_until(lambda: not pid_alive(pid_gone), 10, "its QEMU to exit")
    assert [v["name"] for v in bmd.vms()] == ["keep"]
    assert bmd.vm("keep")["pid"] == pid_keep
    rc, out, err = bmd.bmdctl("boot", "gone")
    assert (rc, err) == (1, "bmdctl: boot: no VM named 'gone'\n")


def test_reload_reboot_on_change_restarts_with_new_config(bmd, guest):
    bmd.start(guest("chg", "yes", reboot_on_change="yes"))
    pid, _ = bmd.boot_to_banner("chg")
    assert "131072k" in proc_cmdline(pid)
    bmd.write_config(guest("chg", "yes", reboot_on_change="yes", memory="160M"))
    bmd.reload()
    new = bmd.wait_new_pid("chg", pid)
    assert not pid_alive(pid)
    argv = proc_cmdline(new)
    assert argv[argv.index("-m") + 1] == "163840k", argv
    assert bmd.vm("chg")["memory"] == 160 * MiB
    bmd.serial("chg").wait_banner()


def test_reload_change_without_reboot_on_change_keeps_running(bmd, guest):
    bmd.start(guest("chg", "yes"))
    pid, _ = bmd.boot_to_banner("chg")
    bmd.write_config(guest("chg", "yes", memory="160M"))
    bmd.reload()
    time.sleep(5)
    v = bmd.vm("chg")
    assert v["state"] == "RUN" and v["pid"] == pid
    # the change is pending: the next start uses it
    assert bmd.bmdctl("poweroff", "chg")[0] == 0
    bmd.wait_state("chg", "STOP")
    assert bmd.bmdctl("boot", "chg")[0] == 0
    new = bmd.wait_running("chg")
    argv = proc_cmdline(new)
    assert argv[argv.index("-m") + 1] == "163840k", argv


def test_reload_invalid_edit_keeps_vm_running(bmd, guest):
    bmd.start(guest("inv", "yes", reboot_on_change="yes"))
    pid, _ = bmd.boot_to_banner("inv")
    mark = len(bmd.log_text())
    bmd.write_config(guest("inv", "yes", reboot_on_change="yes", memory="lots"))
    bmd.reload()
    bmd.wait_log(r"memory", 20, mark)
    time.sleep(3)
    v = bmd.vm("inv")
    assert v is not None, "a VM with an invalid new configuration was removed"
    assert v["state"] == "RUN" and v["pid"] == pid
    assert v["memory"] == 128 * MiB
    assert pid_alive(pid)


def test_reload_syntax_error_keeps_everything(bmd, guest):
    bmd.start(guest("a", "yes"), guest("b", "no"))
    pid, _ = bmd.boot_to_banner("a")
    mark = len(bmd.log_text())
    bmd.ctl_via_socket = True       # bmdctl cannot parse the file either
    # drops "a", adds "c" and breaks the syntax: nothing may be applied
    bmd.write_config(guest("b", "no"), guest("c", "yes"), "vm broken { memory = ;; }\n")
    bmd.reload()
    bmd.wait_log(r"(?i)syntax|error", 20, mark)
    time.sleep(3)
    assert sorted(v["name"] for v in bmd.vms()) == ["a", "b"]
    v = bmd.vm("a")
    assert v["state"] == "RUN" and v["pid"] == pid
    assert set(bmd.qemus()) == {"a"}


def test_bmdctl_reload_is_like_sighup(bmd, guest):
    bmd.start(guest("x", "no"))
    bmd.write_config(guest("x", "no"), guest("y", "yes"))
    rc, out, err = bmd.bmdctl("reload")
    assert (rc, err) == (0, "")
    bmd.boot_to_banner("y")


def test_reload_boot_changed_to_no_stops_vm(bmd, guest):
    bmd.start(guest("sw", "yes"))
    pid, _ = bmd.boot_to_banner("sw")
    bmd.write_config(guest("sw", "no"))
    bmd.reload()
    bmd.wait_state("sw", "STOP")
    bmdtest.wait_until(lambda: not pid_alive(pid), 10, "QEMU to exit")


def test_sighup_many_times_quickly(bmd, guest):
    bmd.start(guest("q", "yes"))
    pid = bmd.wait_running("q")
    for _ in range(10):
        bmd.signal(signal.SIGHUP)
        time.sleep(0.05)
    bmdtest.wait_until(bmd.answers, 30, "bmd to answer")
    time.sleep(2)
    v = bmd.vm("q")
    assert v["state"] == "RUN" and v["pid"] == pid


@pytest.mark.parametrize("spelling", ["same", "dot", "slashes"])
def test_renamed_running_vm_never_runs_twice_on_its_disk(bmd, guest,
                                                         spelling):
    """A running VM renamed in the file: the old name is removed (stopped)
    and the new one added.  The new one must not start on the same disk
    while the old QEMU still runs: it waits until that one has stopped,
    then starts.  (Two QEMUs on one image corrupt it where image locking
    is off; with it, the new one fails and the VM ends up down.)  The
    path may be written differently in the new section."""
    disk = os.path.join(bmd.dir, "web.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    again = {"same": disk, "dot": os.path.join(bmd.dir, ".", "web.img"),
             "slashes": bmd.dir + "//web.img"}[spelling]
    # the guest ignores the power button: the old QEMU lives stop_timeout
    bmd.start(guest("web", "yes", disk=disk, stop_timeout=4, flags="bmd.noacpi"))
    pid, s = bmd.boot_to_banner("web")
    bmd.write_config(guest("web2", "yes", disk=again))
    mark = len(bmd.log_text())
    bmd.reload()
    bmd.wait_log(r"vm web2: waits for vm web to stop: it uses the same disk %s"
                 % re.escape(again), start=mark)
    seen = []
    while pid_alive(pid):
        seen.append(bmd.qemus())
        assert len(seen[-1]) <= 1, seen[-1]
        time.sleep(0.2)
    new = bmd.wait_running("web2")
    assert new != pid and bmd.qemus() == {"web2": new}
    assert "Failed to get" not in bmd.log_text()[mark:]


def test_two_vms_swapping_disks_in_one_reload_both_restart(bmd, guest):
    """reboot_on_change VMs a and b swap their disks in one reload.  Each
    one's restart needs the disk the other still holds, but will give up:
    it waits for it, and both run again on their new disks, never two
    QEMUs on one disk."""
    disks = [os.path.join(bmd.dir, n) for n in ("a.img", "b.img")]
    for d in disks:
        with open(d, "wb") as f:
            f.truncate(1 << 20)
    keys = dict(reboot_on_change="yes", stop_timeout=4)
    bmd.start(guest("a", "yes", disk=disks[0], **keys),
              guest("b", "yes", disk=disks[1], **keys))
    old = [p for p, _ in bmd.boot_all_to_banner("a", "b")]
    bmd.write_config(guest("a", "yes", disk=disks[1], **keys),
                     guest("b", "yes", disk=disks[0], **keys))
    mark = len(bmd.log_text())
    bmd.reload()
    seen = []
    while any(pid_alive(p) for p in old):
        owners = {}
        for n, p in bmd.qemus().items():
            for d in disks:
                if d in " ".join(proc_cmdline(p) or []):
                    owners.setdefault(d, []).append(n)
        seen.append(owners)
        assert all(len(v) == 1 for v in owners.values()), seen[-1]
        time.sleep(0.1)
    new = {n: bmd.wait_running(n) for n in ("a", "b")}
    for n, d in (("a", disks[1]), ("b", disks[0])):
        assert d in " ".join(proc_cmdline(new[n])), n
    assert "is in use by" not in bmd.log_text()[mark:]


def test_two_vms_on_one_disk_never_run_together(bmd, guest):
    """Two VMs that name the same disk: the second boot is refused while
    the first runs, and says which VM has the disk."""
    disk = os.path.join(bmd.dir, "shared.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    bmd.start(guest("a", "no", disk=disk), guest("b", "no", disk=disk))
    assert bmd.bmdctl("boot", "a")[0] == 0
    pid = bmd.wait_running("a")
    rc, out, err = bmd.bmdctl("boot", "b")
    assert rc == 1 and "disk %s is in use by vm a" % disk in err, err
    assert bmd.qemus() == {"a": pid}


def test_a_disk_both_open_read_only_is_shared(bmd, guest):
    disk = os.path.join(bmd.dir, "base.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    ro = '"readonly:%s"' % disk
    bmd.start(guest("a", "no", disk=ro), guest("b", "no", disk=ro))
    for n in ("a", "b"):
        rc, out, err = bmd.bmdctl("boot", n)
        assert rc == 0, err
    assert set(bmd.qemus()) == {"a", "b"}
