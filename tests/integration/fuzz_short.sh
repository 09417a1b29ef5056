#!/bin/sh
# fuzz_short.sh — build every libFuzzer target (make fuzz) and run each one
# briefly on its seed corpus: every seed first (the corpus holds a
# reproducer for each bug found so far), then a few seconds of new inputs.
# Fails on any crash, leak, sanitizer report or timeout; the failing inputs
# are kept in a temp dir that is printed (tests/fuzz/run.sh removes it when
# all is clean). Longer runs: make fuzz-run FUZZ_SECONDS=600
#
# Environment: FUZZ_SHORT_SECONDS (per target, default 6).
set -u
cd "$(dirname "$0")/../.." || exit 1
secs=${FUZZ_SHORT_SECONDS:-6}

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz_short: clang is not installed (make deps)" >&2
	exit 1
fi
if ! make --no-print-directory -s -j2 fuzz >/dev/null; then
	echo "fuzz_short: make fuzz failed" >&2
	exit 1
fi
exec make --no-print-directory -s fuzz-run FUZZ_SECONDS="$secs"
