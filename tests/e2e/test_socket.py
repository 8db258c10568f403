"""Malformed and hostile input on the control socket: bmd neither crashes nor
stalls its other clients."""

import socket
import struct
import time

import bmdtest
from bmdtest import frame, recv_frame


def connect(bmd):
    return bmdtest.connect_unix(bmd.sock, 10)


def assert_healthy(bmd, pid):
    assert bmd.proc.poll() is None, "bmd died: log:\n" + bmd.log_text()[-3000:]
    assert bmd.proc.pid == pid
    rc, out, err = bmd.bmdctl("list", timeout=20)
    assert rc == 0, err
    assert "dummy" in out


def closed_or_error(s):
    """The reply to bad input: an error frame, or the connection closed."""
    r = recv_frame(s, 30)
    assert r is None or r.get("ok") is False, r
    return r


def start(bmd, guest):
    bmd.start(guest("dummy", "no"))
    return bmd.proc.pid


def test_garbage_bytes(bmd, guest):
    pid = start(bmd, guest)
    s = connect(bmd)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n" + bytes(range(256)))
    closed_or_error(s)
    s.close()
    assert_healthy(bmd, pid)


def test_huge_length_prefix(bmd, guest):
    pid = start(bmd, guest)
    for n in (0xFFFFFFFF, 1024 * 1024 + 1, 0):
        s = connect(bmd)
        s.sendall(struct.pack(">I", n) + b"{}")
        closed_or_error(s)
        s.close()
    assert_healthy(bmd, pid)


def test_half_frame_then_close(bmd, guest):
    pid = start(bmd, guest)
    s = connect(bmd)
    s.sendall(frame({"version": 1, "command": "list"})[:10])
    s.close()
    s = connect(bmd)
    s.sendall(b"\x00\x00")          # half a length prefix
    s.close()
    assert_healthy(bmd, pid)


def test_not_an_object(bmd, guest):
    pid = start(bmd, guest)
    for body in (b"[1,2,3]", b"\"list\"", b"{\"command\":", b"\xff\xfe{}"):
        s = connect(bmd)
        s.sendall(frame(body))
        closed_or_error(s)
        s.close()
    assert_healthy(bmd, pid)


def test_bad_requests_get_error_replies(bmd, guest):
    pid = start(bmd, guest)
    for req in ({"version": 1, "command": "frobnicate"},
                {"version": 1},
                {"version": 1, "command": 42},
                {"version": 1, "command": "boot"},            # no name
                {"version": 1, "command": "boot", "name": 7},
                {"version": 999, "command": "list"},
                {"command": "list"}):
        s = connect(bmd)
        s.sendall(frame(req))
        r = recv_frame(s, 30)
        s.close()
        assert r is None or (r.get("ok") is False and isinstance(r.get("error"), str)), (req, r)
    assert bmd.state("dummy") == "STOP"
    assert_healthy(bmd, pid)


def test_several_requests_on_one_connection(bmd, guest):
    pid = start(bmd, guest)
    s = connect(bmd)
    s.sendall(frame({"version": 1, "command": "list"}) * 2)
    for _ in range(2):
        r = recv_frame(s, 30)
        assert r is not None and r["ok"] is True and len(r["vms"]) == 1
    s.close()
    assert_healthy(bmd, pid)


def test_list_table_as_raw_frame(bmd, guest):
    # bmdctl's list: the table as raw bytes after the reply, the same text
    # as the JSON form, and the connection stays in step for what follows
    pid = start(bmd, guest)
    s = connect(bmd)
    table = {"version": 1, "command": "list", "table": True, "sort": "name"}
    s.sendall(frame(table) + frame(dict(table, raw=True)) + frame(table))
    first = recv_frame(s, 30)
    assert first["ok"] is True and "dummy" in first["table"]
    r = recv_frame(s, 30)
    assert r["ok"] is True and "table" not in r
    hdr = bmdtest.recv_exact(s, 4)
    assert struct.unpack(">I", hdr)[0] == r["raw"]
    assert bmdtest.recv_exact(s, r["raw"]).decode() == first["table"]
    assert recv_frame(s, 30)["table"] == first["table"]
    s.close()
    assert_healthy(bmd, pid)


def test_100_idle_clients_do_not_block_others(bmd, guest):
    pid = start(bmd, guest)
    idle = [connect(bmd) for _ in range(100)]
    # some of them stuck in the middle of a frame
    for s in idle[:20]:
        s.sendall(frame({"version": 1, "command": "list"})[:7])
    try:
        for _ in range(3):
            t0 = time.monotonic()
            rc, out, err = bmd.bmdctl("list", timeout=20)
            assert rc == 0, err
            assert time.monotonic() - t0 < 20
        assert_healthy(bmd, pid)
    finally:
        for s in idle:
            s.close()
    assert_healthy(bmd, pid)


def test_idle_client_is_closed(bmd, guest):
    pid = start(bmd, guest)
    s = connect(bmd)
    s.settimeout(120)
    t0 = time.monotonic()
    try:
        data = s.recv(1)
    except (socket.timeout, ConnectionResetError):
        data = None
    assert data == b"", "an idle client was not closed within %.0f s" % (
        time.monotonic() - t0)
    assert_healthy(bmd, pid)


def test_client_that_never_reads(bmd, guest):
    # requests pile up but the client reads no reply: bmd must not block
    pid = start(bmd, guest)
    s = connect(bmd)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    req = frame({"version": 1, "command": "list"})
    try:
        for _ in range(20000):
            s.send(req)
    except (BlockingIOError, OSError):
        pass
    assert_healthy(bmd, pid)
    s.close()
    assert_healthy(bmd, pid)
