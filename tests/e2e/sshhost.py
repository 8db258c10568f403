"""Remote hosts for `bmdctl -H` (test_remote.py, bench/remote-list): each one
a network namespace joined to this one by a veth pair (10.250.N.1 here,
10.250.N.2 there), with its own sshd and its own bmd.

Inside a host's sshd (and so in every ssh session) a private mount namespace
shows the host's own files at the built-in default paths, as on a real host:
its run directory over the default socket directory (/run: bmd.sock and
sshd's privilege separation directory), its configuration directory over the
default configuration's, and the bmdctl under test in /usr/local/bin.  So
`bmdctl -H ssh://user@10.250.N.2 list` needs no -s or -f.

Keys are made here: host keys per host, a client key per user, and the
authorized keys in one directory (AuthorizedKeysFile KEYS/%u), so no home
directory is needed.  Users are made by the caller (useradd)."""

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

import bmdtest


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60, **kw)
    if p.returncode != 0:
        raise bmdtest.TestError("%s: status %d: %s" % (" ".join(argv), p.returncode,
                                                       p.stderr.strip()))
    return p.stdout


def defaults():
    """The default configuration and socket bmdctl was built with."""
    out = run([os.path.join(bmdtest.BUILD, "bmdctl"), "-h"])
    conf = re.search(r"configuration file \(default (\S+)\)", out).group(1)
    sock = re.search(r"else (\S+)\)", out).group(1)
    for d in (os.path.dirname(conf), os.path.dirname(sock)):
        if d in ("/", "/etc", "/usr", "/var") or not os.path.isdir(d):
            raise bmdtest.TestError("bmdctl built with defaults (%s, %s) that a "
                                    "host namespace cannot cover" % (conf, sock))
    return conf, sock


class Keys:
    """Client keys (one per user), authorized_keys, known_hosts."""

    def __init__(self, top):
        self.dir = os.path.join(top, "keys")
        self.auth = os.path.join(self.dir, "authorized")
        self.known = os.path.join(self.dir, "known_hosts")
        os.makedirs(self.auth)
        for d in (top, self.dir, self.auth):
            os.chmod(d, 0o755)
        open(self.known, "w").close()
        os.chmod(self.known, 0o644)
        self.private = {}

    def add_user(self, user):
        """A key pair for user: private key theirs alone, public authorized."""
        pw = pwd.getpwnam(user)
        d = os.path.join(self.dir, "id-" + user)
        os.mkdir(d, 0o700)
        key = os.path.join(d, "id_ed25519")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", user, "-f", key])
        for p in (d, key, key + ".pub"):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        shutil.copy(key + ".pub", os.path.join(self.auth, user))
        os.chmod(os.path.join(self.auth, user), 0o644)
        self.private[user] = key

    def ssh_command(self, user, extra=""):
        """BMD_SSH for user: their key, our known hosts, no ~/.ssh."""
        return ("ssh -F /dev/null -i %s -o UserKnownHostsFile=%s "
                "-o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10%s"
                % (self.private[user], self.known, extra))


class Host:
    """One remote host: netns, veth, sshd and bmd (bmdtest.Bmd)."""

    def __init__(self, top, index, keys, tag):
        self.index = index
        self.keys = keys
        self.netns = "%s-h%d" % (tag, index)
        self.veth = "%sv%d" % (tag[:8], index)
        self.addr = "10.250.%d.2" % index
        self.dir = os.path.join(top, "h%d" % index)
        self.rundir = os.path.join(self.dir, "run")     # over /run
        self.etcdir = os.path.join(self.dir, "etc")     # over /usr/local/etc
        self.bindir = os.path.join(self.dir, "bin")     # over /usr/local/bin
        for d in (self.dir, self.rundir, os.path.join(self.rundir, "sshd"),
                  self.etcdir, self.bindir):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        shutil.copy(os.path.join(bmdtest.BUILD, "bmdctl"), self.bindir)
        self.sshd_log = os.path.join(self.dir, "sshd.log")
        self.sshd = None
        self.bmd = bmdtest.Bmd(prefix="bmd-rem-")
        os.chmod(self.bmd.dir, 0o755)
        self.bmd.sock = os.path.join(self.rundir, "bmd.sock")
        self.bmd.conf = os.path.join(self.etcdir, "bmd.conf")
        self.bmd.global_extra = "\tcmd_socket_mode = 0666;\n"
        self.bmd.wrap = ["ip", "netns", "exec", self.netns]
        self.up = False

    # ---- network ----
    def network(self):
        run(["ip", "netns", "add", self.netns])
        self.up = True
        run(["ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0",
             "netns", self.netns])
        run(["ip", "addr", "add", "10.250.%d.1/24" % self.index, "dev", self.veth])
        run(["ip", "link", "set", self.veth, "up"])
        ns = ["ip", "netns", "exec", self.netns]
        run(ns + ["ip", "addr", "add", self.addr + "/24", "dev", "eth0"])
        run(ns + ["ip", "link", "set", "eth0", "up"])
        run(ns + ["ip", "link", "set", "lo", "up"])

    # ---- sshd ----
    def sshd_config(self):
        key = os.path.join(self.dir, "ssh_host_ed25519_key")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key])
        with open(key + ".pub") as f:
            pub = " ".join(f.read().split()[:2])
        with open(self.keys.known, "a") as f:
            f.write("%s %s\n" % (self.addr, pub))
        path = os.path.join(self.dir, "sshd_config")
        with open(path, "w") as f:
            f.write("ListenAddress %s\nHostKey %s\nPidFile %s\n"
                    "AuthorizedKeysFile %s/%%u\nStrictModes no\nUsePAM no\n"
                    "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                    "PermitRootLogin prohibit-password\nUseDNS no\nPrintMotd no\n"
                    "LogLevel VERBOSE\nMaxSessions 100\nMaxStartups 100\n"
                    % (self.addr, key, os.path.join(self.dir, "sshd.pid"),
                       self.keys.auth))
        return path

    def start_sshd(self):
        conf, sock = defaults()
        script = ("set -e; mount --bind %s %s; mount --bind %s %s; "
                  "mount --bind %s /usr/local/bin; exec /usr/sbin/sshd -D -f %s -E %s"
                  % (self.rundir, os.path.dirname(sock), self.etcdir,
                     os.path.dirname(conf), self.bindir, self.sshd_config(),
                     self.sshd_log))
        self.sshd = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "unshare", "--mount",
             "--propagation", "private", "sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        bmdtest.wait_until(lambda: "Server listening" in self.log() or
                           self.sshd.poll() is not None, 20, "sshd on " + self.addr)
        if self.sshd.poll() is not None:
            raise bmdtest.TestError("sshd on %s exited: %s" % (self.addr, self.log()))

    def log(self):
        try:
            with open(self.sshd_log) as f:
                return f.read()
        except OSError:
            return ""

    def sshd_pids(self):
        """Every sshd of this host: the listener and its sessions."""
        try:
            out = subprocess.run(["ip", "netns", "pids", self.netns],
                                 capture_output=True, text=True).stdout
        except OSError:
            return []
        return [int(p) for p in out.split()
                if (bmdtest.proc_cmdline(int(p)) or [""])[0].startswith("sshd")]

    def stop_sshd(self):
        """The host goes away for ssh: listener and open connections."""
        for p in self.sshd_pids():
            try:
                os.kill(p, signal.SIGTERM)
            except OSError:
                pass
        if self.sshd is not None:
            try:
                self.sshd.wait(10)
            except subprocess.TimeoutExpired:
                self.sshd.kill()
        bmdtest.wait_until(lambda: not self.sshd_pids(), 10, "sshd of %s to exit"
                           % self.addr)

    # ---- all ----
    def start(self, *vms):
        self.network()
        self.bmd.start(*vms)
        os.chmod(self.bmd.sock, 0o666)
        self.start_sshd()
        return self

    def cleanup(self):
        problems = []
        if self.up:
            self.stop_sshd()
        problems += self.bmd.cleanup()
        if self.up:
            subprocess.run(["ip", "netns", "del", self.netns])
            subprocess.run(["ip", "link", "del", self.veth], stderr=subprocess.DEVNULL)
        return problems


def make_top(prefix):
    top = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(top, 0o755)
    return top


def end_masters(user, hosts):
    """Close user's shared ssh connections (ControlPersist) at once."""
    pw = pwd.getpwnam(user)
    d = "/tmp/bmdctl-%d" % pw.pw_uid
    if os.path.isdir(d):
        for s in os.listdir(d):
            subprocess.run(["setpriv", "--reuid", str(pw.pw_uid), "--regid",
                            str(pw.pw_gid), "--init-groups", "ssh", "-F", "/dev/null",
                            "-o", "ControlPath=" + os.path.join(d, s), "-O", "exit",
                            "x"], capture_output=True, timeout=10)
        shutil.rmtree(d, ignore_errors=True)
    time.sleep(0.1)
