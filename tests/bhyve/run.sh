#!/bin/sh
# Golden tests of the bhyve backend: bmdctl show command against NAME.out.
#
# Usage: BMDCTL=path/to/bmdctl tests/bhyve/run.sh [NAME...]
#
# For each NAME.conf in this directory (or only the NAMEs given) this runs
#
#	$BMDCTL -f NAME.conf show command VM
#
# and compares its standard output with NAME.out, byte for byte.  VM is
# the name on a "# vm: NAME" comment line in the .conf, otherwise the
# first "vm NAME {" section.  The first line of each .conf says what the
# case is about; the .out files were written by hand from the spec.  The exit status and stderr of bmdctl are
# not compared (an ignored invalid value may print a warning); a VM that
# fails to load prints nothing and so fails the comparison.
#
# What "bmdctl show command VM" must print, with no daemon running:
#
#   * The processes of one start of VM, in order: the loader first when
#     it is bhyveload or grub, then bhyve (uefi and csm run bhyve only).
#   * For each process, every element of its argv on a line of its own,
#     argv[0] first; argv[0] is the program's basename (bhyveload,
#     grub-bhyve, bhyve).  Each line ends in "\n".
#   * Exactly one empty line between two processes; nothing else (no
#     program path, no environment, no grub device map).
#
#   The run-time facts are those of a current FreeBSD without a daemon:
#   LOCALBASE /usr/local, vars_directory /usr/local/var/cache/bmd,
#   __FreeBSD_version 1500024 (so no -A, and uefi gets a vars file),
#   nmdm_offset 200 (auto com ports take the next numbers in com order,
#   above any nmdm the VM names itself), and these placeholders where
#   only the daemon knows the value: "/dev/pts/?" for the loader pty,
#   "tap?" for every tap, "PID" for the daemon pid in grub's map file
#   (/tmp/bmd.NAME.PID.XXXXXX) and "XXXXXXXX" for %r in a
#   virt_console_template.
#
# Prints "PASS NAME" or "FAIL NAME" (followed by a diff) per case, then
# "N passed, M failed"; exits 1 if any case failed or bmdctl is missing.

dir=$(cd "$(dirname "$0")" && pwd)
BMDCTL=${BMDCTL:-bmdctl}

if ! command -v "$BMDCTL" >/dev/null 2>&1; then
	echo "run.sh: $BMDCTL not found; set BMDCTL" >&2
	exit 1
fi

tmp=$(mktemp "${TMPDIR:-/tmp}/bhyve-golden.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT INT TERM

# The VM a case is about.
vm_of() {
	name=$(sed -n 's/^# vm: *\([^ ]*\).*/\1/p' "$1" | head -n 1)
	if [ -z "$name" ]; then
		sp='[[:space:]]'
		name=$(sed -n "s/^$sp*vm$sp\\{1,\\}\\([^{]*\\).*/\\1/p" "$1" |
		    head -n 1 | tr -d ' \t')
	fi
	echo "$name"
}

if [ $# -eq 0 ]; then
	for f in "$dir"/*.conf; do
		f=${f##*/}
		set -- "$@" "${f%.conf}"
	done
fi

pass=0
fail=0
for name in "$@"; do
	conf="$dir/$name.conf"
	expect="$dir/$name.out"
	if [ ! -f "$conf" ] || [ ! -f "$expect" ]; then
		echo "FAIL $name (no $name.conf or $name.out)"
		fail=$((fail + 1))
		continue
	fi
	"$BMDCTL" -f "$conf" show command "$(vm_of "$conf")" >"$tmp" 2>/dev/null
	if cmp -s "$expect" "$tmp"; then
		echo "PASS $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		diff -u "$expect" "$tmp" | sed 's/^/	/'
		fail=$((fail + 1))
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
