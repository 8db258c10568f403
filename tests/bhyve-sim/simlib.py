"""Shared by the bhyve stand-ins: argv parsing as getopt(3) does it, the
record every stand-in keeps, and the console device it was given.

The stand-ins record to OUT/calls.jsonl, OUT being the directory "out"
beside the directory the program was started from (tests link the
programs into DIR/bin and read DIR/out).  The simulated vmm(4) state (which
VM exists, which pid runs it) is kept in OUT/vmm/NAME.
"""

import json
import os
import sys
import time

def _main_file():
    import __main__
    return os.path.abspath(__main__.__file__)


OUT = os.path.join(os.path.dirname(os.path.dirname(_main_file())), "out")


def record(prog, event, **more):
    """Append one JSON line to OUT/calls.jsonl (O_APPEND: lines never mix)."""
    os.makedirs(OUT, exist_ok=True)
    line = dict(prog=prog, event=event, pid=os.getpid(), uid=os.getuid(),
                time=time.time(), **more)
    fd = os.open(os.path.join(OUT, "calls.jsonl"),
                 os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, (json.dumps(line) + "\n").encode())
    finally:
        os.close(fd)


def getopt(argv, with_arg, flags):
    """getopt(3): (options as (letter, value) in order, operands), or
    raises ValueError naming the bad option."""
    opts, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if not a.startswith("-") or a == "-":
            break
        j = 1
        while j < len(a):
            c = a[j]
            if c in with_arg:
                if j + 1 < len(a):
                    opts.append((c, a[j + 1:]))
                else:
                    i += 1
                    if i >= len(argv):
                        raise ValueError("option requires an argument -- %s" % c)
                    opts.append((c, argv[i]))
                break
            if c not in flags:
                raise ValueError("illegal option -- %s" % c)
            opts.append((c, None))
            j += 1
        i += 1
    return opts, argv[i:]


class Console:
    """The device a stand-in talks on (a pty's or null-modem's VM side),
    or standard input and output for "stdio"; None for no device."""

    def __init__(self, dev):
        if dev in (None, "stdio"):
            self.rfd, self.wfd = (0, 1) if dev == "stdio" else (None, None)
        else:
            try:
                fd = os.open(dev, os.O_RDWR | os.O_NOCTTY)
            except OSError as e:
                # a pty whose host side is gone (bmd died first): the
                # guest runs on without a console, as with a lost nmdm
                sys.stderr.write("stand-in: console %s: %s; running "
                                 "without it\n" % (dev, e.strerror))
                self.rfd = self.wfd = None
                self.pending = b""
                return
            try:
                import termios
                import tty
                tty.setraw(fd)
                attrs = termios.tcgetattr(fd)
                attrs[3] &= ~termios.ECHO
                termios.tcsetattr(fd, termios.TCSANOW, attrs)
            except Exception:  # not a terminal: a FIFO or a file
                pass
            self.rfd = self.wfd = fd
        self.pending = b""

    def write(self, text):
        if self.wfd is not None:
            try:
                os.write(self.wfd, text.encode() if isinstance(text, str) else text)
            except OSError:
                pass

    def lines(self, echo=True):
        """Yield each line typed (CR or LF ends it), echoing as a tty would."""
        if self.rfd is None:
            while True:
                time.sleep(3600)
        while True:
            try:
                data = os.read(self.rfd, 4096)
            except OSError:
                data = b""
            if not data:
                time.sleep(0.05)        # the other side is not open yet
                continue
            if echo:
                self.write(data.replace(b"\r", b"\r\n"))
            self.pending += data
            while True:
                cut = min([k for k in (self.pending.find(b"\r"),
                                       self.pending.find(b"\n")) if k >= 0],
                          default=-1)
                if cut < 0:
                    break
                line, self.pending = self.pending[:cut], self.pending[cut + 1:]
                yield line.decode(errors="replace").strip()


def vmm_path(name):
    return os.path.join(OUT, "vmm", name)
