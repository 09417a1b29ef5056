#!/bin/sh
# front_stats.sh — the guest's side in `xnet stats`: two sim guests on a
# bridge, one pings the other a known number of times; the JSON of each
# vif carries its xnetfront's counters ("frontend", from the guest's
# xnetfront-dom<N>.sock), which must have moved by at least that much both
# ways, agree with the sum of their queues and with the backend's view,
# and the text output shows the frontend line. Everything is removed, also
# on failure.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
XNET_SIM_DIR="$(mktemp -d /tmp/xnet-fst.XXXXXX)"
export XNET_SIM_DIR
unset XNET_STATS_SOCKET
TAG=$(( $$ % 100000 ))
G1=xfst1-$TAG G2=xfst2-$TAG BR=xfstbr$TAG
COUNT=30

cleanup() {
	set +e
	for g in "$G1" "$G2"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

command -v jq >/dev/null || fail "jq is not installed (tools/install-deps.sh)"
J="$XNET_SIM_DIR/stats.json"
# check EXPR MSG — jq -e EXPR over the last stats JSON, else fail with MSG.
check() { jq -e "$1" "$J" >/dev/null || fail "$2: $(cat "$J")"; }
# The vif of guest $1 as the JSON shows it.
vif() { echo ".vifs[] | select(.domain == \"$1\" and .devid == 0)"; }

"$XNET" sim up >/dev/null
ip link add "$BR" type bridge && ip link set "$BR" up
make_guest "$G1" "mac=00:16:3e:00:f5:01,bridge=$BR" 198.18.10.1/24
make_guest "$G2" "mac=00:16:3e:00:f5:02,bridge=$BR" 198.18.10.2/24
wait_for 20 reaches "$G1" 198.18.10.2 || fail "no first ping"

"$XNET" stats --json >"$J" || fail "xnet stats --json"
before=$(jq "$(vif "$G1").frontend.counters.tx_packets" "$J")
[ "$before" != null ] || fail "no frontend counters for $G1: $(cat "$J")"
out=$(in_ns "$G1" ping -c "$COUNT" -i 0.02 -W 1 198.18.10.2) || true
echo "$out" | grep -q " 0% packet loss" || fail "ping: $out"

"$XNET" stats --json >"$J" || fail "xnet stats --json"
for g in "$G1" "$G2"; do
	check "[.frontends[] | select(.pid > 0)] | length == 2" "two frontends answer"
	check "$(vif "$g").frontend | .connected and .name == \"eth0\" and .reconnects == 0" \
		"$g: frontend state"
	# Each queue's counters sum to the vif's.
	for k in tx_packets rx_packets tx_bytes rx_bytes; do
		check "$(vif "$g").frontend | .counters.$k == ([.queues[].counters.$k] | add)" \
			"$g: queues' $k do not sum to the vif's"
	done
done
# G1 sent COUNT requests and got COUNT replies: its frontend's counters
# moved by at least that much, and so did G2's the other way.
check "$(vif "$G1").frontend.counters.tx_packets - $before >= $COUNT" "$G1: frontend tx"
check "$(vif "$G1").frontend.counters | .rx_packets >= $COUNT and .rx_bytes >= $COUNT * 98" \
	"$G1: frontend rx"
check "$(vif "$G2").frontend.counters | .tx_packets >= $COUNT and .rx_packets >= $COUNT" \
	"$G2: frontend counters"
# What the frontend sent, the backend received (its tx is guest to host),
# and no more: the backend was asked after the frontend counted.
check "$(vif "$G1") | .counters.tx_packets >= .frontend.counters.tx_packets - 5" \
	"$G1: backend saw fewer frames than the frontend sent"
ok "frontend counters in the JSON match the $COUNT pings"

"$XNET" stats "$G1/0" >"$XNET_SIM_DIR/stats.txt" || fail "xnet stats $G1/0"
grep -q "^  frontend eth0: connected, 0 reconnect(s); tx [1-9]" "$XNET_SIM_DIR/stats.txt" ||
	fail "text output: $(cat "$XNET_SIM_DIR/stats.txt")"
grep -q "^  frontend eth0: .*; pages a backend kept mapped: 0 held, 0 abandoned$" \
	"$XNET_SIM_DIR/stats.txt" || fail "text output, held pages: $(cat "$XNET_SIM_DIR/stats.txt")"
grep -q "^    queue 0: tx [1-9]" "$XNET_SIM_DIR/stats.txt" ||
	fail "text output, queue: $(cat "$XNET_SIM_DIR/stats.txt")"
ok "text output has the frontend and its queues"
sim_down
echo "PASS front_stats"
