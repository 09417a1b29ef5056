#!/bin/sh
# cli_guests.sh — the whole `xnet` flow with the real daemons: sim up starts
# xnet-simd, xnetback and xnet-hotplugd; two guests with xnetfront; vifs on
# one bridge connect (hotplug-status=connected, state 4) and ping; vif
# detach closes cleanly (the backend reaches Closed: no forced removal);
# domain destroy and sim down leave no namespace, interface or process.
set -u
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-cli-guests.XXXXXX)
export XNET_SIM_DIR="$T/sim" XNET_BIN="$BIN"
XNET="$BIN/xnet"
G1=xtg1-$$
G2=xtg2-$$
BR=xtgb$$
V1=xtg${$}a
V2=xtg${$}b

alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
dead() { ! alive "$1"; }
no_ns() { ! has_ns "$1"; }
no_link() { ! has_link "$1"; }
cleanup() {
	set +e
	"$XNET" sim down >/dev/null 2>&1
	for g in "$G1" "$G2"; do has_ns "$g" && ip netns del "$g"; done
	for l in "$V1" "$V2" "$BR"; do has_link "$l" && ip link del "$l"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for p in xnet xnet-simd xnetback xnet-hotplugd xnetfront vif-bridge; do
	[ -x "$BIN/$p" ] || fail "$BIN/$p not built"
done

"$XNET" sim up >/dev/null || fail "sim up"
for d in xnet-simd xnetback xnet-hotplugd; do
	"$XNET" sim status | grep "^$d " | grep -q running || fail "$d not running"
done
ok "sim up: xnet-simd, xnetback, xnet-hotplugd"

id1=$("$XNET" domain create "$G1" | awk '{print $2}') || fail "create $G1"
id2=$("$XNET" domain create "$G2" | awk '{print $2}') || fail "create $G2"
f2=$("$XNET" domain list | awk -v g="$G2" '$1 == g {print $5}')
alive "$f2" || fail "no xnetfront for $G2 ($f2)"
ok "two guests, each with its xnetfront"

"$XNET" vif attach "$G1" "mac=00:16:3e:5e:00:01,bridge=$BR,vifname=$V1" >/dev/null ||
	fail "attach $G1"
"$XNET" vif attach "$G2" "mac=00:16:3e:5e:00:02,bridge=$BR,vifname=$V2" >/dev/null ||
	fail "attach $G2"
for i in "$id1" "$id2"; do
	be=/local/domain/0/backend/vif/$i/0
	wait_for 20 is "$be/state" 4 || fail "backend $be not Connected"
	is "$be/hotplug-status" connected || fail "$be: hotplug-status not connected"
	wait_for 20 is "/local/domain/$i/device/vif/0/state" 4 || fail "frontend of $i not Connected"
done
wait_for 20 ip netns exec "$G1" ip link show eth0 || fail "no eth0 in $G1"
wait_for 20 ip netns exec "$G2" ip link show eth0 || fail "no eth0 in $G2"
[ "$(basename "$(readlink "/sys/class/net/$V1/master")")" = "$BR" ] || fail "$V1 not on $BR"
[ "$(basename "$(readlink "/sys/class/net/$V2/master")")" = "$BR" ] || fail "$V2 not on $BR"
"$XNET" vif list | grep -q "^$G1 .* 00:16:3e:5e:00:01 0 *4 " || fail "vif list: $("$XNET" vif list)"
ok "vifs connected: hotplug-status=connected, both ends state 4, TAPs on $BR"

ip netns exec "$G1" ip addr add 198.51.100.1/24 dev eth0
ip netns exec "$G2" ip addr add 198.51.100.2/24 dev eth0
ip netns exec "$G1" ip link set eth0 up
ip netns exec "$G2" ip link set eth0 up
wait_for 20 ip netns exec "$G1" ping -c1 -W1 198.51.100.2 || fail "$G1 cannot ping $G2"
ok "ping across the bridge"
schema_ok "with two guests connected"

out=$("$XNET" vif detach "$G1" 0 2>&1) || fail "detach: $out"
echo "$out" | grep -q warning && fail "detach had to force: $out"
xs xenstore-read "/local/domain/0/backend/vif/$id1/0" >/dev/null 2>&1 && fail "backend dir left"
wait_for 10 no_link "$V1" || fail "$V1 left after detach"
ok "vif detach: clean close, no forced removal"

"$XNET" domain destroy "$G2" || fail "destroy $G2"
has_ns "$G2" && fail "namespace $G2 left"
wait_for 5 dead "$f2" || fail "xnetfront of $G2 still running"
wait_for 10 no_link "$V2" || fail "$V2 left after domain destroy"
ok "domain destroy: frontend stopped, vif and namespace gone"

sim_down
wait_for 5 no_ns "$G1" || fail "namespace $G1 left after sim down"
[ ! -e "$XNET_SIM_DIR" ] || fail "sim down left $(ls -A "$XNET_SIM_DIR")"
ok "sim down leaves nothing"
