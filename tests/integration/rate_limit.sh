#!/bin/sh
# rate_limit.sh — the `rate` key end to end: a guest attached with
# rate=10Mb/s (written as libxl's "bytes,usec") sends iperf3 TCP for 5 s to
# a guest on the same bridge; what arrives is 10 Mbit/s within 10 % and the
# backend counts throttled rounds. Then the key is rewritten to 5 Mbit/s
# while the vif stays connected (no reconnect, same interface): the next
# 5 s run gets 5 Mbit/s within 10 %.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
XNET_SIM_DIR=$(mktemp -d /tmp/xnet-rate.XXXXXX)
export XNET_SIM_DIR
A=xra-$$ B=xrb-$$ BR=xrbr$$

cleanup() {
	set +e
	iperf_stop
	for g in "$A" "$B"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT INT TERM

# mbits — iperf3 TCP from A to B for 5 s: Mbit/s received, to 0.01.
mbits() {
	iperf_server "$B" 198.18.9.2 || fail "iperf3 server"
	json=$(in_ns "$A" iperf3 -c 198.18.9.2 -t 5 -J) || fail "iperf3: $json"
	echo "$json" | jq -r '.end.sum_received.bits_per_second / 1e6 * 100 | floor / 100'
}

# within GOT WANT — GOT is within 10 % of WANT.
within() { awk -v g="$1" -v w="$2" 'BEGIN { exit !(g >= w * 0.9 && g <= w * 1.1) }'; }

throttled() { "$XNET" stats --json "$A/0" | jq -r '.vifs[0].counters.tx_throttled'; }

"$XNET" sim up >/dev/null
ip link add "$BR" type bridge && ip link set "$BR" up
make_guest "$A" "mac=00:16:3e:00:9a:01,bridge=$BR,rate=10Mb/s" 198.18.9.1/24
# shellcheck disable=SC2154 # make_guest sets domid
ida=$domid
make_guest "$B" "mac=00:16:3e:00:9a:02,bridge=$BR" 198.18.9.2/24
BE="/local/domain/0/backend/vif/$ida/0"
is "$BE/rate" "62500,50000" || fail "rate key: '$(xs xenstore-read "$BE/rate")'"
wait_for 20 reaches "$A" 198.18.9.2 || fail "$A cannot reach $B"
linkid=$(xs xenstore-read "$BE/vif-linkid") || fail "no vif-linkid"

got=$(mbits)
within "$got" 10 || fail "rate=10Mb/s: $got Mbit/s received"
[ "$(throttled)" -gt 0 ] || fail "no throttled rounds counted at 10 Mbit/s"
ok "rate=10Mb/s (62500,50000): $got Mbit/s received, $(throttled) throttled rounds"

xs xenstore-write "$BE/rate" "31250,50000"
got=$(mbits)
within "$got" 5 || fail "rate rewritten to 5 Mbit/s: $got Mbit/s received"
is "$BE/state" 4 || fail "the vif left Connected when its rate changed"
[ "$(xs xenstore-read "$BE/vif-linkid")" = "$linkid" ] ||
	fail "the vif's interface was recreated when its rate changed"
ip -o link | grep -q "^$linkid:" || fail "the vif's interface (link id $linkid) is gone"
ok "rate rewritten while connected (31250,50000): $got Mbit/s received"

schema_ok "with a rate-limited vif"
iperf_stop
for g in "$A" "$B"; do "$XNET" domain destroy "$g" >/dev/null; done
sim_down
ip link del "$BR"
echo "PASS rate_limit"
