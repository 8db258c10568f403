"""`make install` and `make uninstall`: the binaries read the directories
they were installed into, everything listed is installed with the built
paths, an administrator's bmd.conf is never overwritten, and uninstall
leaves nothing of ours behind."""

import os
import shutil
import subprocess

import pytest

import bmdtest

TOP = bmdtest.TOP

# What a PREFIX=/usr (Debian) install holds, relative to DESTDIR.
DEBIAN_FILES = {
    "etc/bmd.conf", "etc/bmd.conf.example",
    "usr/sbin/bmd", "usr/sbin/bmdctl",
    "usr/libexec/bmd/hookcmd.so",
    "usr/libexec/bmd/avahi.so",
    "usr/include/bmd/plugin.h",
    "usr/lib/pkgconfig/bmd-plugin.pc",
    "usr/lib/systemd/system/bmd.service",
    "usr/share/bash-completion/completions/bmdctl",
    "usr/share/bash-completion/completions/bmd",
    "usr/share/zsh/vendor-completions/_bmdctl",
    "usr/share/zsh/vendor-completions/_bmd",
    "usr/share/man/man3/bmd-plugin.3",
    "usr/share/man/man5/bmd.conf.5",
    "usr/share/man/man8/bmd.8",
    "usr/share/man/man8/bmdctl.8",
    "usr/share/man/man8/bmd-hookcmd.8",
    "usr/share/man/man8/bmd-avahi.8",
}


def make(tmp, *args):
    p = subprocess.run(["make", "-C", TOP, "-j2", "BUILD=%s" % tmp.joinpath("build")]
                       + list(args), capture_output=True, text=True, timeout=550)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    return p.stdout


def files(root):
    out = set()
    for d, _, names in os.walk(root):
        for n in names:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def run(*argv):
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def tmp(tmp_path):
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_debian_layout_install_and_uninstall(tmp):
    dest = tmp / "dest"
    make(tmp, "DESTDIR=%s" % dest, "PREFIX=/usr", "install")
    assert files(dest) == DEBIAN_FILES
    sbin = dest / "usr/sbin"
    # the binaries were built with the directories they were installed into
    rc, out, err = run(str(sbin / "bmd"), "-h")
    assert "(default /etc/bmd.conf)" in out, out
    rc, out, err = run(str(sbin / "bmdctl"), "-h")
    assert "(default /etc/bmd.conf)" in out and "/run/bmd.sock" in out, out
    # the installed configuration is valid and names the built paths
    conf = (dest / "etc/bmd.conf").read_text()
    assert "plugin_directory = /usr/libexec/bmd;" in conf
    assert "vars_directory = /var/cache/bmd;" in conf
    rc, out, err = run(str(sbin / "bmd"), "-n", "-f", str(dest / "etc/bmd.conf"))
    assert rc == 0 and "configuration OK (0 VMs)" in err, err
    example = (dest / "etc/bmd.conf.example").read_text()
    assert "plugin_directory = /usr/libexec/bmd;" in example
    assert "${LOCALBASE}/libexec" not in example
    # the unit runs the installed binary
    unit = (dest / "usr/lib/systemd/system/bmd.service").read_text()
    assert "ExecStart=/usr/sbin/bmd -F\n" in unit and "@" not in unit
    # the installed pages name the installed paths
    page = (dest / "usr/share/man/man8/bmd.8").read_text()
    assert ".Pa /etc/bmd.conf" in page and "/usr/local/etc/bmd.conf" not in page
    assert "/usr/local/libexec/bmd" not in page
    for rel in DEBIAN_FILES:
        mode = os.stat(dest / rel).st_mode & 0o777
        want = 0o755 if rel.startswith("usr/sbin/") or rel.endswith(".so") else 0o644
        assert mode == want, (rel, oct(mode))
    make(tmp, "DESTDIR=%s" % dest, "PREFIX=/usr", "uninstall")
    assert files(dest) == set()


def test_plugin_sdk_builds_through_pkg_config(tmp):
    dest = tmp / "dest"
    make(tmp, "DESTDIR=%s" % dest, "PREFIX=/usr", "install")
    pc = (dest / "usr/lib/pkgconfig/bmd-plugin.pc").read_text()
    assert "includedir=/usr/include\n" in pc and "plugindir=/usr/libexec/bmd\n" in pc
    env = dict(os.environ, PKG_CONFIG_PATH=str(dest / "usr/lib/pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=str(dest))
    p = subprocess.run(["pkg-config", "--cflags", "bmd-plugin"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    cflags = p.stdout.split()
    assert cflags == ["-I%s/usr/include" % dest]
    # the example of bmd-plugin(3), compiled against the installed header only
    page = (dest / "usr/share/man/man3/bmd-plugin.3").read_text()
    src = page.split("#include <bmd/plugin.h>", 1)[1].split(".Ed", 1)[0]
    (tmp / "p.c").write_text("#include <bmd/plugin.h>\n" + src.replace("\\e", "\\"))
    p = subprocess.run(["cc", "-std=c17", "-Wall", "-Werror", "-fPIC", "-shared"]
                       + cflags + ["-o", str(tmp / "statelog.so"), str(tmp / "p.c")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    # and bmd loads it: its keys and ABI are checked by bmd -n
    (tmp / "plug").mkdir()
    shutil.copy(tmp / "statelog.so", tmp / "plug")
    (tmp / "c.conf").write_text("global { plugin_directory = %s; }\n" % (tmp / "plug"))
    rc, out, err = run(os.path.join(bmdtest.BUILD, "bmd"), "-n", "-f", str(tmp / "c.conf"))
    assert rc == 0 and "bmd: plugin" not in err, err   # "bmd: plugin P: ...: not loaded"
    make(tmp, "DESTDIR=%s" % dest, "PREFIX=/usr", "uninstall")


def test_existing_bmd_conf_is_never_overwritten_nor_removed(tmp):
    dest = tmp / "dest"
    (dest / "etc").mkdir(parents=True)
    (dest / "etc/bmd.conf").write_text("# the administrator's\n")
    make(tmp, "DESTDIR=%s" % dest, "PREFIX=/usr", "install")
    assert (dest / "etc/bmd.conf").read_text() == "# the administrator's\n"
    assert (dest / "etc/bmd.conf.example").exists()
    make(tmp, "DESTDIR=%s" % dest, "PREFIX=/usr", "uninstall")
    assert files(dest) == {"etc/bmd.conf"}


def test_ports_layout_and_a_changed_prefix_rebuilds(tmp):
    dest = tmp / "dest"
    make(tmp, "DESTDIR=%s" % dest, "PREFIX=/usr", "all")
    # the same build directory, another PREFIX: the binaries follow it
    make(tmp, "DESTDIR=%s" % dest, "PREFIX=/usr/local", "install")
    got = files(dest)
    for rel in ("usr/local/etc/bmd.conf", "usr/local/sbin/bmd",
                "usr/local/libexec/bmd/hookcmd.so",
                "usr/local/share/zsh/site-functions/_bmdctl",
                "usr/local/share/man/man8/bmd.8"):
        assert rel in got, (rel, sorted(got))
    rc, out, err = run(str(dest / "usr/local/sbin/bmd"), "-h")
    assert "(default /usr/local/etc/bmd.conf)" in out, out
    conf = (dest / "usr/local/etc/bmd.conf").read_text()
    assert "plugin_directory = /usr/local/libexec/bmd;" in conf
    assert "vars_directory = /usr/local/var/cache/bmd;" in conf
    make(tmp, "DESTDIR=%s" % dest, "PREFIX=/usr/local", "uninstall")
    assert files(dest) == set()


def test_rc_d_script_follows_rc_subr(tmp):
    # the shape rc.subr(8) expects, and the built paths in the copy made
    path = os.path.join(TOP, "contrib/rc.d/bmd")
    assert os.access(path, os.X_OK)
    rc, out, err = run("sh", "-n", path)
    assert rc == 0, err
    text = open(path).read()
    for want in ("# PROVIDE: bmd", ". /etc/rc.subr", "rcvar=bmd_enable",
                 ": ${bmd_enable:=NO}", ": ${bmd_config:=", "sig_reload=HUP",
                 'extra_commands="reload configtest"', '-n -f "${bmd_config}"',
                 'run_rc_command "$1"'):
        assert want in text, want
    make(tmp, "PREFIX=/opt/bmd", "SYSCONFDIR=/opt/etc", "%s/bmd.rc" % tmp.joinpath("build"))
    built = tmp.joinpath("build/bmd.rc").read_text()
    assert "command=/opt/bmd/sbin/bmd\n" in built
    assert ": ${bmd_config:=/opt/etc/bmd.conf}" in built


def test_rc_d_script_drives_a_real_bmd(tmp, guest):
    """start, status, reload, configtest and stop through the script, with a
    stand-in for FreeBSD's rc.subr (tests/e2e/standin/rc.subr)."""
    make(tmp, "SBINDIR=%s" % bmdtest.BUILD, "RUNDIR=%s" % tmp,
         "%s/bmd.rc" % tmp.joinpath("build"))
    standin = os.path.join(bmdtest.HERE, "standin", "rc.subr")
    script = tmp / "bmd.rc"
    script.write_text(tmp.joinpath("build/bmd.rc").read_text()
                      .replace(". /etc/rc.subr", ". %s" % standin))
    conf, sock = tmp / "bmd.conf", tmp / "bmd.sock"
    glob = ("global {\n\tcmd_socket_path = %s;\n\trun_directory = %s;\n"
            "\tvars_directory = %s;\n}\n" % (sock, tmp / "run", tmp / "vars"))
    conf.write_text(glob + guest("one", "no"))
    rcconf = tmp / "rc.conf"
    rcconf.write_text('bmd_config=%s\nbmd_flags="-m 0600"\n' % conf)
    env = dict(os.environ, RC_CONF=str(rcconf))

    def rc(cmd):
        p = subprocess.run(["sh", str(script), cmd], env=env, capture_output=True,
                           text=True, timeout=120, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout + p.stderr

    def names():
        r, out, err = run(os.path.join(bmdtest.BUILD, "bmdctl"), "-s", str(sock), "list")
        assert r == 0, err
        return [line.split()[1] for line in out.splitlines()[2:]]

    # bmd_enable defaults to NO
    code, out = rc("start")
    assert code != 0 and "Set bmd_enable to YES" in out, out
    rcconf.write_text(rcconf.read_text() + "bmd_enable=YES\n")
    code, out = rc("configtest")
    assert code == 0 and "configuration OK (1 VM)" in out, out
    pidfile = tmp / "bmd.pid"
    try:
        code, out = rc("start")
        assert code == 0, out
        pid = int(pidfile.read_text())
        assert bmdtest.pid_alive(pid)
        assert os.stat(sock).st_mode & 0o777 == 0o600        # bmd_flags
        assert rc("status") == (0, "bmd is running as pid %d.\n" % pid)
        assert names() == ["one"]
        conf.write_text(glob + guest("one", "no") + guest("two", "no"))
        code, out = rc("reload")                             # SIGHUP
        assert code == 0, out
        bmdtest.wait_until(lambda: names() == ["one", "two"], 30, "the reload")
        conf.write_text(glob + "vm bad { memory = lots; }\n")
        code, out = rc("configtest")
        assert code == 1 and "memory" in out, out
        code, out = rc("stop")
        assert code == 0, out
        assert not bmdtest.pid_alive(pid) and not pidfile.exists()
    finally:
        if pidfile.exists() and bmdtest.pid_alive(int(pidfile.read_text())):
            os.kill(int(pidfile.read_text()), 15)


# ---- the Debian packages, built and installed on this machine ----

PACKAGES = ("bmd", "bmd-dev")


def installed(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, text=True)
    return p.returncode == 0 and "installed" in p.stdout.split()


def build_packages(tmp):
    """dpkg-buildpackage on a copy of the tree: it writes into the parent."""
    src = tmp / "src" / "bmd"
    src.mkdir(parents=True)
    ls = subprocess.run(["git", "-C", TOP, "ls-files", "-co", "--exclude-standard", "-z"],
                        capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, ls):
        if os.path.isfile(os.path.join(TOP, rel)):
            os.makedirs(src / os.path.dirname(rel), exist_ok=True)
            shutil.copy2(os.path.join(TOP, rel), src / rel)
    p = subprocess.run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=src,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
    debs = {n.split("_")[0]: str(tmp / "src" / n) for n in os.listdir(tmp / "src")
            if n.endswith(".deb") and "dbgsym" not in n}
    assert set(debs) == set(PACKAGES), debs
    changes = [str(tmp / "src" / n) for n in os.listdir(tmp / "src") if n.endswith(".changes")]
    return debs, changes[0]


def deb_paths(deb):
    """The package's files, and the directories that are its own."""
    out = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                         check=True).stdout
    paths = []
    for line in out.splitlines():
        path = line.split()[5][1:].rstrip("/")
        if line.startswith("d") and "bmd" not in os.path.basename(path):
            continue                    # /usr, /usr/share/man/man8, ...
        paths.append(path)
    assert "/usr/sbin/bmd" in paths or "/usr/include/bmd/plugin.h" in paths, paths
    return paths


def test_debian_package_installs_runs_and_purges_clean(tmp):
    # never purge an installation this test did not make
    assert not any(installed(p) for p in PACKAGES), "bmd is already installed here"
    debs, changes = build_packages(tmp)
    p = subprocess.run(["lintian", changes], capture_output=True, text=True, timeout=300)
    errors = [l for l in p.stdout.splitlines() if l.startswith("E:")]
    assert errors == [], p.stdout
    leftovers_before = {x for x in LEFTOVERS if os.path.lexists(x)}
    files = [f for d in debs.values() for f in deb_paths(d)]
    try:
        p = subprocess.run(["dpkg", "-i", debs["bmd"], debs["bmd-dev"]],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
        assert all(installed(p) for p in PACKAGES)
        # bmd -n with no -f reads /etc/bmd.conf, and the shipped one is valid
        rc, out, err = run("/usr/sbin/bmd", "-n")
        assert (rc, err) == (0, "/etc/bmd.conf: configuration OK (0 VMs)\n")
        assert "/etc/bmd.conf" in subprocess.run(
            ["dpkg-query", "-W", "-f=${Conffiles}", "bmd"], capture_output=True,
            text=True).stdout
        unit = "/lib/systemd/system/bmd.service"
        assert "ExecStart=/usr/sbin/bmd -F\n" in open(unit).read()
        if shutil.which("systemd-analyze"):
            rc, out, err = run("systemd-analyze", "verify", unit)
            assert rc == 0, out + err
        # not enabled nor started: bmd.conf is to be written first
        assert not os.path.lexists("/etc/systemd/system/multi-user.target.wants/bmd.service")
        rc, out, err = run("pkg-config", "--variable=plugindir", "bmd-plugin")
        assert (rc, out) == (0, "/usr/libexec/bmd\n"), err
        assert os.path.exists("/usr/share/bash-completion/completions/bmdctl")
        assert os.path.exists("/usr/share/man/man3/bmd-plugin.3.gz")
    finally:
        p = subprocess.run(["dpkg", "--purge"] + list(PACKAGES), capture_output=True,
                           text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert not any(installed(p) for p in PACKAGES)
    left = [f for f in files if os.path.lexists(f)]
    assert left == [], left
    assert {x for x in LEFTOVERS if os.path.lexists(x)} == leftovers_before


# What an install or a purge could leave besides the packages' own files.
LEFTOVERS = ["/etc/bmd.conf", "/etc/bmd.conf.example", "/var/cache/bmd",
             "/var/lib/dpkg/info/bmd.list", "/var/lib/dpkg/info/bmd.conffiles",
             "/var/lib/dpkg/info/bmd-dev.list",
             "/var/lib/systemd/deb-systemd-helper-enabled/bmd.service.dsh-also",
             "/var/lib/systemd/deb-systemd-helper-masked/bmd.service",
             "/etc/systemd/system/multi-user.target.wants/bmd.service"]
