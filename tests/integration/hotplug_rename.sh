#!/bin/sh
# hotplug_rename.sh — renames while guests run. Two guests on a bridge
# (vif-bridge) with a physical link (a veth whose far end is an outside
# host in its own namespace): while guest A pings the outside host and
# guest B, the physical link, the bridge and A's vif are renamed in turn.
# Checks: each ping loses at most a few packets; xnetback follows the vif
# rename (vifname in xenstore is the new name, vif-linkid unchanged, the
# stats socket says so); bridge-linkid still names the renamed bridge;
# detach afterwards removes the vif and leaves no error, the bridge and
# the physical link stay as they are.
# Cleans up every domain, link, namespace and the sim directory, also on
# failure.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
XNET_SIM_DIR="$(mktemp -d /tmp/xnet-hpren.XXXXXX)"
export XNET_SIM_DIR
A=xra-$$ B=xrb-$$ X=xrx-$$
BR=xrbr$$ P=xrp$$ PX=xrq$$ VA=xrva$$ VB=xrvb$$
BR2=xrbR$$ P2=xrpR$$ VA2=xrvR$$ VB2=xrwR$$

cleanup() {
	set +e
	for g in "$A" "$B"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	for l in "$BR" "$BR2" "$P" "$P2"; do ip link del "$l" 2>/dev/null; done
	ip netns del "$X" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ifindex() { cat "/sys/class/net/$1/ifindex"; }
is_name() { [ "$(xs xenstore-read "$1/vifname")" = "$2" ]; }

# guest NAME VIFSPEC ADDR/PREFIX — sets DOMID.
guest() {
	DOMID=$("$XNET" domain create "$1" | awk '{ print $2 }')
	"$XNET" vif attach "$1" "$2" >/dev/null
	wait_for 20 in_ns "$1" ip link show eth0 || fail "$1: eth0 did not appear"
	in_ns "$1" ip addr add "$3" dev eth0
	in_ns "$1" ip link set eth0 up
}

# rename OLD NEW — as an administrator does it: down, new name, up.
rename() {
	ip link set dev "$1" down
	ip link set dev "$1" name "$2"
	ip link set dev "$2" up
}

# lost FILE — packets a finished ping lost (transmitted - received).
lost() {
	awk '/packets transmitted/ { print $1 - $4 }' "$1"
}

"$XNET" sim up >/dev/null
ip netns add "$X"
ip link add name "$P" type veth peer name "$PX"
ip link set "$PX" netns "$X"
in_ns "$X" ip addr add 198.18.7.254/24 dev "$PX"
in_ns "$X" ip link set "$PX" up
in_ns "$X" ip link set lo up
ip link add name "$BR" type bridge
ip link set "$P" master "$BR"
ip link set "$P" up
ip link set "$BR" up

guest "$A" "mac=00:16:3e:18:07:01,bridge=$BR,vifname=$VA" 198.18.7.1/24
bedir=/local/domain/0/backend/vif/$DOMID/0
guest "$B" "mac=00:16:3e:18:07:02,bridge=$BR,vifname=$VB" 198.18.7.2/24
bbdir=/local/domain/0/backend/vif/$DOMID/0
wait_for 20 reaches "$A" 198.18.7.254 || fail "$A cannot reach the outside host"
wait_for 20 reaches "$A" 198.18.7.2 || fail "$A cannot reach $B"
vid=$(ifindex "$VA")
[ "$(xs xenstore-read "$bedir/vif-linkid")" = "$vid" ] || fail "vif-linkid is not $VA's link id"
brid=$(xs xenstore-read "$bedir/bridge-linkid")
[ "$brid" = "$(ifindex "$BR")" ] || fail "bridge-linkid is not $BR's link id"
ok "two guests on $BR, outside host behind $P; vif-linkid and bridge-linkid recorded"

# The rename a hotplug script does (as Xen's): the toolstack asks for a
# new vifname and the script runs online again; xnetback follows it and
# records the vif again (vif-linkid comes back after we remove it).
vbid=$(ifindex "$VB")
has_linkid() { [ "$(xs xenstore-read "$1/vif-linkid" 2>/dev/null)" = "$2" ]; }
xs xenstore-rm "$bbdir/vif-linkid"
xs xenstore-write "$bbdir/vifname" "$VB2"
XENBUS_PATH=$bbdir vif=$VB XNET_VIF_LINKID=$vbid XENSTORED_PATH="$XNET_SIM_DIR/xenstored.sock" \
	"$BIN/vif-bridge" online type_if=vif 2>"$XNET_SIM_DIR/script.err" ||
	fail "vif-bridge online (rename to vifname): $(cat "$XNET_SIM_DIR/script.err")"
[ "$(ifindex "$VB2")" = "$vbid" ] || fail "the script did not rename $VB to $VB2"
wait_for 10 has_linkid "$bbdir" "$vbid" || fail "xnetback did not record $VB2 again (vif-linkid)"
[ "$(xs xenstore-read "$bbdir/vifname")" = "$VB2" ] || fail "vifname is not $VB2"
wait_for 20 reaches "$A" 198.18.7.2 || fail "$A cannot reach $B after $B's vif was renamed by its script"
ok "a hotplug script renames $VB to vifname $VB2: xnetback follows, traffic goes on"

# 0.05 s apart for 12 s: the renames happen while these run.
in_ns "$A" ping -i 0.05 -c 240 -W 1 198.18.7.254 >"$XNET_SIM_DIR/ping-out" 2>&1 &
p1=$!
in_ns "$A" ping -i 0.05 -c 240 -W 1 198.18.7.2 >"$XNET_SIM_DIR/ping-b" 2>&1 &
p2=$!
sleep 2
rename "$P" "$P2"
sleep 2
rename "$BR" "$BR2"
sleep 2
rename "$VA" "$VA2"
wait "$p1" || true
wait "$p2" || true
lo=$(lost "$XNET_SIM_DIR/ping-out")
lb=$(lost "$XNET_SIM_DIR/ping-b")
echo "lost to the outside host: $lo of 240; to $B: $lb of 240"
few() { [ -n "$1" ] && [ "$1" -le 24 ]; }
few "$lo" || fail "ping to the outside host lost $lo: $(tail -3 "$XNET_SIM_DIR/ping-out")"
few "$lb" || fail "ping to $B lost $lb: $(tail -3 "$XNET_SIM_DIR/ping-b")"
reaches "$A" 198.18.7.254 || fail "$A cannot reach the outside host after the renames"
ok "physical link, bridge and vif renamed during pings: at most a few packets lost"

wait_for 10 is_name "$bedir" "$VA2" || fail "vifname is $(xs xenstore-read "$bedir/vifname"), not $VA2"
[ "$(xs xenstore-read "$bedir/vif-linkid")" = "$vid" ] || fail "vif-linkid changed"
[ "$(ifindex "$VA2")" = "$vid" ] || fail "$VA2 is not the same link"
"$XNET" stats --json "$A/0" | jq -e --arg n "$VA2" '.vifs[0].name == $n' >/dev/null ||
	fail "stats do not name $VA2: $("$XNET" stats "$A/0" | head -3)"
[ "$("$BIN/xnet-linkid" name "$brid")" = "$BR2" ] || fail "bridge-linkid does not name $BR2"
[ "$("$BIN/xnet-linkid" master "$vid")" = "$brid" ] || fail "$VA2 is no longer on $BR2"
ok "xnetback follows the rename: vifname $VA2, same vif-linkid; bridge-linkid names $BR2"

schema_ok "after the renames"
"$XNET" vif detach "$A" 0 >/dev/null || fail "detach $A"
wait_for 10 sh -c "! ip link show $VA2" || fail "$VA2 still there after detach"
if grep -q "error" "$XNET_SIM_DIR/xnet-hotplugd.log" 2>/dev/null; then
	fail "hotplug errors: $(grep error "$XNET_SIM_DIR/xnet-hotplugd.log")"
fi
[ -d "/sys/class/net/$BR2/bridge" ] || fail "$BR2 went with the vif"
[ "$(basename "$(readlink "/sys/class/net/$P2/master")")" = "$BR2" ] || fail "$P2 left $BR2"
xs xenstore-exists "$bedir" 2>/dev/null && fail "$bedir still in xenstore"
reaches "$B" 198.18.7.254 || fail "$B lost the outside host when $A went"
ok "detach after the renames: vif gone, no errors, $B still reaches the outside host"

for g in "$A" "$B"; do "$XNET" domain destroy "$g" >/dev/null; done
sim_down
echo "PASS hotplug_rename"
