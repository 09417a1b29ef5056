#!/bin/sh
# run.sh — run each libFuzzer target for a bounded time on its seed corpus.
#
# Usage: run.sh BUILD_DIR SECONDS TARGET...
#   Each TARGET (BUILD_DIR/fuzz_NAME) starts from tests/fuzz/corpus/NAME/
#   (every seed is run first, so a seed that reproduces a bug fails at once)
#   and explores for SECONDS more in a scratch corpus that is thrown away.
#   Exit 0 when no target crashed, leaked or timed out; otherwise 1, with the
#   failing inputs and logs kept in a temp dir that is printed.
set -u
cd "$(dirname "$0")/../.." || exit 2
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR SECONDS TARGET..." >&2; exit 2; }
bdir=$1; shift
secs=$1; shift

work=$(mktemp -d "${TMPDIR:-/tmp}/xnet-fuzz.XXXXXX")
keep=0
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=""
for t in "$@"; do
	name=$(basename "$t" | sed 's/^fuzz_//')
	seeds=tests/fuzz/corpus/$name
	mkdir -p "$work/$name/corpus" "$work/$name/crash"
	log=$work/$name/log
	echo "fuzz: $name for ${secs}s"
	# close_fd_mask=2: the code's own log lines are not wanted at this rate;
	# sanitizer and libFuzzer reports still reach the log.
	if "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-close_fd_mask=2 -print_final_stats=1 \
		-artifact_prefix="$work/$name/crash/" \
		"$work/$name/corpus" "$seeds" >"$log" 2>&1; then
		grep -E '^(stat::number_of_executed_units|Done)' "$log" | sed 's/^/  /'
	else
		keep=1
		failed="$failed $name"
		echo "fuzz: $name FAILED; last lines of its log:"
		grep -v '^#' "$log" | tail -40 | sed 's/^/  /'
	fi
done

if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed"
	echo "fuzz: crashing inputs and logs kept in $work (<name>/crash/, <name>/log)"
	echo "fuzz: rerun one with: $bdir/fuzz_<name> <input>   (shows the code's own log too)"
	exit 1
fi
echo "fuzz: all $# targets clean"
