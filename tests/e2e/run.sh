#!/bin/sh
# The end-to-end suite: pytest with Debian's python3 (not pip), real QEMU and
# the test guest.  `make check-e2e` runs it with BMD_BUILD=/abs/build.
# Extra arguments go to pytest, run from this directory (e.g. -k reload, -x,
# test_socket.py).  Environment:
#   BMD_TEST_ACCEL=kvm  boot the guests with KVM instead of TCG
#   BMD_E2E_JOBS=1      one pytest instead of two (the default)
# With no arguments, or only test files, the files run as two pytest
# processes at once: the files that use the shared test accounts (they
# create and remove alice, bob, carol, bmdplug) all in one of them, so no
# two tests ever share an account, a daemon or a namespace.  Prints
# PASSED/FAILED per test, pytest's summary and the time of each file;
# keeps the output in $BMD_BUILD/e2e.log.  Exits non-zero on any failure,
# and when no test ran.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${BMD_BUILD:=$(cd "$here/../.." && pwd)/build}"
: "${BMD_E2E_JOBS:=2}"
export BMD_BUILD
export PYTHONDONTWRITEBYTECODE=1	# no __pycache__ in the tree
log=$BMD_BUILD/e2e.log
mkdir -p "$BMD_BUILD"

# pytest on "$@", output to $1 (then shifted off); its status in $1.rc
pytest_to() {
	out=$1
	shift
	(cd "$here" && /usr/bin/python3 -m pytest -v -ra -p no:cacheprovider \
	    "$@"; echo $? > "$out.rc") > "$out" 2>&1
}

status_of() {
	rc=$(cat "$1.rc" 2>/dev/null)
	: "${rc:=1}"		# pytest did not even report a status
	case $rc in
	0)	;;
	5)	echo "run.sh: pytest collected no tests: failing" >&2; rc=1 ;;
	*)	echo "run.sh: end-to-end tests failed (status $rc); log: $log" >&2 ;;
	esac
	return "$rc"
}

only_files=1
for a in "$@"; do
	case $a in
	test_*.py) ;;
	*) only_files=0 ;;
	esac
done

if [ "$BMD_E2E_JOBS" -lt 2 ] || [ "$only_files" = 0 ]; then
	{
		cd "$here" && /usr/bin/python3 -m pytest -v -ra \
		    -p no:cacheprovider "$@"
		echo $? > "$log.rc"
	} 2>&1 | tee "$log"
	status_of "$log"
	rc=$?
	rm -f "$log.rc"
	exit "$rc"
fi

[ $# -gt 0 ] || set -- $(cd "$here" && ls test_*.py)
accounts="" others=""
for f in "$@"; do
	if grep -q -e 'import users' -e 'useradd' "$here/$f"; then
		accounts="$accounts $f"
	else
		others="$others $f"
	fi
done
: > "$log.a"
: > "$log.b"
echo "run.sh: two pytest processes at once; the files of the accounts:$accounts"
# shellcheck disable=SC2086
[ -z "$accounts" ] || pytest_to "$log.a" $accounts &
# shellcheck disable=SC2086
[ -z "$others" ] || pytest_to "$log.b" $others &
wait
cat "$log.a" "$log.b" | tee "$log"
rc=0
for part in a b; do
	if [ -s "$log.$part" ]; then
		status_of "$log.$part" || rc=1
	fi
	rm -f "$log.$part" "$log.$part.rc"
done
exit "$rc"
