#!/bin/sh
# common.sh — helpers shared by the integration tests: failing with the
# daemons' logs, bounded waits, running in a guest's namespace, reading the
# sim's xenstore, and the checks the tests poll on. Sourced, not run:
#   # shellcheck source=lib/common.sh disable=SC1091
#   . "$(dirname "$0")/lib/common.sh"
# A test that wants more shown on failure defines fail_hook after sourcing.
# Uses XNET_SIM_DIR (the sim's directory) when it is set, XNET_BIN (the
# programs) for schema_ok and sim_down.
#
# Every scenario that runs a sim checks the live store against the xenstore
# schema: schema_ok while its guests are still up, and sim_down (check, then
# `xnet sim down`) instead of a bare `xnet sim down` when it ends.

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

# fe_state GUEST N — GUEST's vif 0 (its frontend) is in XenbusState N.
fe_state() {
	d=$("${XNET_BIN:?}/xnet" domain list | awk -v n="$1" '$1 == n { print $2 }')
	is "/local/domain/$d/device/vif/0/state" "$2"
}

# holds PID FILE — process PID has FILE open (say, a descriptor it was
# started with and should have closed).
holds() {
	for fd in "/proc/$1/fd"/*; do
		[ "$(readlink "$fd")" = "$2" ] && return 0
	done
	return 1
}

# front_pid GUEST — the pid of GUEST's xnetfront.
front_pid() { "${XNET_BIN:?}/xnet" domain list | awk -v n="$1" '$1 == n { print $NF }'; }

# daemon_pid NAME — the pid of the sim's running daemon NAME (xnetback...).
daemon_pid() {
	"${XNET_BIN:?}/xnet" sim status | awk -v p="$1" '$1 == p && $2 == "running" { print $4 }'
}

# rebridge BR LINK... — a restarted xnetback makes new TAPs (the bridge
# ports went with the old ones): wait for each LINK, put it on BR, up.
rebridge() {
	br=$1; shift
	for l in "$@"; do
		wait_for 20 has_link "$l" || fail "backend link $l not recreated"
		ip link set "$l" master "$br" && ip link set "$l" up
	done
}

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

# initwait BE — stand in for a backend (tests of the hotplug side without
# xnetback): what it writes on its way to InitWait that the schema requires
# from then on, then state 2.
initwait() {
	xs xenstore-write "$1/feature-rx-copy" 1 "$1/state" 2
}

# hp_status BE — the hotplug-status of backend directory BE.
hp_status() { xs xenstore-read "$1/hotplug-status" 2>/dev/null; }
status_is() { [ "$(hp_status "$1")" = "$2" ]; }

# schema_ok [WHEN] — the sim's store obeys the xenstore schema (`xnet schema
# check`, every domain); otherwise fail, naming each violation.
schema_ok() {
	schema_out=$("${XNET_BIN:?}/xnet" schema check 2>&1) ||
		fail "xenstore schema check${1:+ $1}:
$schema_out"
}

# sim_down — schema_ok, then `xnet sim down`; fails if either does.
sim_down() {
	schema_ok "before sim down"
	"${XNET_BIN:?}/xnet" sim down >/dev/null || fail "xnet sim down"
}

# iperf_server NS ADDR [PORT] — a one-client iperf3 server in NS on ADDR,
# listening when this returns. A test's cleanup calls iperf_stop, which
# ends any server whose client never came (a failed client leaves it
# waiting, and it would outlive its namespace's deletion). Pid files are
# named after the test's shell ($$ is the same in subshells).
iperf_server() {
	port=${3:-5201}
	in_ns "$1" iperf3 -s -1 -D -B "$2" -p "$port" \
		-I "/tmp/xnet-iperf3-$$-$1-$port.pid" >/dev/null || return 1
	wait_for 10 sh -c "ip netns exec '$1' ss -Hltn 'sport = :$port' | grep -q :$port"
}

iperf_stop() {
	for f in "/tmp/xnet-iperf3-$$-"*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f" 2>/dev/null) || p=""
		[ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = iperf3 ] && kill "$p"
		rm -f "$f"
	done
}

# make_guest NAME VIFSPEC ADDR/PREFIX — domain NAME with one vif attached
# by VIFSPEC, its eth0 up with ADDR/PREFIX; its domain id in $domid.
make_guest() {
	domid=$("${XNET_BIN:?}/xnet" domain create "$1" | awk '{ print $2 }')
	[ -n "$domid" ] || fail "$1: domain create failed"
	"${XNET_BIN:?}/xnet" vif attach "$1" "$2" >/dev/null || fail "$1: vif attach '$2'"
	wait_for 20 in_ns "$1" ip link show eth0 || fail "$1: eth0 did not appear"
	in_ns "$1" ip addr add "$3" dev eth0
	in_ns "$1" ip link set eth0 up
}
