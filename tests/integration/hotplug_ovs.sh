#!/bin/sh
# hotplug_ovs.sh — vif-openvswitch with Open vSwitch (a private ovsdb-server
# and ovs-vswitchd for this run; the userspace datapath when the kernel has
# no openvswitch module). Three guests on bridge=OVSBR.VLAN: the two on
# VLAN 10 reach each other, the one on VLAN 20 reaches neither; each port
# has its tag and the vif's link id in external_ids; the bridge is made by
# the first vif. A vif renamed before detach is still removed from the
# bridge (found by link id). A bad VLAN is refused with a reason.
# Cleans up every domain, the OVS daemons, namespaces and directories, also
# on failure.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
T="$(mktemp -d /tmp/xnet-hpovs.XXXXXX)"
XNET_SIM_DIR="$T/sim"
OVS_RUNDIR="$T/ovs" OVS_DBDIR="$T/ovs" OVS_LOGDIR="$T/ovs" OVS_SYSCONFDIR="$T/ovs"
export XNET_SIM_DIR OVS_RUNDIR OVS_DBDIR OVS_LOGDIR OVS_SYSCONFDIR
A=xsa-$$ B=xsb-$$ C=xsc-$$ D=xsd-$$
OB=xsbr$$ VA=xsva$$ VA2=xsvR$$
fail_hook() { tail -20 "$OVS_LOGDIR"/ovs-vswitchd.log >&2 2>/dev/null || true; }
vsctl() { ovs-vsctl --timeout=10 "$@"; }

stop_ovs() {
	for p in ovs-vswitchd ovsdb-server; do
		[ -s "$OVS_RUNDIR/$p.pid" ] || continue
		pid=$(cat "$OVS_RUNDIR/$p.pid")
		kill "$pid" 2>/dev/null || continue
		n=50
		while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	done
}
cleanup() {
	set +e
	for g in "$A" "$B" "$C" "$D"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	vsctl --if-exists del-br "$OB" >/dev/null 2>&1
	stop_ovs
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

no_port() { ! vsctl list-ports "$OB" | grep -qx "$1"; }

# guest NAME VIFSPEC ADDR — sets BE (its vif's backend directory).
guest() {
	domid=$("$XNET" domain create "$1" | awk '{ print $2 }')
	BE=/local/domain/0/backend/vif/$domid/0
	"$XNET" vif attach "$1" "$2" >/dev/null
	wait_for 20 status_is "$BE" connected ||
		fail "$1: hotplug-status '$(hp_status "$BE")': $(xs xenstore-read "$BE/hotplug-error" 2>/dev/null)"
	wait_for 20 in_ns "$1" ip link show eth0 || fail "$1: eth0 did not appear"
	in_ns "$1" ip addr add "$3/24" dev eth0
	in_ns "$1" ip link set eth0 up
}

command -v ovs-vswitchd >/dev/null || fail "Open vSwitch (openvswitch-switch) not installed"
mkdir -p "$OVS_RUNDIR" "$XNET_SIM_DIR"
ovsdb-tool create "$OVS_DBDIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$OVS_DBDIR/conf.db" --remote="punix:$OVS_RUNDIR/db.sock" \
	--pidfile="$OVS_RUNDIR/ovsdb-server.pid" --detach -vconsole:off --log-file="$OVS_LOGDIR/ovsdb-server.log"
vsctl --no-wait init
ovs-vswitchd "unix:$OVS_RUNDIR/db.sock" --pidfile="$OVS_RUNDIR/ovs-vswitchd.pid" \
	--detach -vconsole:off --log-file="$OVS_LOGDIR/ovs-vswitchd.log"
"$XNET" sim up >/dev/null

guest "$A" "script=vif-openvswitch,bridge=$OB.10,mac=00:16:3e:18:0b:01,vifname=$VA" 198.18.11.1
BA=$BE
vsctl br-exists "$OB" || fail "bridge $OB not made"
guest "$B" "script=vif-openvswitch,bridge=$OB.10,mac=00:16:3e:18:0b:02,vifname=xsvb$$" 198.18.11.2
guest "$C" "script=vif-openvswitch,bridge=$OB.20,mac=00:16:3e:18:0b:03,vifname=xsvc$$" 198.18.11.3
[ "$(vsctl get port "$VA" tag)" = 10 ] || fail "$VA: tag $(vsctl get port "$VA" tag)"
[ "$(vsctl get port "xsvc$$" tag)" = 20 ] || fail "xsvc$$: tag"
vid=$(xs xenstore-read "$BA/vif-linkid")
[ "$(vsctl get port "$VA" external_ids:xnet-linkid)" = "\"$vid\"" ] ||
	fail "$VA: external_ids:xnet-linkid is $(vsctl get port "$VA" external_ids:xnet-linkid), not $vid"
wait_for 20 reaches "$A" 198.18.11.2 || fail "$A cannot reach $B on VLAN 10"
blocked "$A" 198.18.11.3 || fail "$A (VLAN 10) reached $C (VLAN 20)"
blocked "$C" 198.18.11.2 || fail "$C (VLAN 20) reached $B (VLAN 10)"
ok "OVS bridge $OB made; VLAN 10 guests reach each other, VLAN 20 is apart; tags and link ids on the ports"

# Renamed, then detached: the port is found by link id and deleted.
ip link set dev "$VA" down
ip link set dev "$VA" name "$VA2"
"$XNET" vif detach "$A" 0 >/dev/null
wait_for 10 no_port "$VA" || fail "port $VA (renamed $VA2) still on $OB: $(vsctl list-ports "$OB")"
"$XNET" vif detach "$B" 0 >/dev/null
wait_for 10 no_port "xsvb$$" || fail "port xsvb$$ still on $OB"
ok "detach removes the ports, also one whose interface was renamed"

domid=$("$XNET" domain create "$D" | awk '{ print $2 }')
BE=/local/domain/0/backend/vif/$domid/0
"$XNET" vif attach "$D" "script=vif-openvswitch,bridge=$OB.5000,vifname=xsvd$$" >/dev/null
wait_for 20 status_is "$BE" error || fail "VLAN 5000: hotplug-status '$(hp_status "$BE")'"
xs xenstore-read "$BE/hotplug-error" | grep -q "VLAN 5000 is not 1..4094" ||
	fail "VLAN 5000: $(xs xenstore-read "$BE/hotplug-error")"
ok "bridge=$OB.5000 refused: $(xs xenstore-read "$BE/hotplug-error")"

schema_ok "with the OVS guests and a refused vif"
for g in "$A" "$B" "$C" "$D"; do "$XNET" domain destroy "$g" >/dev/null; done
wait_for 10 no_port "xsvc$$" || fail "port xsvc$$ still on $OB after destroy"
sim_down
echo "PASS hotplug_ovs"
