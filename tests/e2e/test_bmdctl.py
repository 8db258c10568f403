"""bmdctl against a scripted fake daemon: requests, output formats, exit codes.
These do not need bmd or QEMU."""

import json
import os
import pty
import shutil
import socket
import subprocess
import tempfile
import threading

import pytest

import bmdtest

MiB = 1024 * 1024

VMS = [
    {"id": 0, "name": "freebsd", "state": "RUN", "owner": "root", "group": None,
     "ncpu": 2, "memory": 2048 * MiB, "backend": "bhyve", "loader": "bhyveload",
     "pid": 1234},
    {"id": 2, "name": "tiny", "state": "STOP", "owner": "alice", "group": "staff",
     "ncpu": 1, "memory": 128 * MiB, "backend": "qemu", "loader": None,
     "pid": None},
    {"id": 1, "name": "uefi-guest-with-long-name", "state": "FAILED",
     "owner": "bob", "group": None, "ncpu": 4, "memory": 1536 * MiB,
     "backend": "qemu", "loader": "uefi", "pid": None},
]


class FakeBmd:
    """Answers each connection's first frame with reply(request)."""

    def __init__(self, reply):
        self.dir = tempfile.mkdtemp(prefix="bmdctl-", dir="/tmp")
        self.path = os.path.join(self.dir, "bmd.sock")
        self.reply = reply
        self.requests = []
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            with c:
                req = bmdtest.recv_frame(c, 5)
                self.requests.append(req)
                r = self.reply(req)
                if r is not None:
                    c.sendall(r if isinstance(r, bytes) else bmdtest.frame(r))

    def ctl(self, *args, conf=None, stdin=subprocess.DEVNULL):
        argv = [os.path.join(bmdtest.BUILD, "bmdctl")]
        argv += ["-f", conf] if conf else ["-s", self.path]
        p = subprocess.run(argv + list(args), capture_output=True, timeout=20,
                           stdin=stdin)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def close(self):
        # wake the accept() first: a closed fd number could be reused by
        # the next test's server while this thread still waits on it
        try:
            self.srv.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(5)
        self.srv.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def ok_reply(req):
    r = {"version": 1, "ok": True}
    if req and req.get("command") == "list":
        r["vms"] = VMS
    return r


@pytest.fixture
def fake():
    f = FakeBmd(ok_reply)
    yield f
    f.close()


@pytest.fixture
def failing():
    f = FakeBmd(lambda req: {"version": 1, "ok": False, "error": "already running"})
    yield f
    f.close()


TABLE = (
    "  id                name ncpu memory    loader       state       owner\n"
    " --- ------------------- ---- ------ --------- -----------  ----------\n"
    "   0             freebsd    2     2G bhyveload         RUN        root\n"
    "   1 uefi-guest-with-long-name    4  1536M      uefi      FAILED         bob\n"
    "   2                tiny    1   128M      qemu        STOP       alice\n")


def names(out):
    return [line.split()[1] for line in out.splitlines()[2:]]


def test_list_table(fake):
    rc, out, err = fake.ctl("list")
    assert (rc, err) == (0, "")
    assert out == TABLE
    # bmd renders the table itself (sent raw); a reply with objects, from
    # a bmd that knows neither, is rendered here
    assert fake.requests == [{"version": 1, "command": "list", "table": True,
                              "sort": "id", "reverse": False, "raw": True}]


@pytest.mark.parametrize("col,order", [
    ("id", ["freebsd", "uefi-guest-with-long-name", "tiny"]),
    ("name", ["freebsd", "tiny", "uefi-guest-with-long-name"]),
    ("memory", ["tiny", "uefi-guest-with-long-name", "freebsd"]),
    ("ncpu", ["tiny", "freebsd", "uefi-guest-with-long-name"]),
    ("state", ["uefi-guest-with-long-name", "freebsd", "tiny"]),
    ("owner", ["tiny", "uefi-guest-with-long-name", "freebsd"]),
    ("loader", ["freebsd", "tiny", "uefi-guest-with-long-name"]),
])
def test_list_sort(fake, col, order):
    rc, out, err = fake.ctl("list", "-s", col)
    assert rc == 0, err
    assert names(out) == order
    rc, out, err = fake.ctl("list", "-r", "-s", col)
    assert rc == 0, err
    assert names(out) == order[::-1]


def test_list_sort_memory_is_numeric(fake):
    # "128M" < "1536M" < "2G" only when compared as sizes
    rc, out, _ = fake.ctl("list", "-s", "memory")
    assert [line.split()[3] for line in out.splitlines()[2:]] == ["128M", "1536M", "2G"]


def test_list_unknown_column_is_usage_error(fake):
    rc, out, err = fake.ctl("list", "-s", "colour")
    assert rc == 2
    assert out == ""
    assert "colour" in err and "usage: bmdctl" in err
    assert fake.requests == []


def test_list_json_prints_daemon_array(fake):
    rc, out, err = fake.ctl("list", "--json")
    assert rc == 0, err
    assert json.loads(out) == VMS


@pytest.mark.parametrize("args,command", [
    (["boot", "vm1"], "boot"),
    (["start", "vm1"], "boot"),
    (["install", "vm1"], "install"),
    (["shutdown", "vm1"], "shutdown"),
    (["stop", "vm1"], "shutdown"),
    (["poweroff", "vm1"], "poweroff"),
    (["reset", "vm1"], "reset"),
    (["res", "vm1"], "reset"),          # unique prefix
])
def test_vm_commands_send_request(fake, args, command):
    rc, out, err = fake.ctl(*args)
    assert (rc, out, err) == (0, "", "")
    assert fake.requests == [{"version": 1, "command": command, "name": "vm1"}]


def test_reload_request(fake):
    assert fake.ctl("reload") == (0, "", "")
    assert fake.requests == [{"version": 1, "command": "reload"}]


def test_daemon_error_is_printed_exit_1(failing):
    rc, out, err = failing.ctl("boot", "vm1")
    assert (rc, out, err) == (1, "", "bmdctl: boot: vm1: already running\n")
    rc, out, err = failing.ctl("list")
    assert (rc, out) == (1, "")
    assert err == "bmdctl: already running\n"


def test_boot_console_attaches_after_boot(fake):
    # without a terminal, -c is refused before anything is asked
    rc, out, err = fake.ctl("boot", "-c", "vm1")
    assert rc == 1 and "standard input is not a terminal" in err, err
    assert fake.requests == []
    # the fake daemon answers the console request without a descriptor
    master, slave = pty.openpty()
    rc, out, err = fake.ctl("boot", "-c", "vm1", stdin=slave)
    assert rc == 1
    assert err == "bmdctl: failed to open console\n"
    # the VM was booted first, then com1 asked for (this run's output only)
    assert fake.requests == [
        {"version": 1, "command": "boot", "name": "vm1"},
        {"version": 1, "command": "console", "name": "vm1", "port": "com1",
         "mode": "interactive", "replay": "run"}]
    rc, out, err = fake.ctl("install", "-c", "vm2", stdin=slave)
    os.close(master)
    os.close(slave)
    assert rc == 1 and "failed to open console" in err
    assert [r["command"] for r in fake.requests[-2:]] == ["install", "console"]


def test_boot_console_not_attempted_when_boot_fails(failing):
    master, slave = pty.openpty()
    rc, out, err = failing.ctl("boot", "-c", "vm1", stdin=slave)
    os.close(master)
    os.close(slave)
    assert (rc, err) == (1, "bmdctl: boot: vm1: already running\n")


@pytest.mark.parametrize("command", ["boot", "shutdown", "poweroff", "reset"])
def test_several_vms_in_one_command(fake, command):
    rc, out, err = fake.ctl(command, "a", "b", "c")
    assert (rc, out, err) == (0, "", "")
    assert fake.requests == [{"version": 1, "command": command, "name": n}
                             for n in ("a", "b", "c")]


def test_several_vms_go_on_after_one_fails():
    """Each VM is asked for in turn, like kill(1) with several pids: one
    that fails is reported by name, the others are still asked for."""
    f = FakeBmd(lambda req: {"version": 1, "ok": False,
                             "error": "already stopping"}
                if req.get("name") == "b" else {"version": 1, "ok": True})
    try:
        rc, out, err = f.ctl("poweroff", "a", "b", "c")
        assert (rc, out, err) == (1, "", "bmdctl: poweroff: b: already stopping\n")
        assert [r["name"] for r in f.requests] == ["a", "b", "c"]
    finally:
        f.close()


def test_several_vms_share_one_socket_lookup(tmp_path):
    """With -f, the socket is found in the configuration once, not once per
    VM: here the file names another socket as soon as the first request
    arrives, and the second request still goes where the first went."""
    conf = tmp_path / "bmd.conf"

    def reply(req):
        conf.write_text('global { cmd_socket_path = "/nonexistent/x.sock"; }\n')
        return {"version": 1, "ok": True}

    f = FakeBmd(reply)
    try:
        conf.write_text('global { cmd_socket_path = "%s"; }\n' % f.path)
        rc, out, err = f.ctl("boot", "a", "b", conf=str(conf))
        assert (rc, out, err) == (0, "", "")
        assert [r["name"] for r in f.requests] == ["a", "b"]
    finally:
        f.close()


@pytest.mark.parametrize("args", [
    ["boot"], ["stop"], ["reset"], ["install", "a", "b"], ["boot", "-c", "a", "b"],
    ["list", "extra"], ["reload", "x"], ["list", "-x"], ["boot", "-z", "a"],
    ["list", "--jsonx"], ["list", "-s"], ["install"],
])
def test_usage_errors(fake, args):
    rc, out, err = fake.ctl(*args)
    assert rc == 2, (args, out, err)
    assert "usage: bmdctl" in err and out == ""
    assert fake.requests == []


def test_unknown_and_ambiguous_commands(fake):
    rc, out, err = fake.ctl("frobnicate", "x")
    assert rc == 2 and "unknown command: frobnicate" in err
    rc, out, err = fake.ctl("s", "x")       # show, shutdown
    assert rc == 2 and "ambiguous command" in err
    assert fake.requests == []


def test_help_lists_every_command():
    p = subprocess.run([os.path.join(bmdtest.BUILD, "bmdctl"), "--help"],
                       capture_output=True, timeout=10)
    assert p.returncode == 0
    out = p.stdout.decode()
    w = "[-w] [-t SECONDS] [-q] NAME"
    for c in ("boot|start [-c] " + w, "install [-c] " + w, "shutdown|stop " + w,
              "poweroff " + w, "reset " + w, "list [-r] [-s COL] [--json]",
              "status [--json] NAME", "reload", "show ", "-s socket"):
        assert c in out, c


def test_cannot_connect():
    path = "/tmp/bmdctl-no-such-dir/bmd.sock"
    p = subprocess.run([os.path.join(bmdtest.BUILD, "bmdctl"), "-s", path, "list"],
                       capture_output=True, timeout=10)
    assert p.returncode == 1
    assert p.stderr.decode() == ("bmdctl: cannot connect to %s: No such file or "
                                 "directory\n" % path)


def test_socket_path_from_config(fake):
    conf = os.path.join(fake.dir, "bmd.conf")
    with open(conf, "w") as f:
        f.write("global {\n\tcmd_socket_path = %s;\n}\n" % fake.path)
    rc, out, err = fake.ctl("boot", "x", conf=conf)
    assert (rc, err) == (0, "")
    assert fake.requests == [{"version": 1, "command": "boot", "name": "x"}]


def test_unparsable_config_warns_and_uses_default(fake):
    conf = os.path.join(fake.dir, "bad.conf")
    with open(conf, "w") as f:
        f.write("global { cmd_socket_path = %s\n" % fake.path)   # syntax error
    rc, out, err = fake.ctl("list", conf=conf)
    assert rc == 1
    assert "/run/bmd.sock" in err
    assert fake.requests == []


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)


def test_socket_path_from_included_file_and_variable(fake):
    # the socket is named in an included file, through global variables
    d, name = os.path.split(fake.path)
    os.mkdir(os.path.join(fake.dir, "conf.d"))
    write(os.path.join(fake.dir, "conf.d", "10-socket.conf"),
          "global {\n\t$sockdir = %s;\n}\nvm x { memory = 1G; }\n"
          "global {\n\tcmd_socket_path = \"${sockdir}/$name\";\n}\n" % d)
    conf = os.path.join(fake.dir, "bmd.conf")
    write(conf, "global { $name = %s; }\ntemplate t(m = 1G) { memory = $m; }\n"
          "vm a { .apply t; }\n.include \"conf.d/*.conf\";\n" % name)
    rc, out, err = fake.ctl("boot", "x", conf=conf)
    assert (rc, err) == (0, "")
    assert fake.requests == [{"version": 1, "command": "boot", "name": "x"}]


# Errors of vm and template sections are bmd -n's to report: bmdctl only
# looks for its socket and must find it whatever the VMs say.
VM_ERRORS = [
    "vm a { memory = ; ncpu = = 2; }\n",                 # syntax errors
    "vm b { cmdline = \"${}\"; x = $((1 +)); y = ${a;\n}\n",
    "vm c { disk = \"}\"; com1 = '{'; # }\n }\n",        # braces in text
    "template t(a b) { .apply = 1; vm = 2; }\n",
    "vm d { \x01 bad byte; nokey; }\n",
    "vm e { memory = 1G;\n",                            # missing "}"
    "vm 'bad name!' { memory = 1x; }\nvm f { .apply nosuch; }\n",
]


@pytest.mark.parametrize("vms", VM_ERRORS)
def test_socket_path_despite_errors_in_vm_sections(fake, vms):
    conf = os.path.join(fake.dir, "bmd.conf")
    write(conf, vms + "global {\n\tcmd_socket_path = %s;\n}\n" % fake.path)
    rc, out, err = fake.ctl("list", conf=conf)
    assert (rc, err) == (0, "")
    assert [r["command"] for r in fake.requests] == ["list"]


def test_global_section_error_is_reported_with_its_position(fake):
    conf = os.path.join(fake.dir, "bad.conf")
    write(conf, "vm a { memory = ; }\nglobal {\n\tcmd_socket_path = run/bmd.sock;\n}\n")
    rc, out, err = fake.ctl("list", conf=conf)
    assert rc == 1
    assert err.startswith("%s:3:20: \"cmd_socket_path\": run/bmd.sock is not "
                          "an absolute path\n" % conf), err
    assert fake.requests == []


def test_global_section_syntax_error_is_reported_with_its_position(fake):
    conf = os.path.join(fake.dir, "bad.conf")
    write(conf, "vm a { x = ; }\nglobal {\n\tcmd_socket_path = %s\n}\n" % fake.path)
    rc, out, err = fake.ctl("list", conf=conf)
    assert rc == 1
    assert err.startswith("%s:4:1: syntax error: unexpected \"}\" (expected "
                          "\";\")\n" % conf), err
    assert "cannot parse %s; using the default socket /run/bmd.sock" % conf in err
    assert fake.requests == []


@pytest.mark.parametrize("reply", [
    None,                                   # closes without a reply
    b"\x00\x00\x00\x05hello",               # not JSON
    b"\x00\x00\x00\x02{}",                  # no "ok"
    b"\xff\xff\xff\xff",                    # oversized
])
def test_bad_replies_fail_cleanly(reply):
    f = FakeBmd(lambda req: reply)
    try:
        rc, out, err = f.ctl("boot", "vm1")
        assert rc == 1, (rc, out, err)
        assert err.startswith("bmdctl: ") and out == ""
    finally:
        f.close()
