#!/bin/sh
# common.sh — helpers shared by the integration tests: failing with the
# daemons' logs, bounded waits, running in a guest's namespace, reading the
# sim's xenstore, and the checks the tests poll on. Sourced, not run:
#   # shellcheck source=lib/common.sh disable=SC1091
#   . "$(dirname "$0")/lib/common.sh"
# A test that wants more shown on failure defines fail_hook after sourcing.
# Uses XNET_SIM_DIR (the sim's directory) when it is set.

# fail_hook — run by fail before the logs are shown; tests may redefine it.
fail_hook() { :; }

# fail MSG... — report MSG, show what the test and the sim logged, exit 1.
fail() {
	echo "FAIL: $*" >&2
	fail_hook || :
	for f in "${XNET_SIM_DIR:-/nonexistent}"/*.log; do
		[ -f "$f" ] && { echo "== $f" >&2; tail -20 "$f" >&2; }
	done
	exit 1
}

ok() { echo "ok: $*"; }

# wait_for SECONDS CMD... — retry CMD every 0.1 s until it succeeds, at
# most SECONDS * 10 times (at least SECONDS, longer when CMD is slow: a
# loaded machine gets more time, never less).
wait_for() {
	n=$(($1 * 10)); shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1)); [ "$n" -gt 0 ] || return 1; sleep 0.1
	done
}

# in_ns NS CMD... — run CMD in network namespace NS.
in_ns() { ns=$1; shift; ip netns exec "$ns" "$@"; }

# xs CMD... — run a xenstore-* tool against the sim's xenstored.
xs() { XENSTORED_PATH="$XNET_SIM_DIR/xenstored.sock" "$@"; }

# is KEY VALUE — the sim's xenstore holds VALUE at KEY.
is() { [ "$(xs xenstore-read "$1" 2>/dev/null)" = "$2" ]; }

has_ns() { ip netns list | awk '{print $1}' | grep -qx "$1"; }
has_link() { ip link show "$1" >/dev/null 2>&1; }

# reaches NS ADDR — one ping from NS to ADDR is answered.
reaches() { in_ns "$1" ping -c 1 -W 1 "$2" >/dev/null 2>&1; }

# blocked NS ADDR — three pings, none answered (a negative check: bounded
# by ping itself).
blocked() {
	out=$(in_ns "$1" ping -c 3 -i 0.2 -W 1 "$2" 2>&1) || true
	echo "$out" | grep -q ' 100% packet loss'
}

# hp_status BE — the hotplug-status of backend directory BE.
hp_status() { xs xenstore-read "$1/hotplug-status" 2>/dev/null; }
status_is() { [ "$(hp_status "$1")" = "$2" ]; }
