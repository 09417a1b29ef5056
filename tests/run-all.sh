#!/bin/sh
# The body of `make check`: unit tests (plain and ASan+UBSan), integration
# tests, the real-Xen harness. Prints a closing 'N passed, N failed' line.
set -u
cd "$(dirname "$0")/.."
pass=0; fail=0; failed=""

run() { # run NAME CMD...
	name=$1; shift
	echo "==== $name"
	t0=$(date +%s)
	if "$@"; then pass=$((pass + 1)); verdict=PASS
	else fail=$((fail + 1)); failed="$failed $name"; verdict=FAIL; fi
	echo "==== $name: $verdict ($(( $(date +%s) - t0 )) s)"
}

run unit       env XNET_BIN="$PWD/build/bin" sh tests/run-unit.sh build/tests/test_*
run unit-asan  env XNET_BIN="$PWD/build-asan/bin" ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1 sh tests/run-unit.sh build-asan/tests/test_*
for t in tests/integration/*.sh; do
	[ -e "$t" ] || continue
	run "$(basename "$t" .sh)" env XNET_BIN="$PWD/build/bin" sh "$t"
done
if [ -x tests/xen/run.sh ]; then
	run check-xen env XNET_BIN="$PWD/build/bin" sh tests/xen/run.sh
fi

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
