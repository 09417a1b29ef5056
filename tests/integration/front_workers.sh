#!/bin/sh
# front_workers.sh — xnetfront serves each ring queue from a thread of its
# own: two sim guests with two queues each on a bridge; UDP to many ports
# spreads flows over both queues until each of G1's queues sent and each
# of G2's received, and each of them polled its ring (XNETFRONT_POLL_US)
# after its work; then every queue of each frontend reports a worker
# thread id that is a thread of that xnetfront, not its main thread, and
# no two queues share one. TCP over several flows passes. Then xnetback
# is killed and started again offering one queue (XNETBACK_MAX_QUEUES=1):
# each eth0 keeps one TAP queue (the other is detached, not left unread),
# and 32 datagrams of 32 flows all arrive. Everything is removed, also on
# failure.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
XNET_SIM_DIR="$(mktemp -d /tmp/xnet-fwk.XXXXXX)"
export XNET_SIM_DIR
export XNETFRONT_QUEUES=2 XNETFRONT_POLL_US=20
unset XNET_STATS_SOCKET
TAG=$(( $$ % 100000 ))
G1=xfwk1-$TAG G2=xfwk2-$TAG BR=xfwkbr$TAG

cleanup() {
	set +e
	iperf_stop
	for g in "$G1" "$G2"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

command -v jq >/dev/null || fail "jq is not installed (tools/install-deps.sh)"
J="$XNET_SIM_DIR/stats.json"
fe() { echo ".vifs[] | select(.domain == \"$1\" and .devid == 0) | .frontend"; }

XNETBACK_MAX_QUEUES=2 "$XNET" sim up >/dev/null
ip link add "$BR" type bridge && ip link set "$BR" up
make_guest "$G1" "mac=00:16:3e:00:f6:01,bridge=$BR,vifname=fwk${TAG}g1" 198.18.11.1/24
make_guest "$G2" "mac=00:16:3e:00:f6:02,bridge=$BR,vifname=fwk${TAG}g2" 198.18.11.2/24
wait_for 20 reaches "$G1" 198.18.11.2 || fail "no first ping"

# spread — a datagram from G1 to each of 32 ports of G2 (32 flows); true
# once G1's queues have all sent and G2's all received.
spread() {
	in_ns "$G1" bash -c 'for p in $(seq 9000 9031); do
		echo x >/dev/udp/198.18.11.2/$p; done' 2>/dev/null
	"$XNET" stats --json >"$J" || return 1
	jq -e "($(fe "$G1") | [.queues[].counters.tx_packets] | length == 2 and all(. > 0)) and
	       ($(fe "$G2") | [.queues[].counters.rx_packets] | length == 2 and all(. > 0))" \
		"$J" >/dev/null
}
wait_for 20 spread || fail "flows not spread over both queues: $(cat "$J")"
ok "traffic on both queues of each frontend"

# Adaptive polling (XNETFRONT_POLL_US, exported above): each queue that
# moved frames looked at its ring before it slept, right after its work.
polled() {
	"$XNET" stats --json >"$J" || return 1
	jq -e "[($(fe "$G1")), ($(fe "$G2")) | .queues[].counters |
		select(.tx_packets + .rx_packets > 0) | .polls > 0] | length == 4 and all" \
		"$J" >/dev/null
}
wait_for 10 polled || fail "a queue that moved frames never polled: $(cat "$J")"
ok "every busy queue polled its ring before it slept"

# Each worker_tid must be a thread (/proc/PID/task) of an xnetfront
# answering stats, other than its main thread (tid == pid).
for g in "$G1" "$G2"; do
	tids=$(jq -r "$(fe "$g") | .queues[].counters.worker_tid" "$J")
	[ "$(echo "$tids" | sort -u | grep -c '^[1-9]')" = 2 ] ||
		fail "$g: worker thread ids not two distinct ones: $tids"
	pids=$(jq -r '.frontends[].pid' "$J")
	for t in $tids; do
		owner=""
		for p in $pids; do [ -d "/proc/$p/task/$t" ] && owner=$p; done
		[ -n "$owner" ] || fail "$g: thread $t belongs to no xnetfront ($pids)"
		[ "$t" != "$owner" ] || fail "$g: queue served by the main thread $t"
		[ "$(cat "/proc/$owner/comm")" = xnetfront ] || fail "$g: $owner is not xnetfront"
	done
done
ok "each queue has its own worker thread, not the main one"

iperf_server "$G2" 198.18.11.2 || fail "iperf3 server"
out=$(in_ns "$G1" iperf3 -c 198.18.11.2 -B 198.18.11.1 -P 4 -t 1 -J) ||
	fail "iperf3 over both queues failed: $out"
[ "$(echo "$out" | jq '.end.sum_received.bytes > 0')" = true ] || fail "iperf3: nothing received"
ok "TCP over 4 flows passes"

# tapq G — how many queues guest G's eth0 has attached (the kernel shows
# one tx-N per attached TAP queue).
tapq() { in_ns "$1" ls /sys/class/net/eth0/queues | grep -c '^tx-'; }
tapq_is() { [ "$(tapq "$1")" = "$2" ]; }
# noports — datagrams G2 got for closed ports.
noports() { in_ns "$G2" awk '$1 == "Udp:" && $2 ~ /^[0-9]/ { print $3 }' /proc/net/snmp; }
above() { [ "$(noports)" -ge "$1" ]; }
for g in "$G1" "$G2"; do tapq_is "$g" 2 || fail "$g: $(tapq "$g") TAP queues, not 2"; done
nb=$(daemon_pid xnetback)
kill -9 "$nb"
for g in "$G1" "$G2"; do
	wait_for 10 fe_state "$g" 6 || fail "$g: vif not Closed after xnetback's death"
done
XNETBACK_MAX_QUEUES=1 "$XNET" sim up >/dev/null
rebridge "$BR" "fwk${TAG}g1" "fwk${TAG}g2"
for g in "$G1" "$G2"; do
	wait_for 20 fe_state "$g" 4 || fail "$g: vif not Connected again"
	wait_for 10 tapq_is "$g" 1 || fail "$g: $(tapq "$g") TAP queues after reconnecting with one"
done
wait_for 20 reaches "$G1" 198.18.11.2 || fail "no traffic after the restart"
# Each datagram from a socket of its own: a flow the kernel would put on
# a queue nobody reads never arrives.
want=$(( $(noports) + 32 ))
in_ns "$G1" bash -c 'for p in $(seq 9100 9131); do
	echo x >/dev/udp/198.18.11.2/$p; done' 2>/dev/null
wait_for 10 above "$want" || fail "$((want - $(noports))) of 32 datagrams did not arrive"
ok "reconnected with one queue: one TAP queue each, all 32 flows arrive"
sim_down
echo "PASS front_workers"
