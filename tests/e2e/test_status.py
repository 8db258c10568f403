"""A state that tells the truth: `bmdctl status` (exit 0 running, 3 not,
1 on error), pid, uptime and restarts in `list --json`, why a VM last
stopped, and -w/-t/-q on boot, shutdown, poweroff and reset; real guests."""

import json
import os
import re
import subprocess
import signal

import bmdtest
from bmdtest import wait_until


def status(bmd, name):
    rc, out, err = bmd.bmdctl("status", "--json", name)
    assert rc in (0, 3), (rc, out, err)
    return rc, json.loads(out)


def reason(bmd, name):
    return status(bmd, name)[1]["last_stop"]


def test_boot_wait_status_and_shutdown_wait(bmd):
    bmd.start(bmdtest.guest_vm("vm1", boot="no"))
    rc, out, err = bmd.bmdctl("status", "vm1")
    assert rc == 3 and out.startswith("vm1: stopped"), (rc, out, err)
    rc, out, err = bmd.bmdctl("boot", "-w", "vm1")
    assert rc == 0, err
    pid = bmd.vm("vm1")["pid"]
    assert out == "vm1: running, pid %d\n" % pid
    rc, v = status(bmd, "vm1")
    assert rc == 0 and v["pid"] == pid and v["state"] == "RUN"
    assert v["restarts"] == 0 and v["last_stop"] is None
    assert isinstance(v["uptime"], int) and v["uptime"] >= 0
    rc, out, err = bmd.bmdctl("status", "vm1")
    assert rc == 0 and "vm1: running, pid %d" % pid in out and "up " in out
    bmd.serial("vm1").wait_banner()
    rc, out, err = bmd.bmdctl("shutdown", "-w", "vm1")
    assert rc == 0, err
    assert out == "vm1: stopped (shut down by root)\n", out
    rc, v = status(bmd, "vm1")
    assert rc == 3 and v["pid"] is None and v["uptime"] is None
    assert v["last_stop"]["reason"] == "shutdown"
    # quiet, and status of a VM that does not exist is an error (1)
    rc, out, err = bmd.bmdctl("boot", "-w", "-q", "vm1")
    assert rc == 0 and out == "", (out, err)
    rc, out, err = bmd.bmdctl("status", "nosuch")
    assert rc == 1 and "no VM named 'nosuch'" in err, (rc, err)
    rc, out, err = bmd.bmdctl("poweroff", "-w", "-t", "x", "vm1")
    assert rc == 2 and "-t x" in err, (rc, err)


def test_several_vms_in_one_command(bmd):
    """boot and poweroff with several names: each VM in turn, a bad name
    reported and skipped, -w waits for all, one line each, in order."""
    bmd.start(bmdtest.guest_vm("vm1", boot="no"),
              bmdtest.guest_vm("vm2", boot="no"))
    rc, out, err = bmd.bmdctl("boot", "-w", "vm1", "nosuch", "vm2")
    assert rc == 1, (out, err)
    assert err.startswith("bmdctl: boot: no VM named 'nosuch'"), err
    q = bmd.qemus()
    assert set(q) == {"vm1", "vm2"}, q
    assert out == "vm1: running, pid %d\nvm2: running, pid %d\n" % (
        q["vm1"], q["vm2"])
    rc, out, err = bmd.bmdctl("poweroff", "-w", "vm2", "vm1")
    assert (rc, err) == (0, ""), err
    assert out == ("vm2: stopped (powered off by root)\n"
                   "vm1: stopped (powered off by root)\n"), out
    assert bmd.qemus() == {}
    # -c attaches to one console: refused before anything is booted
    rc, out, err = bmd.bmdctl("boot", "-c", "vm1", "vm2")
    assert rc == 2 and "-c" in err and "one VM" in err, err
    assert bmd.qemus() == {}


def test_reasons_crash_poweroff_guest_and_restarts(bmd):
    bmd.start(bmdtest.guest_vm("vm1", boot="always"),
              bmdtest.guest_vm("vm2", boot="no"))
    pid, s = bmd.boot_to_banner("vm1")
    os.kill(pid, signal.SIGKILL)
    new = bmd.wait_new_pid("vm1", pid)
    v = status(bmd, "vm1")[1]
    assert v["restarts"] == 1 and v["pid"] == new
    assert v["last_stop"]["reason"] == "crash"
    assert v["last_stop"]["text"] == "crashed: killed by signal 9"
    # list --json has the same fields
    rc, out, err = bmd.bmdctl("list", "--json")
    listed = {x["name"]: x for x in json.loads(out)}
    assert listed["vm1"]["restarts"] == 1 and listed["vm1"]["pid"] == new
    rc, out, err = bmd.bmdctl("poweroff", "-w", "vm1")
    assert rc == 0 and out == "vm1: stopped (powered off by root)\n", out
    assert reason(bmd, "vm1")["reason"] == "poweroff"
    # the guest powers itself off
    bmd.bmdctl("boot", "vm2")
    pid, s = bmd.boot_to_banner("vm2")
    s.send("poweroff -f\r")
    bmd.wait_state("vm2", ["STOP"])
    assert reason(bmd, "vm2")["reason"] == "guest-poweroff"


def test_forced_after_stop_timeout_and_wait_timeout(bmd):
    bmd.start(bmdtest.guest_vm("vm1", flags="bmd.noacpi", stop_timeout=4))
    bmd.boot_to_banner("vm1")
    rc, out, err = bmd.bmdctl("shutdown", "-w", "-t", "1", "vm1")
    assert rc == 1 and "vm1: not stopped after 1 s (TERMINATING)" in err, \
        (rc, out, err)
    rc, out, err = bmd.bmdctl("shutdown", "-w", "vm1")
    assert rc == 0, err
    r = reason(bmd, "vm1")
    assert r["reason"] == "forced" and "4 s after the power button" in r["text"]


def test_oneshot_guest_reboot_ends_the_run(bmd):
    bmd.start(bmdtest.guest_vm("vm1", boot="oneshot"))
    pid, s = bmd.boot_to_banner("vm1")
    s.send("reboot -f\r")
    bmd.wait_state("vm1", ["STOP"])
    assert reason(bmd, "vm1")["reason"] == "guest-reboot"
    wait_until(lambda: "vm1" not in bmd.qemus(), 10, "QEMU to exit")


def test_sigstop_shows_unresponsive_never_killed_then_run(bmd):
    bmd.start(bmdtest.guest_vm("vm1", stop_timeout=3), bmdtest.guest_vm("vm2"))
    (pid, s), _ = bmd.boot_all_to_banner("vm1", "vm2")
    os.kill(pid, signal.SIGSTOP)
    try:
        # list and status probe a silent monitor; its deadline passes
        def unresponsive():
            rc, out, err = bmd.bmdctl("list", timeout=5)
            assert rc == 0, err
            return "UNRESPONSIVE" in out
        wait_until(unresponsive, 30, "vm1 to show UNRESPONSIVE")
        rc, v = status(bmd, "vm1")
        assert rc == 0 and v["state"] == "UNRESPONSIVE" and v["pid"] == pid
        # the other VM and the daemon answer as usual
        assert status(bmd, "vm2")[1]["state"] == "RUN"
        assert bmdtest.pid_alive(pid)
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: bmd.vm("vm1")["state"] == "RUN", 30,
               "vm1 to be RUN again")
    assert bmd.vm("vm1")["pid"] == pid
    bmd.wait_log(r"vm1: QMP answers again")
    # stopped again, a stop still ends in SIGKILL after the ladder
    os.kill(pid, signal.SIGSTOP)
    rc, out, err = bmd.bmdctl("shutdown", "-w", "-t", "60", "vm1")
    assert rc == 0, err
    assert not bmdtest.pid_alive(pid)
    assert reason(bmd, "vm1")["reason"] in ("forced", "crash")


def test_log_file_option_and_reopen_on_sigusr1(bmd):
    """bmd -l FILE logs there (time-stamped lines, 0640), and SIGUSR1
    reopens it after rotation; a log file that cannot be opened stops
    bmd at once with the reason."""
    log = os.path.join(bmd.dir, "daemon.log")
    bmd.start(bmdtest.guest_vm("vm1", boot="no"), args=["-l", log])
    wait_until(lambda: os.path.exists(log) and "start daemon" in open(log).read(),
               10, "the start in the log file")
    assert oct(os.stat(log).st_mode & 0o777) == "0o640"
    line = [x for x in open(log) if "start daemon" in x][0]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ bmd\[\d+\]: start daemon$",
                    line.rstrip("\n")), line
    os.rename(log, log + ".0")
    bmd.signal(signal.SIGUSR1)
    wait_until(lambda: os.path.exists(log), 10, "a new log file")
    bmd.bmdctl("boot", "vm1")
    wait_until(lambda: "vm1: TERMINATE -> PRESTART" in open(log).read(), 10,
               "the boot in the new log file")
    p = subprocess.run([os.path.join(bmdtest.BUILD, "bmd"), "-F", "-f",
                        bmd.conf, "-l", "/nonexistent/dir/bmd.log"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "cannot open log file" in p.stderr


def test_errors_reach_the_person_who_asked(bmd):
    """reload prints the load's errors and exits 1 when a VM is rejected;
    boot of a rejected VM gives its first error with FILE:LINE:COL; a
    missing disk is named."""
    bmd.start(bmdtest.guest_vm("vm1", boot="no"), bmdtest.guest_vm("vm2", boot="no"))
    bmd.write_config(bmdtest.guest_vm("vm1", boot="no", memory="lots"),
                     bmdtest.guest_vm("vm2", boot="no", disk="/nonexistent/d.img"))
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 1, (rc, out, err)
    assert re.search(r"bmd\.conf:\d+:\d+: .*lots", err), err
    rc, out, err = bmd.bmdctl("boot", "vm1")
    assert rc == 1 and re.search(r"vm1: .*bmd\.conf:\d+:\d+: .*lots", err), err
    rc, out, err = bmd.bmdctl("boot", "vm2")
    assert rc == 1 and "/nonexistent/d.img" in err, err
    # a syntax error: nothing changes, and the error says where
    with open(bmd.conf, "a") as f:
        f.write("vm broken {\n")
    bmd.ctl_via_socket = True       # bmdctl cannot read the file either
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 1 and "nothing changed" in err, err
    assert re.search(r"bmd\.conf:\d+:\d+: ", err), err
