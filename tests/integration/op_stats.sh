#!/bin/sh
# op_stats.sh — what an operator reads: `xnet vif list`, `xnet stats` and
# `xnet status`, text and --json, against traffic actually sent. A guest on
# a bridge with the host at 198.18.0.1 is pinged a known number of times;
# the backend's counters (per vif and per queue) must have moved by at least
# that much, both ways. A second vif whose hotplug script fails must show in
# status as an error with its reason. Everything is removed, also on failure.
set -u
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-op-stats.XXXXXX)
export XNET_SIM_DIR="$T/sim" XNET_BIN="$BIN"
unset XNET_STATS_SOCKET
XNET="$BIN/xnet"
G=xos-$$
BR=xosb$$
V=xos${$}a
VBAD=xos${$}e
HOST=198.18.0.1
GUEST=198.18.0.2
COUNT=25

# jq -e EXPR over FILE: fails the test with MSG when EXPR is false or null.
check() {
	jq -e "$2" "$1" >/dev/null || fail "$3: $(cat "$1")"
}
cleanup() {
	set +e
	"$XNET" sim down >/dev/null 2>&1
	has_ns "$G" && ip netns del "$G"
	for l in "$V" "$VBAD" "$BR"; do has_link "$l" && ip link del "$l"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

command -v jq >/dev/null || fail "jq is not installed (tools/install-deps.sh)"
for p in xnet xnet-simd xnetback xnet-hotplugd xnetfront vif-bridge; do
	[ -x "$BIN/$p" ] || fail "$BIN/$p not built"
done

# Before anything runs: a clear one-line error, not a hang.
out=$("$XNET" stats 2>&1) && fail "stats without xnetback succeeded: $out"
echo "$out" | grep -q "xnetback is not running" || fail "stats without xnetback: $out"
"$XNET" status --json >"$T/st0.json" || fail "status without a sim"
check "$T/st0.json" '.daemons.xnetback.state == "stopped" and .platform == "sim"' \
	"status without a sim"
ok "stats and status with nothing running"

# A malformed answer on the socket is refused naming the line, and one cut
# short (no "end") is refused too: a fake server answers once each.
serve_once() { # serve_once SOCKET TEXT: answer one client with TEXT
	/usr/bin/python3 -c 'import socket,sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); c.sendall(sys.argv[2].encode()); c.close()' "$1" "$2" &
	wait_for 5 test -S "$1" || fail "fake stats server did not start"
}
serve_once "$T/bad.sock" "$(printf 'xnetback 1\npid 1\nvif 1 0\ntx_packets lots\nend\n')"
out=$("$XNET" stats --socket "$T/bad.sock" 2>&1) && fail "a malformed answer was accepted"
echo "$out" | grep -q "bad.sock: line 4: malformed" || fail "malformed answer: $out"
serve_once "$T/short.sock" "$(printf 'xnetback 1\npid 1\nvif 1 0\ntx_packets 5\n')"
out=$("$XNET" stats --socket "$T/short.sock" 2>&1) && fail "a cut answer was accepted"
echo "$out" | grep -q "answer cut short" || fail "cut answer: $out"
wait
ok "malformed and cut-short stats answers are refused with the line named"

"$XNET" sim up >/dev/null || fail "sim up"
domid=$("$XNET" domain create "$G" | awk '{print $2}') || fail "create $G"
"$XNET" vif attach "$G" "mac=00:16:3e:18:00:02,bridge=$BR,vifname=$V" >/dev/null ||
	fail "attach"
be=/local/domain/0/backend/vif/$domid/0
wait_for 20 is "$be/state" 4 || fail "backend not Connected"
wait_for 20 is "/local/domain/$domid/device/vif/0/state" 4 || fail "frontend not Connected"
wait_for 20 ip netns exec "$G" ip link show eth0 || fail "no eth0 in $G"
ip netns exec "$G" ip addr add "$GUEST/24" dev eth0
ip netns exec "$G" ip link set eth0 up
ip addr add "$HOST/24" dev "$BR"
ip link set "$BR" up
wait_for 20 ping -c1 -W1 "$GUEST" || fail "no ping to the guest"
ok "guest $G connected on $BR"

# Counters before and after COUNT pings; each ping is one frame each way,
# each moved by a grant copy or through a static grant.
"$XNET" stats --json "$V" >"$T/s1.json" || fail "stats --json $V"
ping -q -c "$COUNT" -i 0.02 -W 2 "$GUEST" >"$T/ping" || fail "ping: $(cat "$T/ping")"
"$XNET" stats --json "$G/0" >"$T/s2.json" || fail "stats --json $G/0"
jq -e --argjson c "$COUNT" --slurpfile a "$T/s1.json" '
	.vifs[0] as $v | $a[0].vifs[0] as $o |
	$v.name == "'"$V"'" and $v.domid == '"$domid"' and $v.devid == 0 and $v.connected and
	($v.counters.rx_packets - $o.counters.rx_packets) >= $c and
	($v.counters.tx_packets - $o.counters.tx_packets) >= $c and
	($v.counters.rx_bytes - $o.counters.rx_bytes) >= $c * 98 and
	($v.counters.tx_bytes - $o.counters.tx_bytes) >= $c * 98 and
	($v.counters.notify_received - $o.counters.notify_received) >= 1 and
	(($v.counters.grant_copy_segs + $v.counters.static_grant_segs) -
	 ($o.counters.grant_copy_segs + $o.counters.static_grant_segs)) >= 2 * $c and
	$v.drops.total == 0 and $v.drops.spoofed == 0' "$T/s2.json" >/dev/null ||
	fail "counters did not move by $COUNT pings: $(cat "$T/s1.json" "$T/s2.json")"
ok "stats --json: tx and rx moved by at least $COUNT packets, no drops"

# Per queue: this connection's counters add up to the vif's, rings are mapped.
# shellcheck disable=SC2016 # $v is jq's
check "$T/s2.json" '.vifs[0] as $v | ($v.queues | length) == $v.counters.queues and
	([$v.queues[].counters.tx_packets] | add) == $v.counters.tx_packets and
	([$v.queues[].counters.rx_packets] | add) == $v.counters.rx_packets and
	all($v.queues[]; .counters.grant_maps == 2 and .counters.tx_ring_size == 256 and
	    .counters.rx_ring_posted <= .counters.rx_ring_size)' "per-queue counters"
ok "per-queue counters sum to the vif's; ring occupancy within the ring"

"$XNET" stats "$V" >"$T/stats.txt" || fail "stats $V"
grep -q "^$V (domain $G $domid, devid 0)" "$T/stats.txt" || fail "stats text: $(cat "$T/stats.txt")"
grep -q "drops: ring_full 0 bad_request 0 rate_limited 0 spoofed 0 no_rx_buffer 0" \
	"$T/stats.txt" || fail "stats text drops: $(cat "$T/stats.txt")"
grep -q "^  queue 0: " "$T/stats.txt" || fail "stats text queue: $(cat "$T/stats.txt")"
out=$("$XNET" stats nosuchvif 2>&1) && fail "stats of an unknown vif succeeded"
echo "$out" | grep -q "no vif 'nosuchvif'" || fail "unknown vif: $out"
ok "stats text, and an unknown vif is named"

# vif list: xl's columns plus the interface and its link id.
"$XNET" vif list --json >"$T/list.json" || fail "vif list --json"
ifindex=$(cat "/sys/class/net/$V/ifindex")
check "$T/list.json" '.[] | select(.domain == "'"$G"'") |
	.idx == 0 and .mac == "00:16:3e:18:00:02" and .state == "4" and .be == "0" and
	.be_path == "'"$be"'" and .ifname == "'"$V"'" and .linkid == '"$ifindex"' and
	(.tx_ring_ref | tonumber) > 0 and (.evt_ch | length) > 0' "vif list --json"
"$XNET" vif list "$G" | grep -q "^0 .* 00:16:3e:18:00:02 0 *4 .* $V *$ifindex *$be\$" ||
	fail "vif list text: $("$XNET" vif list "$G")"
ok "vif list: text and --json with interface $V and link id $ifindex"

# A vif whose hotplug script fails: status names it with the reason.
"$XNET" vif attach "$G" "mac=00:16:3e:18:00:03,bridge=$BR,vifname=$VBAD,script=/bin/false" \
	>/dev/null || fail "attach the failing vif"
wait_for 20 is "/local/domain/0/backend/vif/$domid/1/hotplug-status" error ||
	fail "hotplug-status of the failing vif"
"$XNET" status --json >"$T/st.json" || fail "status --json"
check "$T/st.json" '.platform == "sim" and
	.daemons["xnet-simd"].state == "running" and .daemons.xnetback.state == "running" and
	.daemons["xnet-hotplugd"].state == "running" and .daemons.xnetback.stats_socket and
	any(.domains[]; .name == "'"$G"'" and .domid == '"$domid"') and
	any(.vifs[]; .domain == "'"$G"'" and .devid == 0 and .frontend_state == "Connected" and
	    .backend_state == "Connected" and .hotplug_status == "connected" and
	    (.errors | length) == 0) and
	any(.vifs[]; .devid == 1 and .hotplug_status == "error" and
	    any(.errors[]; .source == "hotplug" and (.reason | length) > 0))' "status --json"
"$XNET" status >"$T/st.txt" || fail "status"
grep -q "^xnetback *running  pid [0-9]*  stats socket answers" "$T/st.txt" ||
	fail "status text: $(cat "$T/st.txt")"
grep -q "^  $G/0 *$V *frontend Connected *backend Connected *hotplug connected" "$T/st.txt" ||
	fail "status text vif: $(cat "$T/st.txt")"
grep -q "ERROR (hotplug) /local/domain/0/backend/vif/$domid/1/hotplug-error: ." "$T/st.txt" ||
	fail "status text error: $(cat "$T/st.txt")"
ok "status: daemons, domains, vif states, and the failed hotplug with its reason"

sim_down
[ ! -e "$XNET_SIM_DIR" ] || fail "sim down left $(ls -A "$XNET_SIM_DIR")"
ok "sim down leaves nothing (stats socket removed)"
