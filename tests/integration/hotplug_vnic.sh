#!/bin/sh
# hotplug_vnic.sh — vif-vnic: guests go out a physical link (a veth whose
# far end is an outside host's port on a bridge with hairpin on, in its own
# namespace) through macvlan VNICs, in each macvlan mode:
#   bridge    two guests reach the outside host and each other, and their
#             frames to each other never reach the outside host; renaming
#             the physical link and the vif during a ping loses at most a
#             few packets
#   vepa      they reach each other only through the outside (its hairpin
#             port reflects the frames: they are seen there)
#   private   they reach the outside host but never each other
#   passthru  one guest reaches the outside host; a second VNIC on the same
#             link is refused with hotplug-status=error and a reason
# Each time: the VNIC has the mode and the guest's MAC, frames cross the tc
# redirect (its counters move), vnic-linkid names the VNIC; detach removes
# the VNIC and the redirect.
# Cleans up every domain, link, namespace and the sim directory, also on
# failure.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
LINKID="$BIN/xnet-linkid"
XNET_SIM_DIR="$(mktemp -d /tmp/xnet-hpvnic.XXXXXX)"
export XNET_SIM_DIR
G1=xn1-$$ G2=xn2-$$ X=xnx-$$
P=xnp$$ P2=xnpR$$ PX=xnq$$ XBR=xnbr$$
OUT=198.18.9.254

cleanup() {
	set +e
	for g in "$G1" "$G2"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$P" 2>/dev/null
	ip link del "$P2" 2>/dev/null
	ip netns del "$X" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

gone() { ! "$LINKID" name "$1" >/dev/null 2>&1; }

# guest NAME VIFSPEC ADDR — sets DOMID and BE (its vif's backend directory).
guest() {
	DOMID=$("$XNET" domain create "$1" | awk '{ print $2 }')
	BE=/local/domain/0/backend/vif/$DOMID/0
	"$XNET" vif attach "$1" "$2" >/dev/null
	wait_for 20 status_is "$BE" connected ||
		fail "$1: hotplug-status '$(hp_status "$BE")': $(xs xenstore-read "$BE/hotplug-error" 2>/dev/null)"
	wait_for 20 in_ns "$1" ip link show eth0 || fail "$1: eth0 did not appear"
	in_ns "$1" ip addr add "$3/24" dev eth0
	in_ns "$1" ip link set eth0 up
}

# check_vnic BE MODE MAC — the VNIC vnic-linkid names is a macvlan in MODE
# with MAC (passthru: the link's own), and frames crossed the redirect.
check_vnic() {
	id=$(xs xenstore-read "$1/vnic-linkid") || fail "$1: no vnic-linkid"
	name=$("$LINKID" name "$id") || fail "vnic-linkid $id names no link"
	ip -d link show dev "$name" | grep -q "macvlan mode $2 " ||
		fail "$name is not a macvlan in mode $2: $(ip -d link show dev "$name")"
	[ "$2" = passthru ] || "$LINKID" info "$id" | grep -qx "mac=$3" ||
		fail "$name does not have the guest's MAC $3"
	vif=$(xs xenstore-read "$1/vifname")
	tc -s filter show dev "$vif" ingress | grep -q "Sent [1-9]" ||
		fail "no frames crossed $vif's redirect: $(tc -s filter show dev "$vif" ingress)"
	tc -s filter show dev "$name" ingress | grep -q "Sent [1-9]" ||
		fail "no frames crossed $name's redirect"
	VNICS="$VNICS $id"
}

# teardown — destroy both guests; their VNICs and redirects go.
teardown() {
	for g in "$G1" "$G2"; do "$XNET" domain destroy "$g" >/dev/null 2>&1 || true; done
	for id in $VNICS; do
		wait_for 10 gone "$id" || fail "VNIC $id still there after detach"
	done
	VNICS=
	wait_for 10 no_state || fail "vif-vnic state left behind: $(ls "$XNET_SIM_DIR/vif-vnic")"
	if ip -o link show | grep -q "@$(nic_name):"; then
		fail "a VNIC left on the link: $(ip -o link show | grep "@$(nic_name):")"
	fi
}
nic_name() { "$LINKID" name "$NIC"; }
no_state() { [ -z "$(ls "$XNET_SIM_DIR/vif-vnic" 2>/dev/null)" ]; }

# seen_outside SRC DST ADDR — while SRC pings ADDR, does the outside host
# see ICMP between SRC's and DST's addresses? (0 yes, 1 no; bounded)
seen_outside() {
	rm -f "$XNET_SIM_DIR/dump"
	in_ns "$X" timeout 4 tcpdump -i "$PX" -n -c 1 "icmp and host $2" \
		>"$XNET_SIM_DIR/dump" 2>&1 &
	dump=$!
	wait_for 5 grep -q "listening on" "$XNET_SIM_DIR/dump" || fail "tcpdump did not start"
	in_ns "$1" ping -c 3 -i 0.2 -W 1 "$3" >/dev/null 2>&1 || true
	wait "$dump"
}

"$XNET" sim up >/dev/null
VNICS=
ip netns add "$X"
ip link add name "$P" type veth peer name "$PX"
ip link set "$PX" netns "$X"
in_ns "$X" ip link set lo up
in_ns "$X" ip link add name "$XBR" type bridge
in_ns "$X" ip link set "$PX" master "$XBR"
in_ns "$X" bridge link set dev "$PX" hairpin on
in_ns "$X" ip link set "$PX" up
in_ns "$X" ip addr add "$OUT/24" dev "$XBR"
in_ns "$X" ip link set "$XBR" up
ip link set "$P" up
NIC=$(cat "/sys/class/net/$P/ifindex")

# ---- bridge ----------------------------------------------------------------
guest "$G1" "script=vif-vnic,nic=$P,mode=bridge,mac=00:16:3e:18:09:01,vifname=xnb1$$" 198.18.9.1
B1=$BE
guest "$G2" "script=vif-vnic,nic=$P,mode=bridge,mac=00:16:3e:18:09:02,vifname=xnb2$$" 198.18.9.2
[ "$(xs xenstore-read "$B1/nic")" = "$NIC" ] || fail "nic is not stored as $P's link id"
wait_for 20 reaches "$G1" "$OUT" || fail "bridge: $G1 cannot reach the outside host"
wait_for 20 reaches "$G1" 198.18.9.2 || fail "bridge: $G1 cannot reach $G2"
seen_outside "$G1" 198.18.9.2 198.18.9.2 && fail "bridge: guest-to-guest frames went outside"
check_vnic "$B1" bridge 00:16:3e:18:09:01
check_vnic "$BE" bridge 00:16:3e:18:09:02
schema_ok "with the vnic guests"
# The physical link renamed during a ping.
in_ns "$G1" ping -i 0.05 -c 100 -W 1 "$OUT" >"$XNET_SIM_DIR/ping" 2>&1 &
pp=$!
sleep 1.5
ip link set dev "$P" down
ip link set dev "$P" name "$P2"
ip link set dev "$P2" up
sleep 1
ip link set dev "xnb1$$" down
ip link set dev "xnb1$$" name "xnB1$$"
ip link set dev "xnB1$$" up
wait "$pp" || true
lost=$(awk '/packets transmitted/ { print $1 - $4 }' "$XNET_SIM_DIR/ping")
echo "lost across the renames of $P and $G1's vif: $lost of 100"
if [ -z "$lost" ] || [ "$lost" -gt 15 ]; then
	fail "rename of $P lost ${lost:-all} packets"
fi
teardown
ok "bridge: outside and each other, not via the outside; $P and the vif renamed during a ping; clean detach"

# ---- vepa ------------------------------------------------------------------
guest "$G1" "script=vif-vnic,nic=$NIC,mode=vepa,mac=00:16:3e:18:09:11,vifname=xnv1$$" 198.18.9.1
B1=$BE
guest "$G2" "script=vif-vnic,nic=$NIC,mode=vepa,mac=00:16:3e:18:09:12,vifname=xnv2$$" 198.18.9.2
wait_for 20 reaches "$G1" "$OUT" || fail "vepa: $G1 cannot reach the outside host"
wait_for 20 reaches "$G1" 198.18.9.2 || fail "vepa: $G1 cannot reach $G2 (hairpin)"
seen_outside "$G1" 198.18.9.2 198.18.9.2 || fail "vepa: guest-to-guest frames did not go outside"
check_vnic "$B1" vepa 00:16:3e:18:09:11
check_vnic "$BE" vepa 00:16:3e:18:09:12
teardown
ok "vepa: guest-to-guest frames go out and come back through the hairpin port"

# ---- private ---------------------------------------------------------------
guest "$G1" "script=vif-vnic,nic=$NIC,mode=private,mac=00:16:3e:18:09:21,vifname=xnp1$$" 198.18.9.1
B1=$BE
guest "$G2" "script=vif-vnic,nic=$NIC,mode=private,mac=00:16:3e:18:09:22,vifname=xnp2$$" 198.18.9.2
wait_for 20 reaches "$G1" "$OUT" || fail "private: $G1 cannot reach the outside host"
wait_for 20 reaches "$G2" "$OUT" || fail "private: $G2 cannot reach the outside host"
blocked "$G1" 198.18.9.2 || fail "private: $G1 reached $G2"
check_vnic "$B1" private 00:16:3e:18:09:21
check_vnic "$BE" private 00:16:3e:18:09:22
teardown
ok "private: both reach the outside host, never each other (even with hairpin)"

# ---- passthru --------------------------------------------------------------
guest "$G1" "script=vif-vnic,nic=$NIC,mode=passthru,mac=00:16:3e:18:09:31,vifname=xnt1$$" 198.18.9.1
B1=$BE
wait_for 20 reaches "$G1" "$OUT" || fail "passthru: $G1 cannot reach the outside host"
check_vnic "$B1" passthru 00:16:3e:18:09:31
DOMID=$("$XNET" domain create "$G2" | awk '{ print $2 }')
BE=/local/domain/0/backend/vif/$DOMID/0
"$XNET" vif attach "$G2" "script=vif-vnic,nic=$NIC,mode=passthru,mac=00:16:3e:18:09:32,vifname=xnt2$$" >/dev/null
wait_for 20 status_is "$BE" error || fail "second passthru VNIC: hotplug-status '$(hp_status "$BE")'"
err=$(xs xenstore-read "$BE/hotplug-error")
echo "$err" | grep -q "macvlan" || fail "second passthru VNIC: reason '$err'"
reaches "$G1" "$OUT" || fail "passthru: $G1 lost the outside host when the second VNIC failed"
teardown
ok "passthru: one guest out; a second VNIC refused ($err)"

sim_down
echo "PASS hotplug_vnic"
