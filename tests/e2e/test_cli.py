"""The command-line conventions both programs share: help, version, usage
errors (exit 2), and messages that name the VM with a "did you mean"."""

import os
import re
import subprocess

import pytest

import bmdtest

BMD = os.path.join(bmdtest.BUILD, "bmd")
BMDCTL = os.path.join(bmdtest.BUILD, "bmdctl")
NOBODY = 65534


def run(*argv, **kw):
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL, **kw)
    return p.returncode, p.stdout, p.stderr


def commands():
    """The command names, from `bmdctl help` itself."""
    rc, out, err = run(BMDCTL, "help")
    assert rc == 0, err
    names = re.findall(r"^  ([a-z0-9]+)(?:\|[a-z]+)?(?: |$)", out, re.M)
    assert "boot" in names and "help" in names and len(names) > 10, out
    return names


@pytest.mark.parametrize("prog", [BMD, BMDCTL])
@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(prog, flag):
    rc, out, err = run(prog, flag)
    assert (rc, err) == (0, "")
    assert re.fullmatch(r"%s \d+\.\d+\.\d+\n" % os.path.basename(prog), out), out


@pytest.mark.parametrize("prog", [BMD, BMDCTL])
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_on_stdout(prog, flag):
    rc, out, err = run(prog, flag)
    assert (rc, err) == (0, "")
    assert out.startswith("usage: %s " % os.path.basename(prog)), out
    assert "--version" in out


@pytest.mark.parametrize("prog", [BMD, BMDCTL])
@pytest.mark.parametrize("argv", [["-x"], ["--bogus"], ["-f"], ["extra"]])
def test_usage_errors_exit_2(prog, argv):
    if prog == BMDCTL and argv == ["extra"]:
        argv = ["nosuchcommand"]
    rc, out, err = run(prog, *argv)
    assert rc == 2 and out == "" and err != "", (rc, out, err)


def test_bmdctl_help_command_and_command_help_agree():
    for name in commands():
        rc1, out1, err1 = run(BMDCTL, "help", name)
        rc2, out2, err2 = run(BMDCTL, name, "--help")
        rc3, out3, err3 = run(BMDCTL, name, "-h")
        assert (rc1, err1) == (0, ""), name
        assert (rc1, out1) == (rc2, out2) == (rc3, out3), name
        assert out1.startswith("usage: bmdctl [-f config] [-s socket] " + name), out1


def test_bmdctl_command_usage_error_exits_2():
    rc, out, err = run(BMDCTL, "boot", "--bogus", "x")
    assert rc == 2 and "usage: bmdctl" in err
    rc, out, err = run(BMDCTL, "help", "nosuch")
    assert rc == 2 and "unknown command: nosuch" in err


def test_not_found_names_the_vm_and_suggests(bmd, guest):
    bmd.start(guest("alpha", "no"), guest("beta", "no"))
    rc, out, err = bmd.bmdctl("boot", "alpa")
    assert (rc, out, err) == (1, "", "bmdctl: boot: no VM named 'alpa' "
                              "(did you mean 'alpha'?)\n")
    rc, out, err = bmd.bmdctl("reset", "zzzzzz")
    assert (rc, err) == (1, "bmdctl: reset: no VM named 'zzzzzz'\n")
    # the configuration-side commands say the same
    rc, out, err = run(BMDCTL, "-f", bmd.conf, "show", "config", "bta")
    assert rc == 1 and err.endswith("bmdctl: show: no VM named 'bta' "
                                    "(did you mean 'beta'?)\n"), err


def test_suggestion_never_names_a_vm_the_caller_may_not_see(bmd, guest):
    os.chmod(bmd.dir, 0o711)
    bmd.start(guest("secret1", "no"), guest("mine", "no", owner="nobody"))
    p = subprocess.run([BMDCTL, "-s", bmd.sock, "boot", "secret"], user=NOBODY,
                       group=NOBODY, capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert (p.returncode, p.stderr) == (1, "bmdctl: boot: no VM named 'secret'\n")
    rc, out, err = bmd.bmdctl("boot", "secret")
    assert "(did you mean 'secret1'?)" in err


def test_daemon_errors_name_the_command_and_the_vm(bmd, guest):
    bmd.start(guest("busy", "yes"))
    bmd.wait_running("busy")
    rc, out, err = bmd.bmdctl("boot", "busy")
    assert (rc, err) == (1, "bmdctl: boot: busy: already running\n")
