"""Plugins: the ABI checks, the example plugin and the hookcmd plugin with
real guests.  Hook scripts append lines to a log file; the tests read the
order of the calls from it.

The plugins come from build/plugins (built by `make`), copied into a
private plugin directory named by the configuration's plugin_directory,
so that bmd and bmdctl (show config) both see their keys.  A user,
bmdplug, and a group, bmdplugx, are created when missing (useradd, as
test_conf_owner.py does) and removed afterwards if created here.
"""

import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import bmdtest
from bmdtest import pid_alive, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="hooks run as root and as users: needs root")

TOP = bmdtest.TOP
PLUGIN_BUILD = os.path.join(bmdtest.BUILD, "plugins")
USER, GROUP = "bmdplug", "bmdplugx"


# ---- fixtures ----

@pytest.fixture(scope="module")
def plugin_dir():
    """A root-owned 0755 directory with hookcmd.so and example.so."""
    d = tempfile.mkdtemp(prefix="bmd-plugins.", dir="/tmp")
    os.chmod(d, 0o755)
    for p in ("hookcmd.so", "example.so"):
        src = os.path.join(PLUGIN_BUILD, p)
        if not os.path.exists(src):
            pytest.fail("missing %s (run make)" % src)
        shutil.copy(src, os.path.join(d, p))
        os.chmod(os.path.join(d, p), 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def pbmd(bmd, plugin_dir):
    """The test's daemon, with plugin_directory in its global section."""
    base = bmd.global_section

    def with_plugins(d=plugin_dir):
        return base().replace("global {\n", "global {\n\tplugin_directory = %s;\n" % d, 1)
    bmd.global_section = with_plugins
    return bmd


@pytest.fixture
def hooks(bmd):
    """A 0755 directory for hook scripts and a 0777 one for their logs, so
    that programs running as a user can be run and can write.  The daemon
    is stopped before the scripts go (its last hooks run at its stop)."""
    d = os.path.realpath(tempfile.mkdtemp(prefix="bmd-hooks.", dir="/tmp"))
    os.chmod(d, 0o755)
    os.makedirs(os.path.join(d, "out"))
    os.chmod(os.path.join(d, "out"), 0o777)
    yield Hooks(d)
    bmd.terminate()
    shutil.rmtree(d, ignore_errors=True)


class Hooks:
    def __init__(self, d):
        self.dir = d
        self.log = os.path.join(d, "out", "calls.log")

    def script(self, name, body, owner="root", mode=0o755):
        p = os.path.join(self.dir, name)
        with open(p, "w") as f:
            f.write("#!/bin/sh\n" + body + "\n")
        os.chmod(p, mode)
        pw = pwd.getpwnam(owner)
        os.chown(p, pw.pw_uid, pw.pw_gid)
        return p

    def logger(self, name, tag):
        """A script appending "TAG VM STATE" to the calls log."""
        return self.script(name, 'echo "%s $1 $2" >> %s' % (tag, self.log))

    def lines(self):
        try:
            with open(self.log) as f:
                return f.read().splitlines()
        except OSError:
            return []

    def wait_lines(self, pred, what, timeout=30):
        return wait_until(lambda: pred(self.lines()), timeout, what)


def _run(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def user():
    """User bmdplug (own group bmdplug) and group bmdplugx; undo only what
    was done here.  Returns (uid, primary gid, gid of bmdplugx)."""
    made_user = made_group = False
    try:
        try:
            grp.getgrnam(GROUP)
        except KeyError:
            _run(["groupadd", GROUP])
            made_group = True
        try:
            pwd.getpwnam(USER)
        except KeyError:
            _run(["useradd", "-M", "-U", "-d", "/nonexistent", "-s",
                  "/usr/sbin/nologin", USER])
            made_user = True
        pw = pwd.getpwnam(USER)
        yield pw.pw_uid, pw.pw_gid, grp.getgrnam(GROUP).gr_gid
    finally:
        if made_user:
            subprocess.run(["userdel", USER], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if made_group:
            subprocess.run(["groupdel", GROUP], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


def hook_calls(lines):
    """The STATE of each hookcmd line."""
    return [l.split()[2] for l in lines if l.startswith("hookcmd ")]


def check_conf(conf):
    """bmd -n: (status, stderr)."""
    r = subprocess.run([os.path.join(bmdtest.BUILD, "bmd"), "-n", "-f", conf],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr


# ---- the ABI ----

def test_export_list_is_the_header(plugin_dir):
    """The daemon exports exactly the functions of include/bmd/plugin.h."""
    with open(os.path.join(TOP, "include", "bmd", "plugin.h")) as f:
        header = set(re.findall(r"\b(bmd_\w+)\(", f.read()))
    with open(os.path.join(TOP, "src", "bmd", "plugin.exports")) as f:
        listed = set(re.findall(r"^\s*(bmd_\w+);", f.read(), re.M))
    nm = subprocess.run(["nm", "-D", "--defined-only", os.path.join(bmdtest.BUILD, "bmd")],
                        capture_output=True, text=True, check=True).stdout
    exported = {l.split()[-1] for l in nm.splitlines()
                if l.split()[-1].startswith("bmd_")}
    assert header == listed == exported
    # a plugin needs nothing else from the daemon
    nm = subprocess.run(["nm", "-D", "--undefined-only", os.path.join(plugin_dir, "hookcmd.so")],
                        capture_output=True, text=True, check=True).stdout
    assert {s for s in nm.split() if s.startswith("bmd_")} <= header


BAD_PLUGIN = r"""
#include <bmd/plugin.h>
const struct bmd_plugin bmd_plugin = {
	.bp_abi_version = %s,
	.bp_signature = %s,
	.bp_name = "%s",
};
"""


def build_plugin(d, name, version="BMD_PLUGIN_ABI_VERSION",
                 signature="BMD_PLUGIN_SIGNATURE"):
    src = os.path.join(d, name + ".c")
    with open(src, "w") as f:
        f.write(BAD_PLUGIN % (version, signature, name))
    subprocess.run(["cc", "-shared", "-fPIC", "-I", os.path.join(TOP, "include"),
                    "-o", os.path.join(d, name + ".so"), src], check=True)
    os.unlink(src)


def test_wrong_abi_version_is_refused(pbmd, guest, plugin_dir):
    d = tempfile.mkdtemp(prefix="bmd-badplugins.", dir="/tmp")
    try:
        os.chmod(d, 0o755)
        shutil.copy(os.path.join(plugin_dir, "example.so"), d)
        build_plugin(d, "old", version="3")
        build_plugin(d, "alien", signature="0x42")
        build_plugin(d, "fine")
        pbmd.global_section = lambda b=pbmd.global_section: b(d)
        pbmd.write_config(guest("g", "no"))
        want_old = "plugin %s/old.so: ABI version 3, bmd wants 1; not loaded" % d
        want_alien = ("plugin %s/alien.so: not binary compatible (build signature 0x42, "
                      "bmd has 0x" % d)
        rc, err = check_conf(pbmd.conf)
        assert rc == 0, err
        assert want_old in err and want_alien in err
        pbmd.start()
        log = pbmd.log_text()
        assert want_old in log and want_alien in log
        assert "load plugin example %s/example.so" % d in log
        assert "load plugin fine %s/fine.so" % d in log
        assert "load plugin old" not in log and "load plugin alien" not in log
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- the example plugin ----

def test_example_key_refuses_the_start(pbmd, guest):
    pbmd.start(guest("g", "no", example_refuse="yes"))
    rc, out, err = pbmd.bmdctl("boot", "g")
    assert rc == 1
    assert "plugin example: example_refuse is set" in err
    assert pbmd.state("g") == "STOP" and pbmd.qemus() == {}
    pbmd.wait_log(r"vm g: plugin example prevents the start: example_refuse is set")
    # the key is in the key table: show config, and checked like any other
    rc, out, err = pbmd.bmdctl("show", "config", "g")
    assert rc == 0 and "example_refuse = yes" in out.splitlines()
    pbmd.write_config(guest("g", "no", example_refuse="maybe", example_delay=7200))
    rc, err = check_conf(pbmd.conf)
    assert rc == 1
    assert re.search(r"bmd\.conf:\d+:\d+: \"example_refuse\": \"maybe\" is not a boolean", err)
    assert re.search(r"bmd\.conf:\d+:\d+: \"example_delay\": 7200 is not between 0 and 3600", err)


def test_example_delay_defers_the_start(pbmd, guest):
    """A prestart answered later through the API: bmdctl boot waits."""
    pbmd.start(guest("g", "no", example_delay=2))
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(bmdtest.BUILD, "bmdctl"), "-f", pbmd.conf,
                          "boot", "g"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pbmd.wait_state("g", "PRESTART", 5)
    out, err = p.communicate(timeout=30)
    assert (p.returncode, err) == (0, b"")
    assert time.monotonic() - t0 >= 1.9
    pbmd.wait_running("g")
    pbmd.wait_log(r"example: vm g: delay over")


# ---- hookcmd ----

def test_hook_call_order(pbmd, guest, hooks):
    """boot, guest reboot, stop, boot, crash, boot, reload-restart."""
    keys = dict(hookcmd=hooks.logger("hook", "hookcmd"),
                prestart=hooks.logger("pre", "prestart"),
                poststop=hooks.logger("post", "poststop"),
                reboot_on_change="yes")
    pbmd.start(guest("g", "yes", **keys))
    pid, s = pbmd.boot_to_banner("g")
    mark = s.mark()
    s.send("reboot -f\r")                       # QEMU resets: RUN again
    s.wait_banner(start=mark)
    pbmd.wait_log(r"vm g: RUN -> RUN \(GUEST_RESET\)")
    assert pbmd.bmdctl("stop", "g")[0] == 0
    pbmd.wait_state("g", "STOP")
    assert pbmd.bmdctl("boot", "g")[0] == 0
    pid = pbmd.wait_running("g")
    os.kill(pid, signal.SIGKILL)                # a crash
    pbmd.wait_state("g", "STOP")
    hooks.wait_lines(lambda l: hook_calls(l)[-1:] == ["TERMINATE"], "TERMINATE after the crash")
    assert pbmd.bmdctl("boot", "g")[0] == 0
    pbmd.boot_to_banner("g")
    pbmd.write_config(guest("g", "yes", memory="160M", **keys))
    pbmd.reload()
    hooks.wait_lines(lambda l: hook_calls(l).count("RESTART") == 1 and
                     hook_calls(l)[-1:] == ["RUN"], "the restart's RUN", 60)
    assert hook_calls(hooks.lines()) == [
        "PRESTART", "RUN",                      # boot
        "RUN",                                  # guest reboot
        "STOP", "POSTSTOP", "TERMINATE",        # stop
        "PRESTART", "RUN",                      # boot
        "POSTSTOP", "TERMINATE",                # crash
        "PRESTART", "RUN",                      # boot
        "RESTART", "POSTSTOP", "TERMINATE", "PRESTART", "RUN",   # reload
    ]
    # prestart ends before the start, poststop before the next start;
    # the other hookcmd runs are asynchronous to them
    strict = [l.split()[0] if not l.startswith("hookcmd") else l.split()[2]
              for l in hooks.lines()
              if not l.startswith("hookcmd") or l.split()[2] == "RUN"]
    assert strict == ["prestart", "RUN", "RUN", "poststop", "prestart", "RUN",
                      "poststop", "prestart", "RUN", "poststop", "prestart", "RUN"]
    assert all(l.split()[1] == "g" for l in hooks.lines())
    assert [l.split()[2] for l in hooks.lines() if l.startswith("prestart")] == ["PRESTART"] * 4
    assert [l.split()[2] for l in hooks.lines() if l.startswith("poststop")] == ["POSTSTOP"] * 3


def test_prestart_failure_prevents_the_start(pbmd, guest, hooks):
    pre = hooks.script("pre", "exit 1")
    pbmd.start(guest("g", "no", prestart=pre, hookcmd=hooks.logger("hook", "hookcmd")))
    rc, out, err = pbmd.bmdctl("boot", "g")
    assert rc == 1
    assert "plugin hookcmd: prestart '%s' exited with status 1" % pre in err
    assert pbmd.state("g") == "STOP" and pbmd.qemus() == {}
    hooks.wait_lines(lambda l: hook_calls(l) == ["PRESTART", "TERMINATE"],
                     "PRESTART, TERMINATE")
    time.sleep(1)
    assert hook_calls(hooks.lines()) == ["PRESTART", "TERMINATE"]


def test_hung_prestart_is_killed_and_refuses(pbmd, guest, hooks):
    pidfile = os.path.join(hooks.dir, "out", "pre.pid")
    pre = hooks.script("pre", "echo $$ > %s\nsleep 100 & wait" % pidfile)
    pbmd.start(guest("g", "no", prestart=pre, hook_timeout=2))
    t0 = time.monotonic()
    rc, out, err = pbmd.bmdctl("boot", "g")
    took = time.monotonic() - t0
    assert rc == 1
    assert "plugin hookcmd: prestart '%s' did not finish within 2 s" % pre in err
    assert 1.9 <= took < 10
    pbmd.wait_log(r"hookcmd: vm g: prestart PRESTART: %s still runs after 2 s; killed"
                  % re.escape(pre))
    assert pbmd.state("g") == "STOP" and pbmd.qemus() == {}
    with open(pidfile) as f:
        pgid = int(f.read())
    # the whole session is gone: the script and its sleep
    wait_until(lambda: subprocess.run(["pgrep", "-g", str(pgid)],
                                      stdout=subprocess.DEVNULL).returncode == 1,
               5, "the prestart's processes to be gone")


def test_poststop_is_awaited(pbmd, guest, hooks):
    post = hooks.script("post", "sleep 2\necho poststop-done >> %s" % hooks.log)
    pbmd.start(guest("g", "yes", poststop=post))
    pid = pbmd.wait_running("g")
    os.kill(pid, signal.SIGKILL)
    seen = set()

    def stopped():
        v = pbmd.vm("g")
        seen.add(v["state"])
        # the poststop program has finished when STOP is first seen
        return hooks.lines() if v["state"] == "STOP" else None
    t0 = time.monotonic()
    assert wait_until(stopped, 30, "g to be STOP", 0.05) == ["poststop-done"]
    assert "POSTSTOP" in seen
    assert time.monotonic() - t0 >= 1.5


def test_hookcmd_runs_as_owner_and_group(pbmd, guest, hooks, user):
    uid, primary, xgid = user
    hook = hooks.script("hook", 'echo "$1 $2 $(id -u) $(id -g) $(id -G)" >> %s' % hooks.log)
    pbmd.start(guest("u", "no", owner=USER, hookcmd=hook),
               guest("x", "no", owner="%s:%s" % (USER, GROUP), hookcmd=hook),
               guest("r", "no", hookcmd=hook))
    for name in ("u", "x", "r"):
        assert pbmd.bmdctl("boot", name)[0] == 0
        pbmd.wait_running(name)
        assert pbmd.bmdctl("poweroff", name)[0] == 0
        pbmd.wait_state(name, "STOP")
    hooks.wait_lines(lambda l: sum(1 for x in l if " TERMINATE " in x) == 3, "3 TERMINATE")
    ids = {}
    for l in hooks.lines():
        vm, state, u, g, groups = l.split(" ", 4)
        ids.setdefault(vm, set()).add((int(u), int(g), groups))
    assert ids["u"] == {(uid, primary, str(primary))}
    assert ids["x"] == {(uid, xgid, str(xgid))}
    assert {(u, g) for u, g, _ in ids["r"]} == {(0, 0)}   # no change for root


def test_a_users_hung_hookcmd_never_holds_the_next_owners(pbmd, guest, hooks,
                                                          user):
    """The hookcmd runs of a VM are queued one at a time.  The name passes
    from USER (whose program hangs, with its queue behind it) to root:
    root's runs start at once, not behind USER's, which only USER's
    hook_timeout ends."""
    hang = hooks.script("hang", "exec sleep 120", owner=USER)
    try:
        pbmd.start(guest("hv", "no", owner=USER, hookcmd=hang,
                         hook_timeout=120))
        assert pbmd.bmdctl("boot", "hv")[0] == 0
        pbmd.wait_running("hv")
        assert pbmd.bmdctl("poweroff", "-w", "hv")[0] == 0
        pbmd.write_config(guest("hv", "no", hookcmd=hooks.logger("log",
                                                                "hookcmd")))
        pbmd.reload()
        pbmd.wait_log(r"vm hv: the owner changed \(%s -> root\)" % USER)
        assert pbmd.bmdctl("boot", "hv")[0] == 0
        hooks.wait_lines(lambda l: "hookcmd hv RUN" in l, "root's hookcmd",
                         timeout=20)
        assert subprocess.run(["pgrep", "-u", USER, "sleep"],
                              stdout=subprocess.DEVNULL).returncode == 0
        assert pbmd.bmdctl("poweroff", "-w", "hv")[0] == 0
    finally:
        subprocess.run(["pkill", "-u", USER])


def test_root_hooks_only_from_root(pbmd, guest, hooks, user):
    """prestart/poststop: root's file, set in root's configuration file."""
    mine = hooks.script("mine", "exit 0", owner=USER)
    shared = hooks.script("shared", "exit 0", mode=0o777)
    ok = hooks.script("ok", "exit 0")
    users = os.path.join(hooks.dir, "user.conf")
    with open(users, "w") as f:
        f.write("vm uvm { memory = 128M; poststop = %s; hookcmd = %s; }\n" % (ok, mine))
        f.write("vm uvm2 { memory = 128M; .apply roothooks; }\n")
    os.chown(users, user[0], user[1])
    pbmd.write_config(guest("a", "no", prestart=mine), guest("b", "no", poststop=shared),
                      guest("c", "no", prestart=ok, poststop=ok, hookcmd=mine),
                      "template roothooks {\n\tprestart = %s;\n}\n" % ok,
                      '.include "%s";\n' % users)
    rc, err = check_conf(pbmd.conf)
    assert rc == 1
    assert re.search(r"bmd\.conf:\d+:\d+: \"prestart\": '%s' is not owned by root"
                     % re.escape(mine), err)
    assert re.search(r"bmd\.conf:\d+:\d+: \"poststop\": '%s' is writable by group or others"
                     % re.escape(shared), err)
    assert re.search(r"user\.conf:1:\d+: \"poststop\": runs as root: it may be set only "
                     r"in a file owned by root, for a VM defined in one \(this file "
                     r"belongs to uid %d\)" % user[0], err)
    # root's template does not make a user's VM run root's program
    assert re.search(r"bmd\.conf:\d+:\d+: \"prestart\": runs as root: .* \(this VM's file "
                     r"belongs to uid %d\)" % user[0], err)
    for vm in ("a", "b", "uvm", "uvm2"):
        assert 'vm "%s" is not loaded' % vm in err
    assert 'vm "c" is not loaded' not in err
    rc, out, err = pbmd.bmdctl("show", "config", "c")
    assert rc == 1 and "prestart = %s" % ok in out
    # a file that changes hands after the load is refused when it runs
    # (the boot timer starts the VM with the configuration loaded)
    pbmd.write_config(guest("c", "yes", prestart=ok, boot_delay=2))
    pbmd.start()
    os.chown(ok, user[0], user[1])
    pbmd.wait_log(r"vm c: not started: plugin hookcmd: prestart: '%s' is not owned by root"
                  % re.escape(ok), 10)
    assert pbmd.state("c") == "STOP" and pbmd.qemus() == {}


def test_hook_environment(pbmd, guest, hooks):
    disk = os.path.join(hooks.dir, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    env = os.path.join(hooks.dir, "out", "env.")
    hook = hooks.script("hook", "env > %s$2" % env)
    pbmd.start(guest("e", "no", hookcmd=hook, disk=disk, hook_timeout=30))
    assert pbmd.bmdctl("boot", "e")[0] == 0
    pid = pbmd.wait_running("e")
    wait_until(lambda: os.path.exists(env + "RUN"), 10, "the RUN environment")
    time.sleep(0.5)
    with open(env + "RUN") as f:
        vars = dict(l.split("=", 1) for l in f.read().splitlines() if l.startswith("VM_"))
    want = {
        "VM_NAME": "e", "VM_ID": "0", "VM_OWNER": "0", "VM_GROUP": "-1",
        "VM_PID": str(pid), "VM_MEMORY": "128M", "VM_NCPU": "1", "VM_NCPU_CPUS": "1",
        "VM_BOOT": "no", "VM_COM1": "auto", "VM_UTCTIME": "true",
        "VM_WIRED_MEMORY": "false", "VM_KERNEL": bmdtest.KERNEL,
        "VM_NDISKS": "1", "VM_DISK1_PATH": disk, "VM_DISK1_TYPE": "virtio-blk",
        "VM_DISK1_READONLY": "false", "VM_DISK1_NOEXIST": "false",
        "VM_NISOS": "0", "VM_NNETWORKS": "0", "VM_NPASSTHRUS": "0",
        "VM_HOOKCMD": hook, "VM_HOOK_TIMEOUT": "30", "VM_STOP_TIMEOUT": "30",
    }
    assert {k: vars.get(k) for k in want} == want
    assert not any("(null)" in v for v in vars.values())
    assert "VM_LOADER" not in vars and "VM_PRESTART" not in vars
    # the bhyve-only keys of a qemu VM are left out, as in show config
    assert "VM_X2APIC" not in vars and "VM_NBHYVE_ENVS" not in vars
    # a clean environment: PATH and the like, not the daemon's own
    with open(env + "RUN") as f:
        assert "PATH=" in f.read()


def boot_in_background(pbmd, name):
    return subprocess.Popen([os.path.join(bmdtest.BUILD, "bmdctl"), "-f", pbmd.conf,
                             "boot", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_stop_during_prestart_cancels_the_start(pbmd, guest, hooks):
    """The start is cancelled; the poststop of the prestart that ran runs."""
    keys = dict(prestart=hooks.script("pre", "sleep 2\necho prestart >> %s" % hooks.log),
                poststop=hooks.logger("post", "poststop"),
                hookcmd=hooks.logger("hook", "hookcmd"))
    pbmd.start(guest("g", "no", **keys))
    p = boot_in_background(pbmd, "g")
    pbmd.wait_state("g", "PRESTART", 5)
    rc, out, err = pbmd.bmdctl("stop", "g")
    assert (rc, err) == (0, "")
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1 and "stopped before prestart finished" in err
    pbmd.wait_state("g", "STOP")
    assert pbmd.qemus() == {}
    hooks.wait_lines(lambda l: hook_calls(l)[-1:] == ["TERMINATE"], "TERMINATE")
    assert hook_calls(hooks.lines()) == ["PRESTART", "POSTSTOP", "TERMINATE"]
    assert [l.split()[0] for l in hooks.lines() if not l.startswith("hookcmd")] == \
        ["prestart", "poststop"]


def test_removed_during_prestart(pbmd, guest, hooks):
    pre = hooks.script("pre", "sleep 2")
    pbmd.start(guest("g", "no", prestart=pre, poststop=hooks.logger("post", "poststop")))
    p = boot_in_background(pbmd, "g")
    pbmd.wait_state("g", "PRESTART", 5)
    pbmd.write_config()
    pbmd.reload()
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1
    wait_until(lambda: pbmd.vm("g") is None, 30, "g to be deleted")
    assert hooks.lines() == ["poststop g POSTSTOP"]
    assert pbmd.qemus() == {}


def test_renamed_during_prestart_waits_then_starts(pbmd, guest, hooks):
    """A VM renamed in the file while its prestart runs: the old name will
    not start and goes; the new one, on the same disk, waits for it (as
    after a rename of a running VM) and starts, instead of failing on a
    disk held by a VM that is leaving."""
    disk = os.path.join(pbmd.dir, "shared.img")
    with open(disk, "wb") as f:
        f.truncate(16 << 20)
    pre = hooks.script("pre", "sleep 3")
    pbmd.start(guest("g", "no", prestart=pre, disk=disk))
    p = boot_in_background(pbmd, "g")
    pbmd.wait_state("g", "PRESTART", 5)
    pbmd.write_config(guest("gx", "yes", prestart=pre, disk=disk))
    pbmd.reload()
    pbmd.wait_log(r"vm gx: waits for vm g to stop: it uses the same disk")
    p.communicate(timeout=30)
    wait_until(lambda: pbmd.vm("g") is None, 30, "g to be deleted")
    pid = pbmd.wait_running("gx")
    assert pbmd.qemus() == {"gx": pid}


def test_sigterm_waits_for_prestart(pbmd, guest, hooks):
    pre = hooks.script("pre", "sleep 2\necho prestart-done >> %s" % hooks.log)
    pbmd.start(guest("g", "no", prestart=pre))
    p = boot_in_background(pbmd, "g")
    pbmd.wait_state("g", "PRESTART", 5)
    t0 = time.monotonic()
    assert pbmd.terminate(60) == 0
    assert time.monotonic() - t0 >= 1
    assert hooks.lines() == ["prestart-done"]
    assert "vm g: DAEMON_STOP while prestart runs: the VM will not start" in pbmd.log_text()
    assert not re.search(r"vm g: started ", pbmd.log_text())
    p.communicate(timeout=10)
