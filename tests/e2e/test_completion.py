"""bash and zsh completion: bash's completion functions are driven as
bash itself would (COMP_WORDS, COMP_CWORD, then the function), with the
bmdctl of the build on PATH and, for VM names, a real daemon."""

import os
import shlex
import shutil
import subprocess

import pytest

import bmdtest

COMP = os.path.join(bmdtest.TOP, "contrib", "completion")
BASH_COMP = os.path.join(COMP, "bmdctl.bash")
NOBODY = 65534


def complete(line, user=None, script=BASH_COMP, func=None):
    """The words bash offers for the last word of LINE ('' after a space)."""
    words = line.split()
    if line.endswith(" "):
        words.append("")
    func = func or "_" + words[0]
    prog = """
source %s
COMP_WORDS=(%s)
COMP_CWORD=%d
COMP_LINE=%s
COMP_POINT=${#COMP_LINE}
%s
printf '%%s\\n' "${COMPREPLY[@]}"
""" % (shlex.quote(script), " ".join(shlex.quote(w) for w in words),
       len(words) - 1, shlex.quote(line), func)
    env = dict(os.environ, PATH=bmdtest.BUILD + ":" + os.environ["PATH"])
    kw = {}
    if user is not None:
        kw = dict(user=user, group=user)
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], env=env,
                       capture_output=True, text=True, timeout=30, cwd="/", **kw)
    assert p.returncode == 0 and p.stderr == "", (line, p.stderr)
    return sorted(w for w in p.stdout.split("\n") if w)


def test_commands_and_prefixes():
    got = complete("bmdctl ")
    for c in ("boot", "start", "install", "shutdown", "stop", "poweroff", "reset",
              "list", "reload", "show", "console", "com1", "com4", "run", "help"):
        assert c in got, (c, got)
    assert complete("bmdctl bo") == ["boot"]
    assert complete("bmdctl sh") == ["show", "shutdown"]
    assert complete("bmdctl help sh") == ["show", "shutdown"]
    assert complete("bmdctl --v") == ["--version"]
    # after a global -s, the command comes next
    assert complete("bmdctl -s /nonexistent li") == ["list"]


def test_options_follow_each_commands_usage():
    assert complete("bmdctl boot -") == ["--help", "-c", "-q", "-t", "-w"]
    assert complete("bmdctl stop -") == ["--help", "-q", "-t", "-w"]
    assert complete("bmdctl list -") == ["--help", "--json", "-r", "-s"]
    assert complete("bmdctl console --") == ["--dump", "--force", "--help", "--json", "--port",
                                             "--raw", "--read-only", "--who"]
    assert complete("bmdctl run -") == ["--help", "-i", "-s"]
    assert complete("bmdctl list -s ") == ["id", "loader", "memory", "name", "ncpu",
                                          "owner", "state"]
    assert complete("bmdctl list -s st") == ["state"]
    assert complete("bmdctl show ") == ["com1", "com2", "com3", "com4", "command",
                                        "config", "console", "keys", "network"]


def test_remote_hosts_complete_commands_but_never_log_in(tmp_path):
    assert "-H" in complete("bmdctl -")
    assert complete("bmdctl -H ssh://u@h li") == ["list"]
    assert complete("bmdctl -H ") == ["ssh://"]
    (tmp_path / "hosts").write_text("ssh://u@h\n")
    assert complete("bmdctl -H @%s/ho" % tmp_path) == ["@%s/hosts" % tmp_path]
    # no VM names from a remote host: that would run ssh on every TAB
    # (an ssh that would say so on stderr, which complete() refuses)
    ssh = tmp_path / "ssh"
    ssh.write_text("#!/bin/sh\necho ssh was run >&2\nexit 255\n")
    ssh.chmod(0o755)
    os.environ["BMD_SSH"] = str(ssh)
    try:
        assert complete("bmdctl -H ssh://u@h boot ") == []
        assert complete("bmdctl -H ssh://u@h -s /x console a") == []
    finally:
        del os.environ["BMD_SSH"]
    assert "stdio" in complete("bmdctl ")
    assert complete("bmdctl stdio ") == []


def test_no_daemon_no_names_and_no_noise():
    # nothing at all, not even an error, when bmd is not running
    assert complete("bmdctl -s /nonexistent/bmd.sock boot ") == []
    assert complete("bmdctl -s /nonexistent/bmd.sock console a") == []


def test_vm_names_asked_of_bmd_with_the_callers_rights(bmd, guest):
    os.chmod(bmd.dir, 0o711)
    bmd.start(guest("alpha", "no"), guest("alps", "no", owner="nobody"),
              guest("beta", "no"))
    s = "bmdctl -s %s " % bmd.sock
    assert complete(s + "boot ") == ["alpha", "alps", "beta"]
    assert complete(s + "console al") == ["alpha", "alps"]
    assert complete(s + "show command b") == ["beta"]
    assert complete(s + "show keys ") == []
    # nobody sees its own VM only
    assert complete(s + "boot ", user=NOBODY) == ["alps"]
    assert complete(s + "reset a", user=NOBODY) == ["alps"]


def test_bmd_options():
    assert complete("bmd -", func="_bmd") == sorted(
        ["-F", "-f", "-n", "-P", "-p", "-m", "-h", "--help", "-V", "--version"])
    assert complete("bmd -m 06", func="_bmd") == ["0600", "0660", "0666"]


def test_bash_completion_loader_finds_the_installed_files(tmp_path):
    # installed as `make install` does, bash-completion loads them on demand
    dest = tmp_path / "dest"
    p = subprocess.run(["make", "-C", bmdtest.TOP, "BUILD=%s" % (tmp_path / "b"),
                        "DESTDIR=%s" % dest, "PREFIX=/usr", "install"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    share = dest / "usr/share"
    prog = """
source /usr/share/bash-completion/bash_completion
for c in bmdctl bmd; do _completion_loader $c; complete -p $c; done
"""
    env = dict(os.environ, XDG_DATA_DIRS=str(share), BASH_COMPLETION_USER_DIR="/nonexistent")
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", prog], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.stdout.split("\n")[:2] == ["complete -F _bmdctl bmdctl",
                                        "complete -F _bmd bmd"], p.stdout + p.stderr
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_zsh_completion_is_registered_by_compinit(tmp_path):
    for f in ("_bmdctl", "_bmd"):
        p = subprocess.run(["zsh", "-n", os.path.join(COMP, f)], capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0, p.stderr
    prog = ("fpath=(%s $fpath); autoload -U compinit; compinit -u -d %s; "
            "print -r -- $_comps[bmdctl] $_comps[bmd]") % (shlex.quote(COMP),
                                                          shlex.quote(str(tmp_path / "zd")))
    p = subprocess.run(["zsh", "-f", "-c", prog], capture_output=True, text=True,
                       timeout=60)
    assert p.stdout.strip() == "_bmdctl _bmd", p.stdout + p.stderr


ZSH_DRIVER = r"""
zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "PS1='> '; fpath=(%(comp)s \$fpath); autoload -U compinit; compinit -u -d %(dump)s; PATH=%(build)s:\$PATH"
zpty -w z "print RE''ADY"
zpty -r -m z out '*READY*'
zpty -n -w z %(line)s$'\t'
sleep 2
zpty -n -w z $'\n'
zpty -w z "print DO''NE"
all=
while zpty -r -t z chunk; do all+=$chunk; [[ $all == *DONE*DONE* ]] && break; sleep 0.1; done
print -r -- "$all"
"""


def zsh_complete_and_run(line, tmp_path):
    """Type LINE and TAB in an interactive zsh, then Enter: the output of the
    command that the completed line ran."""
    prog = ZSH_DRIVER % {"comp": shlex.quote(COMP), "dump": shlex.quote(str(tmp_path / "zd")),
                         "build": shlex.quote(bmdtest.BUILD), "line": shlex.quote(line)}
    p = subprocess.run(["zsh", "-f", "-c", prog], capture_output=True, text=True,
                       timeout=60)
    return p.stdout.replace("\r", "")


def test_zsh_completes_commands_options_and_vm_names(bmd, guest, tmp_path):
    out = zsh_complete_and_run("bmdctl help li", tmp_path)
    assert "usage: bmdctl [-f config] [-s socket] list" in out, out
    out = zsh_complete_and_run("bmdctl boot --he", tmp_path)
    assert "usage: bmdctl [-f config] [-s socket] boot|start" in out, out
    bmd.start(guest("alpha", "no"), guest("beta", "no"))
    out = zsh_complete_and_run("bmdctl -s %s -f %s show command alp" % (bmd.sock, bmd.conf),
                               tmp_path)
    assert "-name\nalpha" in out or "\nalpha\n" in out, out
