"""Fixtures of the bmd end-to-end suite: a private daemon per test, bmdctl,
and a per-test watchdog.  See bmdtest.py for the helpers themselves."""

import os
import shutil
import signal

import pytest

import bmdtest

# No single test may hang the suite; every wait inside has its own timeout.
TEST_WATCHDOG = int(os.environ.get("BMD_TEST_WATCHDOG", "400"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


_file_seconds = {}


def pytest_runtest_logreport(report):
    f = report.nodeid.split("::")[0]
    _file_seconds[f] = _file_seconds.get(f, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    """Seconds per file, so that run.sh's two halves can be kept even."""
    if not _file_seconds:
        return
    terminalreporter.write_sep("-", "seconds per file")
    for f, t in sorted(_file_seconds.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line("%7.1f %s" % (t, f))
    terminalreporter.write_line("%7.1f total" % sum(_file_seconds.values()))


def pytest_report_header(config):
    return "bmd build: %s, accel: %s" % (bmdtest.BUILD, bmdtest.ACCEL)


@pytest.fixture(scope="session")
def prerequisites():
    missing = [p for p in (os.path.join(bmdtest.BUILD, "bmd"),
                           os.path.join(bmdtest.BUILD, "bmdctl"),
                           bmdtest.KERNEL, bmdtest.INITRD) if not os.path.exists(p)]
    if missing:
        pytest.fail("missing %s (run make and make -C tests/guest)" % ", ".join(missing))
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail("qemu-system-x86_64 not found")


@pytest.fixture(autouse=True)
def watchdog():
    def expired(signum, frame):
        raise bmdtest.TestError("test watchdog: still running after %d s" % TEST_WATCHDOG)
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TEST_WATCHDOG)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


@pytest.fixture
def bmd(request, prerequisites):
    """A daemon in its own temp dir (not started: call bmd.start(vm...)).
    Teardown sends SIGTERM; the test errors if bmd does not exit 0 or leaves
    QEMU running.  On failure the daemon log is printed and the dir kept."""
    d = bmdtest.Bmd()
    yield d
    failed = _failed(request)
    problems = d.cleanup(keep=failed)
    if failed:
        print("\n--- bmd log (%s) ---\n%s" % (d.log_path, d.log_text()[-6000:]))
        for s in d.serials:
            print("--- serial %s ---\n%s" % (s.path, s.tail()))
    if problems:
        pytest.fail("at teardown: " + "; ".join(problems), pytrace=False)


@pytest.fixture
def bmdctl(bmd):
    """bmdctl(*args) -> (rc, stdout, stderr), against the test's daemon."""
    return bmd.bmdctl


@pytest.fixture
def guest():
    """guest(name, boot=..., flags=..., key=value...) -> a vm section."""
    return bmdtest.guest_vm
