"""Wake-on-LAN (issue 19): a magic packet seen on a VM's bridge boots it.

The daemon runs in a network namespace with a real bridge (test_network);
the packets come from a second namespace, through a veth pair whose other
end is a port of that bridge, sent with real sockets: raw Ethernet
(ethertype 0x0842) and UDP broadcast to port 9.
"""

import os
import subprocess
import time

import pytest

import bmdtest
from test_network import BRIDGE, Netns, ip, netns, start_in  # noqa: F401

M1 = "02:00:00:00:20:01"
M2 = "02:00:00:00:20:02"
M3 = "02:00:00:00:20:03"

SEND = r'''
import os, socket, sys
kind, dst, mac = sys.argv[1], sys.argv[2], sys.argv[3]
m = bytes.fromhex(mac.replace(":", ""))
magic = b"\xff" * 6 + m * 16
if kind == "truncated":
    magic = magic[:-6]
if kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"wolB")
    s.sendto(magic, ("255.255.255.255", 9))
    sys.exit(0)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("wolB", 0))
src = bytes.fromhex("020000002099")
d = bytes.fromhex(dst.replace(":", ""))
if kind == "junk":
    for i in range(10000):
        s.send(b"\xff" * 6 + src + b"\x08\x42" + os.urandom(200))
    sys.exit(0)
s.send(d + src + b"\x08\x42" + magic)
'''


@pytest.fixture
def sender(netns):  # noqa: F811
    """A second namespace, its veth end wolB; wolA is a port of br0."""
    other = Netns()
    ip("link", "add", "wolA", "type", "veth", "peer", "name", "wolB")
    ip("link", "set", "wolA", "netns", netns.name)
    ip("link", "set", "wolB", "netns", other.name)
    ip("-n", netns.name, "link", "set", "wolA", "master", BRIDGE, "up")
    ip("-n", other.name, "link", "set", "wolB", "up")
    ip("-n", other.name, "addr", "add", "169.254.30.2/16", "dev", "wolB")

    def send(kind, mac, dst="ff:ff:ff:ff:ff:ff"):
        subprocess.run(["ip", "netns", "exec", other.name, "/usr/bin/python3",
                        "-c", SEND, kind, dst, mac], check=True, timeout=60)
    yield send
    other.delete()


def vm(name, mac):
    return bmdtest.guest_vm(name, "no", network="wol:[%s]:%s" % (mac, BRIDGE),
                            stop_timeout=1)


def test_magic_packets_boot_stopped_vms_and_nothing_else(netns, bmd, sender):  # noqa: F811,E501
    start_in(bmd, netns, vm("w", M1), vm("x", M2))
    m = bmd.wait_log(r"wol: watching 2 NIC\(s\) \(monitor pid (\d+)\)")
    time.sleep(0.5)      # the monitor has its capture open
    # the frames are parsed by nobody, holding its capture and its line
    pid = int(m.group(1))
    with open("/proc/%d/status" % pid) as f:
        uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
    assert uids == ["65534"] * 4, uids
    fds = sorted(int(n) for n in os.listdir("/proc/%d/fd" % pid))
    assert len(fds) == 5, fds      # stdio, the line to bmd, one capture
    # another MAC, a truncated packet, 10,000 junk frames: nothing
    sender("raw", M3)
    sender("truncated", M1)
    sender("junk", M1)
    rc, out, err = bmd.bmdctl("list")
    assert rc == 0, err
    time.sleep(1)
    assert bmd.state("w") == "STOP" and bmd.state("x") == "STOP"
    # raw Ethernet broadcast, then UDP to port 9
    sender("raw", M1)
    bmd.wait_running("w")
    bmd.wait_log(r"WOL %s received on %s for w: booting it" % (M1, BRIDGE))
    sender("udp", M2)
    bmd.wait_running("x")
    # unicast to the VM's own MAC (the original ignored those)
    rc, out, err = bmd.bmdctl("poweroff", "-w", "w")
    assert rc == 0, err
    sender("raw", M1, dst=M1)
    bmd.wait_running("w")
    assert bmd.state("x") == "RUN"


def test_reload_changes_the_watches(netns, bmd, sender):  # noqa: F811
    start_in(bmd, netns, vm("w", M1))
    bmd.wait_log(r"wol: watching 1 NIC\(s\)")
    bmd.write_config(bmd.global_section() + vm("w", M2))
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 0, err
    bmdtest.wait_until(lambda: bmd.log_text().count("wol: watching 1 NIC(s)")
                       == 2, 20, "a second monitor")
    time.sleep(1.5)      # the old monitor is retired a second later
    sender("raw", M1)
    time.sleep(1)
    assert bmd.state("w") == "STOP"
    sender("raw", M2)
    bmd.wait_running("w")
