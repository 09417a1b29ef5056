#!/bin/sh
# hotplug_pool.sh — device pools for vif-vnic (pool=NAME). A pool file lists
# two links (veth ends standing in for SR-IOV virtual functions, one by
# name, one by link id) whose far ends are ports of an outside host's
# bridge. Checks:
#   - each guest gets a free device with its own MAC set on it and reaches
#     the outside host (and the other guest) through it;
#   - a third vif finds the pool exhausted: hotplug-status=error and a
#     hotplug-error that says so; the others carry on;
#   - detach gives each device its own MAC back and returns it to the pool,
#     also when the device was renamed meanwhile;
#   - the assignment persists per (domain, devid): detached and attached
#     again in the other order, each vif gets the device it had;
#   - a pool name that is not a plain name is refused.
# Cleans up every domain, link, namespace and the sim directory, also on
# failure.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
LINKID="$BIN/xnet-linkid"
XNET_SIM_DIR="$(mktemp -d /tmp/xnet-hppool.XXXXXX)"
XNET_POOL_DIR="$XNET_SIM_DIR/pool-conf"
export XNET_SIM_DIR XNET_POOL_DIR
G1=xo1-$$ G2=xo2-$$ G3=xo3-$$ X=xox-$$
D1=xod1$$ D2=xod2$$ D2R=xodR$$ XBR=xobr$$
POOL=vfs$$
OUT=198.18.10.254

cleanup() {
	set +e
	for g in "$G1" "$G2" "$G3"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	for l in "$D1" "$D2" "$D2R"; do ip link del "$l" 2>/dev/null; done
	ip netns del "$X" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

has_status() { [ -n "$(hp_status "$1")" ]; }
mac_of() { "$LINKID" info "$1" | sed -n 's/^mac=//p'; }
mac_is() { [ "$(mac_of "$1")" = "$2" ]; }
be() { echo "/local/domain/0/backend/vif/$1/0"; }

# attach NAME DOMID MAC N — its vif 0 from the pool; waits for the result.
attach() {
	# No script key: pool= alone picks vif-vnic.
	"$XNET" vif attach "$1" "pool=$POOL,mac=$3,vifname=xo$4v$$" >/dev/null
	wait_for 20 has_status "$(be "$2")" || fail "$1: no hotplug-status"
}
detach() { "$XNET" vif detach "$1" 0 >/dev/null; }
# domain NAME — create it, print its domid.
domain() { "$XNET" domain create "$1" | awk '{ print $2 }'; }
up_eth0() {
	wait_for 20 in_ns "$1" ip link show eth0 || fail "$1: eth0 did not appear"
	in_ns "$1" ip addr add "$2/24" dev eth0
	in_ns "$1" ip link set eth0 up
}
owner_files() {
	find "$XNET_SIM_DIR/pools/$POOL" -name 'owner-*' 2>/dev/null | wc -l | tr -d ' '
}

"$XNET" sim up >/dev/null
ip netns add "$X"
in_ns "$X" ip link set lo up
in_ns "$X" ip link add name "$XBR" type bridge
in_ns "$X" ip addr add "$OUT/24" dev "$XBR"
in_ns "$X" ip link set "$XBR" up
for d in "$D1" "$D2"; do
	ip link add name "$d" type veth peer name "${d}x"
	ip link set "${d}x" netns "$X"
	in_ns "$X" ip link set "${d}x" master "$XBR"
	in_ns "$X" ip link set "${d}x" up
done
ID1=$(cat "/sys/class/net/$D1/ifindex")
ID2=$(cat "/sys/class/net/$D2/ifindex")
MAC1=$(mac_of "$ID1")
MAC2=$(mac_of "$ID2")
mkdir "$XNET_POOL_DIR"
printf '# test pool: one by name, one by link id\n%s\n\n%s  # by id\n' "$D1" "$ID2" \
	>"$XNET_POOL_DIR/$POOL"

# ---- two guests, two devices ----------------------------------------------
I1=$(domain "$G1")
attach "$G1" "$I1" 00:16:3e:18:0a:01 1
status_is "$(be "$I1")" connected || fail "$G1: $(xs xenstore-read "$(be "$I1")/hotplug-error")"
[ "$(xs xenstore-read "$(be "$I1")/pool-linkid")" = "$ID1" ] || fail "$G1 did not get $D1 (first free)"
[ "$(xs xenstore-read "$(be "$I1")/vnic-linkid")" = "$ID1" ] || fail "$G1: vnic-linkid"
mac_is "$ID1" 00:16:3e:18:0a:01 || fail "$D1 has MAC $(mac_of "$ID1"), not $G1's"
up_eth0 "$G1" 198.18.10.1
I2=$(domain "$G2")
attach "$G2" "$I2" 00:16:3e:18:0a:02 2
status_is "$(be "$I2")" connected || fail "$G2: $(xs xenstore-read "$(be "$I2")/hotplug-error")"
[ "$(xs xenstore-read "$(be "$I2")/pool-linkid")" = "$ID2" ] || fail "$G2 did not get $D2"
mac_is "$ID2" 00:16:3e:18:0a:02 || fail "$D2 has MAC $(mac_of "$ID2"), not $G2's"
up_eth0 "$G2" 198.18.10.2
wait_for 20 reaches "$G1" "$OUT" || fail "$G1 cannot reach the outside host through $D1"
wait_for 20 reaches "$G2" "$OUT" || fail "$G2 cannot reach the outside host through $D2"
wait_for 20 reaches "$G1" 198.18.10.2 || fail "$G1 cannot reach $G2"
schema_ok "with two guests on pool devices"
ok "two guests, each on a pool device with its MAC, reach the outside host and each other"

# ---- exhausted --------------------------------------------------------------
I3=$(domain "$G3")
attach "$G3" "$I3" 00:16:3e:18:0a:03 3
status_is "$(be "$I3")" error || fail "$G3 connected from an exhausted pool"
err=$(xs xenstore-read "$(be "$I3")/hotplug-error")
[ "$err" = "pool $POOL: no free device (all 2 in use)" ] || fail "$G3: hotplug-error '$err'"
reaches "$G1" "$OUT" || fail "$G1 lost its device when $G3 failed"
mac_is "$ID1" 00:16:3e:18:0a:01 || fail "$G3's failure touched $D1"
detach "$G3"
ok "exhausted pool: hotplug-status=error, '$err'"

# ---- release restores the MAC, also after a rename ---------------------------
ip link set dev "$D2" name "$D2R"
detach "$G1"
detach "$G2"
wait_for 10 mac_is "$ID1" "$MAC1" || fail "$D1's MAC not restored: $(mac_of "$ID1")"
wait_for 10 mac_is "$ID2" "$MAC2" || fail "$D2R (renamed $D2) MAC not restored: $(mac_of "$ID2")"
none_out() { [ "$(owner_files)" = 0 ]; }
wait_for 10 none_out ||
	fail "devices not back in the pool: $(ls "$XNET_SIM_DIR/pools/$POOL")"
ip link set dev "$D2R" name "$D2"
ok "detach: both MACs restored (one device renamed meanwhile), both devices back"

# ---- the assignment persists per (domain, devid) ------------------------------
attach "$G2" "$I2" 00:16:3e:18:0a:02 2
status_is "$(be "$I2")" connected || fail "$G2 again: $(xs xenstore-read "$(be "$I2")/hotplug-error")"
[ "$(xs xenstore-read "$(be "$I2")/pool-linkid")" = "$ID2" ] ||
	fail "$G2 attached first got $(xs xenstore-read "$(be "$I2")/pool-linkid"), not its $D2"
attach "$G1" "$I1" 00:16:3e:18:0a:01 1
[ "$(xs xenstore-read "$(be "$I1")/pool-linkid")" = "$ID1" ] || fail "$G1 did not get $D1 back"
mac_is "$ID1" 00:16:3e:18:0a:01 || fail "$D1 has not $G1's MAC again"
ok "attached again in the other order: each vif gets the device it had"

for g in "$G1" "$G2" "$G3"; do "$XNET" domain destroy "$g" >/dev/null; done
wait_for 10 mac_is "$ID1" "$MAC1" || fail "$D1's MAC not restored at destroy"
wait_for 10 mac_is "$ID2" "$MAC2" || fail "$D2's MAC not restored at destroy"
wait_for 10 none_out || fail "devices still handed out after destroy"

# ---- a bad pool name --------------------------------------------------------
I3=$(domain "$G3")
"$XNET" vif attach "$G3" "script=vif-vnic,pool=..,mac=00:16:3e:18:0a:03,vifname=xo4v$$" >/dev/null
wait_for 20 status_is "$(be "$I3")" error || fail "pool=..: not refused"
xs xenstore-read "$(be "$I3")/hotplug-error" | grep -q "not a pool name" ||
	fail "pool=..: $(xs xenstore-read "$(be "$I3")/hotplug-error")"
"$XNET" domain destroy "$G3" >/dev/null
ok "destroy returns every device with its MAC; pool=.. is refused"

sim_down
echo "PASS hotplug_pool"
