"""The console as a console server (issue 15): console_viewers and
console_writers with real users, takeover to a watching spy, --who, the
~w/~r escapes, console_logfile's own lines, marks and rotation, replay
that never makes the terminal answer into the guest, and clients without
a terminal.  bmdctl runs on real ptys (test_console's Console), as the
users made by test_conf_owner (alice and carol in staff, bob not).
"""

import json
import os
import re
import signal
import subprocess
import time

import bmdtest
from bmdtest import BANNER, wait_until
from test_conf_owner import users  # noqa: F401  (fixture)
from test_console import Console, booted, consoles  # noqa: F401
from test_users import Setup, as_user, ctl, listed


def UserConsole(bmd, user, *args, answer=False):
    """Console (a pty) running bmdctl as a user, against the socket."""
    return Console(bmd, argv=as_user(user, [os.path.join(bmdtest.BUILD, "bmdctl"),
                                            "-s", bmd.sock] + list(args)),
                   answer=answer)


def who(bmd, user, name):
    rc, out, err = ctl(bmd, user, "console", "--who", "--json", name)
    assert rc == 0, err
    return {(c["user"], c["pid"]): c for c in json.loads(out)}


def test_viewers_watch_writers_type_others_see_nothing(bmd, users):  # noqa: F811
    s = Setup(bmd)
    s.start(s.vm("cv", boot="yes", console_viewers="bob",
                 console_writers="@staff"), "")
    bmd.wait_running("cv")
    wait_until(lambda: BANNER.decode() in bmd.bmdctl("console", "--dump", "cv")[1],
               bmdtest.BOOT_TIMEOUT, "the banner")
    made = []
    try:
        # carol (staff) types; bob watches what she makes the guest say
        w = UserConsole(bmd, "carol", "console", "cv")
        v = UserConsole(bmd, "bob", "console", "--read-only", "cv")
        made += [w, v]
        w.wait_for(re.escape(BANNER), 10)
        v.wait_for(re.escape(BANNER), 10)
        m = v.mark()
        w.run("echo CAROL$((6*7))")
        v.wait_for(rb"CAROL42", 10, m)
        # bob may only watch: the refusal says why
        rc, out, err = ctl(bmd, "bob", "console", "--raw", "cv")
        assert rc == 1 and ("permission denied: console_viewers lets bob only "
                            "watch the consoles of cv") in err, err
        rc, out, err = ctl(bmd, "bob", "console", "--dump", "cv")
        assert rc == 0 and "CAROL42" in out
        # the lists give the consoles, nothing else
        assert "cv" not in listed(bmd, "bob") and "cv" not in listed(bmd, "carol")
        for u in ("bob", "carol"):
            rc, out, err = ctl(bmd, u, "poweroff", "cv")
            assert rc == 1 and "no VM named 'cv'" in err, (u, err)
        assert bmd.state("cv") == "RUN"
        # who is attached, as every one of them may see
        seen = who(bmd, "bob", "cv")
        assert seen[("carol", w.pid)]["mode"] == "writer"
        assert seen[("bob", v.pid)]["mode"] == "viewer"
        assert seen[("carol", w.pid)]["port"] == "com1"
        assert seen[("carol", w.pid)]["idle"] >= 0
    finally:
        for c in made:
            c.close()
    # a user on neither list: as if the VM did not exist, for every mode
    rc, out, err = ctl(bmd, "bob", "console", "--who", "cv")
    assert rc == 0, err
    for mode in ("--dump", "--who"):
        p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                            "--clear-groups", os.path.join(bmdtest.BUILD, "bmdctl"),
                            "-s", bmd.sock, "console", mode, "cv"],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 1 and "no VM named 'cv'" in p.stderr, p.stderr


def test_takeover_leaves_a_spy_who_can_take_back(bmd, guest, consoles):  # noqa: F811
    booted(bmd, guest, "g")
    a = consoles(bmd, "console", "g")
    a.wait_for(re.escape(BANNER), 10)
    b = consoles(bmd, "console", "--force", "g")
    b.wait_for(re.escape(BANNER), 10)
    a.wait_for(rb"taken over by root \(pid %d\); you are watching" % b.pid, 10)
    seen = who(bmd, "root", "g")
    assert seen[("root", a.pid)]["mode"] == "viewer"
    assert seen[("root", b.pid)]["mode"] == "writer"
    # the spy sees the writer's session and cannot type into it
    m = a.mark()
    b.run("echo BEE$((2+2))")
    a.wait_for(rb"BEE4", 10, m)
    a.send("echo SPY$((3+3))\r")
    time.sleep(1.5)
    assert "SPY6" not in b.text()
    # ~w while b writes: refused, with who has it
    a.send("~w")
    a.wait_for(rb"in use by root \(pid %d\)" % b.pid, 10)
    # b gives the write side up (~r), a takes it (~w) and types
    b.send("~r")
    b.wait_for(rb"watching \(read-only\) the console of g", 10)
    a.send("~w")
    a.wait_for(rb"you may type on the console of g", 10)
    a.run("echo AY$((4+4))")
    assert who(bmd, "root", "g")[("root", a.pid)]["mode"] == "writer"
    # ~? lists the escapes
    a.send("~?")
    a.wait_for(rb"take the write side, if nobody has it", 10)


def test_console_logfile_lines_marks_rotation_and_reopen(bmd, guest, consoles):  # noqa: F811
    log = os.path.join(bmd.dir, "console.log")
    booted(bmd, guest, "g", console_logfile=log, console_log_mark=1,
           console_logfile_max="16K", console_logfile_keep=2)
    c = consoles(bmd, "console", "g")
    c.wait_for(re.escape(BANNER), 10)
    c.run("i=0; while [ $i -lt 4 ]; do echo tick$i; sleep 1; i=$((i+1)); done")
    c.send("~.")
    c.wait_exit(10)
    line = r"\[-- bmd \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+: %s --\]"

    def text():
        with open(log, "rb") as f:
            return f.read().decode("utf-8", "replace")
    wait_until(lambda: re.search(line % r"root \(pid %d\) detached" % c.pid, text()),
               10, "the detach line")
    t = text()
    assert re.search(line % "g started", t)
    assert re.search(line % r"root \(pid %d\) attached \(writer\)" % c.pid, t)
    # output flowed for 4 s: time stamps between the ticks
    assert len(re.findall(line % "mark", t)) >= 2, t[-2000:]
    assert t.index("tick0") < t.index("tick3")
    # a time stamp never cuts a line: one due in the middle of it comes
    # after its end
    s = bmd.serial("g")
    s.run("printf half-; sleep 2; echo line")
    wait_until(lambda: "half-line" in text(), 10,
               "the line whole in the file")
    t = text()
    assert re.search(r"half-line\r\n" + line % "mark", t), t[-500:]
    # past 16K the file is rotated: two old ones are kept, none more
    s.run("i=0; while [ $i -lt 2000 ]; do echo fill-fill-fill-fill-$i; "
          "i=$((i+1)); done", timeout=120)
    wait_until(lambda: os.path.exists(log + ".2"), 30, "a second rotation")
    assert not os.path.exists(log + ".3")
    for p in (log, log + ".1", log + ".2"):
        assert os.path.getsize(p) <= 16384 + 65536, p
    assert "rotated" in bmd.log_text()
    # SIGUSR1: a file moved away is followed by a new one
    os.rename(log, log + ".moved")
    os.kill(bmd.proc.pid, signal.SIGUSR1)
    bmd.wait_log(r"reopen err_logfiles and console_logfiles")
    s.run("echo AFTER$((5*5))")
    wait_until(lambda: os.path.exists(log) and "AFTER25" in text(), 10,
               "output in the reopened file")
    assert re.search(line % "console_logfile opened again", text())


def test_replay_never_makes_the_terminal_answer_into_the_guest(bmd, guest):
    booted(bmd, guest, "g")
    s = bmd.serial("g")
    # the guest asks the terminal where the cursor is while nobody is there,
    # then reads one line: only what the user types must come
    s.run("true")
    s.send("printf '\\033[6n'; sleep 3; read -r x; echo \"LINE<$x>\"\r")
    time.sleep(0.5)
    s.close()
    c = UserConsole(bmd, "root", "console", "g", answer=True)
    try:
        c.wait_for(rb"\x1b\[6n", 10)
        time.sleep(1)                   # the answer came and was dropped
        c.send("hello\r")
        c.wait_for(rb"LINE<hello>", 20)
    finally:
        c.close()


def test_clients_without_a_terminal(bmd, guest):
    booted(bmd, guest, "g")
    # told, not left hanging
    p = subprocess.run([os.path.join(bmdtest.BUILD, "bmdctl"), "-f", bmd.conf,
                        "console", "g"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1
    assert ("bmdctl: console: g: standard input is not a terminal; use --raw to "
            "drive the console from a script, or --dump to read its scrollback"
            in p.stderr), p.stderr
    # --raw: a script types, reads, and ~. is only text
    p = subprocess.Popen([os.path.join(bmdtest.BUILD, "bmdctl"), "-f", bmd.conf,
                          "console", "--raw", "g"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    try:
        p.stdin.write(b"echo ~.RAW$((8*8))\r")
        p.stdin.flush()
        out = b""
        deadline = time.monotonic() + 20
        while b"~.RAW64" not in out and time.monotonic() < deadline:
            out += os.read(p.stdout.fileno(), 65536)
        assert b"~.RAW64" in out, out[-500:]
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


def test_virtio_consoles_through_the_broker(bmd, users):  # noqa: F811
    s = Setup(bmd)
    s.start("", s.vm("av", boot="yes", virt_console_nports=2, stop_timeout=1))
    bmd.wait_running("av")
    com1 = bmd.serial("av")
    com1.wait_for(re.escape(BANNER), bmdtest.BOOT_TIMEOUT)
    # the guest's device of the port named virt_console1
    com1.run("for d in /sys/class/virtio-ports/*; do "
             "[ \"$(cat $d/name)\" = virt_console1 ] && p=/dev/${d##*/}; done; "
             "echo PORT=$p")
    # alice, the owner, attaches a script to it through bmd
    p = subprocess.Popen(as_user("alice", [os.path.join(bmdtest.BUILD, "bmdctl"),
                                           "-s", bmd.sock, "console", "--raw",
                                           "--port", "vconsole1", "av"]),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        bmd.wait_log(r"vm av: vconsole1: alice \(pid %d\) attached \(writer\)" % p.pid)
        # guest -> alice
        com1.run("echo from-guest-$((6*7)) > $p")
        out = b""
        while b"from-guest-42" not in out:
            data = os.read(p.stdout.fileno(), 4096)
            assert data, out
            out += data
        # alice -> guest
        m = com1.mark()
        com1.send("head -c 12 $p | tr a-z A-Z\r")
        time.sleep(0.5)
        p.stdin.write(b"from-host-ok")
        p.stdin.flush()
        com1.wait_for(rb"FROM-HOST-OK", 20, m)
    finally:
        p.kill()
        p.wait()
    # controller.port names the same port; its output is kept for --dump
    rc, out, err = ctl(bmd, "alice", "console", "--dump", "--port", "vconsole0.1", "av")
    assert rc == 0 and "from-guest-42" in out, (out, err)
    # ports that do not exist, and a user who may not
    rc, out, err = ctl(bmd, "alice", "console", "--raw", "--port", "vconsole2", "av")
    assert rc == 1 and "vconsole2 of av: not configured" in err, err
    rc, out, err = ctl(bmd, "alice", "console", "--raw", "--port", "vconsole0.2", "av")
    assert rc == 1 and 'invalid port "vconsole0.2"' in err, err
    rc, out, err = ctl(bmd, "bob", "console", "--dump", "--port", "vconsole1", "av")
    assert rc == 1 and "no VM named 'av'" in err, err


HOLDER = r'''
import json, socket, struct, sys, time
sock, name = sys.argv[1], sys.argv[2]
def frame(o):
    d = json.dumps(o).encode()
    return struct.pack(">I", len(d)) + d
def ask(req):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    s.sendall(frame(req))
    msg, fds, _, _ = socket.recv_fds(s, 1 << 16, 1)
    while len(msg) < 4 or len(msg) < 4 + struct.unpack(">I", msg[:4])[0]:
        msg += s.recv(1 << 16)
    return json.loads(msg[4:]), fds
if sys.argv[3] == "attach":
    r, fds = ask({"version": 1, "command": "console", "name": name,
                  "mode": "interactive", "replay": False})
    print(json.dumps(r), flush=True)
    time.sleep(60)
else:
    r, _ = ask({"version": 1, "command": "console_mode", "name": name,
                "port": "com1", "mode": "read-only", "session": sys.argv[3]})
    print(json.dumps(r), flush=True)
'''


def test_a_session_token_serves_its_user_only(bmd, users):  # noqa: F811
    """console_mode names a session by the token console gave: from another
    process of the same user (as over ssh); another user's is refused."""
    s = Setup(bmd)
    s.start("", s.vm("tk", boot="yes", console_writers="bob"))
    bmd.wait_running("tk")
    holder = subprocess.Popen(as_user("alice", ["/usr/bin/python3", "-c", HOLDER,
                                                bmd.sock, "tk", "attach"]),
                              stdout=subprocess.PIPE, text=True)

    def mode(user, token):
        p = subprocess.run(as_user(user, ["/usr/bin/python3", "-c", HOLDER,
                                          bmd.sock, "tk", token]),
                           capture_output=True, text=True, timeout=30)
        return json.loads(p.stdout)
    try:
        r = json.loads(holder.stdout.readline())
        assert r["ok"] and re.fullmatch(r"[0-9a-f]{32}", r["session"]), r
        # bob may write on tk, but alice's session is not his to change
        r2 = mode("bob", r["session"])
        assert not r2["ok"] and "no console session of yours" in r2["error"], r2
        assert who(bmd, "root", "tk")[("alice", holder.pid)]["mode"] == "writer"
        # a wrong token names nothing, even for alice
        r2 = mode("alice", "0" * 32)
        assert not r2["ok"] and "no console session of yours" in r2["error"], r2
        # the right one, from another of alice's processes: done
        r2 = mode("alice", r["session"])
        assert r2["ok"], r2
        assert who(bmd, "root", "tk")[("alice", holder.pid)]["mode"] == "viewer"
    finally:
        holder.terminate()
        holder.wait(10)
