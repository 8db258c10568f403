"""`bmdctl show command` golden files: golden/NAME.conf defines one VM whose
command lines must equal golden/NAME.out byte for byte.  No daemon needed.
After an intended change of the QEMU mapping, regenerate with
BMD_GOLDEN_UPDATE=1 tests/e2e/run.sh -k show_command and review the diff."""

import glob
import os
import re
import subprocess

import pytest

import bmdtest

GOLDEN = os.path.join(bmdtest.HERE, "golden")
CONFS = sorted(glob.glob(os.path.join(GOLDEN, "*.conf")))


def vm_name(conf):
    with open(conf) as f:
        m = re.search(r"^vm\s+(\S+)\s*\{", f.read(), re.M)
    assert m, "%s defines no vm" % conf
    return m.group(1)


def test_there_are_golden_files():
    assert len(CONFS) >= 8


@pytest.mark.parametrize("conf", CONFS, ids=[os.path.basename(c)[:-5] for c in CONFS])
def test_show_command(conf):
    p = subprocess.run([os.path.join(bmdtest.BUILD, "bmdctl"), "-f", conf,
                        "show", "command", vm_name(conf)],
                       capture_output=True, timeout=20)
    assert p.returncode == 0, p.stderr.decode()
    assert p.stderr == b""
    golden = conf[:-5] + ".out"
    if os.environ.get("BMD_GOLDEN_UPDATE"):
        with open(golden, "wb") as f:
            f.write(p.stdout)
    with open(golden, "rb") as f:
        expected = f.read()
    assert p.stdout.decode().splitlines() == expected.decode().splitlines()
    assert p.stdout == expected
