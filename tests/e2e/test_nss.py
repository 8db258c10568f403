"""A name service that does not answer (an LDAP server gone, say) must not
stop bmd: its event loop never asks the name service itself.  Only the
requests that need a lookup of their own (a load, which names owners)
wait for it; everyone else is answered meanwhile, with the names bmd
already knows.

bmd runs in a mount namespace of its own, where /etc/passwd and /etc/group
are named pipes with no writer: every lookup there (glibc's files service
opens them) waits until one comes.  Users alice and bob come from
test_conf_owner's `users` fixture.
"""

import errno
import os
import pwd
import signal
import subprocess
import time

import bmdtest
from bmdtest import wait_until
from test_conf_owner import users  # noqa: F401  (fixture)
from test_limits import limits
from test_plugins import plugin_dir  # noqa: F401  (fixture)
from test_users import Setup, as_user, chown, ctl, descendants_of, listed, uid

HUNG = ("/etc/passwd", "/etc/group")


def in_ns(bmd, argv, timeout=10):
    return subprocess.run(["nsenter", "-t", str(bmd.proc.pid), "-m"] + argv,
                          capture_output=True, text=True, timeout=timeout)


def hang_name_service(bmd):
    """Named pipes over the files, in bmd's namespace only; their paths."""
    pipes = []
    for path in HUNG:
        fifo = os.path.join(bmd.dir, os.path.basename(path) + ".fifo")
        os.mkfifo(fifo, 0o644)
        p = in_ns(bmd, ["mount", "--bind", fifo, path])
        assert p.returncode == 0, p.stderr
        pipes.append(fifo)
    # the test's own check that lookups do hang there now
    try:
        in_ns(bmd, ["getent", "passwd", "alice"], timeout=2)
        raise AssertionError("a lookup in bmd's namespace did not hang")
    except subprocess.TimeoutExpired:
        pass
    return pipes


def release_name_service(bmd, pipes):
    """The real files back; whoever still waits on a pipe reads nothing.
    When bmd has gone, its namespace and the mounts have gone with it."""
    for path in HUNG:
        if bmd.proc.poll() is not None:
            break
        p = in_ns(bmd, ["umount", "--lazy", path])
        assert p.returncode == 0, p.stderr
    deadline = time.monotonic() + 5
    for fifo in pipes:
        while time.monotonic() < deadline:
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError as e:
                assert e.errno == errno.ENXIO, e    # no reader left
                break
            time.sleep(0.05)


def hook_ids(path, vm, state):
    """The Uid, Gid and Groups the hook of vm saw at state, if it ran."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        words = line.split()
        if words[:2] != [vm, state]:
            continue
        ids, key = {}, None
        for w in words[2:]:
            if w.endswith(":"):
                key = w[:-1]
                ids[key] = []
            else:
                ids[key].append(w)
        return ids
    return None


def test_a_hung_name_service_never_hangs_bmd(users, bmd, plugin_dir):  # noqa: F811
    bmd.wrap = ["unshare", "--mount", "--propagation", "private"]
    setup = Setup(bmd)
    bmd.global_extra += ("\tmax_vms_per_user = alice:3;\n"
                         "\tplugin_directory = %s;\n" % plugin_dir)
    # alice's hook: what it runs as, read without the name service
    hook, hook_log = (os.path.join(setup.adir, n) for n in ("hook", "hook.log"))
    with open(hook, "w") as f:
        f.write("#!/bin/sh\necho $1 $2 $(grep -E '^(Uid|Gid|Groups):' "
                "/proc/$$/status) >> %s\n" % hook_log)
    os.chmod(hook, 0o755)
    chown(hook, "alice")
    setup.start(setup.vm("r1"), setup.vm("a1", hookcmd=hook) + setup.vm("a2"))
    rc, out, err = ctl(bmd, "alice", "boot", "a1")
    assert rc == 0, err
    bmd.wait_running("a1")
    pipes = hang_name_service(bmd)
    boot = None
    try:
        # a boot loads the configuration: it waits
        boot = subprocess.Popen(
            as_user("alice", [os.path.join(bmdtest.BUILD, "bmdctl"), "-s",
                              bmd.sock, "boot", "a2"]),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        # everyone else is answered meanwhile
        assert listed(bmd, "root") == ["a1", "a2", "r1"]
        assert listed(bmd, "alice") == ["a1", "a2"]
        assert listed(bmd, "bob") == []
        assert limits(bmd, "alice")["alice"]["max_vms"] == 3
        wait_until(lambda: bmdtest.BANNER.decode() in
                   ctl(bmd, "alice", "console", "--dump", "a1")[1],
                   bmdtest.BOOT_TIMEOUT, "a1's banner in alice's dump", 0.3)
        rc, out, err = ctl(bmd, "alice", "poweroff", "a1")
        assert rc == 0, err
        bmd.wait_state("a1", "STOP")
        # with the name bmd knew: alice owns VMs, so the load found her
        bmd.wait_log(r"request: uid %d \(alice, pid \d+\): poweroff a1: done"
                     % uid("alice"))
        rc, out, err = ctl(bmd, "alice", "status", "a1")
        assert out == "a1: stopped (powered off by alice)\n", (out, err)
        # her hook ran as her, with her groups, as bmd knew them
        ids = wait_until(lambda: hook_ids(hook_log, "a1", "TERMINATE"), 30,
                         "alice's hook at TERMINATE")
        a = pwd.getpwnam("alice")
        assert ids["Uid"] == [str(a.pw_uid)] * 4, ids
        assert ids["Gid"] == [str(a.pw_gid)] * 4, ids
        assert sorted(ids["Groups"]) == sorted(
            str(g) for g in os.getgrouplist("alice", a.pw_gid)), ids
        # bob was new to bmd: his first request waited for his name
        assert ("the name service has not answered about uid %d within "
                "2000 ms" % uid("bob")) in bmd.log_text()
        # the boot's load needs the name service: it waits still
        assert boot.poll() is None, boot.communicate()
    finally:
        release_name_service(bmd, pipes)
    # the name service answers again: the boot that waited ends (refused
    # or not, as its lookups found nothing), and her next boot runs once
    # her files may be read again (her reader was slow: it is held off)
    if boot is not None:
        boot.communicate(timeout=60)

    def booted():
        rc, out, err = ctl(bmd, "alice", "boot", "a2")
        assert rc == 0 or "nothing is read as this user before" in err, err
        return rc == 0
    if bmd.state("a2") != "RUN":
        wait_until(booted, 60, "alice's boot once her reader may run", 2)
    bmd.wait_running("a2")
    rc, out, err = ctl(bmd, "alice", "poweroff", "a2")
    assert rc == 0, err
    bmd.wait_state("a2", "STOP")


def test_bmd_quits_while_a_load_waits_on_the_name_service(users, bmd):  # noqa: F811
    """A load that waits on the name service cannot be ended from outside
    its thread.  bmd still quits on SIGTERM: it gives the load the time a
    child of the load may take (which the load then kills), then goes
    without it."""
    bmd.wrap = ["unshare", "--mount", "--propagation", "private"]
    setup = Setup(bmd)
    setup.start(setup.vm("r1"), setup.vm("a1"))
    pipes = hang_name_service(bmd)
    boot = subprocess.Popen(
        as_user("alice", [os.path.join(bmdtest.BUILD, "bmdctl"), "-s",
                          bmd.sock, "boot", "a1"]),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        # the load has begun: it reads alice's file through a child (no
        # VM runs), which waits on the name service
        wait_until(lambda: descendants_of(bmd.proc.pid), 10, "the load's child")
        assert listed(bmd, "root") == ["a1", "r1"]
        assert boot.poll() is None
        # what the administrator is told meanwhile
        bmd.wait_log(r"a configuration load has run for 15 s and has not "
                     r"ended \(a user's file or the name service does not "
                     r"answer\?\); boot, install and reload wait for it, 0 "
                     r"more queued", timeout=40)
        assert boot.poll() is None
        bmd.proc.send_signal(signal.SIGTERM)
        bmd.exit_status = bmd.proc.wait(timeout=60)
        assert bmd.exit_status == 0, bmd.log_text()
        log = bmd.log_text()
        assert "a configuration load has not ended within 12 s: quitting " \
            "without it" in log, log
        assert log.rstrip().endswith("quit daemon"), log
        out, err = boot.communicate(timeout=30)
        assert boot.returncode != 0
    finally:
        release_name_service(bmd, pipes)
        if boot.poll() is None:
            boot.kill()
