#!/bin/sh
# Runs each CUnit program given as an argument; prints one summary line.
# Each program prints CUnit's own run summary; exit status is non-zero if any
# program failed.
set -u
pass=0; fail=0; failed=""
for t in "$@"; do
	echo "== $t"
	t0=$(date +%s)
	if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed="$failed $t"; fi
	echo "== $t: $(( $(date +%s) - t0 )) s"
done
echo "unit programs: $pass passed, $fail failed"
[ -n "$failed" ] && echo "failed:$failed"
[ "$fail" -eq 0 ]
