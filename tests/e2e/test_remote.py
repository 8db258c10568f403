"""bmdctl -H (issue 16): bmd on other hosts over OpenSSH.

The hosts are network namespaces with their own sshd and bmd (sshhost.py),
seen from inside as real hosts: bmdctl on the PATH, the socket and the
configuration at their default paths.  This process's namespace is the
client's host.  The users bmdrem1 and bmdrem2 are made here (and removed):
each runs bmdctl with their own key, as a user would, and each owns VMs on
the hosts; bmd sees the ssh login user as the peer."""

import json
import os
import pwd
import re
import shutil
import socket
import stat
import struct
import subprocess
import threading
import time

import pytest

import bmdtest
import sshhost
from bmdtest import BANNER, wait_until
from test_console import Console

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="makes users, namespaces and sshds: needs root")

USERS = ("bmdrem1", "bmdrem2")
NF = "no VM named"


def _useradd(u):
    if subprocess.run(["id", u], capture_output=True).returncode == 0:
        subprocess.run(["userdel", u], capture_output=True)
    # "*": no password, not a locked account (sshd refuses those without PAM)
    sshhost.run(["useradd", "-M", "-U", "-d", "/", "-s", "/bin/sh", "-p", "*", u])


class Net:
    """Three hosts: h1 and h2 with VMs of both users; h3 to be broken."""

    def __init__(self):
        self.top = sshhost.make_top("bmdrem.")
        self.keys = sshhost.Keys(self.top)
        for u in USERS:
            self.keys.add_user(u)
        self.bin = os.path.join(self.top, "bin")
        os.mkdir(self.bin)
        os.chmod(self.bin, 0o755)
        self.bmdctl = os.path.join(self.bin, "bmdctl")
        shutil.copy(os.path.join(bmdtest.BUILD, "bmdctl"), self.bmdctl)
        self.guest = os.path.join(self.top, "guest")
        os.mkdir(self.guest)
        os.chmod(self.guest, 0o755)
        for f in (bmdtest.KERNEL, bmdtest.INITRD):
            shutil.copy(f, self.guest)
            os.chmod(os.path.join(self.guest, os.path.basename(f)), 0o644)
        self.hosts = [sshhost.Host(self.top, i, self.keys, "bmdrem") for i in (1, 2, 3)]

    def vm(self, name, owner):
        return bmdtest.guest_vm(name, boot="no", owner=owner,
                                kernel=os.path.join(self.guest, "vmlinuz"),
                                initrd=os.path.join(self.guest, "initrd.gz"))

    def start(self):
        h1, h2, h3 = self.hosts
        h1.start(self.vm("web", "bmdrem1"), self.vm("db", "bmdrem2"))
        h2.start(self.vm("cache", "bmdrem1"), self.vm("mail", "bmdrem2"))
        h3.start(self.vm("spare", "bmdrem1"))

    def url(self, user, host):
        return "ssh://%s@%s" % (user, host.addr)

    def argv(self, user, args, env=None):
        pw = pwd.getpwnam(user)
        e = {"PATH": "/usr/bin:/bin", "BMD_SSH": self.keys.ssh_command(user)}
        e.update(env or {})
        return (["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid),
                 "--init-groups", "env", "-i"]
                + ["%s=%s" % kv for kv in e.items() if kv[1] is not None]
                + [self.bmdctl] + [str(a) for a in args])

    def ctl(self, user, *args, env=None, timeout=60):
        """bmdctl ARGS as user: (rc, stdout, stderr)."""
        p = subprocess.run(self.argv(user, args, env), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def on(self, user, host, *args, **kw):
        """bmdctl -H ssh://user@host ARGS."""
        return self.ctl(user, "-H", self.url(user, host), *args, **kw)

    def cleanup(self):
        problems = []
        for u in USERS:
            sshhost.end_masters(u, self.hosts)
        for h in self.hosts:
            problems += h.cleanup()
        return problems


@pytest.fixture(scope="module")
def net(prerequisites):
    made = []
    n = None
    try:
        for u in USERS:
            _useradd(u)
            made.append(u)
        n = Net()
        n.start()
        yield n
    finally:
        problems = n.cleanup() if n is not None else []
        for u in made:
            subprocess.run(["userdel", u], capture_output=True)
            subprocess.run(["groupdel", u], capture_output=True)
        if n is not None:
            shutil.rmtree(n.top, ignore_errors=True)
        assert problems == []


def names(out):
    return sorted(v["name"] for v in json.loads(out))


def test_owner_controls_a_vm_on_another_host_and_nothing_else(net):
    h1 = net.hosts[0]
    rc, out, err = net.on("bmdrem1", h1, "list", "--json")
    assert (rc, err) == (0, "") and names(out) == ["web"], (out, err)
    # the table comes through the relay as a raw frame after the reply
    rc, out, err = net.on("bmdrem1", h1, "list")
    assert (rc, err) == (0, "") and out.splitlines()[2].split()[1:] == [
        "web", "1", "128M", "qemu", "STOP", "bmdrem1"], (out, err)
    rc, out, err = net.on("bmdrem1", h1, "boot", "-w", "web")
    assert (rc, err) == (0, "") and re.match(r"web: running, pid \d+\n", out), (out, err)
    rc, out, err = net.on("bmdrem1", h1, "status", "--json", "web")
    assert rc == 0 and json.loads(out)["state"] == "RUN", (out, err)
    assert json.loads(out)["pid"] == h1.bmd.vm("web")["pid"]
    # not running: status exits 3 remotely as it does here
    rc, out, err = net.on("bmdrem1", h1, "poweroff", "-w", "web")
    assert rc == 0 and "web: stopped (powered off by bmdrem1)" in out, (out, err)
    rc, out, err = net.on("bmdrem1", h1, "status", "web")
    assert rc == 3 and out.startswith("web: stopped"), (out, err)
    # the other user's VM: refused with bmd's own reason, and left alone
    for cmd in (("boot", "db"), ("poweroff", "db"), ("status", "db"),
                ("console", "--dump", "db")):
        rc, out, err = net.on("bmdrem1", h1, *cmd)
        assert rc == 1 and NF in err and "'db'" in err, (cmd, out, err)
    assert h1.bmd.state("db") == "STOP"
    # bmd saw the login user as the peer: the audit trail names bmdrem1
    log = h1.bmd.log_text()
    assert re.search(r"request: uid %d \(bmdrem1, pid \d+\): poweroff web: done"
                     % pwd.getpwnam("bmdrem1").pw_uid, log), log[-2000:]
    assert re.search(r"\(bmdrem1, pid \d+\): boot db: refused: no VM named", log)


def test_commands_reading_the_configuration_run_on_the_host(net):
    h1 = net.hosts[0]
    # the configuration is the host's, at the host's default path
    assert not os.path.exists(sshhost.defaults()[0])
    rc, out, err = net.on("bmdrem1", h1, "show", "config", "web")
    assert rc == 0 and "name = web" in out and "owner = bmdrem1" in out, (out, err)
    rc, out, err = net.on("bmdrem1", h1, "show", "command", "web")
    assert rc == 0 and "qemu-system-x86_64" in out, (out, err)
    rc, out, err = net.on("bmdrem1", h1, "show", "config", "nosuch")
    assert rc == 1 and "bmdctl: show: no VM named 'nosuch'" in err, err
    rc, out, err = net.on("bmdrem1", h1, "run", "nosuch")
    assert rc == 1 and "no VM named 'nosuch'" in err, err
    # -f and -s name the host's files
    rc, out, err = net.on("bmdrem1", h1, "-f", sshhost.defaults()[0], "show", "config",
                          "web")
    assert rc == 0 and "name = web" in out, err
    rc, out, err = net.ctl("bmdrem1", "-s", sshhost.defaults()[1], "-H",
                           net.url("bmdrem1", h1), "list", "--json")
    assert rc == 0 and names(out) == ["web"], (out, err)
    rc, out, err = net.ctl("bmdrem1", "-s", "/nonexistent/bmd.sock", "-H",
                           net.url("bmdrem1", h1), "list")
    assert rc == 1 and err == ("bmdctl: bmdrem1@%s: cannot connect to "
                               "/nonexistent/bmd.sock: No such file or directory\n"
                               % h1.addr), err


def test_list_across_hosts_with_host_column_and_json_field(net):
    h1, h2 = net.hosts[:2]
    u1, u2 = net.url("bmdrem1", h1), net.url("bmdrem1", h2)
    rc, out, err = net.ctl("bmdrem1", "-H", u1, "-H", u2, "list")
    assert (rc, err) == (0, ""), err
    lines = out.splitlines()
    assert re.match(r"host\s+id\s+name", lines[0]) and lines[1].startswith("----"), out
    rows = sorted(l.split()[:3] for l in lines[2:])
    assert rows == [["bmdrem1@10.250.1.2", "0", "web"],
                    ["bmdrem1@10.250.2.2", "0", "cache"]], out
    assert len({len(l) for l in lines}) == 1     # one table, aligned
    rc, out, err = net.ctl("bmdrem1", "-H", u1, "-H", u2, "list", "--json")
    assert (rc, err) == (0, "")
    got = sorted((v["host"], v["name"], v["owner"]) for v in json.loads(out))
    assert got == [("bmdrem1@10.250.1.2", "web", "bmdrem1"),
                   ("bmdrem1@10.250.2.2", "cache", "bmdrem1")]
    # bmdrem2 sees its own VMs; a hosts file and BMD_HOSTS give the same
    hf = os.path.join(net.top, "hosts-bmdrem2")
    with open(hf, "w") as f:
        f.write("# the test hosts\n%s\n\n  %s   # second\n"
                % (net.url("bmdrem2", h1), net.url("bmdrem2", h2)))
    os.chmod(hf, 0o644)
    for args, env in ((("-H", "@" + hf), None), ((), {"BMD_HOSTS": hf})):
        rc, out, err = net.ctl("bmdrem2", *(args + ("list", "--json")), env=env)
        assert (rc, err) == (0, ""), err
        assert sorted((v["host"], v["name"]) for v in json.loads(out)) == [
            ("bmdrem2@10.250.1.2", "db"), ("bmdrem2@10.250.2.2", "mail")]


def test_host_name_selects_the_host(net):
    h1, h2 = net.hosts[:2]
    both = ("-H", net.url("bmdrem1", h1), "-H", net.url("bmdrem1", h2))
    for target in ("bmdrem1@10.250.2.2:cache", "10.250.2.2:cache"):
        rc, out, err = net.ctl("bmdrem1", *both, "status", target)
        assert rc == 3 and out.startswith("cache: stopped"), (target, out, err)
    rc, out, err = net.ctl("bmdrem1", *both, "show", "config", "10.250.1.2:web")
    assert rc == 0 and "name = web" in out, err
    # the VM is on h2 only: h1 says so
    rc, out, err = net.ctl("bmdrem1", *both, "status", "10.250.1.2:cache")
    assert rc == 1 and "no VM named 'cache'" in err, err
    # one -H: its host, named or not
    rc, out, err = net.on("bmdrem1", h2, "status", "10.250.2.2:cache")
    assert rc == 3, err
    # usage errors: which host, a host not given, two hosts at once
    rc, out, err = net.ctl("bmdrem1", *both, "status", "cache")
    assert rc == 2 and "which of the 2 hosts" in err, err
    rc, out, err = net.ctl("bmdrem1", *both, "status", "10.9.9.9:cache")
    assert rc == 2 and "10.9.9.9 is not one of the -H hosts" in err, err
    rc, out, err = net.ctl("bmdrem1", *both, "reload")
    assert rc == 2 and "which of the 2 hosts" in err, err


@pytest.mark.parametrize("arg, why", [
    ("http://10.250.1.2", "not an ssh:// URL"),
    ("10.250.1.2", "not an ssh:// URL"),
    ("ssh://", "no host name"),
    ("ssh://-oProxyCommand=touch%20x", "no host name"),
    ("ssh://bmdrem1@10.250.1.2:99999", "bad port"),
    ("ssh://bmdrem1@10.250.1.2:22/path", "unexpected text after the host"),
    ("ssh://a;b@host", "bad user name"),
    ("@/nonexistent/hosts", "No such file or directory"),
])
def test_bad_host_is_a_usage_error(net, arg, why):
    rc, out, err = net.ctl("bmdrem1", "-H", arg, "list")
    assert rc == 2 and out == "" and why in err, err
    assert err.startswith("bmdctl: "), err


def test_ssh_and_bmdctl_missing_are_told_apart(net):
    h1 = net.hosts[0]
    rc, out, err = net.on("bmdrem1", h1, "list", env={"BMD_SSH": "/nonexistent/ssh"})
    assert rc == 1 and err == ("bmdctl: bmdrem1@10.250.1.2: ssh not found (install "
                               "OpenSSH's client, or name the command in BMD_SSH)\n"), err
    rc, out, err = net.on("bmdrem1", h1, "show", "keys",
                          env={"BMD_SSH": "/nonexistent/ssh"})
    assert rc == 1 and "ssh not found" in err, err
    # a wrong port: ssh's own reason
    rc, out, err = net.ctl("bmdrem1", "-H", "ssh://bmdrem1@10.250.1.2:2222", "list")
    assert rc == 1 and err == ("bmdctl: bmdrem1@10.250.1.2:2222: ssh: connect to host "
                               "10.250.1.2 port 2222: Connection refused\n"), err


def test_down_host_is_reported_the_others_listed(net):
    h1, h3 = net.hosts[0], net.hosts[2]
    args = ("-H", net.url("bmdrem1", h1), "-H", net.url("bmdrem1", h3))
    rc, out, err = net.ctl("bmdrem1", *args, "list", "--json")
    assert (rc, err) == (0, "") and names(out) == ["spare", "web"]
    # bmd down on h3: the relay's reason, from h3 (its configuration's socket)
    h3.bmd.terminate()
    rc, out, err = net.ctl("bmdrem1", *args, "list")
    assert rc == 1 and err == ("bmdctl: bmdrem1@10.250.3.2: cannot connect to "
                               "%s: No such file or directory\n" % h3.bmd.sock), err
    assert "web" in out and "spare" not in out
    rc, out, err = net.on("bmdrem1", h3, "boot", "spare")
    assert rc == 1 and "cannot connect to %s" % h3.bmd.sock in err, err
    # no bmdctl on h3
    os.unlink(os.path.join(h3.bindir, "bmdctl"))
    rc, out, err = net.ctl("bmdrem1", *args, "list", "--json")
    assert rc == 1 and err == ("bmdctl: bmdrem1@10.250.3.2: bmdctl not found on "
                               "10.250.3.2 (not on the PATH of the remote login)\n"), err
    assert names(out) == ["web"]
    rc, out, err = net.on("bmdrem1", h3, "show", "config")
    assert rc == 1 and "bmdctl not found on 10.250.3.2" in err, err
    # sshd down (its connections too): ssh's reason
    h3.stop_sshd()
    t0 = time.monotonic()
    rc, out, err = net.ctl("bmdrem1", *args, "list")
    assert rc == 1 and err == ("bmdctl: bmdrem1@10.250.3.2: ssh: connect to host "
                               "10.250.3.2 port 22: Connection refused\n"), err
    assert re.search(r"^bmdrem1@10.250.1.2 +0 +web ", out, re.M), out
    assert time.monotonic() - t0 < 20


def test_console_over_ssh_reaches_the_guest(net):
    h1 = net.hosts[0]
    rc, out, err = net.on("bmdrem1", h1, "boot", "-w", "web")
    assert rc == 0, err
    try:
        def dumped():
            rc, out, err = net.on("bmdrem1", h1, "console", "--dump", "web")
            return rc == 0 and BANNER.decode() in out
        wait_until(dumped, bmdtest.BOOT_TIMEOUT, "the banner in web's scrollback", 0.5)
        c = Console(None, argv=net.argv("bmdrem1", ["-H", net.url("bmdrem1", h1),
                                                    "console", "web"]))
        try:
            c.wait_for(rb"attached to com1 of web; ~\. disconnects", 20)
            c.wait_for(re.escape(BANNER), 20)            # the replay
            c.run("echo remote-$((6*7))")
            assert "remote-42" in c.text()
            # ~r and ~w: the session is the relay's on the host, the
            # request another relay's; the token bmd gave names it
            c.send("~r")
            c.wait_for(rb"watching \(read-only\) the console of web", 20)
            mark = len(c.text())
            c.send("echo ignored-$((2+2))\r")
            time.sleep(1.5)
            assert "ignored-4" not in c.text()[mark:]
            c.send("~w")
            c.wait_for(rb"you may type on the console of web", 20)
            c.run("echo again-$((5+5))")
            assert "again-10" in c.text()
            c.send("~.")
            assert c.wait_exit(20) == 0
            assert "[bmdctl: disconnected from web]" in c.text()
        finally:
            c.close()
        # the console of the other user's VM: refused
        rc, out, err = net.on("bmdrem1", h1, "console", "--raw", "db")
        assert rc == 1 and NF in err, err
        assert h1.bmd.state("web") == "RUN"
    finally:
        net.on("bmdrem1", h1, "poweroff", "-w", "web")


def test_connection_is_shared_between_commands(net):
    h2 = net.hosts[1]
    user = "bmdrem2"
    uid = pwd.getpwnam(user).pw_uid
    sshhost.end_masters(user, net.hosts)
    logins = lambda: h2.log().count("Accepted publickey for %s " % user)  # noqa: E731
    before = logins()
    times = []
    for _ in range(4):
        t0 = time.monotonic()
        rc, out, err = net.on(user, h2, "list", "--json")
        times.append(time.monotonic() - t0)
        assert rc == 0 and names(out) == ["mail"], err
    # one login for four commands, through the master's socket
    assert logins() == before + 1, h2.log()[-3000:]
    d = "/tmp/bmdctl-%d" % uid
    st = os.lstat(d)
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == uid and stat.S_IMODE(st.st_mode) == 0o700
    socks = os.listdir(d)
    assert len(socks) == 1 and stat.S_ISSOCK(os.lstat(os.path.join(d, socks[0])).st_mode)
    print("list over ssh: first %.0f ms, then %s ms" % (
        times[0] * 1000, ", ".join("%.0f" % (t * 1000) for t in times[1:])))
    # a directory that is not private is not used: no master, still works
    shutil.rmtree(d)
    os.symlink("/tmp", d)
    try:
        rc, out, err = net.on(user, h2, "list", "--json")
        assert rc == 0 and names(out) == ["mail"]
        assert "is not a directory private to uid %d" % uid in err, err
    finally:
        os.unlink(d)


def test_relay_forwards_frames_after_the_reply_and_descriptors(tmp_path):
    """bmdctl stdio knows no command: frames after the first reply (events)
    go through as they come; a reply with a descriptor is marked and the
    descriptor's bytes follow.  bmd is played by this test here."""
    path = str(tmp_path / "s.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    got = {}

    def serve():
        c, _ = srv.accept()
        got["req"] = bmdtest.recv_frame(c)
        c.sendall(bmdtest.frame({"ok": True}))
        for i in range(3):
            time.sleep(0.2)
            c.sendall(bmdtest.frame({"event": i}))
        got["req2"] = bmdtest.recv_frame(c)
        a, b = socket.socketpair()
        socket.send_fds(c, [bmdtest.frame({"ok": True, "port": "com1"})], [b.fileno()])
        b.close()
        c.close()
        a.sendall(b"from-the-guest")
        got["typed"] = a.recv(100)
        a.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    p = subprocess.Popen([os.path.join(bmdtest.BUILD, "bmdctl"), "-s", path, "stdio"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def read_frame():
        n = struct.unpack(">I", p.stdout.read(4))[0]
        return json.loads(p.stdout.read(n))
    p.stdin.write(bmdtest.frame({"command": "events"}))
    p.stdin.flush()
    assert read_frame() == {"ok": True}
    t0 = time.monotonic()
    assert [read_frame() for _ in range(3)] == [{"event": i} for i in range(3)]
    assert time.monotonic() - t0 > 0.3          # as they came, not at the end
    p.stdin.write(bmdtest.frame({"command": "console"}))
    p.stdin.flush()
    assert read_frame() == {"ok": True, "port": "com1", "relayed": True}
    assert p.stdout.read(14) == b"from-the-guest"
    p.stdin.write(b"typed")
    p.stdin.flush()
    t.join(10)
    assert got["req"] == {"command": "events"} and got["typed"] == b"typed"
    p.stdin.close()
    assert p.wait(10) == 0


def test_events_and_metrics_over_ssh(net):
    from prometheus_client.openmetrics import parser as om_parser
    h2 = net.hosts[1]
    url = net.url("bmdrem2", h2)
    p = subprocess.Popen(net.argv("bmdrem2", ["-H", url, "events", "--json"]),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    lines = []
    t = threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True)
    t.start()
    try:
        # the stream is up once bmd counts its connection (and this one)
        wait_until(lambda: json.loads(net.on("bmdrem2", h2, "metrics", "--json")[1])
                   ["daemon"]["clients"] == 2, 60, "the stream over ssh")
        rc, out, err = net.on("bmdrem2", h2, "boot", "-w", "mail")
        assert rc == 0, err
        rc, out, err = net.on("bmdrem1", h2, "boot", "-w", "cache")
        assert rc == 0, err

        def seen(name, to):
            return any(e.get("type") == "state" and e.get("name") == name and
                       e.get("to") == to for e in map(json.loads, list(lines)))
        wait_until(lambda: seen("mail", "RUN"), 60, "mail -> RUN over ssh")
        rc, out, err = net.on("bmdrem2", h2, "metrics")
        assert rc == 0, err
        fams = {f.name: f for f in om_parser.text_string_to_metric_families(out)}
        states = {(s.labels["vm"], s.labels["state"]): s.value
                  for s in fams["bmd_vm_state"].samples}
        assert states[("mail", "RUN")] == 1 and ("cache", "RUN") not in states
        for name in ("mail", "cache"):
            user = "bmdrem2" if name == "mail" else "bmdrem1"
            assert net.on(user, h2, "poweroff", "-w", name)[0] == 0
        wait_until(lambda: seen("mail", "STOP"), 60, "mail -> STOP over ssh")
        assert not any(e.get("name") == "cache" for e in map(json.loads, list(lines)))
        assert p.poll() is None, p.stderr.read()
    finally:
        p.terminate()
        p.wait(10)
