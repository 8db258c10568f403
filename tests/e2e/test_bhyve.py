"""The bhyve driver's runtime (issue 13) against stand-ins.

bhyve runs only on FreeBSD.  Here the daemon runs the stand-in programs of
tests/bhyve-sim/ (NOT bhyve: small programs that take bhyve(8)'s,
bhyvectl(8)'s, bhyveload(8)'s and grub-bhyve's command lines, talk on the
console device they are given and exit with bhyve's documented statuses),
named by the global keys bhyve_program, bhyvectl_program, bhyveload_program
and grub_bhyve_program.  Every call they get is recorded in OUT/calls.jsonl.
"""

import json
import os
import re
import signal
import subprocess
import time

import pytest

import bmdtest
from bmdtest import wait_until, pid_alive
from test_conf_owner import users  # noqa: F401  (fixture)
from test_console import consoles  # noqa: F401  (fixture)
from test_network import BRIDGE, netns, start_in  # noqa: F401  (fixture)
from test_users import Setup, chown, ctl, uid
from hangfs import HangFS

SIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bhyve-sim")
PROGS = ("bhyve", "bhyvectl", "bhyveload", "grub-bhyve")


class Sim:
    """The stand-ins linked into DIR/sim/bin; their record in DIR/sim/out."""

    def __init__(self, bmd):
        self.bin = os.path.join(bmd.dir, "sim", "bin")
        self.out = os.path.join(bmd.dir, "sim", "out")
        os.makedirs(self.bin)
        os.makedirs(self.out)
        for p in PROGS:
            os.symlink(os.path.realpath(os.path.join(SIM, p)), os.path.join(self.bin, p))
        bmd.global_extra += "".join(
            "\t%s_program = %s;\n" % (p.replace("-", "_"), os.path.join(self.bin, p))
            for p in PROGS)

    def calls(self, prog=None, event=None, name=None):
        try:
            with open(os.path.join(self.out, "calls.jsonl")) as f:
                lines = [json.loads(line) for line in f if line.strip()]
        except OSError:
            return []
        return [c for c in lines if (prog is None or c["prog"] == prog)
                and (event is None or c["event"] == event)
                and (name is None or c.get("name") == name)]

    def wait_calls(self, n, prog, event, name=None, timeout=20):
        return wait_until(lambda: len(self.calls(prog, event, name)) >= n
                          and self.calls(prog, event, name), timeout,
                          "%d %s %s records" % (n, prog, event))


@pytest.fixture
def sim(bmd):
    return Sim(bmd)


def disk(bmd, name="disk.img", head=b""):
    p = os.path.join(bmd.dir, name)
    with open(p, "wb") as f:
        f.write(head)
        f.truncate(1 << 20)
    return p


def bvm(name, **keys):
    k = {"backend": "bhyve", "loader": "bhyveload", "memory": "128M",
         "com1": "auto", "boot": "no", "stop_timeout": "10"}
    k.update({a: b for a, b in keys.items() if b is not None})
    return "vm %s {\n%s}\n" % (name, "".join("\t%s = %s;\n" % kv for kv in k.items()))


def dump(bmd, name):
    rc, out, err = bmd.bmdctl("console", "--dump", name)
    return out if rc == 0 else ""


def wait_dump(bmd, name, needle, timeout=20):
    return wait_until(lambda: needle in dump(bmd, name), timeout,
                      "%r on the console of %s" % (needle, name), 0.2)


def last_stop(bmd, name):
    return (bmd.vm(name) or {}).get("last_stop") or {}


def ready(bmd, name, pid):
    """The stand-in bhyve of pid handles signals as bhyve does."""
    calls = os.path.join(bmd.dir, "sim", "out", "calls.jsonl")

    def seen():
        with open(calls) as f:
            return any(c["event"] == "ready" and c["pid"] == pid and
                       c.get("name") == name
                       for c in map(json.loads, filter(str.strip, f)))
    wait_until(seen, 20, "bhyve stand-in %d of %s ready" % (pid, name), 0.05)
    return pid


def boot(bmd, name):
    rc, out, err = bmd.bmdctl("boot", name)
    assert rc == 0, err
    return ready(bmd, name, bmd.wait_running(name))


def type_line(bmd, consoles, name, line, boot=1):  # noqa: F811
    """Type LINE at the shell prompt of the BOOT-th boot: the scrollback
    replays the prompts of earlier boots, typing at one of those would
    reach a guest that is not reading yet."""
    c = consoles(bmd, "console", name)
    wait_until(lambda: c.text().count("# ") >= boot, 20,
               "prompt %d on the console of %s" % (boot, name), 0.1)
    start = c.mark()
    c.send(line + "\r")
    c.wait_for(line.encode(), 20, start)     # echoed: the guest has it
    return c


def test_without_bhyve_program_linux_says_why(bmd):
    bmd.start(bvm("b1", disk=disk(bmd)))
    rc, out, err = bmd.bmdctl("boot", "b1")
    assert rc != 0
    assert "bhyve runs only on FreeBSD" in err and "bhyve_program" in err, err
    assert bmd.state("b1") == "STOP"


def test_boot_loads_runs_and_serves_the_console(bmd, sim, consoles):  # noqa: F811
    img = disk(bmd)
    bmd.start(bvm("b1", disk=img))
    pid = boot(bmd, "b1")
    ld = sim.wait_calls(1, "bhyveload", "start", "b1")[0]
    hv = sim.wait_calls(1, "bhyve", "start", "b1")[0]
    assert hv["pid"] == pid and hv["uid"] == 0
    # the loader got a terminal of its own, bhyve a null-modem pair
    lcons = ld["argv"][ld["argv"].index("-c") + 1]
    assert lcons.startswith("/dev/pts/") and ld["argv"][-1] == "b1"
    assert ld["argv"][ld["argv"].index("-d") + 1] == img
    com1 = hv["coms"]["com1"]
    assert com1.startswith("/dev/pts/") and com1 != lcons
    # both spoke on com1, through the broker
    wait_dump(bmd, "b1", "bhyve-sim: b1 booting")
    assert "bhyveload-sim: loading b1" in dump(bmd, "b1")
    c = type_line(bmd, consoles, "b1", "echo hello-from-bmdctl")
    c.wait_for(b"hello-from-bmdctl\r\n", 20)
    c.close()
    # stop: SIGTERM (the ACPI button), exit 1, then the VM is destroyed
    rc, out, err = bmd.bmdctl("stop", "-w", "b1")
    assert rc == 0, err
    assert bmd.state("b1") == "STOP"
    assert last_stop(bmd, "b1")["reason"] == "shutdown"
    assert sim.calls("bhyve", "exit", "b1")[-1]["status"] == 1
    d = sim.wait_calls(1, "bhyvectl", "call", "b1")
    assert d[-1]["argv"] == ["--vm=b1", "--destroy"]
    assert not pid_alive(pid)


@pytest.mark.parametrize("typed,status,reason", [
    ("poweroff", 1, "guest-poweroff"), ("halt", 2, "halt"),
    ("triplefault", 3, "triple-fault"), ("fail", 4, "failed")])
def test_exit_statuses_give_their_reason(bmd, sim, consoles, typed, status, reason):  # noqa: F811,E501
    bmd.start(bvm("b1", disk=disk(bmd)))
    boot(bmd, "b1")
    type_line(bmd, consoles, "b1", typed)
    bmd.wait_state("b1", "STOP")
    assert sim.calls("bhyve", "exit", "b1")[-1]["status"] == status
    assert last_stop(bmd, "b1")["reason"] == reason
    # not started again, and destroyed
    time.sleep(1)
    assert len(sim.calls("bhyve", "start", "b1")) == 1
    sim.wait_calls(1, "bhyvectl", "call", "b1")


def test_guest_reboot_runs_the_loader_again(bmd, sim, consoles):  # noqa: F811
    bmd.start(bvm("b1", disk=disk(bmd)), bvm("once", disk=disk(bmd, "o.img"),
                                          boot="oneshot"))
    pid = boot(bmd, "b1")
    type_line(bmd, consoles, "b1", "reboot").close()
    sim.wait_calls(2, "bhyveload", "start", "b1")
    new = bmd.wait_new_pid("b1", pid)
    assert sim.wait_calls(2, "bhyve", "start", "b1")[-1]["pid"] == new
    assert last_stop(bmd, "b1")["reason"] == "guest-reboot"
    # the console stays attached across the reboot, and no destroy yet
    wait_until(lambda: dump(bmd, "b1").count("bhyve-sim: b1 booting") == 2, 20,
               "the second boot on the console")
    assert sim.calls("bhyvectl") == []
    # a oneshot VM (started with bmd) ends its run when the guest reboots
    bmd.wait_running("once")
    type_line(bmd, consoles, "once", "reboot").close()
    bmd.wait_state("once", "STOP")
    assert len(sim.calls("bhyveload", "start", "once")) == 1


def test_reset_and_poweroff_by_bmdctl(bmd, sim):
    bmd.start(bvm("b1", disk=disk(bmd)))
    pid = boot(bmd, "b1")
    wait_dump(bmd, "b1", "login:")
    rc, out, err = bmd.bmdctl("reset", "b1")
    assert rc == 0, err
    new = bmd.wait_new_pid("b1", pid)
    assert last_stop(bmd, "b1")["reason"] == "reset"
    assert ["--vm=b1", "--force-reset"] in [c["argv"] for c in sim.calls("bhyvectl")]
    assert len(sim.calls("bhyveload", "start", "b1")) == 2
    rc, out, err = bmd.bmdctl("poweroff", "-w", "b1")
    assert rc == 0, err
    assert bmd.state("b1") == "STOP" and not pid_alive(new)
    assert last_stop(bmd, "b1")["reason"] == "poweroff"


def test_grub_gets_its_command_typed_at_the_prompt(bmd, sim):
    img = disk(bmd)
    iso = disk(bmd, "cd.iso")
    bmd.start(bvm("g", loader="grub", disk=img, iso=iso,
                  loadcmd='"kopenbsd -h com0 -r sd0a (hd0,gpt4)/bsd"',
                  installcmd='"kopenbsd -h com0 /7.5/amd64/bsd.rd"'))
    boot(bmd, "g")
    start = sim.wait_calls(1, "grub-bhyve", "start", "g")[0]
    assert start["devmap"] == "(hd0) %s\n(cd0) %s\n" % (img, iso)
    typed = [c["line"] for c in sim.calls("grub-bhyve", "typed", "g")]
    assert typed == ["kopenbsd -h com0 -r sd0a (hd0,gpt4)/bsd", "boot"], typed
    sim.wait_calls(1, "bhyve", "start", "g")
    assert bmdtest_has(bmd.log_text(), "vm g: com1: typed", '"grub> "')
    # install mode types installcmd, from cd0, and never restarts
    rc, out, err = bmd.bmdctl("poweroff", "-w", "g")
    assert rc == 0, err
    rc, out, err = bmd.bmdctl("install", "g")
    assert rc == 0, err
    sim.wait_calls(2, "grub-bhyve", "start", "g")
    inst = sim.calls("grub-bhyve", "start", "g")[-1]["argv"]
    assert inst[inst.index("-r") + 1] == "cd0"
    wait_until(lambda: [c["line"] for c in sim.calls("grub-bhyve", "typed", "g")][-2:]
               == ["kopenbsd -h com0 /7.5/amd64/bsd.rd", "boot"], 20, "installcmd typed")


def bmdtest_has(text, *parts):
    return any(all(p in line for p in parts) for line in text.splitlines())


def test_loader_timeout_kills_a_stuck_loader(bmd, sim):
    bmd.start(bvm("stuck", disk=disk(bmd, head=b"HANG"), loader_timeout="2"))
    rc, out, err = bmd.bmdctl("boot", "stuck")
    assert rc == 0, err
    bmd.wait_state("stuck", "LOAD", 10)
    t0 = time.monotonic()
    bmd.wait_state("stuck", "STOP", 20)
    assert time.monotonic() - t0 < 10
    assert bmdtest_has(bmd.log_text(), "vm stuck: the loader did not finish within 2 s")
    assert last_stop(bmd, "stuck")["reason"] == "loader"
    assert sim.calls("bhyve") == []


def test_twenty_vms_get_distinct_consoles(bmd, sim):
    names = ["v%02d" % i for i in range(20)]
    bmd.start(*[bvm(n, disk=disk(bmd, n + ".img"), boot="yes") for n in names])
    for n in names:
        bmd.wait_running(n)
    starts = {c["name"]: c for c in sim.wait_calls(20, "bhyve", "start")}
    coms = [starts[n]["coms"]["com1"] for n in names]
    assert len(set(coms)) == 20, coms
    for n in names:
        wait_dump(bmd, n, "bhyve-sim: %s booting" % n)
        assert "bhyve-sim: v" not in dump(bmd, n).replace("bhyve-sim: %s" % n, "")


def test_always_restarts_under_the_crash_loop_limit(bmd, sim, consoles):  # noqa: F811
    bmd.start(bvm("a", disk=disk(bmd), boot="always"))
    pid = bmd.wait_running("a")
    # five restarts within a minute; the sixth exit is the end
    for i in range(6):
        type_line(bmd, consoles, "a", "fail", boot=i + 1).close()
        if i < 5:
            pid = bmd.wait_new_pid("a", pid)
    bmd.wait_state("a", "FAILED", 30)
    assert last_stop(bmd, "a")["reason"] == "crash-loop"
    assert bmd.vm("a")["restarts"] == 5
    assert len(sim.calls("bhyve", "start", "a")) == 6


def test_kill9_of_bmd_then_the_bhyve_vm_is_adopted(bmd, sim):
    img = disk(bmd)
    alias = os.path.join(bmd.dir, "alias.img")
    os.symlink(img, alias)
    bmd.start(bvm("b1", disk=img, boot="yes"), bvm("b2", disk=alias))
    # (a stand-in that has not opened its console yet would find the pty
    # gone with bmd: FreeBSD's nmdm pair outlives bmd, Linux's pty does not)
    pid = ready(bmd, "b1", bmd.wait_running("b1"))
    # the record keeps the pair's number, for the next bmd to open again
    with open(os.path.join(bmd.run_dir, "b1.run")) as f:
        units = json.load(f)["driver"]["nmdm"]
    assert units[0] >= 200 and units[1:] == [-1, -1, -1], units
    bmd.proc.send_signal(signal.SIGKILL)
    bmd.proc.wait(10)
    bmd.log.close()
    assert pid_alive(pid)
    mark = len(bmd.log_text())
    bmd.start()
    assert bmd.vm("b1")["pid"] == pid and bmd.state("b1") == "RUN"
    # on FreeBSD bmd opens nmdmNA again; a Linux pty went with the old bmd
    bmd.wait_log(r"vm b1: com1: null-modem pair %d: its host side went with "
                 r"the earlier bmd on this system; served again from the "
                 r"VM's next start" % units[0], start=mark)
    assert len(sim.calls("bhyve", "start", "b1")) == 1
    # the disks its run holds are known from the record: as before, a VM
    # on another path to one of them is told which VM holds it (a device,
    # which FreeBSD does not lock, is known only this way)
    rc, out, err = bmd.bmdctl("boot", "b2")
    assert rc != 0 and ("disk %s is in use by vm b1 (the same file as its "
                        "disk %s)" % (alias, img)) in err, err
    rc, out, err = bmd.bmdctl("stop", "-w", "b1")
    assert rc == 0, err
    assert not pid_alive(pid)
    sim.wait_calls(1, "bhyvectl", "call", "b1")


def test_reset_of_an_adopted_bhyve_vm_restarts_it(bmd, sim):
    """An adopted bhyve is not bmd's child: its exit status is unknown.
    A reset asked of it is still a reset: the VM starts again, loader
    first, instead of ending stopped as if it had crashed."""
    bmd.start(bvm("b1", disk=disk(bmd), boot="yes"))
    pid = ready(bmd, "b1", bmd.wait_running("b1"))
    bmd.proc.send_signal(signal.SIGKILL)
    bmd.proc.wait(10)
    bmd.log.close()
    bmd.start()
    assert bmd.vm("b1")["pid"] == pid
    rc, out, err = bmd.bmdctl("reset", "b1")
    assert rc == 0, err
    new = ready(bmd, "b1", bmd.wait_new_pid("b1", pid))
    assert new != pid and len(sim.calls("bhyve", "start", "b1")) == 2
    assert last_stop(bmd, "b1")["reason"] == "reset"


def test_kill9_of_bmd_while_the_loader_runs(bmd, sim):
    """bmd is killed while a VM's loader runs (here it hangs, as a grub
    waiting for commands would): no runtime record exists and the loader
    holds the VM's lock.  The next bmd must not take the loader for the
    VM: it kills it, and the boot mode decides (yes: the VM starts)."""
    img = disk(bmd, head=b"HANG")
    bmd.start(bvm("b1", disk=img, boot="yes", loader_timeout="300"))
    bmd.wait_state("b1", "LOAD", 10)
    loader = sim.wait_calls(1, "bhyveload", "start", "b1")[0]["pid"]
    bmd.proc.send_signal(signal.SIGKILL)
    bmd.proc.wait(10)
    bmd.log.close()
    assert pid_alive(loader)
    with open(img, "r+b") as f:     # the next loader finishes
        f.write(b"\0\0\0\0")
    mark = len(bmd.log_text())
    bmd.start()
    bmd.wait_log(r"vm b1: its loader \(pid %d\), left by an earlier bmd, "
                 r"holds its lock: killed" % loader, start=mark)
    wait_until(lambda: not pid_alive(loader), 10, "the old loader to end")
    pid = ready(bmd, "b1", bmd.wait_running("b1"))
    assert pid != loader and len(sim.calls("bhyve", "start", "b1")) == 1
    assert "adopted process %d" % loader not in bmd.log_text()[mark:]


def test_sigterm_of_bmd_stops_bhyve_vms(bmd, sim):
    bmd.start(bvm("b1", disk=disk(bmd), boot="yes"),
              bvm("b2", disk=disk(bmd, "2.img"), boot="yes"))
    pids = [ready(bmd, n, bmd.wait_running(n)) for n in ("b1", "b2")]
    assert bmd.terminate() == 0
    for p in pids:
        assert not pid_alive(p)
    assert sorted(c["name"] for c in sim.calls("bhyve", "exit")) == ["b1", "b2"]
    assert sorted(c["name"] for c in sim.calls("bhyvectl")) == ["b1", "b2"]


def test_err_logfile_has_each_programs_command_line(bmd, sim):
    logp = os.path.join(bmd.dir, "b1.log")
    bmd.start(bvm("b1", disk=disk(bmd), err_logfile=logp))
    boot(bmd, "b1")
    sim.wait_calls(1, "bhyve", "start", "b1")
    wait_until(lambda: os.path.exists(logp) and "bhyve" in open(logp).read()
               and "bhyveload" in open(logp).read(), 20, "both command lines")
    lines = open(logp).read().splitlines()
    ld = [l for l in lines if "bhyveload" in l and "-m" in l]
    hv = [l for l in lines if "/bin/bhyve " in l or l.startswith("bhyve ")]
    assert ld and hv, lines
    assert lines.index(ld[0]) < lines.index(hv[0])


def test_reload_of_a_running_bhyve_vm(bmd, sim):
    img, img2 = disk(bmd), disk(bmd, "b2.img")
    bmd.start(bvm("b1", disk=img, boot="yes"), bvm("b2", disk=img2, boot="yes",
                                                  reboot_on_change="yes"))
    p1, p2 = bmd.wait_running("b1"), bmd.wait_running("b2")
    # a change: pending for b1, a restart (ACPI, then start) for b2
    bmd.write_config(bvm("b1", disk=img, boot="yes", memory="256M"),
                     bvm("b2", disk=img2, boot="yes", reboot_on_change="yes",
                         memory="256M"))
    bmd.reload()
    new2 = bmd.wait_new_pid("b2", p2)
    assert bmd.vm("b1")["pid"] == p1 and pid_alive(p1)
    starts = sim.calls("bhyve", "start", "b2")
    assert starts[-1]["pid"] == new2
    assert starts[-1]["argv"][starts[-1]["argv"].index("-m") + 1] == "256M"
    # gone from the file: stopped (ACPI), destroyed
    bmd.write_config(bvm("b2", disk=img2, boot="yes", reboot_on_change="yes",
                         memory="256M"))
    bmd.reload()
    wait_until(lambda: bmd.vm("b1") is None, 30, "b1 to be removed")
    assert not pid_alive(p1)
    assert any(c["name"] == "b1" and "--destroy" in c["argv"]
               for c in sim.calls("bhyvectl"))


def locked(path, how="-x"):
    """Does another open of path find a lock (flock(1), as a second
    bhyve's check would)?"""
    return subprocess.run(["flock", "-n", how, path, "true"]).returncode != 0


def test_a_disk_runs_in_one_bhyve_vm_whatever_path_names_it(bmd, sim):
    """bhyve takes no lock on its disks, and bmd compared the paths VMs
    name: two VMs naming one image by two paths (a link, a second mount)
    would both write it.  The check locks each disk on the descriptor
    bhyve inherits, for as long as a process of the run holds it, and bmd
    compares the files (and devices, which FreeBSD does not lock) that
    its VMs' runs hold."""
    img = disk(bmd)
    alias = os.path.join(bmd.dir, "alias.img")
    os.symlink(img, alias)
    ro = "readonly:"
    bmd.start(bvm("a", disk=img), bvm("b", disk=alias),
              bvm("c", disk=ro + alias), bvm("d", disk=ro + img))
    pid = boot(bmd, "a")
    assert locked(img)
    rc, out, err = bmd.bmdctl("boot", "b")
    assert rc != 0 and ("disk %s is in use by vm a (the same file as its "
                        "disk %s)" % (alias, img)) in err, err
    assert bmd.state("b") == "STOP" and sim.calls("bhyve", "start", "b") == []
    # bmdctl run, without the daemon, takes the same locks
    rc, out, err = bmd.bmdctl("run", "b")
    assert rc == 1 and ("vm b: disk %s: in use: another process holds a lock"
                        % alias) in err, err
    assert sim.calls("bhyveload", "start", "b") == []
    rc, out, err = bmd.bmdctl("boot", "c")     # a writes it
    assert rc != 0 and "is in use by vm a" in err, err
    # the lock is bhyve's (bmd and the check keep no descriptor of it),
    # and a restart in place takes it again
    assert set(bmdtest.fd_holders(img)) == {pid}
    rc, out, err = bmd.bmdctl("reset", "a")
    assert rc == 0, err
    pid = bmd.wait_new_pid("a", pid)
    ready(bmd, "a", pid)
    assert set(bmdtest.fd_holders(img)) == {pid} and locked(img)
    assert bmd.bmdctl("boot", "b")[0] != 0
    # gone with a's run: b runs on it; then read-only VMs share it
    rc, out, err = bmd.bmdctl("poweroff", "-w", "a")
    assert rc == 0, err
    assert not locked(img)
    boot(bmd, "b")
    assert bmd.bmdctl("poweroff", "-w", "b")[0] == 0
    boot(bmd, "c")
    boot(bmd, "d")
    assert locked(img) and not locked(img, "-s")
    rc, out, err = bmd.bmdctl("boot", "a")
    assert rc != 0 and "in use" in err, err
    # one held by a process outside bmd (a bhyve started by hand)
    for n in ("c", "d"):
        assert bmd.bmdctl("poweroff", "-w", n)[0] == 0
    holder = subprocess.Popen(["flock", "-x", "-o", img, "sleep", "60"],
                              start_new_session=True)
    try:
        wait_until(lambda: locked(img), 10, "the outside lock")
        rc, out, err = bmd.bmdctl("boot", "a")
        assert rc != 0 and "disk %s: in use" % img in err, err
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    boot(bmd, "a")


def alices_disk(bmd):
    """Users, the stand-ins (after Setup: it sets global_extra) and a disk
    image of alice's."""
    setup = Setup(bmd)
    sim = Sim(bmd)
    img = os.path.join(setup.adir, "a.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    chown(img, "alice")
    return setup, sim, img


def test_a_disk_stays_held_while_its_vm_restarts_in_place(bmd, users):  # noqa: F811
    """Between a guest's reboot (bhyve exits, its lock goes) and the check
    of the next start, the VM still holds its disk: here that check waits
    (her ISO is now under a file system that never answers), and root's
    VM on another path to her disk is refused meanwhile, not started on
    it."""
    setup, sim, img = alices_disk(bmd)
    sw = os.path.join(setup.adir, "sw")
    os.makedirs(sw)
    chown(sw, "alice")
    cd = os.path.join(sw, "cd.iso")
    with open(cd, "wb") as f:
        f.truncate(1 << 16)
    chown(cd, "alice")
    alias = os.path.join(bmd.dir, "alias.img")
    os.symlink(img, alias)
    setup.start(bvm("rootsvm", disk=alias), bvm("ab", disk=img, iso=cd))
    rc, out, err = ctl(bmd, "alice", "boot", "ab")
    assert rc == 0, err
    pid = ready(bmd, "ab", bmd.wait_running("ab"))
    hang = HangFS(sw)                   # over the directory: her ISO hangs
    try:
        os.kill(pid, signal.SIGUSR1)    # the stand-in exits 0: a reboot
        wait_until(lambda: hang.requests > 0, 20, "her check to wait there")
        assert bmd.state("ab") == "PRESTART" and not pid_alive(pid)
        assert not locked(img)          # bhyve, and its lock, are gone
        rc, out, err = bmd.bmdctl("boot", "rootsvm")
        assert rc != 0 and ("disk %s is in use by vm ab (the same file as "
                            "its disk %s)" % (alias, img)) in err, err
        assert sim.calls("bhyveload", "start", "rootsvm") == []
    finally:
        hang.close()
    # her restart is given up, with why; then root's VM may run on it
    bmd.wait_state("ab", "FAILED", 30)
    assert "could not start: iso %s" % cd in bmd.vm("ab")["last_stop"]["text"]
    boot(bmd, "rootsvm")


def test_taps_on_a_bridge(netns, bmd):  # noqa: F811
    sim = Sim(bmd)
    start_in(bmd, netns, bvm("n1", disk=disk(bmd), network=BRIDGE))
    boot(bmd, "n1")
    hv = sim.wait_calls(1, "bhyve", "start", "n1")[0]
    taps = [a.split(",")[2] for a in hv["argv"] if "virtio-net" in a]
    assert len(taps) == 1 and taps[0] in netns.on_bridge(), (hv["argv"], netns.on_bridge())
    rc, out, err = bmd.bmdctl("stop", "-w", "n1")
    assert rc == 0, err
    netns.wait_no_tap(taps[0])


def test_a_users_bhyve_vm(bmd, users, consoles):  # noqa: F811
    setup, sim, img = alices_disk(bmd)
    logp = os.path.join(setup.adir, "ab.log")
    alias = os.path.join(bmd.dir, "alias.img")
    os.symlink(img, alias)
    setup.start(bvm("rootsvm", disk=alias), bvm("ab", disk=img,
                                                err_logfile=logp))
    rc, out, err = ctl(bmd, "alice", "boot", "ab")
    assert rc == 0, err
    pid = bmd.wait_running("ab")
    # bhyve runs as root (FreeBSD needs it); the VM stays alice's
    assert sim.wait_calls(1, "bhyve", "start", "ab")[0]["uid"] == 0
    # her disk, opened as her, is locked while it runs; root's VM on a
    # link to it is told whose run holds it, she is told only that
    # another user's does
    assert locked(img) and set(bmdtest.fd_holders(img)) == {pid}
    rc, out, err = bmd.bmdctl("boot", "rootsvm")
    assert rc != 0 and ("disk %s is in use by vm ab (the same file as its "
                        "disk %s)" % (alias, img)) in err, err
    assert [v["owner"] for v in json.loads(ctl(bmd, "alice", "list", "--json")[1])] == ["alice"]
    # her console through the broker; bob sees nothing
    wait_until(lambda: "bhyve-sim: ab booting" in ctl(bmd, "alice", "console", "--dump",
                                                      "ab")[1], 20, "alice's console")
    rc, out, err = ctl(bmd, "bob", "console", "--dump", "ab")
    assert rc != 0 and "no VM named" in err
    # the log is hers, with the command lines
    wait_until(lambda: os.path.exists(logp) and os.path.getsize(logp) > 0, 20, "her log")
    assert os.stat(logp).st_uid == uid("alice")
    assert "bhyveload" in open(logp).read()
    # her guest reboots: her paths are checked again (PRESTART), then the
    # loader and bhyve start again
    type_line(bmd, consoles, "ab", "reboot").close()
    sim.wait_calls(2, "bhyveload", "start", "ab")
    pid = bmd.wait_new_pid("ab", pid)
    assert re.search(r"vm ab: RUN -> PRESTART \(EXIT\)", bmd.log_text())
    assert sim.wait_calls(2, "bhyve", "start", "ab")[-1]["pid"] == pid
    rc, out, err = ctl(bmd, "alice", "stop", "-w", "ab")
    assert rc == 0, err
    assert not pid_alive(pid)
    boot(bmd, "rootsvm")
    rc, out, err = ctl(bmd, "alice", "boot", "ab")
    assert rc != 0 and ("disk %s is in use by another user's VM (the same "
                        "file)" % img) in err, err
    assert "rootsvm" not in err and alias not in err
