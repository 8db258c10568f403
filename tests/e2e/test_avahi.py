"""The avahi plugin (issue 19): running VMs' VNC services over mDNS.

Real parts only: a private D-Bus system bus (dbus-daemon with a config
written here, on a unix socket in the test's directory) and Debian's
avahi-daemon in a network namespace of its own, on a veth pair, with a
private /run.  bmd runs outside the namespace with DBUS_SYSTEM_BUS_ADDRESS
naming the private bus; avahi-browse(1) answers what is announced.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

import bmdtest
from bmdtest import wait_until
from test_conf_owner import users  # noqa: F401  (fixture)
from test_network import Netns, ip
from test_users import Setup, ctl

BUS_CONF = """<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

AVAHI_CONF = """[server]
host-name=bmdavahi
use-ipv4=yes
use-ipv6=no
allow-interfaces=avA
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
"""


class Mdns:
    """A private bus and an avahi-daemon in a namespace, started on demand."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bmd-avahi.", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.bus = os.path.join(self.dir, "bus")
        self.env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS="unix:path=" + self.bus)
        self.procs = []
        self.ns = Netns()
        ip("-n", self.ns.name, "link", "add", "avA", "type", "veth",
           "peer", "name", "avB")
        ip("-n", self.ns.name, "addr", "add", "169.254.40.1/16", "dev", "avA")
        for l in ("lo", "avA", "avB"):
            ip("-n", self.ns.name, "link", "set", l, "up")

    def start_bus(self):
        conf = os.path.join(self.dir, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONF % self.bus)
        self.procs.append(subprocess.Popen(
            ["dbus-daemon", "--config-file=" + conf, "--nofork", "--nopidfile"]))
        wait_until(lambda: os.path.exists(self.bus), 10, "the D-Bus socket")

    def start_avahi(self):
        conf = os.path.join(self.dir, "avahi.conf")
        with open(conf, "w") as f:
            f.write(AVAHI_CONF)
        # avahi-daemon's pid file is in /run: a private one
        script = ("mount -t tmpfs tmpfs /run && mkdir /run/avahi-daemon && "
                  "exec avahi-daemon --no-drop-root --no-chroot -f " + conf)
        self.log = open(os.path.join(self.dir, "avahi.log"), "w")
        self.procs.append(subprocess.Popen(
            ["ip", "netns", "exec", self.ns.name, "unshare", "-m", "sh", "-c",
             script], env=self.env, stdout=self.log, stderr=subprocess.STDOUT))
        wait_until(lambda: "Server startup complete" in self.avahi_log(), 20,
                   "avahi-daemon to start")

    def avahi_log(self):
        with open(os.path.join(self.dir, "avahi.log")) as f:
            return f.read()

    def browse(self):
        """{name: port} of the _rfb._tcp services resolved now."""
        r = subprocess.run(["avahi-browse", "-rpt", "_rfb._tcp"], env=self.env,
                           capture_output=True, text=True, timeout=30)
        found = {}
        for line in r.stdout.splitlines():
            f = line.split(";")
            if f[0] == "=" and f[2] == "IPv4":
                found[f[3]] = int(f[8])
        return found

    def wait_browse(self, want, timeout=30):
        wait_until(lambda: self.browse() == want, timeout,
                   "avahi-browse to see %r (sees %r)" % (want, self.browse()))

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.ns.delete()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def mdns():
    m = Mdns()
    yield m
    m.stop()


@pytest.fixture
def abmd(bmd, mdns):
    """The daemon with the avahi plugin alone and the private bus."""
    d = tempfile.mkdtemp(prefix="bmd-plugins.", dir="/tmp")
    os.chmod(d, 0o755)
    shutil.copy(os.path.join(bmdtest.BUILD, "plugins", "avahi.so"), d)
    bmd.env = dict(mdns.env)
    extra = "\tplugin_directory = %s;\n" % d
    base = bmd.global_section
    bmd.global_section = lambda: base().replace("global {\n", "global {\n" + extra, 1)
    yield bmd
    bmd.terminate()
    shutil.rmtree(d, ignore_errors=True)


def publishers():
    """{vm name: uid} of the avahi-publish processes now running."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/status" % pid) as f:
                uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
        except OSError:
            continue
        if argv[0] == b"avahi-publish":
            found[argv[3].decode()] = int(uid)
    return found


def test_running_vms_are_announced_and_withdrawn(abmd, mdns, users):  # noqa: F811
    mdns.start_bus()
    mdns.start_avahi()
    s = Setup(abmd)
    s.start(s.vm("rootvm", graphics_port=5933, stop_timeout=1),
            s.vm("av", graphics_port=5931, stop_timeout=1)
            + s.vm("lo", graphics_port=5932, graphics_listen="127.0.0.1",
                   stop_timeout=1)
            + s.vm("sock", graphics_path=os.path.join(s.adir, "vnc.sock"),
                   stop_timeout=1)
            + s.vm("novnc", stop_timeout=1))
    for u, v in (("alice", "av"), ("alice", "lo"), ("alice", "sock"),
                 ("alice", "novnc"), ("root", "rootvm")):
        rc, out, err = ctl(abmd, u, "boot", v)
        assert rc == 0, (v, err)
    for v in ("av", "lo", "sock", "novnc", "rootvm"):
        abmd.wait_running(v)
    # the real ports; nothing for loopback, a unix socket or no graphics
    mdns.wait_browse({"av": 5931, "rootvm": 5933})
    # announced with the owner's rights; root's VM by nobody
    assert publishers() == {"av": pwd.getpwnam("alice").pw_uid, "rootvm": 65534}
    rc, out, err = ctl(abmd, "alice", "poweroff", "-w", "av")
    assert rc == 0, err
    mdns.wait_browse({"rootvm": 5933})
    abmd.wait_log(r"avahi: vm av: announcement withdrawn")
    # back when it runs again
    rc, out, err = ctl(abmd, "alice", "boot", "av")
    assert rc == 0, err
    mdns.wait_browse({"av": 5931, "rootvm": 5933})
    # the daemon's exit withdraws what it announced
    abmd.terminate()
    mdns.wait_browse({})
    wait_until(lambda: publishers() == {}, 10, "the publishers to exit")


def test_retries_until_the_bus_and_avahi_are_up(abmd, mdns):
    abmd.start(bmdtest.guest_vm("g", "yes", graphics_port=5934, stop_timeout=1))
    abmd.wait_running("g")
    # no D-Bus yet: avahi-publish exits 1 and is tried again
    abmd.wait_log(r"avahi: vm g: avahi-publish exited with status 1; "
                  r"retrying in 5 s")
    mdns.start_bus()
    wait_until(lambda: abmd.log_text().count("announcing _rfb._tcp port 5934")
               >= 2, 30, "the publisher to be tried again")
    # the bus, but no avahi-daemon yet: avahi-publish waits for it
    time.sleep(1)
    assert "g" in publishers()
    mdns.start_avahi()
    mdns.wait_browse({"g": 5934})
