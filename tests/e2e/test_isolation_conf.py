"""Users' configuration files cannot reach past themselves (issue 11): unsafe
VM names, users' syntax errors, shadowing root's VMs, IDs, expansion bombs,
sizes and what a load reveals about a user's paths.

Users alice, bob and carol come from test_conf_owner's `users` fixture; a
root file includes alice's file (and sometimes bob's); bmdctl runs as the
users through setpriv.  Guests are the real test guest, booted only where a
test needs QEMU.
"""

import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

import bmdtest
from bmdtest import wait_until
from test_conf_owner import users  # noqa: F401  (fixture)
from test_users import as_user, chown, ctl

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="creates users and runs QEMU as them: needs root")

NF = "no VM named"


class Setup:
    """bmd's dir traversable, 0666 socket; users' directories and files."""

    def __init__(self, bmd):
        self.bmd = bmd
        os.chmod(bmd.dir, 0o755)
        bmd.global_extra = "\tcmd_socket_mode = 0666;\n"
        self.dirs = {}
        for u in ("alice", "bob"):
            d = os.path.join(bmd.dir, u)
            os.mkdir(d, 0o755)
            chown(d, u)
            self.dirs[u] = d
        self.kernel = os.path.join(self.dirs["alice"], "vmlinuz")
        self.initrd = os.path.join(self.dirs["alice"], "initrd.gz")
        for src, dst in ((bmdtest.KERNEL, self.kernel), (bmdtest.INITRD, self.initrd)):
            shutil.copy(src, dst)
            os.chmod(dst, 0o644)
            chown(dst, "alice")

    def vm(self, section, **keys):
        keys.setdefault("kernel", self.kernel)
        keys.setdefault("initrd", self.initrd)
        keys.setdefault("boot", "no")
        return bmdtest.guest_vm(section, **keys)

    def user_file(self, user, text, name=None):
        p = os.path.join(self.dirs[user], name or user + ".conf")
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o644)
        chown(p, user)
        return p

    def root_text(self, root_vms, includes):
        return "".join(root_vms) + "".join('.include "%s";\n' % p for p in includes)

    def start(self, root_vms, includes, wait=True):
        self.bmd.write_config(self.root_text(root_vms, includes))
        self.bmd.start(wait=wait)

    def rewrite(self, root_vms, includes):
        self.bmd.write_config(self.root_text(root_vms, includes))

    def check(self, as_who=None):
        """bmd -n on the daemon's file: (status, stderr)."""
        argv = [os.path.join(bmdtest.BUILD, "bmd"), "-n", "-f", self.bmd.conf]
        if as_who is not None:
            argv = as_user(as_who, argv)
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        return p.returncode, p.stderr

    def show(self, user):
        """bmdctl show config --json as user: (status, {name: vm}, stderr)."""
        p = subprocess.run(as_user(user, [os.path.join(bmdtest.BUILD, "bmdctl"),
                                          "-f", self.bmd.conf, "show", "config",
                                          "--json"]),
                           capture_output=True, text=True, timeout=120)
        vms = {v["name"]: v for v in json.loads(p.stdout)} if p.stdout.strip() else {}
        return p.returncode, vms, p.stderr


@pytest.fixture
def setup(bmd, users):  # noqa: F811
    return Setup(bmd)


def listed(bmd, user="root"):
    rc, out, err = ctl(bmd, user, "list", "--json")
    assert rc == 0, err
    return {v["name"]: v for v in json.loads(out)}


def with_key(section, key, value):
    """A vm section with one more key (guest_vm's own arguments cannot be
    called "name")."""
    return section.replace("{\n", "{\n\t%s = %s;\n" % (key, value), 1)


def bmdtest_has(text, *parts):
    """True when one line of text contains every part."""
    return any(all(p in line for p in parts) for line in text.splitlines())


# ---- 11.2: unsafe VM names ----

def test_unsafe_vm_names_are_rejected_and_create_nothing(setup, bmd):
    outside = tempfile.mkdtemp(prefix="bmd-escape.", dir="/tmp")
    try:
        rel = os.path.relpath(os.path.join(outside, "x"), bmd.run_dir)
        assert rel.startswith("../")
        bad = [rel, "-daemonize", "evil\nbmd[1]: forged line", "..", "a" * 65]
        blocks = [setup.vm('"%s"' % n.replace("\n", "\\n")) for n in bad]
        starts = [1 + sum(b.count("\n") for b in blocks[:i]) for i in range(len(bad))]
        text = "".join(blocks) + with_key(setup.vm("renamed"), "name", '"%s"' % rel)
        text += setup.vm("good")
        afile = setup.user_file("alice", text)
        setup.start([setup.vm("rootvm")], [afile])
        vms = listed(bmd)
        assert sorted(vms) == ["good", "rootvm"], vms
        log = bmd.log_text()
        base = os.path.basename(afile)
        # one FILE:LINE:COL error per bad name, with the reason
        whys = ('"/"', '"-"', "control character", '".."', "longer than 64 bytes")
        for line, why in zip(starts, whys):
            assert bmdtest_has(log, "%s:%d:1: vm " % (base, line),
                               "is not a valid VM name: ", why), (line, log)
        assert '"name": "%s" is not a valid VM name' % rel in log
        # a name cannot forge a daemon log line
        assert "\nbmd[1]: forged line" not in log
        assert "evil\\nbmd[1]: forged line" in log
        # booting any of them reaches nothing outside bmd's directories
        for n in bad:
            for u in ("alice", "root"):
                rc, out, err = ctl(bmd, u, "boot", "--", n)
                assert rc != 0 and NF in err, (u, n, err)
        assert os.listdir(outside) == []
        # bmd -n reports them; only root's own files fail root's check
        rc, err = setup.check()
        assert rc == 0 and "is not a valid VM name" in err, err
        rc, err = setup.check("alice")
        assert rc == 1 and "is not a valid VM name" in err, err
    finally:
        shutil.rmtree(outside, ignore_errors=True)


# ---- 11.7: a user's syntax error rejects only that file ----

def test_user_syntax_error_rejects_only_that_file(setup, bmd):
    good_alice = setup.vm("a1") + "template at { cmdline = x; }\n"
    afile = setup.user_file("alice", good_alice)
    bfile = setup.user_file("bob", setup.vm("b1"))
    setup.start([setup.vm("rootvm")], [afile, bfile])
    assert sorted(listed(bmd)) == ["a1", "b1", "rootvm"]
    # alice breaks her file (and her template with it); root reloads
    setup.user_file("alice", good_alice.replace("boot = no;", "boot = no") +
                    setup.vm("a2"))
    rc, out, err = ctl(bmd, "root", "reload")
    # the others are reloaded; root is shown the error and told by exit 1
    assert rc == 1 and "alice.conf" in err and "syntax error" in err, err
    bmd.wait_log(r"alice\.conf:\d+:\d+: .*syntax error")
    # her running definitions are kept as for an unreadable file, bob's and
    # root's are untouched, and nothing new of hers appears
    assert sorted(listed(bmd)) == ["a1", "b1", "rootvm"]
    # root's boot re-reads the configuration: it still works
    rc, out, err = ctl(bmd, "root", "boot", "rootvm")
    assert rc == 0, err
    bmd.wait_running("rootvm")
    rc, out, err = ctl(bmd, "root", "poweroff", "rootvm")
    assert rc == 0, err
    bmd.wait_state("rootvm", "STOP")
    # bob's boot works too; alice's a1 cannot take her broken text
    rc, out, err = ctl(bmd, "bob", "boot", "b1")
    assert rc == 0, err
    bmd.wait_running("b1")
    rc, out, err = ctl(bmd, "bob", "poweroff", "b1")
    assert rc == 0, err
    bmd.wait_state("b1", "STOP")
    # bmd -n reports her error but only root's files decide the status
    rc, err = setup.check()
    assert rc == 0, err
    assert bmdtest_has(err, "alice.conf:", "syntax error")
    # alice sees her error with bmdctl show config; the rest is shown
    rc, vms, err = setup.show("alice")
    assert bmdtest_has(err, "alice.conf:", "syntax error"), err
    assert "rootvm" in vms and "b1" in vms and "a2" not in vms
    # a fresh bmd starts, without her VMs
    assert bmd.terminate() == 0
    bmd.start()
    assert sorted(listed(bmd)) == ["b1", "rootvm"]
    # a syntax error in a root-owned file still rejects the whole load
    with open(bmd.conf, "a") as f:
        f.write("vm broken { memory = 1G }\n")
    rc, err = setup.check()
    assert rc == 1 and bmdtest_has(err, "bmd.conf:", "syntax error"), err
    rc, out, err = ctl(bmd, "root", "reload")
    assert rc != 0
    assert sorted(listed(bmd)) == ["b1", "rootvm"]


# ---- 11.8: root's VM always wins over a user's of the same name ----

def test_root_vm_wins_whatever_the_include_order(setup, bmd):
    afile = setup.user_file("alice", setup.vm("db") + setup.vm("a1"))
    bfile = setup.user_file("bob", setup.vm("b1") + with_key(setup.vm("x"), "name", "db2"))
    # alice's file comes first, root's db after it (and after bob's)
    rfile = os.path.join(bmd.dir, "root-db.conf")
    with open(rfile, "w") as f:
        f.write(setup.vm("db") + setup.vm("db2"))
    setup.rewrite([], [afile, bfile, rfile])
    bmd.start()
    vms = listed(bmd)
    assert sorted(vms) == ["a1", "b1", "db", "db2"], vms
    rc, out, err = bmd.bmdctl("show", "config", "--json")
    owners = {v["name"]: (v["owner"], v["file"]) for v in json.loads(out)}
    assert owners["db"] == ("root", rfile) and owners["db2"] == ("root", rfile)
    log = bmd.log_text()
    assert bmdtest_has(log, "alice.conf:1:1: ", 'vm "db" is already defined at %s:1:1' % rfile,
                       "owned by root"), log
    assert bmdtest_has(log, "bob.conf:13:1: ", 'vm "db2" is already defined at %s:13:1' % rfile,
                       "owned by root"), log
    assert "db" not in listed(bmd, "alice") and "db2" not in listed(bmd, "bob")
    rc, out, err = ctl(bmd, "alice", "boot", "db")
    assert rc != 0 and NF in err


def test_a_user_cannot_take_another_users_vm_name(setup, bmd):
    """bob's VM is stopped; alice, whose file comes first, defines a VM of
    the same name.  The name stays bob's, who has it: at the reload and at
    her boot her definition is rejected, and bob still sees and boots his
    VM.  Once bob's file no longer has it, the name is free for her."""
    afile = setup.user_file("alice", setup.vm("a1"))
    bfile = setup.user_file("bob", setup.vm("b1") + setup.vm("bvm"))
    setup.start([], [afile, bfile])
    assert sorted(listed(bmd, "bob")) == ["b1", "bvm"]
    setup.user_file("alice", setup.vm("a1") + setup.vm("bvm"))
    mark = len(bmd.log_text())
    for how in ("reload", "boot"):
        if how == "reload":     # alice's file has an error: told
            rc, out, err = bmd.bmdctl("reload")
            assert rc == 1 and "by bob, whose VM it is" in err, err
        else:
            rc, out, err = ctl(bmd, "alice", "boot", "bvm")
            assert rc != 0 and NF in err, err
        log = bmd.log_text()[mark:]
        assert bmdtest_has(log, "alice.conf:13:1: ", 'vm "bvm" is also defined '
                           "at %s:13:1 by bob, whose VM it is; this one is "
                           "not loaded" % bfile), log
        assert "owner changed" not in log, log
        assert sorted(listed(bmd, "bob")) == ["b1", "bvm"], how
        assert sorted(listed(bmd, "alice")) == ["a1"], how
        assert bmd.vm("bvm")["owner"] == "bob"
    # a start after a crash, and an upgrade, whose VM tables are empty at
    # their first load, decide alike (the run directory says who had it)
    for how in ("restart", "upgrade"):
        mark = len(bmd.log_text())
        if how == "restart":
            bmd.proc.send_signal(signal.SIGKILL)
            bmd.proc.wait(10)
            bmd.log.close()
            bmd.start()
        else:
            bmd.signal(signal.SIGUSR2)
            bmd.wait_log(r"upgrade: executing", start=mark)
            bmd.wait_ready()
        log = bmd.log_text()[mark:]
        assert bmdtest_has(log, "alice.conf:13:1: ", 'vm "bvm" is also defined '
                           "at %s:13:1 by bob, whose VM it is" % bfile), log
        assert sorted(listed(bmd, "bob")) == ["b1", "bvm"], how
        assert sorted(listed(bmd, "alice")) == ["a1"], how
    rc, out, err = ctl(bmd, "bob", "boot", "bvm")
    assert rc == 0, err
    bmd.wait_running("bvm")
    rc, out, err = ctl(bmd, "bob", "poweroff", "-w", "bvm")
    assert rc == 0, err
    # bob gives the name up: it is alice's at the next reload
    setup.user_file("bob", setup.vm("b1"))
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 0, err
    assert sorted(listed(bmd, "alice")) == ["a1", "bvm"]
    assert sorted(listed(bmd, "bob")) == ["b1"]


# ---- 11.9: one ID per VM, whatever "name =" says ----

def test_ids_are_unique_per_vm(setup, bmd):
    net = "none"
    evil = with_key(setup.vm("rootvm", network=net), "name", "evil")
    afile = setup.user_file("alice", evil + setup.vm("a1", network=net))
    rfile = os.path.join(bmd.dir, "more.conf")
    with open(rfile, "w") as f:      # root's own files: two sections "r2"
        f.write(with_key(setup.vm("r2"), "name", "r2a") +
                with_key(setup.vm("r2"), "name", "r2b"))
    setup.start([setup.vm("rootvm", network=net)], [afile, rfile])
    vms = listed(bmd)
    assert sorted(vms) == ["a1", "evil", "r2a", "r2b", "rootvm"], vms
    # taps are named bmd<ID>n<index>: distinct IDs, distinct taps
    ids = [v["id"] for v in vms.values()]
    assert len(set(ids)) == len(ids), vms
    # the IDs stay with their VMs across a reload
    rc, out, err = ctl(bmd, "root", "reload")
    assert rc == 0, err
    assert {n: v["id"] for n, v in listed(bmd).items()} == \
        {n: v["id"] for n, v in vms.items()}


# ---- 11.6: expansion bombs are errors in the user's file ----

def bomb(name, levels=8):
    """A VM whose variables nest 16-fold (64 * 16^8 bytes = 4 GiB)."""
    text = 'vm %s {\n\tmemory = 128M;\n\t$v0 = "%s";\n' % (name, "0123456789abcdef" * 4)
    for i in range(1, levels + 1):
        text += '\t$v%d = "%s";\n' % (i, ("${v%d}" % (i - 1)) * 16)
    return text + "\tkeymap = $v%d;\n}\n" % levels


def worker(name, n):
    """A VM that expands 48 KiB n times: under every value limit."""
    return ('vm %s {\n\tmemory = 128M;\n\t$a = "%s";\n\t$b = "%s";\n\t$c = "%s";\n'
            '\t$d = "${c}${c}${c}";\n%s}\n'
            % (name, "0123456789abcdef" * 4, "${a}" * 16, "${b}" * 16, "\tkeymap = $d;\n" * n))


def test_expansion_bomb_is_an_error_of_its_file(setup, bmd):
    text = bomb("b")
    assert len(text) < 1000
    afile = setup.user_file("alice", text + setup.vm("a1"))
    bfile = setup.user_file("bob", setup.vm("b1"))
    setup.start([setup.vm("rootvm")], [afile, bfile])
    assert sorted(listed(bmd)) == ["a1", "b1", "rootvm"]
    log = bmd.log_text()
    assert bmdtest_has(log, "alice.conf:6:29: ", "expands to more than 65536 bytes"), log
    assert bmdtest_has(log, "alice.conf:1:1: ", 'vm "b" is not loaded'), log
    # the work of all of one user's files is bounded too: 1,400 x 48 KiB
    # is more than alice's 64 MiB; bob and root are not affected
    a2 = setup.user_file("alice", worker("w", 1400), name="work.conf")
    a3 = setup.user_file("alice", setup.vm("late"), name="late.conf")
    setup.rewrite([setup.vm("rootvm")], [afile, a2, a3, bfile])
    mark = len(bmd.log_text())
    rc, out, err = ctl(bmd, "root", "reload")
    assert rc == 1 and "evaluation limit reached" in err, err
    log = bmd.log_text()[mark:]
    assert bmdtest_has(log, "work.conf:", "evaluation limit reached", "64 MiB"), log
    assert bmdtest_has(log, "late.conf:1:1: ", 'vm "late" is not loaded: the evaluation limit'), log
    assert sorted(listed(bmd)) == ["a1", "b1", "rootvm"]
    rc, out, err = ctl(bmd, "bob", "boot", "b1")
    assert rc == 0, err
    bmd.wait_running("b1")
    rc, out, err = ctl(bmd, "bob", "poweroff", "b1")
    assert rc == 0, err
    bmd.wait_state("b1", "STOP")
    # a worker within the budget is accepted
    setup.user_file("alice", worker("w", 100), name="work.conf")
    rc, out, err = ctl(bmd, "root", "reload")
    # only the bomb "b" in alice.conf is still reported
    assert rc == 1 and 'vm "b" is not loaded' in err and "work.conf" not in err, err
    assert sorted(listed(bmd)) == ["a1", "b1", "late", "rootvm", "w"]


# ---- 11.14: a user's paths are checked with the user's rights ----

def test_user_paths_answer_alike_exists_or_not(setup, bmd):
    hidden = os.path.join(bmd.dir, "rootonly")
    os.mkdir(hidden, 0o700)
    secret = os.path.join(hidden, "secret.img")
    with open(secret, "w") as f:
        f.write("x" * 4096)
    missing = os.path.join(hidden, "missing.img")
    text = (setup.vm("exists", disk=secret) + setup.vm("nothere", disk=missing) +
            setup.vm("iso1", iso=secret) + setup.vm("iso2", iso=missing) +
            setup.vm("k1", kernel=secret) + setup.vm("k2", kernel=missing) +
            setup.vm("a1"))
    afile = setup.user_file("alice", text)
    # root's own VM may use root's file
    setup.start([setup.vm("rootvm", disk=secret)], [afile])
    assert sorted(listed(bmd)) == ["a1", "rootvm"]

    def errors(text, path):
        return [re.sub(r"^.*?\.conf:\d+:\d+: ", "", l).replace(path, "PATH")
                for l in text.splitlines() if path in l and "alice.conf:" in l]
    # the errors are alice's: they fail her check, not root's
    for who, rc_want in ((None, 0), ("alice", 1)):
        rc, err = setup.check(who)
        assert rc == rc_want, err
        e1, e2 = errors(err, secret), errors(err, missing)
        assert e1 and e1 == e2, (who, e1, e2)
    log = bmd.log_text()
    e1, e2 = errors(log, secret), errors(log, missing)
    assert len(e1) == 3 and e1 == e2, (e1, e2)
    assert "Permission denied" in e1[0]


# ---- 11.10: bounds of a user's files; list at any size ----

def many(prefix, n):
    return "".join("vm %s%05d { memory = 128M; }\n" % (prefix, i) for i in range(n))


def test_list_works_with_20000_vms(setup, bmd):
    rfile = os.path.join(bmd.dir, "many.conf")
    with open(rfile, "w") as f:
        f.write(many("r", 20000))
    setup.start([], [rfile])
    for user in ("root", "bob"):
        vms = listed(bmd, user)
        assert len(vms) == (20000 if user == "root" else 0), user
    rc, out, err = ctl(bmd, "root", "list")
    assert rc == 0, err
    assert len(out.splitlines()) == 20002          # two header lines


def test_user_file_bounds(setup, bmd):
    # 20,000 VMs in one user's file: the first 1,000 are loaded
    afile = setup.user_file("alice", many("a", 20000))
    # a file above 1 MiB is left out whole
    big = setup.user_file("bob", "# " + "x" * (1 << 20) + "\n" + setup.vm("bigvm"),
                          name="big.conf")
    bfile = setup.user_file("bob", setup.vm("b1"))
    setup.start([setup.vm("rootvm")], [afile, big, bfile])
    vms = listed(bmd)
    assert len([n for n in vms if n.startswith("a")]) == 1000
    assert "a00999" in vms and "a01000" not in vms
    assert "rootvm" in vms and "b1" in vms and "bigvm" not in vms
    log = bmd.log_text()
    assert bmdtest_has(log, "alice.conf:1001:1: ", "more than 1000 VMs",
                       "this one and those after it are not loaded"), log
    assert len([l for l in log.splitlines() if "alice.conf:" in l]) == 1
    assert bmdtest_has(log, "big.conf", "larger than 1048576 bytes"), log
    # bob's listing works; root's reload reloads, shows both errors and
    # says by exit 1 that VMs were rejected
    assert sorted(listed(bmd, "bob")) == ["b1"]
    rc, out, err = ctl(bmd, "root", "reload")
    assert rc == 1 and "more than 1000 VMs" in err and "big.conf" in err, err
    assert "rootvm" in listed(bmd)
    # bmd -n reports them, but only root's files decide its status: a
    # user cannot make root's configuration test fail
    rc, err = setup.check()
    assert rc == 0 and "more than 1000 VMs" in err and "big.conf" in err, err
    # an error of root's own file still does
    setup.rewrite([setup.vm("rootvm"), "vm r2 { memory = lots; }\n"],
                  [afile, big, bfile])
    rc, err = setup.check()
    assert rc == 1 and "lots" in err, err


# ---- 11.10/11.11: a helper that runs as a user cannot hang the daemon ----

# Run as the user: SIGSTOP the first child of bmd that runs as her (the
# parser of her file), print its pid and exit 0; 1 if none was seen.
# With a third argument, SIGCONT it that many seconds later.
STOPPER = r'''
import os, signal, sys, time
bmd, end = int(sys.argv[1]), time.time() + float(sys.argv[2])
resume = float(sys.argv[3]) if len(sys.argv) > 3 else None
me = str(os.getuid())
while time.time() < end:
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/status" % d) as f:
                st = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
            if st["PPid"].strip() != str(bmd) or st["Uid"].split()[0] != me:
                continue
            os.kill(int(d), signal.SIGSTOP)
            print(d, flush=True)
            if resume is not None:
                time.sleep(resume)
                os.kill(int(d), signal.SIGCONT)
            sys.exit(0)
        except (OSError, KeyError, ValueError, IndexError):
            pass
sys.exit(1)
'''


def stopper_as_alice(bmd, *args):
    return subprocess.Popen(as_user("alice", ["/usr/bin/python3", "-c", STOPPER,
                                              str(bmd.proc.pid)] + list(args)),
                            stdout=subprocess.PIPE, text=True)


def start_with_a_stopper(setup, bmd, *args):
    """Root's rootvm, bob's b1 and alice's large file (so that her parser
    lives long enough to be caught); alice's STOPPER runs."""
    afile = setup.user_file("alice", "".join(
        "vm a%04d { memory = 128M; $pad = \"%s\"; }\n" % (i, "x" * 600)
        for i in range(1000)))
    bfile = setup.user_file("bob", setup.vm("b1"))
    setup.start([setup.vm("rootvm")], [afile, bfile])
    return stopper_as_alice(bmd, "120", *args)


def test_a_stopped_parser_of_a_users_file_does_not_hang_the_daemon(setup, bmd):
    """Alice stops the parser of her file: the load that meets it waits
    10 s and kills it; then nothing is parsed as her for a while (30 s,
    doubling when it happens again), so she cannot make every load wait."""
    stopper = start_with_a_stopper(setup, bmd)
    try:
        for _ in range(60):
            if stopper.poll() is not None:
                break
            rc, out, err = ctl(bmd, "root", "reload", timeout=60)
        else:
            pytest.fail("alice's parser was never caught running")
        assert stopper.wait(timeout=30) == 0
        stopped = int(stopper.stdout.read().split()[0])
    finally:
        if stopper.poll() is None:
            stopper.kill()
            stopper.wait()
    # the reload that met her stopped parser (maybe the last one, maybe
    # one still running) ends; her parser was killed, not waited for
    rc, out, err = ctl(bmd, "root", "reload", timeout=60)
    wait_until(lambda: "did not answer within 10 s" in bmd.log_text(), 30,
               "the daemon names the parser that did not answer")
    log = bmd.log_text()
    assert bmdtest_has(log, "alice.conf", "the parser running as uid",
                       "did not answer within 10 s; killed"), log
    assert not os.path.exists("/proc/%d" % stopped), "her parser still exists"
    # she goes on changing her file and stopping whatever runs as her: for
    # a while nothing is parsed as her at all, so no load waits for her
    # again; her VMs stay
    afile = os.path.join(setup.dirs["alice"], "alice.conf")
    stopper = stopper_as_alice(bmd, "6")
    try:
        for who, args in (("root", ["reload"]), ("bob", ["boot", "b1"]),
                          ("root", ["reload"])):
            with open(afile, "a") as f:
                f.write("# changed\n")
            t = time.monotonic()
            rc, out, err = ctl(bmd, who, *args, timeout=60)
            took = time.monotonic() - t
            assert took < 5, "%s %s waited %.1f s for her parser" % (who, args, took)
            if args == ["reload"]:
                assert rc == 1 and bmdtest_has(
                    err, "alice.conf: not parsed: a process running as this "
                    "user did not answer within 10 s at ",
                    "; nothing is read as this user before "), (rc, err)
            else:
                assert rc == 0, err
        assert sorted(listed(bmd, "bob")) == ["b1"]
        assert len([n for n in listed(bmd) if n.startswith("a")]) == 1000
        assert stopper.wait(timeout=30) == 1, "a parser ran as her: " + \
            stopper.stdout.read()
    finally:
        if stopper.poll() is None:
            stopper.kill()
            stopper.wait()
    ctl(bmd, "bob", "poweroff", "b1")
    # once she lets it be, her file is read again after that while
    wait_until(lambda: ctl(bmd, "root", "reload", timeout=60)[0] == 0, 60,
               "her file to be read again")
    assert len([n for n in listed(bmd) if n.startswith("a")]) == 1000


def test_a_users_slow_parser_delays_others_once(setup, bmd):
    """Alice stops her parser for 4 s only, under the 10 s limit: a user's
    processes may take 3 s in all per load; past that, nothing is parsed
    as her for a while, so she cannot make every load wait 4 s."""
    stopper = start_with_a_stopper(setup, bmd, "4")
    afile = os.path.join(setup.dirs["alice"], "alice.conf")
    try:
        for i in range(60):
            if stopper.poll() is not None:
                break
            with open(afile, "a") as f:
                f.write("# %d\n" % i)
            t = time.monotonic()
            rc, out, err = ctl(bmd, "root", "reload", timeout=60)
        else:
            pytest.fail("alice's parser was never caught running")
        assert stopper.wait(timeout=30) == 0
    finally:
        if stopper.poll() is None:
            stopper.kill()
            stopper.wait()
    # that reload waited for her, and took her file as it was
    assert time.monotonic() - t > 3.5 and rc == 0, (rc, err)
    with open(afile, "a") as f:
        f.write("# changed again\n")
    t = time.monotonic()
    rc, out, err = ctl(bmd, "root", "reload", timeout=60)
    assert time.monotonic() - t < 3
    assert rc == 1 and bmdtest_has(
        err, "alice.conf: not parsed: processes running as this user took "
        "more than 3 s in one load at ", "; nothing is read as this user "
        "before "), (rc, err)
    assert sorted(listed(bmd, "bob")) == ["b1"]
    assert len([n for n in listed(bmd) if n.startswith("a")]) == 1000


# Run as the user: for SECONDS, threads that each change her files and
# ask for the boot of her VM, again and again: every boot is a load.
FLOOD = r'''
import subprocess, sys, threading, time
ctl, sock, vm, end = sys.argv[1], sys.argv[2], sys.argv[3], time.time() + float(sys.argv[4])
def loop(i):
    n = 0
    while time.time() < end:
        for f in sys.argv[5:]:
            with open(f, "a") as fh:
                fh.write("# %d.%d\n" % (i, n))
        n += 1
        subprocess.run([ctl, "-s", sock, "boot", vm], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
ts = [threading.Thread(target=loop, args=(i,)) for i in range(12)]
for t in ts:
    t.start()
for t in ts:
    t.join()
'''


def test_a_user_asking_for_loads_does_not_hold_roots(setup, bmd):
    """Loads run one at a time; alice asks for one boot after another
    from many connections, changing her large files each time.  Root's
    reload waits for the load that runs, not for every one she queued."""
    afile = setup.user_file("alice", setup.vm("a1"))
    pad = "".join("vm p%%d%04d { memory = 128M; $pad = \"%s\"; }\n" % (i, "x" * 600)
                  for i in range(1000))
    big = [setup.user_file("alice", pad.replace("%d", str(k)), name="big%d.conf" % k)
           for k in range(3)]
    setup.start([setup.vm("rootvm")], [afile] + big)
    # her VM's section no longer loads: each boot of it fails after its load
    setup.user_file("alice", setup.vm("a1", memory="lots"))
    flood = subprocess.Popen(as_user("alice", [
        "/usr/bin/python3", "-c", FLOOD, os.path.join(bmdtest.BUILD, "bmdctl"),
        bmd.sock, "a1", "600"] + big))
    try:
        time.sleep(3)
        counts = []
        for _ in range(3):
            mark = len(bmd.log_text())
            rc, out, err = ctl(bmd, "root", "reload", timeout=120)
            log = bmd.log_text()[mark:]
            assert "reload config file" in log, log
            counts.append(log[log.index("reload config file"):].count(
                "configuration loaded"))
        assert flood.poll() is None, "her flood ended before root's reloads"
        log = bmd.log_text()
        assert log.count("(alice, pid ") >= 5, "her loads were not served"
        assert max(counts) <= 2, counts
    finally:
        flood.kill()
        flood.wait()


def test_requests_are_answered_while_a_load_waits(setup, bmd):
    """11.10: a load runs off the event loop.  Alice stops the parser of
    her file during root's reload; until bmd gives up on it (10 s) the
    reload waits, and everyone else is answered meanwhile."""
    stopper = start_with_a_stopper(setup, bmd)
    argv = [os.path.join(bmdtest.BUILD, "bmdctl"), "-s", bmd.sock, "reload"]
    reload = None
    try:
        for _ in range(200):
            reload = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            while reload.poll() is None and stopper.poll() is None:
                time.sleep(0.005)
            if stopper.poll() is not None:
                break
        else:
            pytest.fail("alice's parser was never caught running")
        assert stopper.wait(timeout=30) == 0
        # her parser is stopped and this reload waits for it; meanwhile:
        assert sorted(listed(bmd, "bob")) == ["b1"]
        rc, out, err = ctl(bmd, "root", "status", "rootvm")
        assert rc == 3 and "rootvm" in out, (rc, out, err)
        rc, out, err = ctl(bmd, "bob", "status", "b1")
        assert rc == 3 and "b1" in out, (rc, out, err)
        assert reload.poll() is None, "the requests waited behind the load"
        # the reload ends once bmd gives up on her parser
        reload.wait(timeout=60)
        said = reload.stdout.read() + reload.stderr.read()
        assert b"did not answer within 10 s" in said, said
    finally:
        for p in (stopper, reload):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    # a boot waits for a load of its own, which finds her parser running
    rc, out, err = ctl(bmd, "bob", "boot", "b1")
    assert rc == 0, err
    assert bmd.state("b1") != "STOP"
    rc, out, err = ctl(bmd, "bob", "poweroff", "b1")
