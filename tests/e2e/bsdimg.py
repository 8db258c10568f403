"""Images of OpenBSD and NetBSD media for loadcmd/installcmd = auto.

Not the systems themselves: file systems made by makefs(8) (NetBSD's,
packaged by Debian) holding files named like their kernels, ISO 9660 with
or without Rock Ridge, and disks with an MBR or a GPT written here.
"""

import os
import struct
import subprocess
import uuid
import zlib

MAKEFS = "/usr/sbin/makefs"
SECTOR = 512
MBR_TYPES = {"openbsd": 0xa6, "netbsd": 0xa9, "linux": 0x83}
GPT_TYPES = {"openbsd": "824cc7a0-36a8-11e3-890a-952519ad3f61",
             "netbsd": "49f48d5a-b10e-11dc-b99b-0019d1879648",
             "linux": "0fc63daf-8483-4772-8e79-3d69d8477de4"}


def tree(root, files):
    """files: {"7.6/amd64/bsd.rd": b"..." or (b"...", mode)}."""
    os.makedirs(root)
    for path, v in files.items():
        data, mode = v if isinstance(v, tuple) else (v, 0o644)
        p = os.path.join(root, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
    return root


def iso(path, files, rockridge=True):
    src = tree(path + ".d", files)
    opts = ["-o", "rockridge"] if rockridge else []
    subprocess.run([MAKEFS, "-t", "cd9660"] + opts + [path, src], check=True,
                   stdout=subprocess.DEVNULL)
    return path


def ffs(path, files, version=2, size="4m"):
    src = tree(path + ".d", files)
    subprocess.run([MAKEFS, "-t", "ffs", "-o", "version=%d" % version, "-s",
                    size, path, src], check=True, stdout=subprocess.DEVNULL)
    with open(path, "rb") as f:
        return f.read()


def _layout(parts, first=2048):
    """[(slot, kind, fs bytes or None)] -> [(slot, kind, start, sectors, fs)]."""
    out, lba = [], first
    for slot, kind, fs in parts:
        n = max(len(fs or b"") // SECTOR, 2048)
        out.append((slot, kind, lba, n, fs))
        lba += n
    return out, lba + 2048


def _write(path, layout, total, tables):
    with open(path, "wb") as f:
        f.truncate(total * SECTOR)
        for off, data in tables:
            f.seek(off)
            f.write(data)
        for _slot, _kind, start, _n, fs in layout:
            if fs:
                f.seek(start * SECTOR)
                f.write(fs)
    return path


def _mbr(entries):
    m = bytearray(SECTOR)
    for slot, ptype, start, n in entries:
        m[446 + 16 * (slot - 1):446 + 16 * slot] = struct.pack(
            "<B3sB3sII", 0, b"\0\0\0", ptype, b"\0\0\0", start, n)
    m[510:512] = b"\x55\xaa"
    return bytes(m)


def mbr_disk(path, parts):
    """parts: [(slot 1..4, "openbsd"|"netbsd"|"linux", fs bytes or None)]."""
    layout, total = _layout(parts)
    table = _mbr([(s, MBR_TYPES[k], st, n) for s, k, st, n, _ in layout])
    return _write(path, layout, total, [(0, table)])


def gpt_disk(path, parts):
    """parts: [(entry 1..128, kind, fs bytes or None)]: a GPT as UEFI has it."""
    layout, total = _layout(parts)
    entries = bytearray(128 * 128)
    for slot, kind, start, n, _ in layout:
        entries[128 * (slot - 1):128 * slot] = struct.pack(
            "<16s16sQQQ72s", uuid.UUID(GPT_TYPES[kind]).bytes_le,
            uuid.uuid4().bytes_le, start, start + n - 1, 0, b"\0" * 72)
    head = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0,
                       1, total - 1, 34, total - 34, uuid.uuid4().bytes_le, 2,
                       128, 128, zlib.crc32(entries))
    head = head[:16] + struct.pack("<I", zlib.crc32(head)) + head[20:]
    pmbr = _mbr([(1, 0xee, 1, min(total - 1, 0xffffffff))])
    return _write(path, layout, total, [(0, pmbr), (SECTOR, head),
                                        (2 * SECTOR, bytes(entries))])
