"""A syslog daemon that stops reading (a journald stuck on its disk) must
not stop bmd: the kernel queues a handful of datagrams on /dev/log
(net.unix.max_dgram_qlen, 10 by default) and a blocking send waits after
that.  bmd sends without waiting, counts what it could not send, and says
so once syslog takes messages again.

The test's syslog is a real datagram socket at /dev/log, in bmd's own
mount namespace when the machine has one (bound over it), else made at
/dev/log for the test's time.
"""

import os
import re
import socket

import pytest

from bmdtest import wait_until

DEV_LOG = "/dev/log"


class StuckSyslog:
    """Takes datagrams only when told to."""

    def __init__(self, bmd):
        self.bmd = bmd
        self.made = not os.path.exists(DEV_LOG)
        self.path = DEV_LOG if self.made else os.path.join(bmd.dir, "log")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        if not self.made:
            bmd.wrap = ["unshare", "--mount", "--propagation", "private",
                        "sh", "-c", 'mount --bind "$0" /dev/log && exec "$@"',
                        self.path]

    def drain(self):
        """Every datagram queued, as text."""
        out = []
        self.sock.setblocking(False)
        try:
            while True:
                out.append(self.sock.recv(65536).decode(errors="replace"))
        except BlockingIOError:
            pass
        return out

    def close(self):
        self.sock.close()
        if self.made:
            os.unlink(self.path)


@pytest.fixture
def stuck(bmd):
    s = StuckSyslog(bmd)
    yield s
    s.close()


def test_a_syslog_that_stops_reading_never_stops_bmd(bmd, guest, stuck):
    bmd.start(guest("g", "no"))
    tag = "bmd[%d]: " % bmd.proc.pid

    def ours():
        """This daemon's lines (others may log to /dev/log too)."""
        return [m for m in stuck.drain() if tag in m]
    # many more lines than the socket's queue holds: each reload logs
    for _ in range(40):
        rc, out, err = bmd.bmdctl("reload")
        assert rc == 0, err
    assert bmd.vm("g")["state"] == "STOP"
    got = ours()
    assert len(got) < 40, got
    # the format a syslog daemon reads: <PRI>TIMESTAMP TAG[PID]: MESSAGE
    assert re.fullmatch(r"<\d+>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d "
                        + re.escape(tag) + ".+", got[0]), got[0]
    queued = len(got)
    # syslog reads again: the next line says how many were lost
    rc, out, err = bmd.bmdctl("reload")
    assert rc == 0, err

    def notice():
        got.extend(ours())
        return [m for m in got if "not taken by syslog" in m]
    lost = wait_until(notice, 10, "the count of lines syslog did not take")
    n = int(re.search(r"\]: (\d+) log messages? not taken by syslog",
                      lost[0]).group(1))
    # each reload logs a line at least: those not queued were counted
    assert got.index(lost[0]) == queued
    assert n > 0 and queued + n >= 40, (n, queued)
    # and everything goes on: the daemon answers, its lines come through
    assert bmd.answers()
    assert any("configuration loaded" in m for m in got[queued + 1:]), got
