"""The manual pages are checked against the programs: mandoc's linter,
every key of the key table in bmd.conf(5), every bmdctl command and option
in bmdctl(8), every bmd option in bmd(8), and statements that once were
wrong."""

import json
import os
import re
import stat
import subprocess

import pytest

import bmdtest

MAN = os.path.join(bmdtest.TOP, "man")
PAGES = sorted(f for f in os.listdir(MAN) if re.search(r"\.[1-9]$", f))
BMD = os.path.join(bmdtest.BUILD, "bmd")
BMDCTL = os.path.join(bmdtest.BUILD, "bmdctl")
# depends on the host's manual database, not on the page (see Makefile)
HOST_DEPENDENT = ("referenced manual not found", "outdated mandoc.db")


def page(name):
    with open(os.path.join(MAN, name)) as f:
        return f.read()


def run(*argv):
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def macro_args(text, macro):
    """The first argument of every MACRO call (.Ic x, Ic x inside a line)."""
    return set(re.findall(r"(?:^\.|\s)%s (\S+)" % macro, text, re.M))


def flags(text):
    """Every Fl argument: "c" for Fl c, "-json" for Fl \\-json."""
    return {f.replace("\\-", "-") for f in macro_args(text, "Fl")}


def usage_options(usage):
    """-c, -s, --json ... of a usage text."""
    return set(re.findall(r"\[(--?[A-Za-z0-9][A-Za-z0-9-]*)", usage)) | \
        {"-" + c for c in re.findall(r"\[-([A-Za-z0-9]+)\]", usage) for c in c}


@pytest.mark.parametrize("name", PAGES)
def test_mandoc_lint_style_clean(name):
    rc, out, err = run("mandoc", "-Tlint", "-W", "style", os.path.join(MAN, name))
    msgs = [l for l in (out + err).splitlines()
            if l and not any(h in l for h in HOST_DEPENDENT)]
    assert msgs == []


def test_every_key_of_the_key_table_is_in_bmd_conf_5():
    rc, out, err = run(BMDCTL, "show", "keys", "--json")
    assert rc == 0, err
    keys = json.loads(out)
    names = {k["name"] for k in keys} | {k["alias"] for k in keys if k["alias"]}
    assert {"memory", "cmd_socket_path", "console_buffer", "user_bridges"} <= names
    # the listing is fed by the key table's help texts
    assert all(k["help"] for k in keys), [k["name"] for k in keys if not k["help"]]
    documented = macro_args(page("bmd.conf.5"), "Ic")
    assert sorted(names - documented) == []
    rc, text, err = run(BMDCTL, "show", "keys")
    for k in keys:
        assert re.search(r"^%s\s+%s\b.*%s" % (k["section"], re.escape(k["name"]),
                                              re.escape(k["help"])), text, re.M), k


def test_plugin_keys_are_listed_and_in_their_plugins_page(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("global { plugin_directory = %s; }\n"
                    % os.path.join(bmdtest.BUILD, "plugins"))
    rc, out, err = run(BMDCTL, "-f", str(conf), "show", "keys", "--json")
    assert rc == 0, err
    plugin = {k["name"] for k in json.loads(out) if k["plugin"]}
    assert {"hookcmd", "prestart", "poststop"} <= plugin, plugin
    documented = macro_args(page("bmd-hookcmd.8"), "Ic")
    example = {"example_refuse", "example_delay"}   # plugins/example: not installed
    assert sorted(plugin - documented - example) == []


def test_every_bmdctl_command_and_option_is_in_bmdctl_8():
    text = page("bmdctl.8")
    cmds, fls = macro_args(text, "Ic"), flags(text)
    rc, out, err = run(BMDCTL, "help")
    assert rc == 0
    names = re.findall(r"^  ([a-z0-9]+)(?:\|([a-z]+))?", out, re.M)
    assert len(names) > 10
    missing = []
    for name, alias in names:
        for n in filter(None, (name, alias)):
            if n not in cmds:
                missing.append(n)
        rc, usage, err = run(BMDCTL, "help", name)
        usage = usage.split("\n")[0].split("[-s socket]", 1)[1]
        for opt in usage_options(usage):
            if opt.lstrip("-") not in fls and opt[1:] not in fls:
                missing.append("%s %s" % (name, opt))
    rc, usage, err = run(BMDCTL, "help", "show")
    subs = re.findall(r"(?:show |\| )([a-z]+)", usage.split("\n")[0])
    assert {"config", "command", "keys"} <= set(subs), subs
    for sub in subs:
        if not re.search(r"^\.It Ic show %s\b" % sub, text, re.M):
            missing.append("show " + sub)
    for opt in ("f", "s", "H", "h", "-help", "V", "-version"):
        if opt not in fls:
            missing.append("-" + opt)
    assert missing == []


def test_every_bmd_option_is_in_bmd_8():
    rc, out, err = run(BMD, "-h")
    assert rc == 0
    opts = usage_options(out.split("\n")[0])
    assert {"-F", "-n", "-V", "-f", "-P", "-p", "-m"} <= opts, opts
    fls = flags(page("bmd.8"))
    assert sorted(o for o in opts if o[1:] not in fls) == []
    assert {"h", "-help", "V", "-version"} <= fls


def test_compatibility_lists_the_new_global_keys():
    compat = page("bmd.conf.5").split(".Sh COMPATIBILITY", 1)[1].split(".Sh ", 1)[0]
    new = compat.split("New keys:", 1)[1].split(".It", 1)[0]
    for key in ("console_buffer", "user_bridges", "freebsd_version", "run_directory"):
        assert ".Ic %s" % key in new, key


def test_backend_refusals_read_as_bmd_does(tmp_path):
    # bmd.conf(5): qemu refuses x2apic set to any value, bhyve accel even auto
    cases = [("x2apic = no; kernel = /etc/hostname;", "x2apic", "qemu"),
             ("backend = bhyve; loader = uefi; disk = noexist:/x.img; accel = auto;",
              "accel", "bhyve")]
    for body, key, be in cases:
        conf = tmp_path / "c.conf"
        conf.write_text("vm a { memory = 64M; boot = no; %s }\n" % body)
        rc, out, err = run(BMD, "-n", "-f", str(conf))
        assert rc == 1 and '"%s" is not supported by the %s backend' % (key, be) in err, err
    text = page("bmd.conf.5")
    assert ".Ql x2apic = yes" not in text
    assert "even set to\n.Cm auto" in text and "set to any value, even\n.Cm no" in text


def test_log_file_mode_is_the_one_documented(bmd, guest):
    text = page("bmd.8")
    documented = set(re.findall(r"Ic err_logfile\nof a VM is created with mode (0\d{3})",
                                text)) | \
        set(re.findall(r"Ic console_logfile ,\nwhich bmd creates with mode (0\d{3})", text))
    logs = [os.path.join(bmd.dir, "g.log"), os.path.join(bmd.dir, "g.console")]
    bmd.start(guest("g", "yes", err_logfile=logs[0], console_logfile=logs[1]))
    bmd.wait_running("g")
    for log in logs:
        bmdtest.wait_until(lambda: os.path.exists(log), 30, log)
    modes = {"%04o" % stat.S_IMODE(os.stat(log).st_mode) for log in logs}
    assert len(documented) == 1 and documented == modes, (documented, modes)
