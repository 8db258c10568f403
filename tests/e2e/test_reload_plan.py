"""bmdctl reload --dry-run and show config --diff (issue 14): what a reload
would do, worked out by the running daemon, with nothing changed."""

import json
import os

import bmdtest
from test_conf_owner import users  # noqa: F401  (fixture)
from test_users import ctl


def vm(name, **keys):
    keys.setdefault("boot", "no")
    keys.setdefault("stop_timeout", 1)
    return bmdtest.guest_vm(name, **keys)


def test_dry_run_says_what_a_reload_would_do_and_changes_nothing(bmd, users):  # noqa: F811
    os.chmod(bmd.dir, 0o755)     # alice reaches the socket, as in test_users
    bmd.global_extra = "\tcmd_socket_mode = 0666;\n"
    bmd.start(vm("a"), vm("b"), vm("c"),
              vm("r", boot="yes", reboot_on_change="yes"))
    rc, out, err = bmd.bmdctl("boot", "a")
    assert rc == 0, err
    bmd.wait_running("a")
    bmd.wait_running("r")
    before = bmd.vms()
    bmd.write_config(vm("a", memory="256M"), vm("b", boot="yes"),
                     vm("r", boot="yes", reboot_on_change="yes", ncpu=2),
                     vm("e"), "vm f {\n\tmemory = 1G;\n\tnosuchkey = 1;\n}\n")
    rc, out, err = bmd.bmdctl("reload", "--dry-run", "--json")
    assert rc == 1, err        # f has errors, as reload would say
    plan = json.loads(out)
    assert plan["added"] == [{"name": "e", "starts": False}]
    assert plan["removed"] == [{"name": "c", "state": "STOP", "kept": False}]
    changed = {c["name"]: c for c in plan["changed"]}
    assert changed["a"]["effect"] == "pending"
    assert changed["a"]["keys"] == [{"key": "memory", "old": "128M",
                                     "new": "256M"}]
    assert changed["b"]["effect"] == "start"
    assert changed["b"]["keys"] == [{"key": "boot", "old": "no", "new": "yes"}]
    assert changed["r"]["effect"] == "restart"
    assert [r["name"] for r in plan["rejected"]] == ["f"]
    assert "nosuchkey" in plan["rejected"][0]["errors"][0]
    # the same as text, and through show config --diff
    rc, text, err = bmd.bmdctl("show", "config", "--diff")
    assert rc == 1
    lines = text.splitlines()
    assert "+ e\tadded" in lines and "- c\tremoved (STOP)" in lines
    assert ("~ a\tchanged (RUN: the new configuration waits for its next "
            "start)") in lines
    assert "\tmemory: 128M -> 256M" in lines
    assert "~ r\tchanged (RUN: restarted (reboot_on_change))" in lines
    assert "! f\trejected: not loaded" in lines
    # nothing changed
    assert bmd.vms() == before or [
        (v["name"], v["state"], v["pid"]) for v in bmd.vms()] == [
        (v["name"], v["state"], v["pid"]) for v in before]
    rc, out, err = bmd.bmdctl("status", "--json", "a")
    assert json.loads(out)["memory"] == 128 << 20
    # only root may ask, as for reload
    rc, out, err = ctl(bmd, "alice", "reload", "--dry-run")
    assert rc == 1 and "permission denied: only root may reload" in err, err
