"""QEMU settings that bmd applies through QMP once the guest runs: cpu_pin
(vCPU thread affinity) and the VNC password (set_password)."""

import os
import socket

import bmdtest


def affinities(pid):
    """The Cpus_allowed_list of every thread of a process."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    out.append(line.split(":", 1)[1].strip())
    return out


def test_cpu_pin_sets_vcpu_affinity(bmd, guest):
    host = os.cpu_count() - 1          # the last host CPU
    bmd.start(guest("pin", "yes", ncpu=2, cpu_pin="0:%d, 1:0" % host,
                    stop_timeout=3))
    pid = bmd.wait_running("pin")
    bmd.wait_log(r"vm pin: vCPU 1 pinned to host CPU 0")
    # QEMU's other threads keep every CPU; exactly the two vCPUs are pinned
    pinned = sorted(a for a in affinities(pid) if a.isdigit())
    assert pinned == sorted([str(host), "0"]), affinities(pid)


def test_vnc_password_is_set(bmd, guest):
    port = 5900 + 77
    bmd.start(guest("vnc", "yes", graphics_listen="127.0.0.1",
                    graphics_port=port, graphics_password="s3cret",
                    stop_timeout=3))
    pid = bmd.wait_running("vnc")
    argv = bmdtest.proc_cmdline(pid)
    assert argv[argv.index("-vnc") + 1] == "127.0.0.1:77,password=on"
    # QEMU offers VNC authentication (security type 2), not "none" (1),
    # once a password is set; with password=on and none set it refuses all.
    def security_types():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.recv(12)                    # "RFB 003.008\n"
                s.sendall(b"RFB 003.008\n")
                n = s.recv(1)[0]
                return set(s.recv(n)) if n else set()
        except OSError:
            return None                       # not listening yet
    bmdtest.wait_until(lambda: security_types() == {2}, 20,
                       "VNC asking for a password")
    bmd.wait_log(r"vm vnc: VNC password set")    # QEMU accepted it
