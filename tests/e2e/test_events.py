"""`bmdctl events` and `bmdctl metrics` with real users and real guests.

Users alice and bob come from test_conf_owner's `users` fixture: alice owns
a VM defined in her own included file, root owns the rest.  Streams run as
the users through setpriv and are read line by line as they come; metrics
are parsed with prometheus_client's own parsers (OpenMetrics and the
classic text format that node_exporter's textfile collector reads).
"""

import json
import os
import re
import socket
import subprocess
import threading
import time

import pytest
from prometheus_client.openmetrics import parser as om_parser
from prometheus_client import parser as text_parser

import bmdtest
from bmdtest import wait_until
from test_conf_owner import users  # noqa: F401  (fixture)
from test_users import Setup, as_user, ctl

BMDCTL = os.path.join(bmdtest.BUILD, "bmdctl")


class Stream:
    """`bmdctl events` as USER, its lines collected by a thread."""

    def __init__(self, bmd, user, *args):
        self.p = subprocess.Popen(
            as_user(user, [BMDCTL, "-s", bmd.sock, "events"] + list(args)),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.json = "--json" in args
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def events(self):
        return [json.loads(s) for s in list(self.lines)] if self.json else []

    def wait(self, pred, what, timeout=60):
        def seen():
            for e in (self.events() if self.json else list(self.lines)):
                if pred(e):
                    return e
            return None
        return wait_until(seen, timeout, what)

    def close(self):
        if self.p.poll() is None:
            self.p.terminate()
        self.p.wait(10)
        self.t.join(10)


def streams_connected(bmd, n):
    """n streams are open: the daemon counts them (and this request)."""
    def count():
        rc, out, err = bmd.bmdctl("metrics", "--json")
        assert rc == 0, err
        return json.loads(out)["daemon"]["clients"] == n + 1
    wait_until(count, 30, "%d event streams connected" % n)


def is_ev(typ, **kv):
    return lambda e: e["type"] == typ and all(e.get(k) == v for k, v in kv.items())


@pytest.fixture
def setup(bmd, users):  # noqa: F811
    bmd.ctl_via_socket = True
    return Setup(bmd)


def test_each_user_follows_what_they_may_see(setup, bmd):
    root_text = setup.vm("r1")
    setup.start(root_text, setup.vm("a1", stop_timeout=1))
    everything = Stream(bmd, "root", "--json")
    only_r1 = Stream(bmd, "root", "--json", "r1")
    alice = Stream(bmd, "alice", "--json")
    bob = Stream(bmd, "bob", "--json")
    streams = (everything, only_r1, alice, bob)
    try:
        streams_connected(bmd, 4)
        rc, out, err = ctl(bmd, "alice", "boot", "-w", "a1")
        assert rc == 0, err
        alice.wait(is_ev("state", name="a1", to="RUN"), "a1 -> RUN for alice")
        alice.wait(is_ev("request", name="a1", command="boot", user="alice",
                         result="done"), "alice's boot request")
        rc, out, err = ctl(bmd, "bob", "poweroff", "a1")
        assert rc == 1
        refused = alice.wait(is_ev("request", command="poweroff", user="bob",
                                   result="refused"), "bob's refused poweroff")
        assert "no VM named 'a1'" in refused["error"]
        # a console session: attach, then detach when bmdctl goes
        con = subprocess.Popen(as_user("alice", [BMDCTL, "-s", bmd.sock,
                                                 "console", "--raw", "a1"]),
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        att = alice.wait(is_ev("console", action="attach"), "console attach")
        assert (att["port"], att["user"], att["pid"], att["mode"]) == (
            "com1", "alice", con.pid, "writer"), att
        con.terminate()
        con.wait(10)
        alice.wait(is_ev("console", action="detach", pid=con.pid),
                   "console detach")
        # a reload: alice's VM changes, root's r1 goes away
        with open(setup.afile, "w") as f:
            f.write(setup.vm("a1", stop_timeout=2))
        bmd.write_config('.include "%s";\n' % setup.afile)
        rc, out, err = ctl(bmd, "root", "reload")
        assert rc == 0, err
        alice.wait(is_ev("config", name="a1", change="changed"), "a1 changed")
        everything.wait(is_ev("config", name="r1", change="removed"),
                        "r1 removed")
        done = everything.wait(is_ev("reload"), "the reload's own event")
        assert done["result"] == "done" and done["errors"] == []
        only_r1.wait(is_ev("config", name="r1", change="removed"),
                     "r1 removed, on the stream of r1")
        rc, out, err = ctl(bmd, "alice", "poweroff", "-w", "a1")
        assert rc == 0, err
        off = alice.wait(is_ev("state", name="a1", to="STOP"), "a1 stopped")
        assert off["last_stop"]["reason"] == "poweroff", off
        assert off["last_stop"]["text"] == "powered off by alice", off
        everything.wait(is_ev("state", name="a1", to="STOP"), "a1 stopped, "
                        "for root")
        time.sleep(0.5)
        for e in alice.events():
            assert e.get("name") == "a1", e     # nothing of root's
            assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
                            e["time"]), e
        assert bob.events() == [], bob.events()
        assert {e.get("name") for e in only_r1.events()} == {"r1"}, \
            only_r1.events()
        assert not any(e["type"] == "reload" for e in alice.events())
        for s in streams:
            assert s.p.poll() is None, s.p.stderr.read()
    finally:
        for s in streams:
            s.close()


def test_a_refusal_shows_the_vms_readers_nothing_of_the_requester(setup, bmd):
    """bob asks to power off alice's web1: his own error suggests his web2, a
    name alice may not see; the refusal alice's stream shows must not."""
    setup.start(setup.vm("web2", owner="bob"), setup.vm("web1"))
    alice = Stream(bmd, "alice", "--json")
    try:
        streams_connected(bmd, 1)
        rc, out, err = ctl(bmd, "bob", "poweroff", "web1")
        assert rc == 1 and "did you mean 'web2'" in err, err
        refused = alice.wait(is_ev("request", command="poweroff", user="bob",
                                   result="refused"), "bob's refused poweroff")
        assert refused["error"] == "no VM named 'web1'", refused
        assert "web2" not in json.dumps(alice.events())
    finally:
        alice.close()


def test_text_lines_unknown_names_and_the_end_of_the_daemon(setup, bmd):
    setup.start(setup.vm("r1"), "")
    rc, out, err = ctl(bmd, "root", "events", "nosuch")
    assert rc == 1 and "no VM named 'nosuch'" in err, (rc, err)
    # alice may not name root's VM: refused as an unknown one is
    rc, out, err = ctl(bmd, "alice", "events", "r1")
    assert rc == 1 and "no VM named 'r1'" in err, (rc, err)
    text = Stream(bmd, "root")
    try:
        streams_connected(bmd, 1)
        rc, out, err = ctl(bmd, "root", "boot", "-w", "r1")
        assert rc == 0, err
        stamp = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
        text.wait(lambda s: re.match(stamp + r"r1: boot by root \(uid 0, pid "
                                     r"\d+\): done$", s), "the boot line")
        text.wait(lambda s: re.match(stamp + r"r1: \S+ -> RUN \(\w+\)$", s),
                  "the state line")
        bmd.terminate()
        assert text.p.wait(30) == 1
        assert "bmd closed the connection" in text.p.stderr.read()
    finally:
        text.close()


def ctxt_switches(pid):
    """Every thread's context switches: a wake-up is one at least."""
    n = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if "ctxt_switches" in line:
                    n += int(line.split()[1])
    return n


def test_an_idle_stream_costs_no_wake_up_and_a_stuck_reader_is_dropped(bmd):
    bmd.ctl_via_socket = True
    bmd.start(bmdtest.guest_vm("r1", boot="no"))
    idle = Stream(bmd, "root", "--json")
    stuck = bmdtest.connect_unix(bmd.sock)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(bmdtest.frame({"version": bmdtest.PROTO_VERSION,
                                 "command": "events"}))
    assert bmdtest.recv_frame(stuck)["ok"] is True
    try:
        streams_connected(bmd, 2)
        time.sleep(1)
        before = ctxt_switches(bmd.proc.pid)
        time.sleep(5)
        assert ctxt_switches(bmd.proc.pid) == before, \
            "bmd woke up with only event streams connected"
        # 80,000 events (~140 bytes each) nobody reads on `stuck`
        s = bmdtest.connect_unix(bmd.sock)
        req = bmdtest.frame({"version": bmdtest.PROTO_VERSION,
                             "command": "shutdown", "name": "r1"})
        for _ in range(160):
            s.sendall(req * 500)
            for _ in range(500):
                assert bmdtest.recv_frame(s)["ok"] is True
        s.close()
        bmd.wait_log(r"the reader is 4194304 bytes behind; closed")
        # the dropped reader finds the reason at the end of what it had
        stuck.settimeout(30)
        data = b""
        while True:
            chunk = stuck.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        assert b"more than 4194304 bytes of events were not read" in data
        # the one that reads had them all, and the daemon answers
        wait_until(lambda: sum('"type":"request"' in x for x in
                               list(idle.lines)) >= 80000,
                   120, "80,000 request events on the stream that reads")
        rc, out, err = bmd.bmdctl("list")
        assert rc == 0, err
    finally:
        stuck.close()
        idle.close()


def families(text, parser):
    return {f.name: f for f in parser.text_string_to_metric_families(text)}


def sample(fams, family, name, **labels):
    for s in fams[family].samples:
        if s.name == name and all(s.labels.get(k) == v
                                  for k, v in labels.items()):
            return s.value
    return None


def rss_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def test_metrics_parse_and_tell_the_truth(setup, bmd):
    setup.start(setup.vm("r1"), setup.vm("a1"))
    rc, out, err = ctl(bmd, "alice", "boot", "-w", "a1")
    assert rc == 0, err
    pid = bmd.vm("a1")["pid"]
    bmd.serial("a1").wait_banner()
    con = subprocess.Popen(as_user("alice", [BMDCTL, "-s", bmd.sock, "console",
                                             "--raw", "--read-only", "a1"]),
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: bmd.bmdctl("console", "--who", "a1")[1].count(
            "alice") >= 1, 30, "alice's console session")
        rc, out, err = ctl(bmd, "root", "metrics")
        assert rc == 0, err
        assert out.endswith("# EOF\n")
        fams = families(out, om_parser)
        assert fams["bmd_vm_state"].type == "gauge"
        assert sample(fams, "bmd_vm_state", "bmd_vm_state", vm="a1",
                      owner="alice", state="RUN") == 1
        assert sample(fams, "bmd_vm_state", "bmd_vm_state", vm="a1",
                      state="STOP") == 0
        assert sample(fams, "bmd_vm_state", "bmd_vm_state", vm="r1",
                      owner="root", state="STOP") == 1
        assert fams["bmd_vm_cpu_seconds"].type == "counter"
        cpu = sample(fams, "bmd_vm_cpu_seconds", "bmd_vm_cpu_seconds_total",
                     vm="a1")
        assert cpu is not None and cpu > 0
        assert sample(fams, "bmd_vm_cpu_seconds", "bmd_vm_cpu_seconds_total",
                      vm="r1") is None       # not running: no sample
        rss = sample(fams, "bmd_vm_resident_memory_bytes",
                     "bmd_vm_resident_memory_bytes", vm="a1")
        real = rss_of(pid)
        assert 0.5 * real < rss < 2 * real, (rss, real)
        assert sample(fams, "bmd_vm_uptime_seconds", "bmd_vm_uptime_seconds",
                      vm="a1") >= 0
        assert sample(fams, "bmd_vm_restarts", "bmd_vm_restarts_total",
                      vm="a1") == 0
        # root's (bmdtest's serial) and alice's
        assert sample(fams, "bmd_vm_console_clients", "bmd_vm_console_clients",
                      vm="a1") == 2
        drss = sample(fams, "bmd_daemon_resident_memory_bytes",
                      "bmd_daemon_resident_memory_bytes")
        assert 0.5 * rss_of(bmd.proc.pid) < drss < 2 * rss_of(bmd.proc.pid)
        fds = len(os.listdir("/proc/%d/fd" % bmd.proc.pid))
        assert abs(sample(fams, "bmd_daemon_open_fds", "bmd_daemon_open_fds")
                   - fds) <= 3
        assert sample(fams, "bmd_daemon_clients", "bmd_daemon_clients") >= 1
        assert sample(fams, "bmd_requests", "bmd_requests_total",
                      command="boot", result="ok") == 1
        # the classic format, for node_exporter's textfile collector
        rc, out, err = ctl(bmd, "root", "metrics", "--prometheus")
        assert rc == 0, err
        assert "# EOF" not in out
        fams = families(out, text_parser)
        assert fams["bmd_requests"].type == "counter"   # the parser drops _total
        assert sample(fams, "bmd_vm_state", "bmd_vm_state", vm="a1",
                      state="RUN") == 1
        # each user sees the VMs they may see, as in list
        rc, out, err = ctl(bmd, "alice", "metrics")
        assert rc == 0, err
        fams = families(out, om_parser)
        assert {s.labels["vm"] for s in fams["bmd_vm_state"].samples} == {"a1"}
        rc, out, err = ctl(bmd, "bob", "metrics")
        assert rc == 0, err
        assert families(out, om_parser)["bmd_vm_state"].samples == []
        rc, out, err = ctl(bmd, "root", "metrics", "--bogus")
        assert rc == 2
    finally:
        con.terminate()
        con.wait(10)
