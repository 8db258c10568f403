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
