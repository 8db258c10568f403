"""loadcmd/installcmd = auto (issue 13): the kernel read from the images.

bmd reads the VM's first ISO (install) or first disk (load) itself, without
mounting them, and types the grub command that boots the OpenBSD or NetBSD
kernel it finds.  The images are made by bsdimg.py (makefs file systems
holding files named like the kernels, MBR or GPT disks); the loader is the
grub-bhyve stand-in of tests/bhyve-sim/ (NOT grub-bhyve), which records
what is typed at its prompt.
"""

import os

from bmdtest import wait_until
from test_bhyve import boot, sim, type_line  # noqa: F401  (fixture)
from test_console import consoles  # noqa: F401  (fixture)
import bsdimg


def vm(name, **keys):
    k = {"backend": "bhyve", "loader": "grub", "memory": "128M",
         "boot": "no", "stop_timeout": "10", "loadcmd": "auto",
         "installcmd": "auto"}
    k.update(keys)
    return "vm %s {\n%s}\n" % (name, "".join(
        "\t%s = %s;\n" % kv for kv in k.items() if kv[1] is not None))


def path(bmd, name):
    return os.path.join(bmd.dir, name)


def openbsd_disk(bmd, name="o.img", upgrade=0o755):
    files = {"bsd": b"kernel"}
    if upgrade is not None:
        files["bsd.upgrade"] = (b"upgrade kernel", upgrade)
    fs = bsdimg.ffs(path(bmd, name + ".ffs"), files)
    return bsdimg.mbr_disk(path(bmd, name), [(1, "linux", None),
                                             (4, "openbsd", fs)])


def openbsd_iso(bmd):
    return bsdimg.iso(path(bmd, "o.iso"), {"7.6/amd64/bsd.rd": b"ramdisk",
                                           "7.6/amd64/SHA256": b"sums",
                                           "etc/random.seed": b"x"})


def netbsd_media(bmd):
    fs = bsdimg.ffs(path(bmd, "n.ffs"), {"netbsd": b"kernel"}, version=1)
    disk = bsdimg.gpt_disk(path(bmd, "n.img"), [(1, "linux", None),
                                                (2, "netbsd", fs)])
    return bsdimg.iso(path(bmd, "n.iso"), {"netbsd": b"k"}, False), disk


def typed(sim, name):  # noqa: F811
    return [c["line"] for c in sim.calls("grub-bhyve", "typed", name)]


def test_inspect_shows_what_auto_types(bmd):
    niso, ndisk = netbsd_media(bmd)
    bmd.write_config(
        vm("o", iso=openbsd_iso(bmd), disk=openbsd_disk(bmd), com1="auto"),
        vm("n", iso=niso, disk=ndisk),
        vm("plain", disk=openbsd_disk(bmd, "p.img", upgrade=0o644)))
    rc, out, err = bmd.bmdctl("inspect", "o")
    assert (rc, err) == (0, ""), err
    # -h com0 with a com1; /bsd.upgrade while executable, on MBR slot 4
    assert out == ("installcmd = kopenbsd -h com0 /7.6/amd64/bsd.rd\\nboot\\n\n"
                   "loadcmd = kopenbsd -h com0 -r sd0a (hd0,4)/bsd.upgrade"
                   "\\nboot\\n\n"), out
    # plain ISO 9660 names (NETBSD.;1), UFS1 on GPT entry 2, no com1
    rc, out, err = bmd.bmdctl("inspect", "n")
    assert rc == 0, err
    assert out == ("installcmd = knetbsd -r cd0a /netbsd\\nboot\\n\n"
                   "loadcmd = knetbsd -r dk0a (hd0,2)/netbsd\\nboot\\n\n"), out
    # once booted, OpenBSD's loader clears the bit: /bsd again
    rc, out, err = bmd.bmdctl("inspect", "plain")
    assert rc == 0
    assert "loadcmd = kopenbsd -r sd0a (hd0,4)/bsd\\nboot\\n\n" in out, out
    assert "installcmd = (null)\n" in out
    assert err == "bmdctl: inspect: installcmd: the VM has no iso to inspect\n"


def test_inspect_says_what_is_wrong_with_each_image(bmd):
    empty_fs = bsdimg.ffs(path(bmd, "e.ffs"), {"etc/motd": b"hi"})
    no_kernel = bsdimg.gpt_disk(path(bmd, "e.img"), [(3, "openbsd", empty_fs),
                                                     (5, "netbsd", empty_fs)])
    linux_only = bsdimg.mbr_disk(path(bmd, "l.img"), [(1, "linux", None)])
    raw = path(bmd, "raw.img")
    with open(raw, "wb") as f:
        f.truncate(1 << 20)
    bmd.write_config(vm("a", iso=raw, disk=no_kernel),
                     vm("b", iso=no_kernel, disk=linux_only),
                     vm("c", iso=bsdimg.iso(path(bmd, "x.iso"), {"a/b": b"c"}),
                        disk=raw))
    rc, out, err = bmd.bmdctl("inspect", "a")
    assert rc == 1 and out == "installcmd = (null)\nloadcmd = (null)\n"
    assert err == ("bmdctl: inspect: installcmd: %s: not an ISO 9660 image\n"
                   "bmdctl: inspect: loadcmd: %s: no /netbsd, /bsd.upgrade or "
                   "/bsd at the root of its UFS partitions (p3 p5)\n"
                   % (raw, no_kernel)), err
    rc, out, err = bmd.bmdctl("inspect", "b")
    assert rc == 1
    assert "loadcmd: %s: no partition holds a UFS file system" % linux_only in err
    rc, out, err = bmd.bmdctl("inspect", "c")
    assert rc == 1
    assert "installcmd: %s: neither a NetBSD kernel" % path(bmd, "x.iso") in err
    assert "loadcmd: %s: no MBR or GPT partition table" % raw in err
    rc, out, err = bmd.bmdctl("inspect", "nosuch")
    assert rc == 1 and "no VM named 'nosuch'" in err


def test_auto_types_what_the_disk_holds_at_each_start(bmd, sim, consoles):  # noqa: F811
    disk = openbsd_disk(bmd)
    bmd.start(vm("g", iso=openbsd_iso(bmd), disk=disk, com1="auto"))
    boot(bmd, "g")
    assert typed(sim, "g") == ["kopenbsd -h com0 -r sd0a (hd0,4)/bsd.upgrade",
                               "boot"]
    assert "loadcmd = auto: kopenbsd -h com0 -r sd0a (hd0,4)/bsd.upgrade" \
        in bmd.log_text()
    # the upgrade is done (the bit is cleared): the next boot reads again
    os.rename(openbsd_disk(bmd, "o2.img", upgrade=0o644), disk)
    type_line(bmd, consoles, "g", "reboot").close()
    sim.wait_calls(2, "grub-bhyve", "start", "g")
    wait_until(lambda: typed(sim, "g")[2:] ==
               ["kopenbsd -h com0 -r sd0a (hd0,4)/bsd", "boot"], 20,
               "/bsd typed after the reboot")
    # install mode reads the ISO
    rc, out, err = bmd.bmdctl("poweroff", "-w", "g")
    assert rc == 0, err
    rc, out, err = bmd.bmdctl("install", "g")
    assert rc == 0, err
    wait_until(lambda: typed(sim, "g")[4:] ==
               ["kopenbsd -h com0 /7.6/amd64/bsd.rd", "boot"], 20,
               "installcmd typed")


def test_auto_refuses_to_start_without_a_kernel(bmd, sim):  # noqa: F811
    linux_only = bsdimg.mbr_disk(path(bmd, "l.img"), [(1, "linux", None)])
    bmd.start(vm("k", disk=linux_only, com1="auto"))
    rc, out, err = bmd.bmdctl("boot", "k")
    assert rc != 0
    assert ("loadcmd = auto: %s: no partition holds a UFS file system"
            % linux_only) in err, err
    assert bmd.state("k") == "STOP"
    assert sim.calls("grub-bhyve") == [] and sim.calls("bhyve") == []
    # the daemon answers on, and a fixed disk boots
    os.rename(openbsd_disk(bmd), linux_only)
    boot(bmd, "k")
    assert typed(sim, "k") == ["kopenbsd -h com0 -r sd0a (hd0,4)/bsd.upgrade",
                               "boot"]


def test_a_reboot_onto_a_disk_without_a_kernel_says_why(bmd, sim, consoles):  # noqa: F811
    disk = openbsd_disk(bmd)
    bmd.start(vm("r", disk=disk, com1="auto"))
    boot(bmd, "r")
    os.rename(bsdimg.mbr_disk(path(bmd, "l.img"), [(1, "linux", None)]), disk)
    type_line(bmd, consoles, "r", "reboot").close()
    bmd.wait_state("r", "FAILED")     # as a crash loop ends
    stop = bmd.vm("r")["last_stop"]
    assert stop["reason"] == "failed", stop
    assert ("loadcmd = auto: %s: no partition holds a UFS file system"
            % disk) in stop["text"], stop
    assert len(sim.calls("grub-bhyve", "start", "r")) == 1
