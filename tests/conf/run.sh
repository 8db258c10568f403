#!/bin/sh
# Golden tests of the bmd.conf language.
#
# Usage: tests/conf/run.sh BMD BMDCTL [NAME...]
#
# Every case is a file in this directory (subdirectories hold the files
# that cases include; they are not cases themselves):
#
#   pass-NAME.conf  must be valid:
#       `BMD -n -f pass-NAME.conf` exits 0 and prints nothing on stderr
#       but its "configuration OK" line, or exactly pass-NAME.err when
#       that file exists (the expected warnings);
#       `BMDCTL -f pass-NAME.conf show config --json` exits 0 and prints
#       exactly pass-NAME.json.
#   fail-NAME.conf  must be rejected:
#       `BMD -n -f fail-NAME.conf` exits 1 and prints exactly
#       fail-NAME.err on stderr;
#       when fail-NAME.json exists, `BMDCTL ... show config --json` exits
#       non-zero and prints exactly it (the VMs that still load).
#
# The cases are copied to a fresh temporary directory first, so that the
# files are owned by whoever runs this (CI: root, as the cases assume)
# and paths are stable.  Before comparing, that directory is removed
# from stderr ("/tmp/x/fail-a.conf:3:5: ..." reads "fail-a.conf:3:5:
# ...") and replaced by @DIR@ in JSON ("file": "@DIR@/pass-a.conf").
#
# Prints "PASS NAME" or "FAIL NAME" (with a diff) per case and ends with
# "N passed, M failed"; exits 1 when any case failed.
#
# BMD_CONF_UPDATE=1 rewrites the expected files from the actual output
# instead of comparing.  Only for writing a new case: read every line it
# wrote against the spec before committing it.

set -u
LC_ALL=C
export LC_ALL

if [ $# -lt 2 ]; then
	echo "usage: $0 BMD BMDCTL [NAME...]" >&2
	exit 2
fi
abspath() {
	case $1 in
	/*)	printf '%s\n' "$1" ;;
	*)	printf '%s/%s\n' "$(pwd)" "$1" ;;
	esac
}
BMD=$(abspath "$1")
BMDCTL=$(abspath "$2")
shift 2
for p in "$BMD" "$BMDCTL"; do
	if [ ! -x "$p" ]; then
		echo "run.sh: $p is not an executable" >&2
		exit 2
	fi
done

src=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bmd-conf.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT PIPE TERM
chmod 755 "$tmp"
mkdir "$tmp/cases" "$tmp/out"
cp -R "$src/." "$tmp/cases/"
dir=$(cd "$tmp/cases" && pwd -P)
out=$tmp/out
update=${BMD_CONF_UPDATE:-0}

npass=0
nfail=0

# compare EXPECTED ACTUAL LABEL: 0 when equal; prints a diff otherwise.
compare() {
	if [ "$update" = 1 ]; then
		if [ -s "$2" ] || [ -e "$1" ]; then
			cp "$2" "$src/${1##*/}"
		fi
		return 0
	fi
	if [ ! -e "$1" ]; then
		if [ -s "$2" ]; then
			echo "    unexpected $3 (no ${1##*/}):"
			sed 's/^/    /' "$2"
			return 1
		fi
		return 0
	fi
	if ! cmp -s "$1" "$2"; then
		echo "    $3 differs from ${1##*/}:"
		diff -u "$1" "$2" | sed 's/^/    /'
		return 1
	fi
	return 0
}

run_case() {
	name=$1
	conf=$dir/$name.conf
	ok=1
	msg=
	"$BMD" -n -f "$conf" 2>"$out/bmd.raw" >/dev/null
	rc=$?
	grep -v ': configuration OK (' "$out/bmd.raw" |
	    sed "s|$dir/||g" >"$out/$name.err"
	case $name in
	pass-*)
		if [ $rc -ne 0 ]; then
			msg="$msg
    bmd -n exited $rc, expected 0"
			ok=0
		fi
		"$BMDCTL" -f "$conf" show config --json >"$out/ctl.raw" \
		    2>"$out/ctl.err"
		crc=$?
		sed "s|$dir/|@DIR@/|g" "$out/ctl.raw" >"$out/$name.json"
		if [ $crc -ne 0 ]; then
			msg="$msg
    bmdctl show config exited $crc, expected 0: $(cat "$out/ctl.err")"
			ok=0
		fi
		;;
	fail-*)
		if [ $rc -ne 1 ]; then
			msg="$msg
    bmd -n exited $rc, expected 1"
			ok=0
		fi
		if [ -e "$src/$name.json" ]; then
			"$BMDCTL" -f "$conf" show config --json \
			    >"$out/ctl.raw" 2>/dev/null
			crc=$?
			sed "s|$dir/|@DIR@/|g" "$out/ctl.raw" >"$out/$name.json"
			if [ $crc -eq 0 ]; then
				msg="$msg
    bmdctl show config exited 0, expected non-zero"
				ok=0
			fi
		fi
		;;
	esac
	diffs=$(
		r=0
		compare "$src/$name.err" "$out/$name.err" "bmd -n stderr" || r=1
		if [ -e "$out/$name.json" ]; then
			compare "$src/$name.json" "$out/$name.json" \
			    "show config --json" || r=1
		fi
		exit $r
	) || ok=0
	if [ $ok = 1 ]; then
		echo "PASS $name"
		npass=$((npass + 1))
	else
		echo "FAIL $name$msg"
		[ -n "$diffs" ] && printf '%s\n' "$diffs"
		nfail=$((nfail + 1))
	fi
	rm -f "$out/$name.err" "$out/$name.json"
}

if [ $# -gt 0 ]; then
	names=$*
else
	names=$(cd "$src" && ls pass-*.conf fail-*.conf 2>/dev/null |
	    sed 's/\.conf$//')
fi
for n in $names; do
	n=${n%.conf}
	if [ ! -e "$dir/$n.conf" ]; then
		echo "FAIL $n
    no such case: $n.conf"
		nfail=$((nfail + 1))
		continue
	fi
	run_case "$n"
done

echo "$npass passed, $nfail failed"
[ $nfail -eq 0 ] && [ $npass -gt 0 ]
