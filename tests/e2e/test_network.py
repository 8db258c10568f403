"""Networking: taps on bridges, MAC addresses, two guests talking.

Every daemon here runs inside a network namespace the test creates
(`ip netns add`, a bridge in it, bmd started with `ip netns exec`), and the
guests use link-local addresses only (169.254.0.0/16): no packet leaves the
namespace.  Needs root (namespaces, taps, a user account for the
user_bridges test).
"""

import itertools
import json
import os
import pwd
import signal
import subprocess
import time

import pytest

import bmdtest
from bmdtest import pid_alive, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces and taps need root")

BRIDGE = "br0"
MAC1 = "02:00:00:00:10:01"
MAC2 = "02:00:00:00:10:02"
IP1 = "169.254.10.1"
IP2 = "169.254.10.2"
_counter = itertools.count()


def ip(*args, check=True):
    p = subprocess.run(["ip"] + list(args), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise bmdtest.TestError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
    return p


class Netns:
    """A network namespace with one bridge, removed at teardown."""

    def __init__(self):
        self.name = "bmdnet%d-%d" % (os.getpid(), next(_counter))
        ip("netns", "add", self.name)
        self.add_bridge(BRIDGE)

    def add_bridge(self, name):
        ip("-n", self.name, "link", "add", name, "type", "bridge")
        ip("-n", self.name, "link", "set", name, "up")

    def links(self, *args):
        """`ip -j -d link show ARGS` in the namespace, as a list."""
        out = ip("-n", self.name, "-j", "-d", "link", "show", *args).stdout
        return json.loads(out) if out.strip() else []

    def taps(self):
        """{name: link} of bmd's taps in the namespace."""
        return {l["ifname"]: l for l in self.links()
                if l["ifname"].startswith("bmd")}

    def on_bridge(self, bridge=BRIDGE):
        return sorted(l["ifname"] for l in self.links("master", bridge))

    def wait_no_tap(self, name, timeout=10):
        wait_until(lambda: name not in self.taps(), timeout,
                   "tap %s to be removed" % name)

    def delete(self):
        ip("netns", "del", self.name, check=False)


@pytest.fixture
def netns(prerequisites):
    if subprocess.run(["which", "ip"], capture_output=True).returncode != 0:
        pytest.skip("iproute2 (ip) not found")
    ns = Netns()
    yield ns
    ns.delete()


def start_in(d, ns, *vms, user_bridges=None):
    """Bmd.start, but the daemon runs inside the namespace.  `ip netns
    exec` execs bmd, so d.proc's pid is the daemon's."""
    text = d.global_section()
    if user_bridges is not None:
        text = text[:-2] + "\tuser_bridges = %s;\n}\n" % user_bridges
    d.write_config(raw=text + "".join(vms))
    d.log = open(d.log_path, "ab")
    d.t_exec = time.monotonic()
    d.proc = subprocess.Popen(
        ["ip", "netns", "exec", ns.name, os.path.join(bmdtest.BUILD, "bmd"),
         "-F", "-f", d.conf],
        stdin=subprocess.DEVNULL, stdout=d.log, stderr=subprocess.STDOUT)
    d.wait_ready()
    return d


def net_guest(name, boot, net, addr=None, **keys):
    return bmdtest.guest_vm(name, boot, flags="bmd.ip=%s/16" % addr if addr else "",
                            network=net, **keys)


def qemu_argv(pid):
    """QEMU's argv, once the forked child has executed it."""
    def executed():
        argv = bmdtest.proc_cmdline(pid) or []
        return argv if "-name" in argv else None
    return wait_until(executed, 10, "pid %d to execute QEMU" % pid)


def show_network(d, name):
    rc, out, err = d.bmdctl("show", "network", "--json", name)
    assert rc == 0, err
    return json.loads(out)


def test_two_guests_on_a_bridge(netns, bmd):
    # (the test guest has a virtio-net driver only: e1000 is checked on
    # QEMU's command line in test_derived_mac_and_none)
    start_in(bmd, netns,
             net_guest("g1", "yes", "[%s]:%s" % (MAC1, BRIDGE), IP1),
             net_guest("g2", "yes", "virtio-net:[%s]:%s" % (MAC2, BRIDGE), IP2))
    (pid1, s1), (pid2, s2) = bmd.boot_all_to_banner("g1", "g2")

    # the host side: one tap per VM on the bridge, named and aliased
    assert netns.on_bridge() == ["bmd0n0", "bmd1n0"]
    taps = netns.taps()
    assert taps["bmd0n0"].get("ifalias") == "vm-g1-0"
    assert taps["bmd1n0"].get("ifalias") == "vm-g2-0"
    assert "UP" in taps["bmd0n0"]["flags"]
    assert show_network(bmd, "g1") == [{
        "index": 0, "type": "virtio-net", "bridge": BRIDGE, "mac": MAC1,
        "mac_configured": True, "tap": "bmd0n0"}]
    rc, out, err = bmd.bmdctl("show", "network", "g2")
    assert rc == 0 and "bmd1n0" in out and MAC2 in out, out
    # QEMU got the tap as a descriptor, not by name
    argv = bmdtest.proc_cmdline(pid2)
    assert "tap,id=net0,fd=3" in argv
    assert "virtio-net-pci,netdev=net0,mac=%s" % MAC2 in argv

    # the guests see their configured MACs and reach each other
    m = s1.mark()
    s1.send("cat /sys/class/net/eth0/address\r")
    s1.wait_for(MAC1.encode(), 30, m)
    m = s1.mark()
    s1.send("ping -c 3 %s\r" % IP2)
    s1.wait_for(rb"3 packets transmitted, 3 packets received", 60, m)

    # a guest reboot keeps the tap (the same interface)
    index = taps["bmd0n0"]["ifindex"]
    m = s1.mark()
    s1.send("reboot -f\r")
    s1.wait_banner(start=m)
    assert netns.taps()["bmd0n0"]["ifindex"] == index
    assert bmd.vm("g1")["pid"] == pid1

    # stop one VM: its tap goes, the other stays
    rc, out, err = bmd.bmdctl("stop", "g2")
    assert (rc, err) == (0, "")
    bmd.wait_state("g2", "STOP")
    netns.wait_no_tap("bmd1n0")
    assert netns.on_bridge() == ["bmd0n0"]
    assert show_network(bmd, "g2")[0]["tap"] is None

    # QEMU killed behind bmd's back: the tap is cleaned up all the same
    os.kill(pid1, signal.SIGKILL)
    bmd.wait_state("g1", "STOP")
    netns.wait_no_tap("bmd0n0")
    assert netns.taps() == {}

    # the daemon's exit removes the taps of the VMs it stops
    rc, out, err = bmd.bmdctl("boot", "g2")
    assert (rc, err) == (0, "")
    bmd.boot_to_banner("g2")
    assert netns.on_bridge() == ["bmd1n0"]
    assert bmd.terminate() == 0
    assert netns.taps() == {}


def test_missing_bridge_refuses_start(netns, bmd):
    ip("-n", netns.name, "tuntap", "add", "mode", "tap", "notbr")
    start_in(bmd, netns,
             net_guest("gone", "no", "nosuch"),
             net_guest("second", "no", "%s, none, nosuch2" % BRIDGE),
             net_guest("tapnotbr", "no", "notbr"))
    rc, out, err = bmd.bmdctl("boot", "gone")
    assert (rc, err) == (1, "bmdctl: boot: gone: network nosuch: no such bridge\n")
    bmd.wait_log(r"vm gone: network nosuch: no such bridge")
    # the taps made before the failing entry are removed again
    rc, out, err = bmd.bmdctl("boot", "second")
    assert (rc, err) == (1, "bmdctl: boot: second: network nosuch2: no such bridge\n")
    rc, out, err = bmd.bmdctl("boot", "tapnotbr")
    assert (rc, err) == (1, "bmdctl: boot: tapnotbr: network notbr: not a bridge\n")
    assert netns.taps() == {}
    assert bmd.state("gone") == "STOP" and bmd.state("second") == "STOP"
    assert bmd.qemus() == {}


def test_derived_mac_and_none(netns, bmd):
    start_in(bmd, netns, net_guest("d", "no", "%s, e1000:none" % BRIDGE))
    nets = show_network(bmd, "d")
    assert [n["tap"] for n in nets] == [None, None]
    macs = [n["mac"] for n in nets]
    for m in macs:                      # unicast, locally administered
        assert int(m[:2], 16) & 3 == 2, m
    assert macs[0] != macs[1]
    rc, out, err = bmd.bmdctl("boot", "d")
    assert (rc, err) == (0, "")
    argv = qemu_argv(bmd.wait_running("d"))
    assert "virtio-net-pci,netdev=net0,mac=%s" % macs[0] in argv
    assert "e1000,netdev=net1,mac=%s" % macs[1] in argv
    assert netns.on_bridge() == ["bmd0n0"]
    assert set(netns.taps()) == {"bmd0n0", "bmd0n1"}    # n1 on no bridge
    assert "master" not in netns.taps()["bmd0n1"]
    assert netns.taps()["bmd0n1"].get("ifalias") == "vm-d-1"
    rc, out, err = bmd.bmdctl("poweroff", "d")
    assert (rc, err) == (0, "")
    bmd.wait_state("d", "STOP")
    wait_until(lambda: netns.taps() == {}, 10, "the taps to be removed")
    # the same addresses on the next start: they depend on the name only
    assert [n["mac"] for n in show_network(bmd, "d")] == macs


def test_restart_keeps_tap(netns, bmd):
    # boot = always: a crashed QEMU is restarted on the same tap
    start_in(bmd, netns, net_guest("a", "always", BRIDGE))
    pid = bmd.wait_running("a")
    index = netns.taps()["bmd0n0"]["ifindex"]
    os.kill(pid, signal.SIGKILL)
    new = bmd.wait_new_pid("a", pid)
    assert not pid_alive(pid)
    assert "tap,id=net0,fd=3" in qemu_argv(new)
    assert netns.taps()["bmd0n0"]["ifindex"] == index
    assert netns.on_bridge() == ["bmd0n0"]
    rc, out, err = bmd.bmdctl("poweroff", "a")
    assert (rc, err) == (0, "")
    bmd.wait_state("a", "STOP")
    netns.wait_no_tap("bmd0n0")


def test_start_stop_cycles_leave_no_tap(netns, bmd):
    start_in(bmd, netns, net_guest("c", "no", "%s, none" % BRIDGE))
    for i in range(100):
        rc, out, err = bmd.bmdctl("boot", "c")
        assert (rc, err) == (0, ""), "cycle %d" % i
        bmd.wait_state("c", "RUN", 20)
        if i % 20 == 0:
            assert set(netns.taps()) == {"bmd0n0", "bmd0n1"}, "cycle %d" % i
        rc, out, err = bmd.bmdctl("poweroff", "c")
        assert (rc, err) == (0, ""), "cycle %d" % i
        bmd.wait_state("c", "STOP", 20)
    wait_until(lambda: netns.taps() == {}, 10, "the taps to be removed")
    assert bmd.qemus() == {}
    assert "failed to start" not in bmd.log_text()


@pytest.fixture
def alice():
    """The account alice, created (and removed afterwards) when missing."""
    made = False
    try:
        pwd.getpwnam("alice")
    except KeyError:
        subprocess.run(["useradd", "-M", "-U", "-d", "/nonexistent", "-s",
                        "/usr/sbin/nologin", "alice"], check=True,
                       capture_output=True)
        made = True
    yield pwd.getpwnam("alice")
    if made:
        subprocess.run(["userdel", "alice"], capture_output=True)


def test_user_bridges(netns, bmd, alice):
    netns.add_bridge("brok")
    text = "".join([
        net_guest("a_denied", "no", BRIDGE),
        net_guest("a_ok", "no", "brok, none"),
    ])
    alice_conf = os.path.join(bmd.dir, "alice.conf")
    with open(alice_conf, "w") as f:
        f.write(text)
    os.chown(alice_conf, alice.pw_uid, alice.pw_gid)
    os.chmod(bmd.dir, 0o755)
    start_in(bmd, netns, '.include "%s";\n' % alice_conf,
             net_guest("r", "no", BRIDGE), user_bridges="brok")
    # validation: alice's VM on a bridge not in user_bridges is rejected
    # (reported by root's bmd -n; only root's own errors fail it)
    p = subprocess.run([os.path.join(bmdtest.BUILD, "bmd"), "-n", "-f",
                        bmd.conf], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert ('vm "a_denied": "network": bridge %s is not in user_bridges; '
            'a VM owned by alice may not join it' % BRIDGE) in p.stderr
    assert 'vm "a_denied" is not loaded' in p.stderr
    assert "a_ok" not in p.stderr and '"r"' not in p.stderr
    names = {v["name"]: v["owner"] for v in bmd.vms()}
    assert names == {"a_ok": "alice", "r": "root"}
    # the allowed bridge works for alice's VM, any bridge for root's
    for name in ("a_ok", "r"):
        rc, out, err = bmd.bmdctl("boot", name)
        assert (rc, err) == (0, ""), name
        bmd.wait_running(name)
        tap = show_network(bmd, name)[0]["tap"]
        assert tap in netns.on_bridge("brok" if name == "a_ok" else BRIDGE)
        rc, out, err = bmd.bmdctl("poweroff", name)
        assert (rc, err) == (0, "")
        bmd.wait_state(name, "STOP")
    wait_until(lambda: netns.taps() == {}, 10, "the taps to be removed")


def test_vale_refused_by_qemu_and_wol_accepted(bmd):
    # (Wake-on-LAN itself: test_wol.py)
    bmd.write_config(bmdtest.guest_vm("v", "no", network="vale0"),
                     bmdtest.guest_vm("w", "no", network="wol:[%s]:br0" % MAC1))
    p = subprocess.run([os.path.join(bmdtest.BUILD, "bmd"), "-n", "-f",
                        bmd.conf], capture_output=True, text=True)
    assert p.returncode == 1
    assert ('vm "v": "network": vale0 is a vale switch (netmap), which only '
            'the bhyve backend supports') in p.stderr
    assert 'vm "w"' not in p.stderr, p.stderr
    rc, out, err = bmd.bmdctl("show", "command", "v")
    assert rc == 1
