"""A running VM's life: guest poweroff and reboot, ACPI stop, stop_timeout,
poweroff, reset, crashes of QEMU with boot = always and the crash-loop limit."""

import os
import signal
import time

import bmdtest
from bmdtest import pid_alive


def wait_gone(pid, timeout=bmdtest.STATE_TIMEOUT):
    bmdtest.wait_until(lambda: not pid_alive(pid), timeout, "QEMU %d to exit" % pid)


def test_guest_poweroff_stops_yes_vm(bmd, guest):
    bmd.start(guest("g", "yes"))
    pid, s = bmd.boot_to_banner("g")
    s.send("poweroff -f\r")
    bmd.wait_state("g", "STOP")
    wait_gone(pid, 10)
    time.sleep(3)                       # and it is not started again
    v = bmd.vm("g")
    assert v["state"] == "STOP" and v["pid"] is None
    assert bmd.qemus() == {}


def test_guest_poweroff_restarts_always_vm(bmd, guest):
    bmd.start(guest("g", "always"))
    pid, s = bmd.boot_to_banner("g")
    s.send("poweroff -f\r")
    new = bmd.wait_new_pid("g", pid)
    assert not pid_alive(pid)
    bmd.serial("g").wait_banner()
    assert bmd.qemus() == {"g": new}


def test_guest_reboot_keeps_yes_vm_running(bmd, guest):
    bmd.start(guest("g", "yes"))
    pid, s = bmd.boot_to_banner("g")
    mark = s.mark()
    s.send("reboot -f\r")
    s.wait_banner(start=mark)           # the same QEMU, the same socket
    v = bmd.vm("g")
    assert v["state"] == "RUN" and v["pid"] == pid
    assert pid_alive(pid)
    s.run("true")                       # the shell answers after the reboot


def test_guest_reboot_ends_oneshot_vm(bmd, guest):
    bmd.start(guest("g", "oneshot"))
    pid, s = bmd.boot_to_banner("g")
    s.send("reboot -f\r")
    bmd.wait_state("g", "STOP")
    wait_gone(pid, 10)
    time.sleep(3)
    assert bmd.state("g") == "STOP"
    assert bmd.qemus() == {}


def test_install_reboot_ends_vm(bmd, guest):
    # bmd.reboot: the guest reboots right after its banner
    bmd.start(guest("g", "no", flags="bmd.reboot"))
    rc, out, err = bmd.bmdctl("install", "g")
    assert (rc, err) == (0, "")
    pid, s = bmd.boot_to_banner("g")
    bmd.wait_state("g", "STOP")
    wait_gone(pid, 10)
    assert s.count(bmdtest.BANNER) == 1


def test_acpi_stop_of_cooperative_guest(bmd, guest):
    bmd.start(guest("g", "yes", stop_timeout=120))
    pid, s = bmd.boot_to_banner("g")
    t0 = time.monotonic()
    rc, out, err = bmd.bmdctl("stop", "g")
    assert (rc, err) == (0, "")
    bmd.wait_state("g", "STOP")
    wait_gone(pid, 10)
    # well before stop_timeout: the guest obeyed the power button
    assert time.monotonic() - t0 < 60
    time.sleep(2)
    assert bmd.state("g") == "STOP"


def test_stop_timeout_kills_guest_ignoring_acpi(bmd, guest):
    bmd.start(guest("g", "yes", flags="bmd.noacpi", stop_timeout=3))
    pid, s = bmd.boot_to_banner("g")
    t0 = time.monotonic()
    rc, out, err = bmd.bmdctl("shutdown", "g")
    assert (rc, err) == (0, "")
    time.sleep(1.5)
    v = bmd.vm("g")
    assert v["state"] == "TERMINATING", v
    assert pid_alive(pid)
    bmd.wait_state("g", "STOP", 40)
    wait_gone(pid, 10)
    assert time.monotonic() - t0 >= 2.5, "killed before stop_timeout"


def test_poweroff_is_immediate_and_final(bmd, guest):
    # a guest ignoring ACPI, and boot = always: poweroff still stops it for good
    bmd.start(guest("g", "always", flags="bmd.noacpi", stop_timeout=300))
    pid, s = bmd.boot_to_banner("g")
    rc, out, err = bmd.bmdctl("poweroff", "g")
    assert (rc, err) == (0, "")
    bmd.wait_state("g", "STOP", 20)
    wait_gone(pid, 10)
    # a power cut: SIGKILL at once, not QEMU's quit and its clean-up
    bmd.wait_log(r"g: process %d killed by signal 9" % pid)
    time.sleep(3)
    assert bmd.state("g") == "STOP"
    assert bmd.qemus() == {}


def test_reset(bmd, guest):
    bmd.start(guest("g", "yes"))
    pid, s = bmd.boot_to_banner("g")
    mark = s.mark()
    rc, out, err = bmd.bmdctl("reset", "g")
    assert (rc, err) == (0, "")
    s.wait_banner(start=mark)
    v = bmd.vm("g")
    assert v["state"] == "RUN" and v["pid"] == pid


def test_reset_and_poweroff_of_stopped_vm(bmd, guest):
    bmd.start(guest("g", "no"))
    for cmd in ("reset", "poweroff", "stop"):
        rc, out, err = bmd.bmdctl(cmd, "g")
        assert rc in (0, 1), (cmd, rc, err)
        assert bmd.state("g") == "STOP"
    assert bmd.qemus() == {}


def restarted_or_failed(bmd, name, old_pid):
    """After a crash: the VM's object once it runs a new QEMU or is FAILED."""
    def check():
        v = bmd.vm(name)
        if v and (v["state"] == "FAILED" or
                  (v["state"] == "RUN" and v["pid"] not in (None, old_pid))):
            return v
        return None
    return bmdtest.wait_until(check, bmdtest.STATE_TIMEOUT,
                              "a restart or FAILED after kill -9")


def test_crash_restarts_always_then_crash_loop_failed(bmd, guest):
    bmd.start(guest("g", "always"))
    pid = bmd.wait_running("g")
    restarts = 0
    t0 = time.monotonic()
    while True:
        os.kill(pid, signal.SIGKILL)
        v = restarted_or_failed(bmd, "g", pid)
        if v["state"] == "FAILED":
            break
        restarts += 1
        pid = v["pid"]
        assert pid_alive(pid)
        assert restarts <= 5, "more than 5 restarts in 60 s"
    assert time.monotonic() - t0 < 60
    assert restarts == 5, "FAILED after %d restarts, expected 5" % restarts
    assert v["pid"] is None and bmd.qemus() == {}
    time.sleep(3)
    assert bmd.state("g") == "FAILED"   # no more restarts
    # status says why, and how often it was restarted
    v = bmd.vm("g")
    assert v["restarts"] == 5 and v["last_stop"]["reason"] == "crash-loop"
    assert v["last_stop"]["text"].startswith("crashed: killed by signal 9; "
                                             "restarted 5 times within 60 s")
    # a boot request clears FAILED
    rc, out, err = bmd.bmdctl("boot", "g")
    assert (rc, err) == (0, "")
    bmd.boot_to_banner("g")


def test_crash_of_yes_vm_stops_it(bmd, guest):
    bmd.start(guest("g", "yes"))
    pid = bmd.wait_running("g")
    os.kill(pid, signal.SIGKILL)
    bmd.wait_state("g", ("STOP", "FAILED"))
    time.sleep(3)
    assert bmd.state("g") in ("STOP", "FAILED")
    assert bmd.qemus() == {}
