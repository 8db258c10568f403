"""Identity, limits and the per-VM lock between users (issue 11, items 3, 11
and 15), with real users, real QEMU guests and bmd's real control socket.

A root file includes alice's file, as in test_users.py (whose Setup and
helpers are reused); the control socket is 0666.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

import bmdtest
from bmdtest import wait_until, pid_alive
from test_conf_owner import users  # noqa: F401  (fixture)
from test_users import Setup, ctl, as_user, listed, uid, proc_ids

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="creates users and runs QEMU as them: needs root")

NF = "VM not found"


@pytest.fixture
def setup(bmd, users):  # noqa: F811
    return Setup(bmd)


def write_alice(setup, text):
    with open(setup.afile, "w") as f:
        f.write(text)


def root_vm(name, **keys):
    keys.setdefault("boot", "no")
    return bmdtest.guest_vm(name, **keys)


def owners(bmd, user):
    rc, out, err = ctl(bmd, user, "list", "--json")
    assert rc == 0, err
    return {v["name"]: (v["owner"], v["pid"]) for v in json.loads(out)}


def reload(bmd):
    rc, out, err = ctl(bmd, "root", "reload")
    assert rc == 0, err


def root_console_secret(bmd, name):
    """Boot root's VM, type a secret on its console, power it off."""
    rc, out, err = ctl(bmd, "root", "boot", name)
    assert rc == 0, err
    pid, s = bmd.boot_to_banner(name)
    s.run("echo ROOT$((6*7))SECRET")
    s.close()
    assert "ROOT42SECRET" in ctl(bmd, "root", "console", "--dump", name)[1]
    rc, out, err = ctl(bmd, "root", "poweroff", name)
    assert rc == 0, err
    bmd.wait_state(name, "STOP")
    wait_until(lambda: not pid_alive(pid), 30, "root's QEMU to exit")


# ---- item 3: a running VM keeps its owner; names are not taken over ----

def test_running_root_vm_is_not_taken_over_by_name(setup, bmd):
    setup.start(root_vm("web", stop_timeout=60) + root_vm("keep"), "")
    rc, out, err = ctl(bmd, "root", "boot", "web")
    assert rc == 0, err
    pid, s = bmd.boot_to_banner("web")
    # root drops web from its file while it runs; alice defines her own web
    bmd.write_config(root_vm("keep") + '.include "%s";\n' % setup.afile)
    write_alice(setup, setup.vm("web"))
    mark = len(bmd.log_text())
    reload(bmd)
    # the running QEMU stays root's: never listed as alice's ...
    assert "web" not in listed(bmd, "alice")
    o = owners(bmd, "root")
    assert o.get("web", ("root", pid))[0] == "root", o
    # ... alice reaches neither its console nor its control
    for c in (("console", "--dump"), ("poweroff",), ("reset",), ("stop",)):
        rc, out, err = ctl(bmd, "alice", *(c + ("web",)))
        assert rc != 0 and NF in err, (c, rc, out, err)
    assert pid_alive(pid) and proc_ids(pid)["Uid"] == [0] * 4
    # and her definition is refused with a reason, in the daemon's log
    bmd.wait_log(r"vm web: .*alice.*rejected.*root", 10, mark)
    # root's web stops (it left root's file); then alice's web can exist
    wait_until(lambda: not pid_alive(pid), 90, "root's web to stop")
    bmd.wait_log(r"vm web: removed", 30, mark)
    reload(bmd)
    assert "web" in listed(bmd, "alice")
    rc, out, err = ctl(bmd, "alice", "boot", "web")
    assert rc == 0, err
    apid = bmd.wait_running("web")
    assert apid != pid and proc_ids(apid)["Uid"] == [uid("alice")] * 4
    assert owners(bmd, "alice")["web"] == ("alice", apid)
    rc, out, err = ctl(bmd, "alice", "poweroff", "web")
    assert rc == 0, err
    bmd.wait_state("web", "STOP")


def test_stopped_root_vm_renamed_to_alice_keeps_no_scrollback(setup, bmd):
    """A stopped VM whose definition changes owner (here through `name =`)
    becomes a new VM: nothing of root's runs (scrollback) reaches alice."""
    setup.start(root_vm("web") + root_vm("keep"), "")
    root_console_secret(bmd, "web")
    bmd.write_config(root_vm("keep") + '.include "%s";\n' % setup.afile)
    write_alice(setup, setup.vm("mine").replace("{\n", "{\n\tname = web;\n", 1))
    reload(bmd)
    assert "web" in listed(bmd, "alice")
    assert owners(bmd, "root")["web"][0] == "alice"
    rc, out, err = ctl(bmd, "alice", "console", "--dump", "web")
    assert rc == 0, err
    assert "ROOT42SECRET" not in out


def test_boot_of_a_stopped_vm_whose_owner_changed(setup, bmd):
    """`boot` re-reads the VM's definition (no reload in between): a new
    owner's definition starts a new VM, with none of root's scrollback."""
    setup.start(root_vm("web") + root_vm("keep"), "")
    root_console_secret(bmd, "web")
    bmd.write_config(root_vm("keep") + '.include "%s";\n' % setup.afile)
    write_alice(setup, setup.vm("web"))
    rc, out, err = ctl(bmd, "root", "boot", "web")
    assert rc == 0, err
    apid = bmd.wait_running("web")
    assert proc_ids(apid)["Uid"] == [uid("alice")] * 4
    rc, out, err = ctl(bmd, "alice", "console", "--dump", "web")
    assert rc == 0, err
    assert "ROOT42SECRET" not in out
    rc, out, err = ctl(bmd, "alice", "poweroff", "web")
    assert rc == 0, err
    bmd.wait_state("web", "STOP")
