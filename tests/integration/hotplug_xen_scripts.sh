#!/bin/sh
# hotplug_xen_scripts.sh — xnet-hotplugd runs Xen's own vif-bridge
# (/etc/xen/scripts, Debian's xen-utils-common) named by absolute path in
# the vifspec, for two guests without vifname: the interfaces keep Linux
# netback's names vif<domid>.<devid>, xnetback leaves vifname unset (Xen's
# vif-common.sh would rename to it), Xen's script puts them on the bridge
# and reports hotplug-status=connected, the guests ping each other, and a
# detach runs Xen's offline without an error. Skipped (passes, saying so)
# when Xen's scripts are not installed.
# Cleans up every domain, link and the sim directory, also on failure.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

XEN_BRIDGE=/etc/xen/scripts/vif-bridge
if [ ! -x "$XEN_BRIDGE" ]; then
	echo "SKIP: $XEN_BRIDGE not installed (Debian package xen-utils-common)"
	exit 0
fi
BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
XNET_SIM_DIR="$(mktemp -d /tmp/xnet-xenscr.XXXXXX)"
export XNET_SIM_DIR
A=xxa-$$ B=xxb-$$ BR=xxbr$$

cleanup() {
	set +e
	for g in "$A" "$B"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

master_of() { basename "$(readlink "/sys/class/net/$1/master" 2>/dev/null)" 2>/dev/null; }

# guest NAME MAC ADDR/PREFIX — a guest with one vif wired by Xen's script;
# its backend directory in BEDIR, its interface in VIF.
guest() {
	domid=$("$XNET" domain create "$1" | awk '{ print $2 }')
	VIF=$("$XNET" vif attach "$1" "mac=$2,bridge=$BR,script=$XEN_BRIDGE")
	BEDIR=/local/domain/0/backend/vif/$domid/0
	[ "$VIF" = "vif$domid.0" ] || fail "attach printed '$VIF', want vif$domid.0"
	wait_for 20 status_is "$BEDIR" connected ||
		fail "$1: hotplug-status is '$(hp_status "$BEDIR")': $(xs xenstore-read "$BEDIR/hotplug-error" 2>&1)"
	wait_for 20 in_ns "$1" ip link show eth0 || fail "$1: eth0 did not appear"
	in_ns "$1" ip addr add "$3" dev eth0
	in_ns "$1" ip link set eth0 up
}

"$XNET" sim up >/dev/null
# Xen's vif-bridge wants the bridge to exist.
ip link add "$BR" type bridge && ip link set "$BR" up
guest "$A" 00:16:3e:18:0a:01 198.18.10.1/24
VA=$VIF BA=$BEDIR
guest "$B" 00:16:3e:18:0a:02 198.18.10.2/24
xs xenstore-read "$BA/vifname" >/dev/null 2>&1 &&
	fail "xnetback wrote vifname ($(xs xenstore-read "$BA/vifname")) the toolstack did not set"
for v in "$VA" "$VIF"; do
	[ "$(master_of "$v")" = "$BR" ] || fail "$v is not on $BR"
	ip link show "$v" | grep -q "<.*UP" || fail "$v is not up"
done
ok "Xen's vif-bridge put $VA and $VIF on $BR and reported connected"
wait_for 20 reaches "$A" 198.18.10.2 || fail "$A cannot reach $B"
ok "traffic between the guests through Xen's wiring"

"$XNET" vif detach "$A" 0 || fail "detach"
wait_for 10 eval "! has_link $VA" || fail "$VA still there after detach"
grep -q "$BA: .*exited with status" "$XNET_SIM_DIR/xnet-hotplugd.log" &&
	fail "a Xen script failed: $(grep "$BA" "$XNET_SIM_DIR/xnet-hotplugd.log")"
ok "detach: Xen's offline ran without an error, $VA gone"
sim_down
echo "PASS hotplug_xen_scripts"
