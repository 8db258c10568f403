#!/bin/sh
# The end-to-end suite: pytest with Debian's python3 (not pip), real QEMU and
# the test guest.  `make check-e2e` runs it with BMD_BUILD=/abs/build.
# Extra arguments go to pytest, run from this directory (e.g. -k reload, -x,
# test_socket.py).  Environment:
#   BMD_TEST_ACCEL=kvm  boot the guests with KVM instead of TCG
# Prints PASSED/FAILED per test and pytest's summary; keeps the output in
# $BMD_BUILD/e2e.log.  Exits non-zero on any failure, and when no test ran.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${BMD_BUILD:=$(cd "$here/../.." && pwd)/build}"
export BMD_BUILD
export PYTHONDONTWRITEBYTECODE=1	# no __pycache__ in the tree
log=$BMD_BUILD/e2e.log
rcfile=$(mktemp)
mkdir -p "$BMD_BUILD"
{
	cd "$here" && /usr/bin/python3 -m pytest -v -ra -p no:cacheprovider "$@"
	echo $? > "$rcfile"
} 2>&1 | tee "$log"
rc=$(cat "$rcfile")
: "${rc:=1}"		# pytest did not even report a status
rm -f "$rcfile"
case $rc in
0)	;;
5)	echo "run.sh: pytest collected no tests: failing" >&2; rc=1 ;;
*)	echo "run.sh: end-to-end tests failed (status $rc); log: $log" >&2 ;;
esac
exit "$rc"
