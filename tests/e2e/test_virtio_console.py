"""virtio-console end to end: the guest's virtio serial port and the
socket bmd makes for it in run_directory carry bytes both ways."""

import os
import socket
import stat

import bmdtest


def test_virtio_console_port_both_ways(bmd, guest):
    bmd.start(guest("vc", "yes", virt_console_nports=1, stop_timeout=5))
    pid, s = bmd.boot_to_banner("vc")
    path = os.path.join(bmd.run_dir, "vc.vc0")
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    # the guest sees the port under the name bmd gave it
    start = s.mark()
    s.run("cat /sys/class/virtio-ports/*/name")
    s.wait_for(rb"virt_console0", 10, start)
    start = s.mark()
    s.run("ls /dev/vport*")
    s.wait_for(rb"/dev/vport\dp\d", 10, start)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as host:
        host.settimeout(20)
        host.connect(path)
        # guest -> host
        s.run("p=$(ls /dev/vport*p1); echo from-guest-$((6*7)) > $p")
        got = b""
        while b"from-guest-42" not in got:
            data = host.recv(4096)
            assert data, got
            got += data
        # host -> guest
        start = s.mark()
        s.send("head -c 12 $p | tr a-z A-Z\r")
        host.sendall(b"from-host-ok")
        s.wait_for(rb"FROM-HOST-OK", 20, start)
