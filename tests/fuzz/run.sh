#!/bin/sh
# run.sh — run each libFuzzer target for a bounded time on its seed corpus.
#
# Usage: run.sh BUILD_DIR SECONDS TARGET...
#   Each TARGET (BUILD_DIR/fuzz_NAME) starts from tests/fuzz/corpus/NAME/
#   (every seed is run first, so a seed that reproduces a bug fails at once)
#   and explores for SECONDS more in a scratch corpus that is thrown away,
#   with tests/fuzz/dict/NAME.dict as its dictionary if there is one.
#   FUZZ_JOBS targets run at a time (default 2).
#   Exit 0 when no target crashed, leaked or timed out; otherwise 1, with the
#   failing inputs and logs kept in a temp dir that is printed.
set -u
cd "$(dirname "$0")/../.." || exit 2
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR SECONDS TARGET..." >&2; exit 2; }
bdir=$1; secs=$2; shift 2
jobs=${FUZZ_JOBS:-2}

work=$(mktemp -d "${TMPDIR:-/tmp}/xnet-fuzz.XXXXXX")
keep=0
cleanup() {
	# Interrupted: stop the fuzzers we started (each recorded its pid).
	for f in "$work"/*/pid; do
		[ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	[ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_one TARGET: fuzz it; its verdict goes to $work/NAME/ok or .../failed.
run_one() {
	name=$(basename "$1" | sed 's/^fuzz_//')
	mkdir -p "$work/$name/corpus" "$work/$name/crash"
	dict=""
	[ -e "tests/fuzz/dict/$name.dict" ] && dict="-dict=tests/fuzz/dict/$name.dict"
	# close_fd_mask=2: the code's own log lines are not wanted at this rate;
	# sanitizer and libFuzzer reports still reach the log.
	TMPDIR=$work/$name "$1" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-close_fd_mask=2 -print_final_stats=1 ${dict:+"$dict"} \
		-artifact_prefix="$work/$name/crash/" \
		"$work/$name/corpus" "tests/fuzz/corpus/$name" >"$work/$name/log" 2>&1 &
	echo $! >"$work/$name/pid"
	if wait $!; then touch "$work/$name/ok"; else touch "$work/$name/failed"; fi
	rm -f "$work/$name/pid"
}

report() { # report NAME
	log=$work/$1/log
	if [ -e "$work/$1/ok" ]; then
		echo "fuzz: $1: clean, $(sed -n 's/^stat::number_of_executed_units: *//p' "$log") inputs"
		return 0
	fi
	keep=1
	echo "fuzz: $1: FAILED; last lines of its log:"
	grep -v '^ *#[0-9]' "$log" | tail -25 | sed 's/^/  /'
	return 1
}

echo "fuzz: $# targets, ${secs}s each, $jobs at a time"
failed=""
set -- "$@" ""
while [ -n "$1" ]; do
	batch=""
	n=0
	while [ -n "$1" ] && [ "$n" -lt "$jobs" ]; do
		run_one "$1" &
		batch="$batch $(basename "$1" | sed 's/^fuzz_//')"
		n=$((n + 1))
		shift
	done
	wait
	for name in $batch; do
		report "$name" || failed="$failed $name"
	done
done

if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed"
	echo "fuzz: crashing inputs and logs kept in $work (<name>/crash/, <name>/log)"
	echo "fuzz: rerun one with: $bdir/fuzz_<name> <input>   (shows the code's own log too)"
	exit 1
fi
echo "fuzz: all clean"
