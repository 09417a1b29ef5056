#!/bin/sh
# op_driver_stats.sh — counters of a backend in a driver domain: its
# xnetback serves xnetback-dom<N>.sock in the run directory, and `xnet
# stats`, `xnet top -b` and `xnet vif list` show its vifs next to domain
# 0's, each with its backend domain and link id (in the driver domain's
# own network). The driver domain's vif carries a known number of pings.
set -u
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-op-driver.XXXXXX)
export XNET_SIM_DIR="$T/sim" XNET_BIN="$BIN"
unset XNET_STATS_SOCKET
XNET="$BIN/xnet"
H=xoh-$$
G=xog-$$
BR=xodb$$
VD=xod${$}d
V0=xod${$}z
COUNT=20
NB=

fail_hook() {
	[ -f "$T/nb.log" ] && { echo "== $T/nb.log" >&2; tail -20 "$T/nb.log" >&2; }
}
cleanup() {
	set +e
	if [ -n "$NB" ]; then kill "$NB" 2>/dev/null; wait "$NB"; fi
	"$XNET" sim down >/dev/null 2>&1
	for n in "$G" "$H"; do has_ns "$n" && ip netns del "$n"; done
	for l in "$V0" "$BR"; do has_link "$l" && ip link del "$l"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

command -v jq >/dev/null || fail "jq is not installed (tools/install-deps.sh)"
"$XNET" sim up >/dev/null || fail "sim up"
did=$("$XNET" domain create --driver "$H" | awk '{print $2}') || fail "create driver domain"
# Started by hand with a descriptor of ours open, which it must not keep.
exec 9>"$T/held"
ip netns exec "$H" env XNET_DOMID="$did" "$BIN/xnetback" --foreground >"$T/nb.log" 2>&1 &
NB=$!
exec 9>&-
wait_for 10 test -S "$XNET_SIM_DIR/xnetback-dom$did.sock" ||
	fail "no stats socket for the driver domain's xnetback"
! holds "$NB" "$T/held" || fail "xnetback kept a descriptor it was started with"
gid=$("$XNET" domain create "$G" | awk '{print $2}') || fail "create guest"

# devid 0 from the driver domain (no hotplug daemon there: we report for
# it), devid 1 from domain 0 on a bridge.
"$XNET" vif attach "$G" "backend=$H,vifname=$VD,mac=00:16:3e:18:03:02" >/dev/null ||
	fail "attach to the driver domain"
bed=/local/domain/$did/backend/vif/$gid/0
wait_for 20 is "$bed/state" 2 || fail "driver domain backend not in InitWait"
xs xenstore-write "$bed/hotplug-status" connected
"$XNET" vif attach "$G" "bridge=$BR,vifname=$V0,mac=00:16:3e:18:03:03" >/dev/null ||
	fail "attach to domain 0"
wait_for 20 is "$bed/state" 4 || fail "driver domain backend not Connected"
wait_for 20 is "/local/domain/0/backend/vif/$gid/1/state" 4 || fail "dom0 backend not Connected"
wait_for 20 ip netns exec "$G" ip link show eth0 || fail "no eth0 in $G"
ok "a guest with one vif from the driver domain and one from domain 0"

ip -n "$H" addr add 198.18.0.1/24 dev "$VD"
ip -n "$H" link set "$VD" up
ip -n "$G" addr add 198.18.0.2/24 dev eth0
ip -n "$G" link set eth0 up
wait_for 20 ip netns exec "$H" ping -c1 -W1 198.18.0.2 || fail "no ping through the driver domain"
"$XNET" stats --json >"$T/s1.json" || fail "stats --json"
ip netns exec "$H" ping -q -c "$COUNT" -i 0.02 -W 2 198.18.0.2 >/dev/null || fail "pings"
"$XNET" stats --json >"$T/s2.json" || fail "stats --json"
jq -e --argjson c "$COUNT" --argjson d "$did" --slurpfile a "$T/s1.json" '
	(.backends | map(.domain) | sort) == ([0, $d] | sort) and
	(.vifs[] | select(.name == "'"$V0"'") | .backend_domid == 0 and .connected) and
	(.vifs[] | select(.name == "'"$VD"'") as $v |
	 $a[0].vifs[] | select(.name == "'"$VD"'") as $o |
	 $v.backend_domid == $d and $v.domid == '"$gid"' and $v.devid == 0 and
	 ($v.counters.rx_packets - $o.counters.rx_packets) >= $c and
	 ($v.counters.tx_packets - $o.counters.tx_packets) >= $c)' "$T/s2.json" >/dev/null ||
	fail "merged stats: $(cat "$T/s1.json" "$T/s2.json")"
ok "stats: both backends, the driver domain's vif moved by $COUNT pings each way"

"$XNET" top -b >"$T/top" || fail "top -b"
{ grep -q "^$VD " "$T/top" && grep -q "^$V0 " "$T/top"; } || fail "top -b rows: $(cat "$T/top")"
ifd=$(ip netns exec "$H" cat "/sys/class/net/$VD/ifindex")
"$XNET" vif list --json "$G" >"$T/list.json" || fail "vif list"
jq -e '.[] | select(.idx == 0) | .ifname == "'"$VD"'" and .linkid == '"$ifd"' and
	.be_path == "'"$bed"'"' "$T/list.json" >/dev/null || fail "vif list: $(cat "$T/list.json")"
ok "top and vif list show the driver domain's vif with its link id there"

kill "$NB" && wait "$NB"
NB=
[ ! -e "$XNET_SIM_DIR/xnetback-dom$did.sock" ] || fail "driver xnetback left its socket"
"$XNET" stats --json >"$T/s3.json" || fail "stats with one backend gone"
jq -e '(.backends | length) == 1 and all(.vifs[]; .backend_domid == 0)' "$T/s3.json" \
	>/dev/null || fail "after the driver xnetback stopped: $(cat "$T/s3.json")"
ok "a stopped driver domain backend drops out; its socket is removed"

schema_ok "at the end"
