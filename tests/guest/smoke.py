#!/usr/bin/env python3
"""Smoke test of the tiny test guest (stdlib only).

Boots out/vmlinuz + out/initrd.gz under QEMU (TCG, pc machine) with the serial
port and QMP on UNIX sockets, then checks:

  basic     banner BMD-GUEST-READY, a command typed on the serial shell runs
            (echo MARK$((40+2)) -> MARK42), hostname, applets, a virtio-net NIC
            is eth0, and QMP system_powerdown makes QEMU exit (ACPI -> acpid)
  noacpi    with bmd.noacpi the guest ignores system_powerdown
  poweroff  with bmd.poweroff the guest powers off right after the banner
  reboot    with bmd.reboot the guest reboots right after the banner

Exit status 0 if every selected check passed, 1 otherwise.
Usage: smoke.py [--dir OUT] [--qemu BIN] [--accel tcg] [CHECK...]
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BANNER = b"BMD-GUEST-READY"


class Fail(Exception):
    pass


class Serial:
    """Client of QEMU's serial chardev socket; always drains it (see the doc:
    a connected client that does not read throttles the guest)."""

    def __init__(self, path, deadline):
        self.sock = connect_unix(path, deadline)
        self.buf = bytearray()
        self.cond = threading.Condition()
        self.eof = False
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()

    def _reader(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            with self.cond:
                if not data:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.buf += data
                self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.buf)

    def wait_for(self, pattern, timeout, start=0):
        """Wait until regex `pattern` (bytes) matches buf[start:]; return the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.buf, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    return None
                self.cond.wait(min(left, 0.5))

    def count(self, needle):
        with self.cond:
            return self.buf.count(needle)

    def send(self, text):
        self.sock.sendall(text.encode())

    def tail(self, n=2000):
        with self.cond:
            return bytes(self.buf[-n:]).decode("utf-8", "replace")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class QMP:
    def __init__(self, path, deadline):
        self.sock = connect_unix(path, deadline)
        self.file = self.sock.makefile("rb")
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise Fail("bad QMP greeting: %r" % greeting)
        self.cmd("qmp_capabilities")

    def _read(self):
        line = self.file.readline()
        if not line:
            raise Fail("QMP connection closed")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise Fail("QMP %s: %s" % (name, r["error"]))
            return r.get("return")

    def drain_events(self, timeout):
        """Collect events until EOF or `timeout` seconds."""
        self.sock.settimeout(timeout)
        try:
            while True:
                line = self.file.readline()
                if not line:
                    break
                r = json.loads(line)
                if "event" in r:
                    self.events.append(r)
        except (OSError, ValueError):
            pass
        return self.events

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass


def connect_unix(path, deadline):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise Fail("cannot connect to %s" % path)
            time.sleep(0.005)


class Guest:
    def __init__(self, args, append_extra="", nic=False, no_reboot=False):
        self.tmp = tempfile.mkdtemp(prefix="bmdguest-")
        self.serial_path = os.path.join(self.tmp, "serial.sock")
        self.qmp_path = os.path.join(self.tmp, "qmp.sock")
        self.log_path = os.path.join(self.tmp, "qemu.log")
        append = "console=ttyS0 quiet panic=-1"
        if append_extra:
            append += " " + append_extra
        cmd = [
            args.qemu, "-accel", args.accel, "-machine", "pc", "-m", "128M",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-kernel", os.path.join(args.dir, "vmlinuz"),
            "-initrd", os.path.join(args.dir, "initrd.gz"),
            "-append", append,
            "-chardev", "socket,id=s0,path=%s,server=on,wait=off" % self.serial_path,
            "-serial", "chardev:s0",
            "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
        ]
        if nic:
            # Local only: user-mode netdev, and the guest sends nothing on it.
            cmd += ["-netdev", "user,id=n0,restrict=on",
                    "-device", "virtio-net-pci,netdev=n0"]
        if no_reboot:
            cmd += ["-no-reboot"]
        self.log = open(self.log_path, "wb")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = self.t0 + 10
        self.serial = None
        self.qmp = None
        try:
            # Connect the serial port first: with no client, output is discarded.
            self.serial = Serial(self.serial_path, deadline)
            self.qmp = QMP(self.qmp_path, deadline)
        except Exception:
            self.stop()
            raise

    def wait_banner(self, timeout, start=0):
        m = self.serial.wait_for(re.escape(BANNER) + rb"\r?\n", timeout, start)
        if not m:
            raise Fail("no %s within %ss" % (BANNER.decode(), timeout))
        return time.monotonic() - self.t0

    def ask(self, cond, tag, timeout=10):
        """Run shell condition `cond` on the serial shell; True/False."""
        start = self.serial.mark()
        self.serial.send("if %s >/dev/null 2>&1; then echo %s$((0+1)); else echo %s$((0+0)); fi\r"
                         % (cond, tag, tag))
        m = self.serial.wait_for(re.escape(tag.encode()) + rb"([01])", timeout, start)
        if not m:
            raise Fail("no answer from the serial shell for %r" % cond)
        return m.group(1) == b"1"

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, Fail):
            print("  --- serial tail ---\n%s\n  --- qemu output ---\n%s"
                  % (self.serial.tail() if self.serial else "", self.qemu_log()[-2000:]))
        self.stop()
        return False

    def stop(self):
        if self.proc.poll() is None:
            try:
                if self.qmp:
                    self.qmp.sock.settimeout(2)
                    self.qmp.cmd("quit")
            except Exception:
                pass
            if self.wait_exit(5) is None:
                self.proc.kill()
                self.proc.wait()
        for c in (self.serial, self.qmp):
            if c:
                c.close()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def qemu_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


def check_basic(args):
    with Guest(args, nic=True) as g:
        t = g.wait_banner(args.timeout)
        print("  banner after %.2fs" % t)
        t1 = time.monotonic()
        start = g.serial.mark()
        g.serial.send("echo MARK$((40+2))\r")
        if not g.serial.wait_for(rb"MARK42", 10, start):
            raise Fail("typed command did not run (no MARK42)")
        print("  serial shell echo round trip %.0f ms" % ((time.monotonic() - t1) * 1000))
        if not g.ask('[ "$(hostname)" = bmdguest ]', "HOSTNAME"):
            raise Fail("hostname is not bmdguest")
        if not g.ask("command -v ip && command -v ifconfig && command -v ping", "APPLETS"):
            raise Fail("ip/ifconfig/ping applets missing")
        if not g.ask("ip link show lo | grep -q UP", "LOUP"):
            raise Fail("lo is not up")
        if not g.ask("[ -e /sys/class/net/eth0 ]", "ETH0"):
            raise Fail("no eth0 in the guest")
        if not g.ask('[ "$(basename $(readlink /sys/class/net/eth0/device/driver))" = virtio_net ]',
                     "VIRTIONET"):
            raise Fail("eth0 is not driven by virtio_net")
        if not g.ask("pidof acpid", "ACPID"):
            raise Fail("acpid is not running")
        print("  hostname, applets, lo up, eth0 (virtio_net), acpid: ok")
        t1 = time.monotonic()
        g.qmp.cmd("system_powerdown")
        rc = g.wait_exit(15)
        if rc is None:
            raise Fail("QEMU still running 15s after system_powerdown")
        dt = time.monotonic() - t1
        events = [e["event"] for e in g.qmp.drain_events(1)]
        print("  system_powerdown -> QEMU exit (rc %d) in %.0f ms, events %s"
              % (rc, dt * 1000, events))
        if rc != 0:
            raise Fail("QEMU exited with %d" % rc)
        return t


def check_noacpi(args):
    with Guest(args, "bmd.noacpi") as g:
        t = g.wait_banner(args.timeout)
        print("  banner after %.2fs" % t)
        if g.ask("pidof acpid", "ACPID"):
            raise Fail("acpid runs despite bmd.noacpi")
        g.qmp.cmd("system_powerdown")
        if g.wait_exit(args.ignore_wait) is not None:
            raise Fail("guest obeyed system_powerdown despite bmd.noacpi")
        start = g.serial.mark()
        g.serial.send("echo MARK$((40+2))\r")
        if not g.serial.wait_for(rb"MARK42", 10, start):
            raise Fail("serial shell dead after ignored powerdown")
        print("  system_powerdown ignored for %ss, shell still alive" % args.ignore_wait)
        return t


def check_poweroff(args):
    with Guest(args, "bmd.poweroff") as g:
        t = g.wait_banner(args.timeout)
        t1 = time.monotonic()
        rc = g.wait_exit(15)
        if rc is None:
            raise Fail("QEMU still running after the banner with bmd.poweroff")
        events = [e["event"] for e in g.qmp.drain_events(1)]
        print("  banner after %.2fs, QEMU exit %.0f ms later (rc %d), events %s"
              % (t, (time.monotonic() - t1) * 1000, rc, events))
        return t


def check_reboot(args):
    with Guest(args, "bmd.reboot") as g:
        t = g.wait_banner(args.timeout)
        deadline = time.monotonic() + args.timeout
        while g.serial.count(BANNER) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        if g.serial.count(BANNER) < 2:
            raise Fail("no second banner after bmd.reboot")
        t2 = time.monotonic() - g.t0
        g.qmp.cmd("query-status")  # collects pending events
        events = [e["event"] for e in g.qmp.events]
        print("  banner after %.2fs, again after reboot at %.2fs (+%.2fs), events %s"
              % (t, t2, t2 - t, events))
        if "RESET" not in events:
            raise Fail("no RESET event")
        return t


CHECKS = {"basic": check_basic, "noacpi": check_noacpi,
          "poweroff": check_poweroff, "reboot": check_reboot}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checks", nargs="*", metavar="CHECK",
                    help="checks to run: %s (default: all)" % ", ".join(CHECKS))
    ap.add_argument("--dir", default=os.path.join(HERE, "out"),
                    help="folder with vmlinuz and initrd.gz")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--accel", default="tcg")
    ap.add_argument("--timeout", type=float, default=60,
                    help="seconds to wait for the banner")
    ap.add_argument("--ignore-wait", type=float, default=5,
                    help="seconds a bmd.noacpi guest must survive system_powerdown")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    names = args.checks or list(CHECKS)
    for n in names:
        if n not in CHECKS:
            ap.error("unknown check %r (known: %s)" % (n, ", ".join(CHECKS)))
    for f in ("vmlinuz", "initrd.gz"):
        if not os.path.isfile(os.path.join(args.dir, f)):
            print("smoke.py: %s/%s missing (run: make -C tests/guest)" % (args.dir, f))
            return 1
    if not shutil.which(args.qemu):
        print("smoke.py: %s not found (run: apt-get install qemu-system-x86)" % args.qemu)
        return 1

    passed = failed = 0
    banners = []
    for _ in range(args.repeat):
        for n in names:
            print("%s:" % n, flush=True)
            try:
                banners.append(CHECKS[n](args))
                print("  PASS", flush=True)
                passed += 1
            except Fail as e:
                print("  FAIL: %s" % e, flush=True)
                failed += 1
    if banners:
        banners.sort()
        print("boot-to-banner: min %.2fs, median %.2fs, max %.2fs over %d boots"
              % (banners[0], banners[len(banners) // 2], banners[-1], len(banners)))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
