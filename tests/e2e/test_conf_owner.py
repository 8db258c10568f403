"""Ownership and includes of bmd.conf with real users and real files.

Users alice, bob and carol and the group staff (alice and carol are members)
are created with useradd/groupadd when missing and removed afterwards only if
this module created them.  Files are chown-ed to those users; `bmd -n` and
`bmdctl show config --json` run as root and, through setpriv, as the users.
These tests need root; they do not need QEMU or the test guest.
"""

import grp
import json
import os
import pwd
import shutil
import subprocess
import tempfile

import pytest

import bmdtest

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="creates users and chowns files: needs root")

USERS = ("alice", "bob", "carol")
STAFF = ("alice", "carol")


def _run(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def _in_group(user, group):
    g = grp.getgrnam(group)
    return user in g.gr_mem or pwd.getpwnam(user).pw_gid == g.gr_gid


@pytest.fixture(scope="module")
def users():
    """Make sure the accounts exist; undo only what was done here."""
    made_users, made_group, added = [], False, []
    try:
        if not _group_exists("staff"):
            _run(["groupadd", "staff"])
            made_group = True
        for u in USERS:
            if not _user_exists(u):
                _run(["useradd", "-M", "-U", "-d", "/nonexistent",
                      "-s", "/usr/sbin/nologin", u])
                made_users.append(u)
        for u in STAFF:
            if not _in_group(u, "staff"):
                _run(["usermod", "-a", "-G", "staff", u])
                added.append(u)
        for u in USERS:
            if u not in STAFF and _in_group(u, "staff"):
                pytest.skip("%s is a member of staff on this system" % u)
        yield
    finally:
        for u in added:
            if u not in made_users:
                subprocess.run(["gpasswd", "-d", u, "staff"],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        for u in made_users:
            subprocess.run(["userdel", u], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        if made_group:
            subprocess.run(["groupdel", "staff"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def bins(users):
    """bmd and bmdctl copied where every user can run them."""
    d = tempfile.mkdtemp(prefix="bmd-owner-bin.", dir="/tmp")
    os.chmod(d, 0o755)
    for b in ("bmd", "bmdctl"):
        src = os.path.join(bmdtest.BUILD, b)
        if not os.path.exists(src):
            pytest.fail("missing %s (run make)" % src)
        shutil.copy(src, os.path.join(d, b))
        os.chmod(os.path.join(d, b), 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Confs:
    """A 0755 directory of configuration files owned by various users."""

    def __init__(self, bindir):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="bmd-owner.", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.bindir = bindir

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text, owner="root", mode=0o644):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), mode=0o755, exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        pw = pwd.getpwnam(owner)
        os.chown(p, pw.pw_uid, pw.pw_gid)
        return p

    def symlink(self, name, target, owner):
        p = self.path(name)
        os.symlink(target, p)
        pw = pwd.getpwnam(owner)
        os.lchown(p, pw.pw_uid, pw.pw_gid)
        return p

    def _argv(self, prog, as_user):
        argv = [os.path.join(self.bindir, prog)]
        if as_user is not None:
            pw = pwd.getpwnam(as_user)
            argv = ["setpriv", "--reuid", str(pw.pw_uid), "--regid",
                    str(pw.pw_gid), "--init-groups"] + argv
        return argv

    def _strip(self, text):
        return text.replace(self.dir + "/", "")

    def check(self, main, as_user=None):
        """bmd -n: (exit status, stderr lines without the directory)."""
        r = subprocess.run(self._argv("bmd", as_user) + ["-n", "-f", self.path(main)],
                           capture_output=True, text=True, timeout=60,
                           env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "")})
        lines = [l for l in self._strip(r.stderr).splitlines()
                 if ": configuration OK (" not in l]
        return r.returncode, lines, r.stdout + r.stderr

    def show(self, main, as_user=None):
        """bmdctl show config --json: (status, {name: vm}, stderr lines)."""
        r = subprocess.run(self._argv("bmdctl", as_user) +
                           ["-f", self.path(main), "show", "config", "--json"],
                           capture_output=True, text=True, timeout=60,
                           env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "")})
        vms = {}
        if r.stdout.strip():
            for vm in json.loads(r.stdout):
                vms[vm["name"]] = vm
        return r.returncode, vms, self._strip(r.stderr).splitlines(), r.stdout + r.stderr

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def confs(bins):
    c = Confs(bins)
    yield c
    c.cleanup()


def has(lines, *parts):
    """True when one line contains every part."""
    return any(all(p in l for p in parts) for l in lines)


def vm_rejected(lines, conf, name):
    return has(lines, conf + ":", 'vm "%s" is not loaded because of the errors above' % name)


# ---- default owner and owner= ----

def test_default_owner_is_file_owner(confs):
    confs.write("main.conf", '.include "alice.conf";\nvm r { memory = 1G; keymap = $OWNER; }\n')
    confs.write("alice.conf", "vm a { memory = 1G; keymap = \"$OWNER:$GROUP\"; }\n",
                owner="alice")
    rc, lines, _ = confs.check("main.conf")
    assert (rc, lines) == (0, [])
    rc, vms, _, _ = confs.show("main.conf")
    assert rc == 0
    assert (vms["r"]["owner"], vms["r"]["group"], vms["r"]["keymap"]) == ("root", None, "root")
    assert (vms["a"]["owner"], vms["a"]["group"], vms["a"]["keymap"]) == ("alice", None, "alice:")
    assert vms["a"]["file"] == confs.path("alice.conf")


def test_user_cannot_give_vm_to_another_user(confs):
    confs.write("main.conf", '.include "alice.conf";\n')
    confs.write("alice.conf",
                "vm tobob {\n\tmemory = 1G;\n\towner = bob;\n}\n"
                "vm toroot {\n\tmemory = 1G;\n\towner = root;\n}\n"
                "vm self {\n\tmemory = 1G;\n\towner = alice;\n}\n", owner="alice")
    rc, lines, _ = confs.check("main.conf")
    # reported to root, but her errors fail her check, not root's
    assert rc == 0
    assert confs.check("main.conf", as_user="alice")[0] == 1
    assert has(lines, "alice.conf:3:10: ", '"owner"', "bob")
    assert vm_rejected(lines, "alice.conf:1:1", "tobob")
    assert has(lines, "alice.conf:7:10: ", '"owner"', "root")
    assert vm_rejected(lines, "alice.conf:5:1", "toroot")
    rc, vms, _, _ = confs.show("main.conf")
    assert rc == 1
    assert sorted(vms) == ["self"]
    assert vms["self"]["owner"] == "alice"


def test_user_may_name_her_own_groups(confs):
    confs.write("main.conf", '.include "*.user.conf";\n')
    confs.write("alice.user.conf",
                "vm a {\n\tmemory = 1G;\n\towner = alice:staff;\n"
                "\tkeymap = \"$OWNER:$GROUP\";\n}\n"
                "vm a2 {\n\tmemory = 1G;\n\towner = alice:alice;\n}\n", owner="alice")
    confs.write("carol.user.conf", "vm c {\n\tmemory = 1G;\n\towner = carol:staff;\n}\n",
                owner="carol")
    rc, lines, _ = confs.check("main.conf")
    assert (rc, lines) == (0, [])
    rc, vms, _, _ = confs.show("main.conf")
    assert rc == 0
    assert (vms["a"]["owner"], vms["a"]["group"], vms["a"]["keymap"]) == \
        ("alice", "staff", "alice:staff")
    assert (vms["a2"]["owner"], vms["a2"]["group"]) == ("alice", "alice")
    assert (vms["c"]["owner"], vms["c"]["group"]) == ("carol", "staff")


def test_user_cannot_name_a_foreign_group(confs):
    confs.write("main.conf", '.include "*.user.conf";\n')
    confs.write("alice.user.conf",
                "vm daemongrp {\n\tmemory = 1G;\n\towner = alice:daemon;\n}\n"
                "vm rootgrp {\n\tmemory = 1G;\n\towner = alice:root;\n}\n"
                "vm ok {\n\tmemory = 1G;\n}\n", owner="alice")
    confs.write("bob.user.conf", "vm b {\n\tmemory = 1G;\n\towner = bob:staff;\n}\n",
                owner="bob")
    rc, lines, _ = confs.check("main.conf")
    # reported to root, but her errors fail her check, not root's
    assert rc == 0
    assert confs.check("main.conf", as_user="alice")[0] == 1
    assert has(lines, "alice.user.conf:3:10: ", "alice is not a member of group daemon")
    assert vm_rejected(lines, "alice.user.conf:1:1", "daemongrp")
    assert has(lines, "alice.user.conf:7:10: ", "alice is not a member of group root")
    assert vm_rejected(lines, "alice.user.conf:5:1", "rootgrp")
    assert has(lines, "bob.user.conf:3:10: ", "bob is not a member of group staff")
    assert vm_rejected(lines, "bob.user.conf:1:1", "b")
    rc, vms, _, _ = confs.show("main.conf")
    assert sorted(vms) == ["ok"]


def test_root_file_may_give_vms_away(confs):
    confs.write("main.conf",
                "vm a { memory = 1G; owner = alice; }\n"
                "vm b { memory = 1G; owner = bob:staff; }\n"
                "vm c { memory = 1G; owner = carol:staff; }\n")
    rc, lines, _ = confs.check("main.conf")
    assert (rc, lines) == (0, [])
    rc, vms, _, _ = confs.show("main.conf")
    assert [(vms[n]["owner"], vms[n]["group"]) for n in "abc"] == \
        [("alice", None), ("bob", "staff"), ("carol", "staff")]


# ---- global sections ----

def test_global_section_in_user_file_is_ignored(confs):
    confs.write("main.conf",
                'global {\n\t$g = root;\n}\n.include "alice.conf";\n'
                "vm r {\n\tmemory = 1G;\n\tkeymap = $g;\n}\n")
    confs.write("alice.conf",
                "global {\n\t$g = alice;\n\t$only = alice;\n"
                "\tcmd_socket_path = /tmp/alice.sock;\n}\n"
                "vm a {\n\tmemory = 1G;\n\tkeymap = $g;\n}\n", owner="alice")
    rc, lines, _ = confs.check("main.conf")
    assert rc == 0
    # one warning, at the global keyword of alice's file
    assert len(lines) == 1, lines
    assert lines[0].startswith("alice.conf:1:1: warning: ") and "global" in lines[0]
    rc, vms, _, _ = confs.show("main.conf")
    assert rc == 0
    assert vms["r"]["keymap"] == "root"
    assert vms["a"]["keymap"] == "root"


def test_user_global_variables_do_not_exist(confs):
    confs.write("main.conf", '.include "alice.conf";\n')
    confs.write("alice.conf",
                "global {\n\t$only = alice;\n}\n"
                "vm a {\n\tmemory = 1G;\n\tkeymap = $only;\n}\n", owner="alice")
    rc, lines, _ = confs.check("main.conf")
    # reported to root, but her errors fail her check, not root's
    assert rc == 0
    assert confs.check("main.conf", as_user="alice")[0] == 1
    assert has(lines, "alice.conf:1:1: warning: ", "global")
    assert has(lines, "alice.conf:6:11: ${only} is undefined")
    assert vm_rejected(lines, "alice.conf:4:1", "a")


def test_user_main_file_global_ignored(confs):
    """A user checking her own file: still no global section for her."""
    confs.write("alice.conf",
                "global {\n\t$g = alice;\n}\n"
                "vm a {\n\tmemory = 1G;\n}\n", owner="alice")
    for who in (None, "alice"):
        rc, lines, _ = confs.check("alice.conf", as_user=who)
        assert rc == 0, (who, lines)
        assert len(lines) == 1 and has(lines, "alice.conf:1:1: warning: ", "global"), (who, lines)
        rc, vms, _, _ = confs.show("alice.conf", as_user=who)
        assert rc == 0
        assert vms["a"]["owner"] == "alice"


# ---- includes through a user's file ----

SECRET = "bmd-secret-marker-7f3a"


def test_user_include_of_root_only_file_is_refused(confs):
    confs.write("main.conf", '.include "alice.conf";\nvm r { memory = 1G; }\n')
    confs.write("alice.conf", '.include "secret.conf";\nvm a { memory = 1G; }\n',
                owner="alice")
    confs.write("secret.conf", "vm secret { memory = 1G; keymap = %s; }\n" % SECRET,
                mode=0o600)
    rc, lines, raw = confs.check("main.conf")
    assert rc == 1
    assert has(lines, "alice.conf:1:1: ", "secret.conf")
    assert SECRET not in raw
    rc, vms, errl, raw = confs.show("main.conf")
    assert rc == 1
    assert sorted(vms) == ["a", "r"]
    assert SECRET not in raw
    # alice herself gets no further
    rc, vms, errl, raw = confs.show("main.conf", as_user="alice")
    assert "secret" not in vms
    assert SECRET not in raw


def test_user_include_through_glob_skips_unreadable(confs):
    """A glob in alice's file does not reveal root-only files either."""
    confs.write("main.conf", '.include "alice.conf";\n')
    confs.write("alice.conf", '.include "d/*.conf";\nvm a { memory = 1G; }\n',
                owner="alice")
    confs.write("d/root-only.conf", "vm hidden { memory = 1G; keymap = %s; }\n" % SECRET,
                mode=0o600)
    rc, lines, raw = confs.check("main.conf")
    assert rc == 1
    assert has(lines, "alice.conf:1:1: ", "root-only.conf")
    assert SECRET not in raw
    rc, vms, _, raw = confs.show("main.conf")
    assert "hidden" not in vms and SECRET not in raw


def test_user_include_of_her_own_file(confs):
    """alice may include her own files, and world-readable root files;
    their VMs belong to their own files' owners."""
    confs.write("main.conf", '.include "alice.conf";\n')
    confs.write("alice.conf",
                '.include "alice2.conf";\n.include "public.conf";\nvm a { memory = 1G; }\n',
                owner="alice")
    confs.write("alice2.conf", "vm a2 { memory = 1G; }\n", owner="alice")
    confs.write("public.conf", "vm pub { memory = 1G; }\n")
    rc, lines, _ = confs.check("main.conf")
    assert (rc, lines) == (0, [])
    rc, vms, _, _ = confs.show("main.conf")
    assert rc == 0
    assert {n: vms[n]["owner"] for n in vms} == {"a": "alice", "a2": "alice", "pub": "root"}


def test_user_include_of_another_users_private_file(confs):
    confs.write("main.conf", '.include "bob.conf";\n.include "alice.conf";\n')
    confs.write("bob.conf", '.include "alice.conf";\nvm b { memory = 1G; }\n', owner="bob")
    confs.write("alice.conf", "vm a { memory = 1G; keymap = %s; }\n" % SECRET,
                owner="alice", mode=0o600)
    rc, lines, raw = confs.check("main.conf")
    assert rc == 1
    # bob cannot read alice's private file: refused where bob includes it
    assert has(lines, "bob.conf:1:1: ", "alice.conf")
    # root's own include of it still works (root reads it, alice owns it)
    rc, vms, _, _ = confs.show("main.conf")
    assert vms["a"]["owner"] == "alice"
    assert vms["b"]["owner"] == "bob"


def test_symlink_owned_by_user_to_root_file_is_refused(confs):
    confs.write("root.conf", "vm fromroot { memory = 1G; }\n")
    confs.symlink("link.conf", "root.conf", "alice")
    confs.write("main.conf", '.include "link.conf";\nvm m { memory = 1G; }\n')
    rc, lines, _ = confs.check("main.conf")
    assert rc == 1
    assert has(lines, "main.conf:1:1: ", "link.conf")
    rc, vms, _, _ = confs.show("main.conf")
    assert sorted(vms) == ["m"]


def test_symlink_in_user_file_to_root_file_is_refused(confs):
    confs.write("root.conf", "vm fromroot { memory = 1G; }\n")
    confs.symlink("link.conf", "root.conf", "alice")
    confs.write("alice.conf", '.include "link.conf";\nvm a { memory = 1G; }\n',
                owner="alice")
    confs.write("main.conf", '.include "alice.conf";\n')
    rc, lines, _ = confs.check("main.conf")
    assert rc == 1
    assert has(lines, "alice.conf:1:1: ", "link.conf")
    rc, vms, _, _ = confs.show("main.conf")
    assert sorted(vms) == ["a"]


def test_root_symlink_to_user_file_is_refused(confs):
    """The owners must match both ways: root's link to alice's file too."""
    confs.write("alice.conf", "vm a { memory = 1G; }\n", owner="alice")
    os.symlink("alice.conf", confs.path("link.conf"))
    confs.write("main.conf", '.include "link.conf";\nvm m { memory = 1G; }\n')
    rc, lines, _ = confs.check("main.conf")
    assert rc == 1
    assert has(lines, "main.conf:1:1: ", "link.conf")
    rc, vms, _, _ = confs.show("main.conf")
    assert sorted(vms) == ["m"]


def test_main_file_symlink_owner_mismatch_is_refused(confs):
    """Spec 1.1 checks every file read, the main one included."""
    confs.write("root.conf", "vm fromroot { memory = 1G; }\n")
    confs.symlink("link.conf", "root.conf", "alice")
    rc, lines, _ = confs.check("link.conf")
    assert rc == 1
    assert has(lines, "link.conf")
    rc, vms, _, _ = confs.show("link.conf")
    assert rc != 0 and not vms


def test_symlink_with_matching_owner_is_followed(confs):
    confs.write("root.conf", "vm fromroot { memory = 1G; }\n")
    os.symlink("root.conf", confs.path("link.conf"))
    confs.write("main.conf", '.include "link.conf";\nvm m { memory = 1G; }\n')
    rc, lines, _ = confs.check("main.conf")
    assert (rc, lines) == (0, [])
    rc, vms, _, _ = confs.show("main.conf")
    assert sorted(vms) == ["fromroot", "m"]
    assert vms["fromroot"]["file"] == confs.path("root.conf")


def test_syntax_error_in_user_file_rejects_only_that_file(confs):
    """Issue 11.7: a user's syntax error leaves out her file alone."""
    confs.write("main.conf", '.include "alice.conf";\nvm r { memory = 1G; }\n')
    confs.write("alice.conf", "vm a { memory = 1G }\n", owner="alice")
    rc, lines, raw = confs.check("main.conf")
    assert rc == 0
    assert has(lines, "alice.conf:1:20: ", "syntax error")
    assert "users' files with errors are left out" in raw
    for who in (None, "alice"):
        rc, vms, lines, _ = confs.show("main.conf", as_user=who)
        assert rc != 0 and sorted(vms) == ["r"], who
        assert has(lines, "alice.conf:1:20: ", "syntax error"), who


# ---- templates across owners ----

def test_root_vm_cannot_apply_user_template(confs):
    confs.write("main.conf",
                '.include "*.user.conf";\n'
                "template roott {\n\tqemu_cpu = host;\n}\n"
                "vm r {\n\tmemory = 1G;\n\t.apply alicet;\n}\n"
                "vm r2 {\n\tmemory = 1G;\n\t.apply roott;\n}\n"
                "vm given {\n\tmemory = 1G;\n\towner = alice;\n\t.apply alicet;\n}\n")
    confs.write("alice.user.conf",
                "template alicet {\n\tkeymap = fromalice;\n}\n"
                "vm a {\n\tmemory = 1G;\n\t.apply alicet, roott;\n}\n", owner="alice")
    confs.write("carol.user.conf",
                "vm c {\n\tmemory = 1G;\n\t.apply alicet;\n}\n", owner="carol")
    rc, lines, _ = confs.check("main.conf")
    assert rc == 1
    # the error names the template's file (the directory is stripped)
    assert has(lines, "main.conf:5:1: ", 'vm "r"', '"alicet"', " alice.user.conf")
    assert vm_rejected(lines, "main.conf:5:1", "r")
    assert has(lines, "carol.user.conf:1:1: ", 'vm "c"', '"alicet"', " alice.user.conf")
    assert vm_rejected(lines, "carol.user.conf:1:1", "c")
    rc, vms, _, _ = confs.show("main.conf")
    assert rc == 1
    assert sorted(vms) == ["a", "given", "r2"]
    assert (vms["a"]["keymap"], vms["a"]["qemu_cpu"]) == ("fromalice", "host")
    assert (vms["given"]["owner"], vms["given"]["keymap"]) == ("alice", "fromalice")


def test_a_users_template_never_takes_a_name_from_root_or_another_user(confs):
    """Template names are per owner: alice's template named like root's is
    dropped whatever the include order (root's is included after hers
    here), and the configuration still loads; alice's template named
    like bob's takes nothing from bob, whose VM applies his own."""
    confs.write("main.conf",
                '.include "*.user.conf";\n.include "tmpl.root";\n'
                "vm r {\n\tmemory = 1G;\n\t.apply std;\n}\n")
    confs.write("tmpl.root", "template std {\n\tkeymap = fromroot;\n}\n")
    confs.write("alice.user.conf",
                "template std {\n\tkeymap = fromalice;\n}\n"
                "template shared {\n\tkeymap = fromalice;\n}\n"
                "vm a {\n\tmemory = 1G;\n\t.apply std;\n}\n"
                "vm a2 {\n\tmemory = 1G;\n\t.apply shared;\n}\n",
                owner="alice")
    confs.write("bob.user.conf",
                "template shared {\n\tkeymap = frombob;\n}\n"
                "vm b {\n\tmemory = 1G;\n\t.apply shared;\n}\n",
                owner="bob")
    rc, lines, _ = confs.check("main.conf")
    assert rc == 0      # root's files load: only alice's text is wrong
    assert has(lines, "alice.user.conf:1:1: ", 'template "std" is root\'s '
               "(defined at tmpl.root:1:1); this one is ignored"), lines
    assert not has(lines, "bob.user.conf"), lines
    rc, vms, _, _ = confs.show("main.conf")
    assert rc == 1 and sorted(vms) == ["a", "a2", "b", "r"], vms
    assert [vms[n]["keymap"] for n in ("r", "a", "a2", "b")] == \
        ["fromroot", "fromroot", "fromalice", "frombob"]


def test_user_template_cannot_change_owner_of_root_vm(confs):
    confs.write("main.conf", '.include "alice.conf";\n'
                "vm r {\n\tmemory = 1G;\n\t.apply grab;\n}\n")
    confs.write("alice.conf", "template grab {\n\towner = alice;\n}\n", owner="alice")
    rc, lines, _ = confs.check("main.conf")
    assert rc == 1
    assert has(lines, "alice.conf:2:10: ", '"owner"')
    rc, vms, _, _ = confs.show("main.conf")
    assert "r" not in vms


# ---- running as the users ----

def test_show_config_as_user(confs):
    """bmdctl parses with the caller's rights: alice sees her own files."""
    confs.write("alice.conf", '.include "alice2.conf";\n'
                "vm a {\n\tmemory = 1G;\n\towner = alice:staff;\n}\n", owner="alice")
    confs.write("alice2.conf", "vm a2 {\n\tmemory = 1G;\n}\n", owner="alice")
    for who in ("alice", None):
        rc, lines, _ = confs.check("alice.conf", as_user=who)
        assert (rc, lines) == (0, []), who
        rc, vms, _, _ = confs.show("alice.conf", as_user=who)
        assert rc == 0, who
        assert (vms["a"]["owner"], vms["a"]["group"]) == ("alice", "staff")
        assert vms["a2"]["owner"] == "alice"


def test_unreadable_main_file_as_user(confs):
    confs.write("main.conf", "vm r { memory = 1G; keymap = %s; }\n" % SECRET, mode=0o600)
    rc, lines, raw = confs.check("main.conf", as_user="bob")
    assert rc == 1
    assert has(lines, "main.conf")
    assert SECRET not in raw
    rc, vms, _, raw = confs.show("main.conf", as_user="bob")
    assert rc != 0 and not vms and SECRET not in raw
