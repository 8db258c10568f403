"""Daemon shutdown: SIGTERM (and SIGINT in the foreground) stop every VM."""

import os
import signal
import time

import bmdtest
from bmdtest import pid_alive


def test_sigterm_with_three_running_vms(bmd, guest):
    bmd.start(guest("a", "yes"), guest("b", "oneshot"), guest("c", "always"),
              guest("d", "no"))
    pids = [pid for pid, _ in bmd.boot_all_to_banner("a", "b", "c")]
    t0 = time.monotonic()
    rc = bmd.terminate(90)
    assert rc == 0, "bmd exit status %s after SIGTERM" % rc
    # in parallel: well within one stop_timeout (30 s each)
    assert time.monotonic() - t0 < 60
    assert not [p for p in pids if pid_alive(p)], "QEMU left running"
    assert bmd.qemus() == {}
    assert not os.path.exists(bmd.sock), "control socket left behind"


def test_sigterm_waits_stop_timeout_then_kills(bmd, guest):
    bmd.start(guest("deaf", "yes", flags="bmd.noacpi", stop_timeout=3))
    pid, _ = bmd.boot_to_banner("deaf")
    t0 = time.monotonic()
    rc = bmd.terminate(60)
    assert rc == 0
    assert time.monotonic() - t0 >= 2.5, "did not wait for the guest"
    assert not pid_alive(pid)
    assert bmd.qemus() == {}


def test_sigint_in_foreground(bmd, guest):
    bmd.start(guest("i", "always"))
    pid, _ = bmd.boot_to_banner("i")
    bmd.signal(signal.SIGINT)
    try:
        rc = bmd.proc.wait(60)
    except Exception:
        rc = None
    assert rc == 0
    assert not pid_alive(pid)


def test_second_daemon_on_same_socket_refused(bmd, guest):
    bmd.start(guest("x", "no"))
    other = bmdtest.Bmd()
    try:
        other.conf = bmd.conf       # same global section: same socket
        other.start(wait=False)
        rc = other.proc.wait(20)
        assert rc != 0, "a second bmd started on a live socket"
        assert bmd.answers()
    finally:
        other.cleanup()


def test_second_daemon_on_same_run_directory_refused(bmd, guest):
    """Two daemons on one run directory would both adopt and restart the
    same VMs: the second is refused before it looks at any VM."""
    bmd.start(guest("x", "always"), guest("y", "no"))
    pid, _ = bmd.boot_to_banner("x")
    other = bmdtest.Bmd()
    try:
        # the same VMs and run directory, another socket and pid file
        with open(bmd.conf) as f:
            text = f.read()
        text = text.replace("cmd_socket_path = %s;" % bmd.sock,
                            "cmd_socket_path = %s;" % other.sock)
        text = text.replace("pid_file = %s;" % os.path.join(bmd.dir,
                                                             "bmd.pid"),
                            "pid_file = %s;" % os.path.join(other.dir,
                                                            "bmd.pid"))
        assert other.sock in text
        other.write_config(raw=text)
        other.start(wait=False)
        try:
            rc = other.proc.wait(20)
        except Exception:
            rc = None
        log = other.log_text()
        assert rc not in (None, 0), "a second bmd ran on %s:\n%s" % (
            bmd.run_dir, log)
        assert bmd.run_dir in log and "in use" in log, log
        assert "adopted" not in log, log
        assert not os.path.exists(other.sock)
        # the first daemon still has its VM, and only one QEMU runs it
        assert bmd.qemus() == {"x": pid}
        assert bmdtest.fd_holders(bmd.run_dir + ".lock/daemon.lock") == [
            bmd.proc.pid], "the lock passed to a VM"
        assert bmd.vm("x")["pid"] == pid
        assert bmd.bmdctl("poweroff", "x")[0] == 0
        bmd.wait_state("x", ["STOP"])
        time.sleep(1)
        assert bmd.qemus() == {}, "x came back: a second daemon restarts it"
    finally:
        other.cleanup()
