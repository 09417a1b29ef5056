#!/bin/sh
# policy_guests.sh — the backend's policy with real guests (xnetfront) on a
# bridge:
#   - anti-spoofing: a guest with ip=ADDR reaches its peer from ADDR, not
#     once it moves to another address or changes its MAC, and again when
#     it goes back;
#   - VLAN: two guests with vlan=10 reach each other through a plain bridge
#     (their frames cross it tagged), a guest with vlan=20 does not, and its
#     backend counts the VLAN 10 frames it refused;
#   - the drops show in `xnet stats`.
# Cleans up every domain, link and the sim directory, also on failure.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
XNET_SIM_DIR="$(mktemp -d /tmp/xnet-pol.XXXXXX)"
export XNET_SIM_DIR
A=xpa-$$ B=xpb-$$ C=xpc-$$ D=xpd-$$ BR=xpbr$$

cleanup() {
	set +e
	for g in "$A" "$B" "$C" "$D"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT INT TERM

# guest NAME VIFSPEC ADDR/PREFIX — make_guest, its vif named after the guest
# (unique to this run).
guest() { make_guest "$1" "$2,vifname=v$(echo "$1" | tr -d -)" "$3"; }

# drops GUEST GROUP — GUEST's vif has dropped at least one frame of GROUP.
drops() {
	"$XNET" stats --json "$1/0" | jq -e ".vifs[0].drops.$2 >= 1" >/dev/null
}

"$XNET" sim up
ip link add "$BR" type bridge && ip link set "$BR" up

# ---- anti-spoofing -------------------------------------------------------
guest "$A" "mac=00:16:3e:00:e0:01,bridge=$BR,ip=198.19.0.1" 198.19.0.1/24
domid_a=$domid
guest "$B" "mac=00:16:3e:00:e0:02,bridge=$BR" 198.19.0.2/24
wait_for 20 reaches "$A" 198.19.0.2 || fail "$A (listed address) cannot reach $B"

in_ns "$A" ip addr del 198.19.0.1/24 dev eth0
in_ns "$A" ip addr add 198.19.0.9/24 dev eth0
in_ns "$B" ip neigh flush dev eth0
blocked "$A" 198.19.0.2 || fail "$A reached $B from an unlisted address"

in_ns "$A" ip addr del 198.19.0.9/24 dev eth0
in_ns "$A" ip addr add 198.19.0.1/24 dev eth0
wait_for 20 reaches "$A" 198.19.0.2 || fail "$A cannot reach $B again"

in_ns "$A" ip link set eth0 address 00:16:3e:00:e0:99
in_ns "$B" ip neigh flush dev eth0
blocked "$A" 198.19.0.2 || fail "$A reached $B with a spoofed MAC"
in_ns "$A" ip link set eth0 address 00:16:3e:00:e0:01
wait_for 20 reaches "$A" 198.19.0.2 || fail "$A cannot reach $B with its own MAC"
drops "$A" spoofed || fail "$A: no spoofed drops counted: $("$XNET" stats "$A/0")"
# The operator reads why in xnetback's --foreground log: a timestamped line
# that names the vif (the data path logs it, the vif's context prefixes it).
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2}'
grep -Eq "^$stamp xnetback: warning: /local/domain/0/backend/vif/$domid_a/0: .*tx frame dropped: tx_spoofed_mac" \
	"$XNET_SIM_DIR/xnetback.log" ||
	fail "no vif-prefixed spoofing line in xnetback.log: $(grep spoofed "$XNET_SIM_DIR/xnetback.log")"

# ---- VLAN ------------------------------------------------------------------
guest "$C" "mac=00:16:3e:00:e0:03,bridge=$BR,vlan=10" 198.20.0.3/24
guest "$D" "mac=00:16:3e:00:e0:04,bridge=$BR,vlan=10" 198.20.0.4/24
wait_for 20 reaches "$C" 198.20.0.4 || fail "$C cannot reach $D on VLAN 10"
# On the bridge the frames carry the tag.
timeout 10 tcpdump -i "$BR" -n -c 1 'vlan 10 and icmp' >"$XNET_SIM_DIR/tcpdump.out" 2>&1 &
dump=$!
wait_for 10 grep -q "listening on" "$XNET_SIM_DIR/tcpdump.out" || fail "tcpdump did not start"
in_ns "$C" ping -c 3 -i 0.2 -W 1 198.20.0.4 >/dev/null 2>&1 || true
wait "$dump" || fail "no VLAN 10 frame on the bridge: $(cat "$XNET_SIM_DIR/tcpdump.out")"
"$XNET" domain destroy "$D"
guest "$D" "mac=00:16:3e:00:e0:04,bridge=$BR,vlan=20" 198.20.0.4/24
in_ns "$C" ip neigh flush dev eth0
blocked "$C" 198.20.0.4 || fail "$C (VLAN 10) reached $D (VLAN 20)"
drops "$D" filtered || fail "$D: VLAN 10 frames not counted: $("$XNET" stats "$D/0")"
# B is untagged on the same bridge: out of C's VLAN too.
in_ns "$B" ip addr add 198.20.0.2/24 dev eth0
blocked "$C" 198.20.0.2 || fail "$C (VLAN 10) reached untagged $B"

schema_ok "with the policy guests"
for g in "$A" "$B" "$C" "$D"; do "$XNET" domain destroy "$g"; done
sim_down
ip link del "$BR"
echo "PASS policy_guests"
