"""VMs outlive the daemon: a bmd killed with SIGKILL leaves its guests
running, and the next bmd adopts them (runtime records in run_directory),
with real guests, a real user's VM and a real tap in a network namespace.
"""

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import bmdtest
from bmdtest import pid_alive, wait_until
from test_conf_owner import users  # noqa: F401  (fixture)
from test_network import BRIDGE, netns, start_in  # noqa: F401  (fixture)
from test_users import Setup, ctl, proc_ids, uid

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="users, namespaces and taps need root")


def kill9(bmd):
    """SIGKILL, and the test's console connections to it closed."""
    bmd.proc.send_signal(signal.SIGKILL)
    bmd.proc.wait(10)
    bmd.log.close()
    for s in bmd.serials:
        s.close()
    bmd.serials = []


def restart(bmd, netns_=None):
    """A new bmd on the same configuration and run directory."""
    if netns_ is not None:
        bmd.log = open(bmd.log_path, "ab")
        bmd.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns_.name,
             os.path.join(bmdtest.BUILD, "bmd"), "-F", "-f", bmd.conf],
            stdin=subprocess.DEVNULL, stdout=bmd.log, stderr=subprocess.STDOUT)
        bmd.wait_ready()
    else:
        bmd.start()


def gdb_armed(bmd, *commands):
    """gdb attached to bmd, running commands (one of them "continue", the
    ones before it setting breakpoints): (gdb's process, its output so
    far) once everything before "continue" is done."""
    i = commands.index("continue")
    argv = ["gdb", "-q", "-batch", "-nx", "-p", str(bmd.proc.pid)]
    for c in commands[:i] + ("echo armed\\n",) + commands[i:]:
        argv += ["-ex", c]
    gdb = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    out = ""
    while "armed" not in out:
        line = gdb.stdout.readline()
        assert line, "gdb ended before it was armed: " + out
        out += line
    return gdb, out


def record(bmd, name):
    with open(os.path.join(bmd.run_dir, name + ".run")) as f:
        return json.load(f)


def echo(serial, text):
    m = serial.mark()
    serial.send("echo %s\r" % text)
    serial.wait_for(text.encode(), 30, m)


def test_kill9_bmd_then_three_vms_are_adopted(netns, users, bmd):  # noqa: F811
    s = Setup(bmd)
    with open(s.afile, "w") as f:
        f.write(s.vm("avm", boot="yes"))
    os.chmod(s.afile, 0o644)
    os.chown(s.afile, uid("alice"), -1)
    start_in(bmd, netns,
             bmdtest.guest_vm("rvm"),
             bmdtest.guest_vm("nvm", network=BRIDGE),
             '.include "%s";\n' % s.afile)
    got = bmd.boot_all_to_banner("rvm", "nvm", "avm")
    pids = {n: p for n, (p, _) in zip(("rvm", "nvm", "avm"), got)}
    taps = netns.on_bridge()
    assert len(taps) == 1, taps
    rec = record(bmd, "avm")
    assert rec["pid"] == pids["avm"] and rec["owner"] == uid("alice")
    assert record(bmd, "nvm")["taps"] == taps

    kill9(bmd)
    assert all(pid_alive(p) for p in pids.values())
    restart(bmd, netns)

    # the same processes, RUN, listed for the same owners
    for n, p in pids.items():
        v = bmd.vm(n)
        assert v["state"] == "RUN" and v["pid"] == p, v
    assert bmd.qemus() == pids
    rc, out, err = ctl(bmd, "alice", "list", "--json")
    assert rc == 0 and [v["name"] for v in json.loads(out)] == ["avm"], out
    assert proc_ids(pids["avm"])["Uid"][0] == uid("alice")
    assert netns.on_bridge() == taps
    rc, out, err = bmd.bmdctl("show", "network", "nvm")
    assert rc == 0 and taps[0] in out, out
    assert "adopted process %d" % pids["rvm"] in bmd.log_text()

    # consoles work again, for root and for alice
    echo(bmd.serial("rvm"), "adopted-root-console")
    echo(bmd.serial("avm"), "adopted-alice-console")

    # stop (ACPI), poweroff (forced) and a user's stop all work
    rc, out, err = bmd.bmdctl("stop", "rvm")
    assert rc == 0, err
    bmd.wait_state("rvm", ["STOP"])
    wait_until(lambda: not pid_alive(pids["rvm"]), 30, "rvm's QEMU to exit")
    rc, out, err = bmd.bmdctl("poweroff", "nvm")
    assert rc == 0, err
    bmd.wait_state("nvm", ["STOP"])
    netns.wait_no_tap(taps[0])
    rc, out, err = ctl(bmd, "alice", "stop", "avm")
    assert rc == 0, err
    bmd.wait_state("avm", ["STOP"])
    assert bmd.qemus() == {}
    assert not any(f.endswith(".run") for f in os.listdir(bmd.run_dir))

    # and a fresh boot after all that still works
    rc, out, err = bmd.bmdctl("boot", "rvm")
    assert rc == 0, err
    bmd.boot_to_banner("rvm")


def test_a_vm_running_while_its_file_did_not_load_is_adopted_later(users, bmd):  # noqa: F811
    """alice's VM runs; bmd is killed; when the next bmd starts, her file
    does not load (she is editing it), so her VM is not configured then
    and its QEMU is left alone.  Once her file loads again (a reload),
    the VM is adopted: RUN with the same QEMU, never shown stopped and
    never started a second time, and she can stop it."""
    s = Setup(bmd)
    good = s.vm("avm", boot="yes")
    s.start(bmdtest.guest_vm("rvm", boot="no"), good)
    pid, _ = bmd.boot_to_banner("avm")
    kill9(bmd)
    with open(s.afile, "w") as f:
        f.write(good + "vm half {\n")
    restart(bmd)
    bmd.wait_log(r"vm avm: a runtime record exists but the VM is not configured")
    assert [v["name"] for v in bmd.vms()] == ["rvm"]
    assert pid_alive(pid)
    with open(s.afile, "w") as f:
        f.write(good)
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 0, err
    v = bmd.vm("avm")
    assert v["state"] == "RUN" and v["pid"] == pid, v
    assert list(bmd.qemus().values()) == [pid]
    assert "adopted process %d" % pid in bmd.log_text()
    echo(bmd.serial("avm"), "adopted-after-reload")
    rc, out, err = ctl(bmd, "alice", "poweroff", "avm")
    assert rc == 0, err
    bmd.wait_state("avm", ["STOP"])
    wait_until(lambda: not pid_alive(pid), 30, "her QEMU to exit")


def vm1_on_a_disk(bmd):
    """vm1 runs on a disk of its own, its guest ignoring the power button:
    (its keys, its QEMU's pid)."""
    disk = os.path.join(bmd.dir, "shared.img")
    with open(disk, "wb") as f:
        f.truncate(16 << 20)
    keys = dict(disk=disk, stop_timeout=8, flags="bmd.noacpi")
    bmd.start(bmdtest.guest_vm("vm1", **keys))
    pid, _ = bmd.boot_to_banner("vm1")
    return keys, pid


def test_kill9_while_a_renamed_vm_is_being_removed(bmd):
    """A reload renames vm1 to vm1x, on the same disk: vm1 is being removed
    (its guest ignores the power button) and vm1x waits for the disk.  bmd
    is killed then.  The next bmd must go on with the removal, adopting
    vm1's process from its record, and start vm1x once vm1 is gone: never
    two QEMUs on the disk, never a QEMU left running to nobody."""
    keys, pid = vm1_on_a_disk(bmd)
    mark = len(bmd.log_text())
    bmd.write_config(bmdtest.guest_vm("vm1x", **keys))
    bmd.reload()
    bmd.wait_log(r"vm1x: waits for vm vm1 to stop: it uses the same disk",
                 start=mark)
    assert record(bmd, "vm1")["state"] == "REMOVE"
    kill9(bmd)
    mark = len(bmd.log_text())
    bmd.start()
    the_removal_of_vm1_goes_on(bmd, pid, mark)


def the_removal_of_vm1_goes_on(bmd, pid, mark):
    """A new program adopted vm1 (pid), renamed vm1x in the file, and
    removes it; vm1x starts once vm1 is gone."""
    bmd.wait_log(r"vm1: adopted process %d" % pid, start=mark)
    v = bmd.vm("vm1")
    assert v is not None and v["pid"] == pid and v["state"] == "TERMINATING"
    assert bmd.qemus() == {"vm1": pid}
    bmd.wait_log(r"vm1x: waits for vm vm1 to stop", start=mark)
    # the removal goes on: power button, stop_timeout, then quit
    wait_until(lambda: not pid_alive(pid), 60, "vm1's QEMU to end")
    xpid = bmd.wait_running("vm1x")
    assert bmd.qemus() == {"vm1x": xpid}
    wait_until(lambda: bmd.vm("vm1") is None, 10, "vm1 to leave the list")
    assert not os.path.exists(os.path.join(bmd.run_dir, "vm1.run"))
    assert "Failed to get" not in bmd.log_text()[mark:]


def test_a_rename_after_the_upgrades_check_is_carried_out(bmd):
    """The file renames vm1 to vm1x (same disk) after the upgrade checked
    it and before the new program reads it (gdb makes the edit at that
    point).  The new program does not find vm1 in the file: it removes it
    as a reload would, instead of leaving its QEMU to nobody, and starts
    vm1x once vm1 is gone."""
    keys, pid = vm1_on_a_disk(bmd)
    renamed = bmd.conf + ".renamed"
    with open(renamed, "w") as f:
        f.write(bmd.global_section() + bmdtest.guest_vm("vm1x", **keys))
    gdb, out = gdb_armed(bmd, "handle SIGUSR2 nostop noprint pass",
                         "break upgrade_loaded", "continue",
                         "shell cp %s %s" % (renamed, bmd.conf), "detach")
    mark = len(bmd.log_text())
    bmd.signal(signal.SIGUSR2)
    out += gdb.communicate(timeout=60)[0]
    assert re.search(r"Breakpoint 1[.0-9]*, upgrade_loaded", out), out
    bmd.wait_log(r"upgrade: executing", start=mark)
    the_removal_of_vm1_goes_on(bmd, pid, mark)
    assert "left alone" not in bmd.log_text()[mark:]


def test_kill9_while_a_vm_is_stopping(bmd):
    """Its user stopped a boot = yes VM whose guest ignores the power
    button, and bmd is killed while it waits for stop_timeout.  The next
    bmd adopts the VM and goes on with the stop (the guest is not left
    running, as if nobody had asked), and it then stays stopped."""
    bmd.start(bmdtest.guest_vm("vm1", stop_timeout=8, flags="bmd.noacpi"))
    pid, _ = bmd.boot_to_banner("vm1")
    rc, out, err = bmd.bmdctl("stop", "vm1")
    assert rc == 0, err
    bmd.wait_state("vm1", "TERMINATING")
    assert record(bmd, "vm1")["state"] == "STOP"
    kill9_then_the_stop_goes_on(bmd, pid, r"vm1: it was stopping when the "
                                r"earlier bmd ended: the stop goes on")


def kill9_then_the_stop_goes_on(bmd, pid, why):
    """vm1 (pid) is stopping: kill bmd, start it again, and see the next
    one adopt vm1, say why (a pattern) and stop it for good."""
    kill9(bmd)
    mark = len(bmd.log_text())
    bmd.start()
    bmd.wait_log(r"vm1: adopted process %d" % pid, start=mark)
    bmd.wait_log(why, start=mark)
    assert bmd.vm("vm1")["state"] == "TERMINATING"
    wait_until(lambda: not pid_alive(pid), 60, "vm1's QEMU to end")
    bmd.wait_state("vm1", "STOP")
    time.sleep(3)
    assert bmd.qemus() == {} and bmd.state("vm1") == "STOP"


def test_kill9_just_after_the_hypervisor_was_executed(bmd):
    """bmd is killed after QEMU was executed and before bmd wrote anything
    of the run (gdb stops bmd where it asks for the new process's start
    time, its first step after the spawn, and kills it there).  No record exists yet, and QEMU holds the VM's
    lock: the lock file must already name QEMU, not the dead bmd, so the
    next bmd adopts the VM instead of leaving it to nobody."""
    bmd.start(bmdtest.guest_vm("vm1", boot="no"))
    gdb, out = gdb_armed(bmd, "break plat_proc_identity", "continue", "kill")
    try:
        boot = subprocess.Popen(
            [os.path.join(bmdtest.BUILD, "bmdctl"), "-s", bmd.sock,
             "boot", "vm1"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        out += gdb.communicate(timeout=60)[0]
        boot.wait(30)
    finally:
        if gdb.poll() is None:
            gdb.kill()
            gdb.wait()
    bmd.proc.wait(10)
    kill9(bmd)          # already dead: this closes what the test holds
    assert re.search(r"Breakpoint 1[.0-9]*, plat_proc_identity", out), out
    assert not os.path.exists(os.path.join(bmd.run_dir, "vm1.run"))
    wait_until(lambda: "vm1" in bmd.qemus(), 10, "vm1's QEMU")
    pid = bmd.qemus()["vm1"]
    mark = len(bmd.log_text())
    bmd.start()
    bmd.wait_log(r"vm1: adopted process %d, found by the VM's lock" % pid,
                 start=mark)
    assert bmd.vm("vm1")["state"] == "RUN"
    assert bmd.qemus() == {"vm1": pid}
    rc, out, err = bmd.bmdctl("poweroff", "-w", "vm1")
    assert rc == 0, err
    assert not pid_alive(pid)


@pytest.mark.parametrize("spelling", ["same", "slash", "dot", "symlink"])
def test_a_second_bmd_on_the_same_run_directory_is_refused(bmd, spelling):
    """One daemon per run directory, however the second configuration
    spells it: a trailing slash, a "./" or a symlink to it must not give
    the second daemon locks of its own (it would adopt the first one's
    VMs and start their hypervisors a second time)."""
    bmd.start(bmdtest.guest_vm("vm1"))
    pid, _ = bmd.boot_to_banner("vm1")
    link = os.path.join(bmd.dir, "runlink")
    os.symlink(bmd.run_dir, link)
    run_dir = {"same": bmd.run_dir, "slash": bmd.run_dir + "/",
               "dot": bmd.run_dir + "/.", "symlink": link}[spelling]
    conf = os.path.join(bmd.dir, "second.conf")
    with open(conf, "w") as f:
        f.write("global {\n\tcmd_socket_path = %s/second.sock;\n"
                "\trun_directory = %s;\n\tpid_file = %s/second.pid;\n"
                "\tvars_directory = %s;\n}\n" %
                (bmd.dir, run_dir, bmd.dir, bmd.vars_dir)
                + bmdtest.guest_vm("vm1", boot="yes"))
    p = subprocess.run([os.path.join(bmdtest.BUILD, "bmd"), "-F", "-f", conf],
                       stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0
    assert "run directory %s is in use by another bmd" % run_dir in p.stderr, \
        p.stderr
    assert not os.path.exists(os.path.join(bmd.dir, "second.sock"))
    assert bmd.qemus() == {"vm1": pid}


def fill(path):
    """Fill the file system of path; the name of the file that did it."""
    big = os.path.join(path, "fill")
    fd = os.open(big, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"x" * 4096) > 0:
            pass
    except OSError:
        pass
    os.close(fd)
    return big


def test_a_full_run_directory_never_leaves_a_vm_to_nobody(bmd):
    """The run directory's file system is full.  A VM whose lock file is
    new is not started (a lock that cannot name its holder would leave
    the VM to nobody after a restart); once there is room it starts, and
    a later start while it is full again, which cannot write the runtime
    record, still leaves a lock that names QEMU: a bmd killed then adopts
    the VM."""
    mnt = os.path.join(bmd.dir, "small")
    os.mkdir(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755",
                    "tmpfs", mnt], check=True)
    try:
        bmd.run_dir = os.path.join(mnt, "run")
        bmd.start(bmdtest.guest_vm("vm1", boot="no"))
        big = fill(mnt)
        rc, out, err = bmd.bmdctl("boot", "vm1")
        assert rc != 0 and "vm1.lock" in err and \
            "No space left on device" in err, err
        assert bmd.qemus() == {}
        os.unlink(big)
        rc, out, err = bmd.bmdctl("boot", "vm1")
        assert rc == 0, err
        bmd.boot_to_banner("vm1")
        rc, out, err = bmd.bmdctl("poweroff", "-w", "vm1")
        assert rc == 0, err
        big = fill(mnt)
        rc, out, err = bmd.bmdctl("boot", "vm1")
        assert rc == 0, err
        pid, _ = bmd.boot_to_banner("vm1")
        bmd.wait_log(r"vm vm1: runtime record .*: No space left on device")
        kill9(bmd)
        os.unlink(big)
        mark = len(bmd.log_text())
        bmd.start()
        bmd.wait_log(r"vm1: adopted process %d, found by the VM's lock" % pid,
                     start=mark)
        rc, out, err = bmd.bmdctl("poweroff", "-w", "vm1")
        assert rc == 0, err
    finally:
        if bmd.proc is not None and bmd.proc.poll() is None:
            bmd.terminate()
        subprocess.run(["umount", "-l", mnt])


def test_kill9_while_a_reload_stops_a_vm(bmd):
    """A reload set boot = no, and bmd is killed while the guest ignores
    the power button.  The next bmd adopts the VM and stops it, as the
    reload would have: a boot mode that became "no" since the VM started
    is not forgotten, and no later reload would stop it."""
    vm = dict(stop_timeout=8, flags="bmd.noacpi")
    bmd.start(bmdtest.guest_vm("vm1", **vm))
    pid, _ = bmd.boot_to_banner("vm1")
    bmd.write_config(bmdtest.guest_vm("vm1", boot="no", **vm))
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 0, err
    bmd.wait_state("vm1", "TERMINATING")
    kill9_then_the_stop_goes_on(bmd, pid, r'vm1: its boot mode is now "no" '
                                r'\(it started with "yes"\): it stops, as a '
                                r'reload would stop it')


def test_kill9_while_bmd_stops_its_vms(bmd):
    """SIGTERM: bmd stops every VM, and is killed before the guest (which
    ignores the power button) is down, as a service manager does once its
    stop timeout passes.  The next bmd's start is a start: the stop goes
    on, then the boot = yes VM starts again, instead of ending stopped as
    if it had crashed."""
    bmd.start(bmdtest.guest_vm("vm1", stop_timeout=6, flags="bmd.noacpi"))
    pid, _ = bmd.boot_to_banner("vm1")
    gdb, out = gdb_armed(bmd, "handle SIGTERM nostop noprint pass",
                         "break plugin_status_change", "continue", "kill")
    bmd.signal(signal.SIGTERM)
    out += gdb.communicate(timeout=60)[0]
    assert re.search(r"Breakpoint 1[.0-9]*, plugin_status_change", out), out
    bmd.proc.wait(10)
    kill9(bmd)          # already dead: this closes what the test holds
    assert record(bmd, "vm1")["stopping"]["event"] == "DAEMON_STOP"
    mark = len(bmd.log_text())
    bmd.start()
    bmd.wait_log(r"vm1: adopted process %d" % pid, start=mark)
    bmd.wait_log(r"vm1: the earlier bmd was stopping it as it exited: the "
                 r"stop goes on, then it starts again", start=mark)
    wait_until(lambda: not pid_alive(pid), 60, "vm1's old QEMU to end")
    new = bmd.wait_running("vm1")
    assert new != pid and bmd.qemus() == {"vm1": new}


def test_stale_record_is_never_mistaken_for_the_vm(bmd):
    """A record whose pid now belongs to another process (here: this
    test's sleep) is removed, that process is left alone, and the VM
    boots normally."""
    bmd.start(bmdtest.guest_vm("vm1", boot="no"))
    bmd.terminate()
    bmd.log.close()
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        rec = {"version": 1, "name": "vm1", "backend": "qemu", "owner": 0,
               "uid": 0, "pid": sleeper.pid, "ident": 1, "started": 0,
               "state": "RUN", "digest": "0", "install": False, "taps": [],
               "restarts": 0}
        with open(os.path.join(bmd.run_dir, "vm1.run"), "w") as f:
            json.dump(rec, f)
        bmd.write_config(bmdtest.guest_vm("vm1", boot="yes"))
        bmd.start()
        bmd.wait_log(r"vm1: runtime record .* is stale \(the pid now "
                     r"belongs to another process\)")
        pid, _ = bmd.boot_to_banner("vm1")
        assert pid != sleeper.pid and sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_qemu_answering_as_another_vm_is_not_adopted(bmd):
    """The record proves the process, but the QEMU on the VM's QMP socket
    must also say that it runs this VM: here vm1's socket is swapped for
    vm2's while bmd is down, so vm1 is neither adopted nor started, and
    no second QEMU ever runs on its disks."""
    bmd.start(bmdtest.guest_vm("vm1"), bmdtest.guest_vm("vm2"))
    (p1, _), (p2, _) = bmd.boot_all_to_banner("vm1", "vm2")
    kill9(bmd)
    q1, q2 = (os.path.join(bmd.run_dir, n + ".qmp") for n in ("vm1", "vm2"))
    os.rename(q1, q1 + ".away")
    os.rename(q2, q1)
    mark = len(bmd.log_text())
    bmd.start()
    bmd.wait_log(r'vm1: the QEMU on .*vm1\.qmp does not answer as "vm1"', start=mark)
    bmd.wait_log(r"vm1: process %d is alive but does not answer as the VM; "
                 r"not adopted, not started" % p1, start=mark)
    assert bmd.vm("vm1")["pid"] is None
    assert sorted(bmd.qemus().values()) == sorted([p1, p2])
    rc, out, err = bmd.bmdctl("boot", "vm1")
    assert rc != 0
    # put the sockets back, let a new bmd adopt both, and stop them
    kill9(bmd)
    os.rename(q1, q2)
    os.rename(q1 + ".away", q1)
    bmd.start()
    assert bmd.vm("vm1")["pid"] == p1 and bmd.vm("vm2")["pid"] == p2


@pytest.mark.parametrize("how", ["no-socket-yet", "stopped"])
def test_a_proven_qemu_that_does_not_answer_is_adopted_unresponsive(bmd, how):
    """The record proves the process (pid, start time, uid).  A QEMU whose
    QMP socket is not there yet (started just before bmd died, on a busy
    host), or one that is stopped, is adopted and shown UNRESPONSIVE: never
    left outside bmd, with its boot refused and nothing able to stop it.
    Once it answers it is RUN again, and an ACPI stop works."""
    bmd.start(bmdtest.guest_vm("vm1"))
    pid, _ = bmd.boot_to_banner("vm1")
    kill9(bmd)
    qmp = os.path.join(bmd.run_dir, "vm1.qmp")
    if how == "stopped":
        os.kill(pid, signal.SIGSTOP)
    else:
        os.rename(qmp, qmp + ".later")
    mark = len(bmd.log_text())
    try:
        bmd.start()
        bmd.wait_log(r"vm1: adopted process %d" % pid, start=mark)
        v = bmd.vm("vm1")
        assert v["state"] == "UNRESPONSIVE" and v["pid"] == pid, v
        assert bmd.qemus() == {"vm1": pid}
        time.sleep(12)      # past every deadline of a fresh QEMU's monitor
        assert bmd.vm("vm1")["state"] == "UNRESPONSIVE"
    finally:
        if how == "stopped":
            os.kill(pid, signal.SIGCONT)
        else:
            os.rename(qmp + ".later", qmp)
    bmd.wait_log(r"vm1: QMP answers again", start=mark)
    wait_until(lambda: bmd.vm("vm1")["state"] == "RUN", 30,
               "vm1 to be RUN again")
    echo(bmd.serial("vm1"), "answers-again")
    rc, out, err = bmd.bmdctl("stop", "-w", "vm1")
    assert rc == 0, err
    assert not pid_alive(pid)
    assert "SIGKILL" not in bmd.log_text()[mark:]


@pytest.mark.parametrize("damage", ["corrupt", "deleted"])
def test_damaged_record_under_a_running_vm(bmd, damage):
    """The record of a running VM is garbage, or gone, when bmd restarts:
    the VM's lock, which its QEMU holds, names the process; it is adopted
    and no second QEMU is started on its disks."""
    bmd.start(bmdtest.guest_vm("vm1"))
    pid, _ = bmd.boot_to_banner("vm1")
    kill9(bmd)
    rec = os.path.join(bmd.run_dir, "vm1.run")
    if damage == "corrupt":
        with open(rec, "w") as f:
            f.write("{not json")
    else:
        os.unlink(rec)
    bmd.start()
    bmd.wait_log(r"vm1: adopted process %d, found by the VM's lock" % pid)
    v = bmd.vm("vm1")
    assert v["state"] == "RUN" and v["pid"] == pid
    assert list(bmd.qemus().values()) == [pid]
    assert record(bmd, "vm1")["pid"] == pid     # written again
    echo(bmd.serial("vm1"), "adopted-by-lock")
    rc, out, err = bmd.bmdctl("poweroff", "-w", "vm1")
    assert rc == 0, err
    assert not pid_alive(pid)


def test_adopted_vm_crash_then_restart_with_boot_always(bmd):
    """An adopted QEMU is not bmd's child: its exit still reaches the
    life cycle (a process watch), and boot = always restarts it."""
    bmd.start(bmdtest.guest_vm("vm1", boot="always"))
    pid, _ = bmd.boot_to_banner("vm1")
    kill9(bmd)
    bmd.start()
    assert bmd.vm("vm1")["pid"] == pid
    os.kill(pid, signal.SIGKILL)
    new = bmd.wait_new_pid("vm1", pid)
    assert new != pid
    bmd.wait_log(r"vm1: process %d exited \(started by an earlier bmd" % pid)
    assert record(bmd, "vm1")["pid"] == new
    assert bmd.vm("vm1")["restarts"] == 1
    # the restart counters (and the crash-loop window) survive bmd's crash
    wait_until(lambda: len(record(bmd, "vm1")["crash_times"]) == 1, 10,
               "the restart in the record")
    kill9(bmd)
    bmd.start()
    assert bmd.vm("vm1")["pid"] == new
    assert bmd.vm("vm1")["restarts"] == 1
    assert len(record(bmd, "vm1")["crash_times"]) == 1
    assert record(bmd, "vm1")["boot"] == "always"


def test_changed_configuration_is_remembered_until_the_vm_restarts(bmd):
    """The record keeps the digest of what the process runs: a change made
    while bmd was down is still seen after a second restart of bmd."""
    bmd.start(bmdtest.guest_vm("vm1"))
    pid, _ = bmd.boot_to_banner("vm1")
    kill9(bmd)
    before = record(bmd, "vm1")["digest"]
    bmd.write_config(bmdtest.guest_vm("vm1", memory="160M"))
    for _ in range(2):
        mark = len(bmd.log_text())
        bmd.start()
        bmd.wait_log(r"vm1: configuration changed since it started", start=mark)
        assert bmd.vm("vm1")["pid"] == pid
        assert record(bmd, "vm1")["digest"] == before
        kill9(bmd)
    bmd.start()


def test_ids_and_taps_survive_a_restart_after_a_reload(netns, bmd):  # noqa: F811
    """A VM's ID (and so its tap names, bmd<ID>n<i>) stays the same when bmd
    starts again: IDs are handed out in the order VMs are met, so b, added
    above a by a reload, would be 0 after a restart and a 1, with both
    QEMUs still holding their old taps; a's next start would then ask for
    b's tap and fail."""
    start_in(bmd, netns, bmdtest.guest_vm("a", network=BRIDGE))
    bmd.boot_to_banner("a")
    bmd.write_config(raw=bmd.global_section() +
                     bmdtest.guest_vm("b", network=BRIDGE) +
                     bmdtest.guest_vm("a", network=BRIDGE))
    bmd.reload()
    bmd.boot_to_banner("b")
    ids = {v["name"]: v["id"] for v in bmd.vms()}
    assert ids == {"a": 0, "b": 1}, ids
    taps = sorted(netns.on_bridge())
    kill9(bmd)
    restart(bmd, netns)
    assert {v["name"]: v["id"] for v in bmd.vms()} == ids
    assert sorted(netns.on_bridge()) == taps
    # a stops and starts again, on the tap of its own ID
    rc, out, err = bmd.bmdctl("poweroff", "-w", "a")
    assert rc == 0, err
    rc, out, err = bmd.bmdctl("boot", "-w", "a")
    assert rc == 0, (out, err)
    assert sorted(netns.on_bridge()) == taps
    # and a later start of bmd with nothing running keeps them too
    kill9(bmd)
    for pid in bmd.qemus().values():
        os.kill(pid, signal.SIGKILL)
    restart(bmd, netns)
    assert {v["name"]: v["id"] for v in bmd.vms()} == ids


def test_upgrade_refused_while_the_configuration_cannot_be_loaded(bmd):
    """A reload of a broken file changes nothing and bmd goes on with its
    last good configuration.  A SIGUSR2 then must not execute a program
    that would stop at once on that file, leaving the VMs to nobody: it
    is refused, with the reason, and bmd and the VM go on."""
    bmd.ctl_via_socket = True           # bmdctl -s: the file is broken
    bmd.start(bmdtest.guest_vm("vm1"))
    pid, serial = bmd.boot_to_banner("vm1")
    with open(bmd.conf, "a") as f:
        f.write("vm broken {\n")             # a syntax error: fatal
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 1, (out, err)
    mark = len(bmd.log_text())
    bmd.signal(signal.SIGUSR2)
    bmd.wait_log(r"upgrade: not re-executed: .*bmd\.conf:\d+:\d+: ", start=mark)
    time.sleep(1)
    assert bmd.proc.poll() is None, "bmd exited"
    assert "upgrade: executing" not in bmd.log_text()[mark:]
    v = bmd.vm("vm1")
    assert v["state"] == "RUN" and v["pid"] == pid
    # once the file is mended, the upgrade goes ahead
    bmd.write_config(bmdtest.guest_vm("vm1"))
    mark = len(bmd.log_text())
    bmd.signal(signal.SIGUSR2)
    bmd.wait_log(r"vm1: adopted process %d" % pid, start=mark)
    bmd.wait_ready()
    assert bmd.vm("vm1")["pid"] == pid


def test_upgrade_refused_when_the_run_directory_changed(bmd):
    """The new program looks for the running VMs' records and locks in the
    run directory of the file: moved, it would find none and start every
    boot = yes VM a second time.  The upgrade is refused, naming both
    directories, and bmd and the VM go on."""
    bmd.start(bmdtest.guest_vm("vm1"))
    pid, serial = bmd.boot_to_banner("vm1")
    moved = bmd.run_dir + "-moved"
    with open(bmd.conf) as f:
        text = f.read()
    bmd.write_config(raw=text.replace("run_directory = %s;" % bmd.run_dir,
                                      "run_directory = %s;" % moved))
    mark = len(bmd.log_text())
    bmd.signal(signal.SIGUSR2)
    bmd.wait_log(r"upgrade: not re-executed: run_directory changed from "
                 r"%s to %s" % (re.escape(bmd.run_dir), re.escape(moved)),
                 start=mark)
    time.sleep(1)
    assert bmd.proc.poll() is None, "bmd exited"
    assert "upgrade: executing" not in bmd.log_text()[mark:]
    assert bmd.qemus() == {"vm1": pid}, "vm1 runs twice"
    v = bmd.vm("vm1")
    assert v["state"] == "RUN" and v["pid"] == pid
    echo(serial, "still-managed")


def test_upgrade_refused_when_a_running_vm_left_the_file(users, bmd):  # noqa: F811
    """The new program adopts a running VM only when its file still has
    it, for the same owner.  An edit not yet reloaded (a VM renamed, or
    given to another user) would leave the running QEMU to nobody and
    start the renamed VM on the same disks: the upgrade is refused, naming
    the VM, until a reload has applied the edit (stopping the VM)."""
    bmd.start(bmdtest.guest_vm("vm1"))
    pid, serial = bmd.boot_to_banner("vm1")
    for edited, why in (
            (bmdtest.guest_vm("vm1x"), r"vm vm1 runs and the configuration "
             r"no longer has it"),
            (bmdtest.guest_vm("vm1", owner="alice"), r"vm vm1 runs for uid "
             r"0 and the configuration now gives it to uid %d" % uid(
                 "alice"))):
        bmd.write_config(edited)
        mark = len(bmd.log_text())
        bmd.signal(signal.SIGUSR2)
        bmd.wait_log(r"upgrade: not re-executed: " + why, start=mark)
        time.sleep(1)
        assert bmd.proc.poll() is None, "bmd exited"
        assert "upgrade: executing" not in bmd.log_text()[mark:]
        assert bmd.qemus() == {"vm1": pid}
        v = bmd.vm("vm1")
        assert v["state"] == "RUN" and v["pid"] == pid
    echo(serial, "still-managed")
    # the reload applies the rename (vm1 stops, vm1x boots): then it goes
    bmd.write_config(bmdtest.guest_vm("vm1x"))
    bmd.reload()
    bmd.wait_state("vm1x", ["RUN"])
    wait_until(lambda: "vm1" not in bmd.qemus(), 60, "vm1's QEMU to end")
    xpid = bmd.vm("vm1x")["pid"]
    mark = len(bmd.log_text())
    bmd.signal(signal.SIGUSR2)
    bmd.wait_log(r"vm1x: adopted process %d" % xpid, start=mark)
    bmd.wait_ready()
    assert bmd.qemus() == {"vm1x": xpid}


def test_upgrade_keeps_stopped_vms_stopped_and_waits_for_a_stop(bmd):
    """An upgrade changes no VM's state.  A boot = yes VM that its user
    powered off stays off (a daemon start would boot it).  A VM being
    stopped is a state no record holds (a boot = always VM would be
    started again when its guest ends, and its stop_timeout forgotten): the
    upgrade waits until no VM is stopping."""
    bmd.start(bmdtest.guest_vm("off", "yes"),
              bmdtest.guest_vm("slow", "always", stop_timeout=60,
                               flags="bmd.noacpi"))
    (opid, _), (spid, _) = bmd.boot_all_to_banner("off", "slow")
    rc, out, err = bmd.bmdctl("poweroff", "-w", "off")
    assert rc == 0, err
    rc, out, err = bmd.bmdctl("stop", "slow")   # the guest ignores it
    assert rc == 0, err
    bmd.wait_state("slow", "TERMINATING")
    mark = len(bmd.log_text())
    bmd.signal(signal.SIGUSR2)
    bmd.wait_log(r"upgrade: vm slow is starting or stopping; try again", start=mark)
    assert "upgrade: executing" not in bmd.log_text()[mark:]
    rc, out, err = bmd.bmdctl("poweroff", "-w", "slow")
    assert rc == 0, err
    assert bmd.state("slow") == "STOP"
    # nothing stops now: the upgrade goes ahead, and boots neither VM
    mark = len(bmd.log_text())
    bmd.signal(signal.SIGUSR2)
    bmd.wait_log(r"upgrade: executing", start=mark)
    bmd.wait_log(r"start daemon", start=mark)
    bmd.wait_ready()
    time.sleep(3)
    assert {n: bmd.state(n) for n in ("off", "slow")} == {"off": "STOP",
                                                        "slow": "STOP"}
    assert bmd.qemus() == {}
    assert not os.path.exists(os.path.join(bmd.run_dir, "upgrade.stopped"))


def test_a_signal_during_the_upgrades_exec_is_not_fatal(bmd):
    """A reload (SIGHUP) or a second upgrade that arrives while bmd
    executes its program again (gdb holds the new image at its exec) waits
    for the new program's handlers: it neither kills bmd, which would
    leave every VM to nobody, nor is it lost."""
    bmd.start(bmdtest.guest_vm("vm1"))
    pid, _ = bmd.boot_to_banner("vm1")
    gdb, out = gdb_armed(bmd, "handle SIGUSR2 nostop noprint pass",
                         "handle SIGHUP nostop noprint pass", "catch exec",
                         "continue", "shell kill -HUP %d" % bmd.proc.pid,
                         "echo sent\\n", "detach")
    mark = len(bmd.log_text())
    bmd.signal(signal.SIGUSR2)
    out += gdb.communicate(timeout=60)[0]
    assert "sent" in out and "process %d is executing" % bmd.proc.pid in \
        out, out
    bmd.wait_log(r"vm1: adopted process %d" % pid, start=mark)
    bmd.wait_ready()
    bmd.wait_log(r"reload config file", start=mark)
    time.sleep(1)
    assert bmd.proc.poll() is None, "bmd died of the signal"
    assert bmd.vm("vm1")["pid"] == pid


def test_upgrade_by_sigusr2_keeps_vms_running(bmd):
    """SIGUSR2: bmd executes its program again, the new file once it has
    been replaced, in the same process; the VM keeps running, is adopted
    and is still bmd's child (a later exit has its real status)."""
    prog = os.path.join(bmd.dir, "bmd-installed")
    shutil.copy(os.path.join(bmdtest.BUILD, "bmd"), prog)
    bmd.write_config(bmdtest.guest_vm("vm1"))
    bmd.log = open(bmd.log_path, "ab")
    bmd.proc = subprocess.Popen([prog, "-F", "-f", bmd.conf],
                                stdin=subprocess.DEVNULL, stdout=bmd.log,
                                stderr=subprocess.STDOUT)
    bmd.wait_ready()
    pid, serial = bmd.boot_to_banner("vm1")
    old_inode = os.stat("/proc/%d/exe" % bmd.proc.pid).st_ino
    # a package manager replaces the file: a new inode at the same path
    shutil.copy(os.path.join(bmdtest.BUILD, "bmd"), prog + ".new")
    os.rename(prog + ".new", prog)
    mark = len(bmd.log_text())
    bmd.signal(signal.SIGUSR2)
    bmd.wait_log(r"upgrade: executing %s" % re.escape(prog), start=mark)
    bmd.wait_log(r"vm1: adopted process %d" % pid, start=mark)
    bmd.wait_ready()
    assert bmd.proc.poll() is None
    assert os.stat("/proc/%d/exe" % bmd.proc.pid).st_ino != old_inode
    v = bmd.vm("vm1")
    assert v["state"] == "RUN" and v["pid"] == pid
    # the run directory's lock passed to the new program, once, and never
    # to a VM (a QEMU holding it would keep every later bmd out)
    lock = bmd.run_dir + ".lock/daemon.lock"
    assert bmdtest.fd_holders(lock) == [bmd.proc.pid]
    with open(lock) as f:
        with pytest.raises(BlockingIOError):
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    serial.close()
    bmd.serials = []
    echo(bmd.serial("vm1"), "after-upgrade")
    # still bmd's child: the exit status is known
    os.kill(pid, signal.SIGKILL)
    bmd.wait_log(r"vm1: process %d killed by signal 9" % pid, start=mark)
    bmd.wait_state("vm1", ["STOP"])
