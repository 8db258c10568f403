"""Backend features with a real guest (accel auto, UEFI), err_logfile, and the
access rules of the control socket (peer credentials)."""

import json
import os
import signal
import subprocess
import time

import bmdtest
from bmdtest import pid_alive, proc_cmdline

OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
NOBODY = 65534


def test_accel_auto_boots(bmd, guest):
    # /dev/kvm may exist without working: auto must still give a guest that boots
    bmd.start(guest("auto", "yes", accel="auto"))
    pid, s = bmd.boot_to_banner("auto")
    argv = proc_cmdline(pid)
    assert argv[argv.index("-accel") + 1] in ("kvm", "tcg")
    s.run("true")


def test_qemu_arch_and_qemu_bios_boot(bmd, guest):
    # the original's qemu plugin keys: qemu-system-ARCH and -bios FILE
    bios = "/usr/share/seabios/bios.bin"
    bmd.start(guest("old", "yes", qemu_arch="x86_64", qemu_bios=bios))
    pid, s = bmd.boot_to_banner("old")
    argv = proc_cmdline(pid)
    assert os.path.basename(argv[0]) == "qemu-system-x86_64"
    assert argv[argv.index("-bios") + 1] == bios
    s.run("true")


def test_uefi_direct_kernel_boot(bmd, guest):
    # OVMF needs more than 128M to start this kernel
    bmd.start(guest("efi", "yes", loader="uefi", memory="256M"))
    pid, s = bmd.boot_to_banner("efi")
    vars_file = os.path.join(bmd.vars_dir, "efi.vars")
    assert os.path.getsize(vars_file) == os.path.getsize(OVMF_VARS)
    assert any(vars_file in a for a in proc_cmdline(pid))
    assert bmd.vm("efi")["loader"] == "uefi"


def test_uefi_install_starts_with_fresh_vars(bmd, guest):
    bmd.start(guest("efi", "no", loader="uefi", memory="256M"))
    vars_file = os.path.join(bmd.vars_dir, "efi.vars")
    with open(vars_file, "wb") as f:
        f.write(b"\xaa" * os.path.getsize(OVMF_VARS))
    rc, out, err = bmd.bmdctl("install", "efi")
    assert (rc, err) == (0, "")
    bmd.wait_running("efi")
    with open(vars_file, "rb") as f:
        head = f.read(64)
    assert head[40:44] == b"_FVH", "install did not start from fresh UEFI vars"
    bmd.serial("efi").wait_banner()


def test_err_logfile(bmd, guest):
    log = os.path.join(bmd.dir, "g.err")
    bmd.start(guest("g", "yes", err_logfile=log))
    pid = bmd.wait_running("g")
    bmdtest.wait_until(lambda: os.path.exists(log) and "qemu" in open(log).read(),
                       20, "the command line in err_logfile")
    with open(log) as f:
        first = f.readline()
    assert "qemu-system" in first and "-name" in first, first
    # rotation: move it away, SIGUSR1, and bmd opens the file again
    os.rename(log, log + ".1")
    bmd.signal(signal.SIGUSR1)
    bmdtest.wait_until(lambda: os.path.exists(log), 20, "err_logfile to be reopened")
    assert bmd.vm("g")["pid"] == pid


def as_nobody(bmd, *args, groups=()):
    p = subprocess.run([os.path.join(bmdtest.BUILD, "bmdctl"), "-s", bmd.sock]
                       + list(args), user=NOBODY, group=NOBODY,
                       extra_groups=list(groups), capture_output=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def test_access_by_peer_credentials(bmd, guest):
    os.chmod(bmd.dir, 0o711)            # let nobody reach the socket
    bmd.global_extra = "\tcmd_socket_mode = 0666;\n"
    bmd.start(guest("mine", "no", owner="nobody"),
              guest("shared", "no", owner="root:nogroup"),
              guest("theirs", "no"))
    rc, out, err = as_nobody(bmd, "list", "--json")
    assert rc == 0, err
    names = sorted(v["name"] for v in json.loads(out))
    assert names == ["mine", "shared"]
    # root sees all three
    assert sorted(v["name"] for v in bmd.vms()) == ["mine", "shared", "theirs"]
    for cmd in ("boot", "stop", "poweroff", "reset", "install"):
        proto = {"stop": "shutdown"}.get(cmd, cmd)
        assert as_nobody(bmd, cmd, "theirs") == (1, "", f"bmdctl: {proto}: no VM named 'theirs'\n"), cmd
    rc, out, err = as_nobody(bmd, "reload")
    assert rc == 1 and err.startswith("bmdctl: ")
    assert bmd.state("theirs") == "STOP"
    rc, out, err = as_nobody(bmd, "boot", "mine")
    assert (rc, err) == (0, "")
    bmd.wait_running("mine")
    rc, out, err = as_nobody(bmd, "poweroff", "mine")
    assert (rc, err) == (0, "")
    bmd.wait_state("mine", "STOP")


def test_default_socket_mode_lets_users_in_but_checks_each_vm(bmd, guest):
    # 0666 by default: every request is authorised per VM (bmd(8))
    os.chmod(bmd.dir, 0o711)
    bmd.start(guest("x", "no", owner="nobody"), guest("r", "no"))
    assert (os.stat(bmd.sock).st_mode & 0o777) == 0o666
    rc, out, err = as_nobody(bmd, "list")
    assert rc == 0, err
    assert [line.split()[1] for line in out.splitlines()[2:]] == ["x"]
    rc, out, err = as_nobody(bmd, "boot", "r")
    assert rc == 1 and "no VM named 'r'" in err


def test_socket_mode_0600_refuses_other_users(bmd, guest):
    os.chmod(bmd.dir, 0o711)
    bmd.global_extra = "\tcmd_socket_mode = 0600;\n"
    bmd.start(guest("x", "no", owner="nobody"))
    assert (os.stat(bmd.sock).st_mode & 0o777) == 0o600
    rc, out, err = as_nobody(bmd, "list")
    assert rc == 1 and "cannot connect" in err
