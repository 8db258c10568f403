"""A real FUSE file system (kernel FUSE, /dev/fuse) whose server answers
INIT and nothing else: every lookup in it waits until the server goes.
A process waiting there is not even ended by SIGKILL, since the kernel
waits for an answer to a request the server has read.  What a user can
make with fusermount3 or in a user namespace on a shared host; mounted
here by root (mount(2)), with allow_other so that any user reaches it."""

import ctypes
import os
import select
import struct
import threading

MS_NOSUID, MS_NODEV, MNT_DETACH = 2, 4, 2
FUSE_INIT = 26
_libc = ctypes.CDLL(None, use_errno=True)


class HangFS:
    def __init__(self, mnt):
        self.mnt = mnt
        os.makedirs(mnt, exist_ok=True)
        self.fd = os.open("/dev/fuse", os.O_RDWR)
        opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % self.fd
        if _libc.mount(b"hangfs", mnt.encode(), b"fuse.hangfs",
                       MS_NOSUID | MS_NODEV, opts.encode()) != 0:
            e = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(e, "mount %s: %s" % (mnt, os.strerror(e)))
        self.requests = 0
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self):
        while not self.stop.is_set():
            if not select.select([self.fd], [], [], 0.1)[0]:
                continue
            try:
                req = os.read(self.fd, 1 << 20)
            except OSError:
                return
            if len(req) < 40:
                return
            _, opcode, unique = struct.unpack_from("<IIQ", req)
            if opcode != FUSE_INIT:
                self.requests += 1          # never answered
                continue
            # fuse_init_out, protocol 7.31: max_write 4096, time_gran 1
            body = struct.pack("<IIIIHHIIHHI7I", 7, 31, 0, 0, 0, 0, 4096, 1,
                               1, 0, 0, *([0] * 7))
            os.write(self.fd, struct.pack("<IiQ", 16 + len(body), 0, unique) + body)

    def close(self):
        """The server goes: waiting requests fail (ENOTCONN).  The
        descriptor is closed once no read holds it: that ends the
        connection."""
        _libc.umount2(self.mnt.encode(), MNT_DETACH)
        self.stop.set()
        self.t.join(10)
        os.close(self.fd)
