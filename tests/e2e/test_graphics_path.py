"""graphics_path: QEMU's VNC server on a unix socket, reached end to end
through the socket with a real guest running (RFB handshake)."""

import os
import socket
import stat

import bmdtest


def rfb_security_types(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        version = bmdtest.recv_exact(s, 12)
        s.sendall(b"RFB 003.008\n")
        n = bmdtest.recv_exact(s, 1)[0]
        return version, set(bmdtest.recv_exact(s, n))


def test_vnc_on_a_unix_socket(bmd, guest):
    path = os.path.join(bmd.dir, "vnc.sock")
    bmd.start(guest("gfx", "yes", graphics_path=path, stop_timeout=3))
    pid = bmd.wait_running("gfx")
    argv = bmdtest.proc_cmdline(pid)
    assert argv[argv.index("-vnc") + 1] == "unix:" + path
    bmdtest.wait_until(lambda: os.path.exists(path), 30, "the VNC socket")
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    version, types = rfb_security_types(path)
    assert version.startswith(b"RFB 003.")
    assert 1 in types            # "None": no password was set
    bmd.boot_to_banner("gfx")    # the guest itself runs behind it


def test_vnc_unix_socket_with_password(bmd, guest):
    path = os.path.join(bmd.dir, "vnc.sock")
    bmd.start(guest("gfx", "yes", graphics_path=path, graphics_password="s3cret",
                    stop_timeout=3))
    bmd.wait_running("gfx")
    bmdtest.wait_until(lambda: os.path.exists(path), 30, "the VNC socket")
    # bmd sets the password through QMP once QEMU answers: VNC auth (2) only
    bmdtest.wait_until(lambda: rfb_security_types(path)[1] == {2}, 30,
                       "VNC authentication offered")
