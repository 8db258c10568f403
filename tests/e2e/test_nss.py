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
import subprocess
import time

import bmdtest
from bmdtest import wait_until
from test_conf_owner import users  # noqa: F401  (fixture)
from test_limits import limits
from test_users import Setup, as_user, ctl, listed, uid

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
    """The real files back; whoever still waits on a pipe reads nothing."""
    for path in HUNG:
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


def test_a_hung_name_service_never_hangs_bmd(users, bmd):  # noqa: F811
    bmd.wrap = ["unshare", "--mount", "--propagation", "private"]
    setup = Setup(bmd)
    bmd.global_extra += "\tmax_vms_per_user = alice:3;\n"
    setup.start(setup.vm("r1"), setup.vm("a1") + setup.vm("a2"))
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
        # bob was new to bmd: his first request waited for his name
        assert ("the name service has not answered about uid %d within "
                "2000 ms" % uid("bob")) in bmd.log_text()
        # the boot's load needs the name service: it waits still
        assert boot.poll() is None, boot.communicate()
    finally:
        release_name_service(bmd, pipes)
    # the name service answers again: the boot that waited ends (refused
    # or not, as its lookups found nothing), and her next boot runs
    if boot is not None:
        boot.communicate(timeout=60)
    if bmd.state("a2") != "RUN":
        rc, out, err = ctl(bmd, "alice", "boot", "a2")
        assert rc == 0, err
    bmd.wait_running("a2")
    rc, out, err = ctl(bmd, "alice", "poweroff", "a2")
    assert rc == 0, err
    bmd.wait_state("a2", "STOP")
