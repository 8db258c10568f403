"""Loads of the configuration run on the event loop (BMD_LOAD_INLINE, as on
FreeBSD, where credentials are per process, or when no thread can be made):
a boot, install or reload is then answered before its handler returns, and
each request must still get exactly one reply, in order."""

import os
import shutil

import bmdtest
from bmdtest import frame, recv_frame


def start_inline(bmd, *vms):
    bmd.env = dict(os.environ, BMD_LOAD_INLINE="1")
    bmd.start(*vms)
    bmd.wait_log("configuration loads run on the event loop")


def requests(bmd, *reqs):
    """Send reqs on one connection at once; their replies, in order."""
    s = bmdtest.connect_unix(bmd.sock, 10)
    try:
        s.sendall(b"".join(frame(dict(r, version=bmdtest.PROTO_VERSION))
                           for r in reqs))
        replies = [recv_frame(s, 60) for _ in reqs]
        s.settimeout(1)
        try:
            extra = s.recv(1)
        except TimeoutError:
            extra = None
    finally:
        s.close()
    assert extra in (b"", None), "a reply too many: %r" % extra
    return replies


def test_boot_is_answered_once(bmd, guest):
    start_inline(bmd, guest("vm1", "no"), guest("vm2", "no"))
    boot, listed, again = requests(
        bmd, {"command": "boot", "name": "vm1"}, {"command": "list"},
        {"command": "boot", "name": "vm1"})
    assert boot["ok"] is True, boot
    assert listed["ok"] is True and len(listed["vms"]) == 2, listed
    assert again["ok"] is False and "already running" in again["error"]
    bmd.wait_running("vm1")
    log = bmd.log_text()
    assert "internal error" not in log
    assert log.count("boot vm1: refused: already running") == 1, log
    # bmdctl, as a user runs it
    rc, out, err = bmd.bmdctl("boot", "vm2")
    assert rc == 0, err
    bmd.wait_running("vm2")
    for name in ("vm1", "vm2"):     # not left to an ACPI stop at teardown
        assert bmd.bmdctl("poweroff", name)[0] == 0


def test_failed_boot_is_answered_once(bmd, guest):
    kernel = os.path.join(bmd.dir, "vmlinuz")
    shutil.copy(bmdtest.KERNEL, kernel)
    start_inline(bmd, guest("vm1", "no", kernel=kernel))
    os.unlink(kernel)
    boot, listed = requests(bmd, {"command": "boot", "name": "vm1"},
                            {"command": "list"})
    assert boot["ok"] is False and kernel in boot["error"], boot
    assert listed["ok"] is True and len(listed["vms"]) == 1, listed
    assert "internal error" not in bmd.log_text()


def test_reload_is_answered_once(bmd, guest):
    start_inline(bmd, guest("vm1", "no"))
    bmd.write_config(guest("vm1", "no"), guest("vm2", "no"))
    reload, dry, listed = requests(
        bmd, {"command": "reload"}, {"command": "reload", "dry_run": True},
        {"command": "list"})
    assert reload["ok"] is True and reload["errors"] == [], reload
    assert dry["ok"] is True, dry
    assert listed["ok"] is True and len(listed["vms"]) == 2, listed
    assert "internal error" not in bmd.log_text()
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 0, err
