"""Booting: boot modes at daemon start, boot_delay, bmdctl boot, list."""

import os
import time

import bmdtest
from bmdtest import pid_alive, proc_cmdline

MiB = 1024 * 1024


def assert_qemu_of(pid, name):
    argv = proc_cmdline(pid)
    assert argv, "pid %s is gone" % pid
    assert "qemu-system" in os.path.basename(argv[0]), argv
    assert argv[argv.index("-name") + 1] == name, argv


def test_boot_at_start_yes_oneshot_always_not_no(bmd, guest):
    bmd.start(guest("vyes", "yes"), guest("vone", "oneshot"),
              guest("valw", "always"), guest("vno", "no"))
    names = ("vyes", "vone", "valw")
    for name, (pid, s) in zip(names, bmd.boot_all_to_banner(*names)):
        assert_qemu_of(pid, name)
    v = bmd.vm("vno")
    assert v["state"] == "STOP" and v["pid"] is None
    assert not os.path.exists(bmd.com1_path("vno"))
    assert set(bmd.qemus()) == {"vyes", "vone", "valw"}


def test_boot_delay(bmd, guest):
    bmd.start(guest("late", "yes", boot_delay=6))
    t0 = bmd.t_ready
    time.sleep(1)
    v = bmd.vm("late")
    assert v["state"] == "STOP" and v["pid"] is None, v
    time.sleep(2)
    assert bmd.state("late") == "STOP"      # 3 s in, 3 s before the delay ends
    pid = bmd.wait_running("late")
    assert time.monotonic() - t0 >= 4.5, "started before boot_delay"
    bmd.serial("late").wait_banner()
    assert_qemu_of(pid, "late")


def test_bmdctl_boot_of_boot_no(bmd, guest):
    bmd.start(guest("manual", "no"))
    time.sleep(1)
    assert bmd.state("manual") == "STOP"
    rc, out, err = bmd.bmdctl("boot", "manual")
    assert (rc, err) == (0, ""), err
    pid, s = bmd.boot_to_banner("manual")
    assert_qemu_of(pid, "manual")


def test_start_alias_and_prefix(bmd, guest):
    bmd.start(guest("m2", "no"))
    rc, out, err = bmd.bmdctl("start", "m2")
    assert (rc, err) == (0, "")
    bmd.wait_running("m2")
    rc, out, err = bmd.bmdctl("pow", "m2")      # unique prefix of poweroff
    assert (rc, err) == (0, "")
    bmd.wait_state("m2", "STOP")


def test_boot_running_vm_is_already_running(bmd, guest):
    bmd.start(guest("busy", "yes"))
    pid = bmd.wait_running("busy")
    rc, out, err = bmd.bmdctl("boot", "busy")
    assert rc == 1
    assert err == "bmdctl: boot: busy: already running\n"
    assert bmd.vm("busy")["pid"] == pid


def test_unknown_vm_not_found(bmd, guest):
    bmd.start(guest("known", "no"))
    for cmd in ("boot", "install", "stop", "shutdown", "poweroff", "reset"):
        rc, out, err = bmd.bmdctl(cmd, "nosuchvm")
        proto = {"stop": "shutdown"}.get(cmd, cmd)
        assert (rc, out, err) == (1, "", f"bmdctl: {proto}: no VM named 'nosuchvm'\n"), cmd


def test_list_json_fields(bmd, guest):
    bmd.start(guest("up", "yes", ncpu=2), guest("down", "no", memory="1G"))
    pid = bmd.wait_running("up")
    vms = {v["name"]: v for v in bmd.vms()}
    assert set(vms) == {"up", "down"}
    for v in vms.values():
        for key in ("id", "name", "state", "owner", "group", "ncpu", "memory",
                    "backend", "loader", "pid"):
            assert key in v, (key, v)
        assert isinstance(v["id"], int)
        assert v["owner"] == "root"
        assert v["group"] is None or isinstance(v["group"], str)
        assert v["backend"] == "qemu"
        assert v["loader"] is None or isinstance(v["loader"], str)
    assert vms["up"]["state"] == "RUN" and vms["up"]["pid"] == pid
    assert vms["up"]["ncpu"] == 2 and vms["up"]["memory"] == 128 * MiB
    assert vms["down"]["state"] == "STOP" and vms["down"]["pid"] is None
    assert vms["down"]["memory"] == 1024 * MiB and vms["down"]["ncpu"] == 1
    assert vms["up"]["id"] != vms["down"]["id"]
    assert_qemu_of(pid, "up")


def test_list_table(bmd, guest):
    bmd.start(guest("tbl", "no", memory="2G", ncpu=2))
    rc, out, err = bmd.bmdctl("list")
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == ("  id                name ncpu memory    loader"
                        "       state       owner")
    assert lines[1].startswith(" --- -------------------")
    assert len(lines) == 3
    f = lines[2].split()
    assert f[1:4] == ["tbl", "2", "2G"] and f[-2:] == ["STOP", "root"], lines[2]
    rc, out, err = bmd.bmdctl("list", "-s", "bogus")
    assert rc == 2


def test_boot_reads_only_changed_files(bmd, guest):
    """A boot sees the current files, but parses only those that changed
    (same size and within the same second too), new ones of a glob, and
    reports an error of a changed file where it is; it evaluates only
    its VM, a reload all of them."""
    vms = os.path.join(bmd.dir, "vms")
    os.makedirs(vms)

    def put(name, text):
        with open(os.path.join(vms, name), "w") as f:     # same inode
            f.write(text)
    put("a.conf", guest("a", "no", memory="128M"))
    bmd.write_config(raw=bmd.global_section() + '.include "vms/*.conf";\n')
    bmd.start()
    time.sleep(2.2)     # older than the cache's margin for coarse times

    def boot(name):
        n = len(bmd.log_text())
        rc, out, err = bmd.bmdctl("boot", name)
        assert (rc, err) == (0, ""), err
        pid = bmd.wait_running(name)
        bmd.bmdctl("poweroff", name)
        bmd.wait_state(name, "STOP")
        return pid, bmd.log_text()[n:]
    _, log = boot("a")
    assert "loaded: 2 files parsed, 0 unchanged, 1 VMs evaluated" in log
    _, log = boot("a")
    assert "loaded: 0 files parsed, 2 unchanged, 1 VMs evaluated" in log
    put("a.conf", guest("a", "no", memory="256M"))
    pid, log = boot("a")
    assert "loaded: 1 files parsed, 1 unchanged, 1 VMs evaluated" in log
    assert "changes are found. update a configuration" in log
    put("b.conf", guest("b", "no"))
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 0, err
    # (a.conf changed less than the margin ago: parsed again, as may be)
    bmd.wait_log(r"loaded: [12] files parsed, [12] unchanged, 2 VMs evaluated")
    assert bmd.vm("b") is not None
    put("a.conf", "vm a {\n\tmemory = 128M\n}\n")
    n = len(bmd.log_text())
    bmd.ctl_via_socket = True       # bmdctl -f would stop at the error
    rc, out, err = bmd.bmdctl("boot", "a")
    assert rc != 0
    bmd.wait_log("%s/a.conf:3:1: syntax error" % vms, start=n)
