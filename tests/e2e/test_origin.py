"""bmdctl show config --origin (issue 14): where every value comes from."""

import json


CONF = """\
template inner(x = 1) {
	disk += "noexist:/srv/$x.img";
	keymap = inner;
}
template base(m = 512M) {
	memory = $m;
	disk = noexist:/srv/base.img;
	.apply inner(b);
}
vm web {
	.apply base(1G);
	disk += noexist:/srv/web.img;
	keymap = fr;
}
"""


def write(bmd):
    bmd.write_config(raw=CONF)
    return bmd.conf


def test_origin_text_names_each_place_and_the_apply_chain(bmd):
    p = write(bmd)
    rc, out, err = bmd.bmdctl("show", "config", "--origin", "web")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "vm web\t%s:10:1" % p
    i = lines.index("\tdisk = noexist:/srv/base.img")
    assert lines[i + 1:i + 6] == [
        "\t    %s:7:9 via .apply base at %s:11:9" % (p, p),
        "\tdisk += noexist:/srv/b.img",
        "\t    %s:2:10 via .apply inner at %s:8:9 via .apply base at %s:11:9"
        % (p, p, p),
        "\tdisk += noexist:/srv/web.img",
        "\t    %s:12:10" % p]
    # "=" forgets what it replaced; a key never set shows its default
    i = lines.index("\tkeymap = fr")
    assert lines[i + 1] == "\t    %s:13:11" % p and "\tkeymap = inner" not in lines
    i = lines.index("\tncpu = 1")
    assert lines[i + 1] == "\t    default"
    # a key of the other backend has no default to show
    assert not any(line.startswith("\tloader_timeout") for line in lines)


def test_origin_json(bmd):
    p = write(bmd)
    rc, out, err = bmd.bmdctl("show", "config", "--origin", "--json")
    assert rc == 0, err
    vm = json.loads(out)[0]
    keys = {k["key"]: k for k in vm["keys"]}
    assert vm["name"] == "web" and vm["section"] == {"file": p, "line": 10,
                                                      "col": 1}
    assert keys["memory"]["origins"] == [{
        "file": p, "line": 6, "col": 11, "value": "1G", "append": False,
        "via": [{"file": p, "line": 11, "col": 9, "template": "base"}]}]
    assert [o["value"] for o in keys["disk"]["origins"]] == [
        "noexist:/srv/base.img", "noexist:/srv/b.img", "noexist:/srv/web.img"]
    assert [len(o["via"]) for o in keys["disk"]["origins"]] == [1, 2, 0]
    assert keys["ncpu"] == {"key": "ncpu", "default": "1"}
