"""Faults a daemon that is trusted with VMs must survive, with real
guests: many boot/poweroff cycles leak neither descriptors nor taps, and
a storm of SIGHUPs neither loses nor duplicates a running VM."""

import os
import signal
import time

import pytest

import bmdtest
from bmdtest import wait_until
from test_network import BRIDGE, netns, start_in  # noqa: F401  (fixture)

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces and taps need root")

CYCLES = 200


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def settled_nfds(pid):
    """The count once the daemon is idle: the connection of the bmdctl
    that just exited may still be open for a moment (seen in CI)."""
    last = None
    for _ in range(50):
        time.sleep(0.1)
        n = nfds(pid)
        if n == last:
            return n
        last = n
    return last


def test_boot_poweroff_cycles_leak_nothing(netns, bmd):  # noqa: F811
    start_in(bmd, netns, bmdtest.guest_vm("vm1", boot="no", network=BRIDGE))
    bmd.ctl_via_socket = True
    # one cycle first: whatever is opened once (syslog, caches) is open
    for cmd in ("boot", "poweroff"):
        rc, out, err = bmd.bmdctl(cmd, "-w", "-q", "vm1")
        assert rc == 0, err
    fds, taps = settled_nfds(bmd.proc.pid), netns.taps()
    pids = set()
    for i in range(CYCLES):
        rc, out, err = bmd.bmdctl("boot", "-w", "-q", "vm1")
        assert rc == 0, (i, err)
        pids.add(bmd.vm("vm1")["pid"])
        rc, out, err = bmd.bmdctl("poweroff", "-w", "-q", "vm1")
        assert rc == 0, (i, err)
    assert len(pids) == CYCLES
    assert bmd.qemus() == {}
    wait_until(lambda: netns.taps() == taps, 10, "the taps to be as before")
    wait_until(lambda: nfds(bmd.proc.pid) <= fds, 10,
               "bmd's descriptors to be as before (%d)" % fds)
    assert not any(f.endswith(".run") for f in os.listdir(bmd.run_dir))


def test_sighup_storm_keeps_vms(bmd):
    bmd.start(bmdtest.guest_vm("vm1"), bmdtest.guest_vm("vm2", boot="no"))
    pid, s = bmd.boot_to_banner("vm1")
    fds = nfds(bmd.proc.pid)
    for i in range(300):
        bmd.signal(signal.SIGHUP)
        if i % 50 == 0:
            # the configuration changes under the storm, too
            bmd.write_config(bmdtest.guest_vm("vm1"),
                             bmdtest.guest_vm("vm2", boot="no", memory="%dM" % (128 + i)))
        time.sleep(0.002)
    wait_until(bmd.answers, 30, "bmd to answer after the storm")
    v = bmd.vm("vm1")
    assert v["state"] == "RUN" and v["pid"] == pid
    assert list(bmd.qemus().values()) == [pid]
    assert bmd.state("vm2") == "STOP"
    m = s.mark()
    s.send("echo after-the-storm\r")
    s.wait_for(b"after-the-storm", 30, m)
    wait_until(lambda: nfds(bmd.proc.pid) <= fds + 1, 30,
               "descriptors back to where they were")
