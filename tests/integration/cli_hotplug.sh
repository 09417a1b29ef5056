#!/bin/sh
# cli_hotplug.sh — xnet-hotplugd runs a vif's script once the backend is in
# InitWait with online=1: vif-bridge puts the interface (a TAP standing in
# for the backend's) on its bridge, creating it, and reports
# hotplug-status=connected; a failing, erroring or hanging script yields
# hotplug-status=error with a reason, and the daemon carries on; offline
# takes the interface off the bridge when the device goes.
set -u
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-cli-hp.XXXXXX)
PBIN="$T/bin"
export XNET_SIM_DIR="$T/sim" XNET_BIN="$PBIN" XNET_HOTPLUG_TIMEOUT=2
XNET="$PBIN/xnet"
G=xth-$$
BR=xthb$$
TAP1=xth${$}a
TAP2=xth${$}b
TAP1R=xth${$}r

fail_hook() { cat "$XNET_SIM_DIR/xnet-hotplugd.log" >&2 2>/dev/null; }
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
master_of() { basename "$(readlink "/sys/class/net/$1/master" 2>/dev/null)" 2>/dev/null; }
no_master() { [ ! -e "/sys/class/net/$1/master" ]; }
cleanup() {
	set +e
	"$XNET" sim down >/dev/null 2>&1
	has_ns "$G" && ip netns del "$G"
	for l in "$TAP1" "$TAP1R" "$TAP2" "$BR"; do
		ip link show "$l" >/dev/null 2>&1 && ip link del "$l"
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir "$PBIN" "$T/scripts"
for p in xnet xnet-simd xnet-hotplugd vif-bridge vif-common.sh; do
	[ -e "$BIN/$p" ] || fail "$BIN/$p not built"
	ln -s "$BIN/$p" "$PBIN/$p"
done
printf '#!/bin/sh\nexit 3\n' >"$T/scripts/vif-fail"
# shellcheck disable=SC2016 # \$1 belongs to the generated script
printf '#!/bin/sh\n[ "$1" = offline ] && exit 0\nsleep 1000\n' >"$T/scripts/vif-hang"
chmod +x "$T/scripts/vif-fail" "$T/scripts/vif-hang"

"$XNET" sim up >/dev/null || fail "sim up"
hpd=$(cat "$XNET_SIM_DIR/xnet-hotplugd.pid")
id=$("$XNET" domain create "$G" | awk '{print $2}') || fail "domain create"
bedir=/local/domain/0/backend/vif/$id

ip tuntap add dev "$TAP1" mode tap || fail "cannot make TAP $TAP1"
"$XNET" vif attach "$G" "vifname=$TAP1,bridge=$BR,mtu=1400" >/dev/null || fail "attach 0"
# Stand in for the backend: it reaches InitWait.
initwait "$bedir/0"
wait_for 10 status_is "$bedir/0" connected || fail "no hotplug-status=connected"
[ -d "/sys/class/net/$BR/bridge" ] || fail "bridge $BR not created"
ip link show "$BR" | grep -q ",UP" || fail "bridge $BR not up"
[ "$(master_of "$TAP1")" = "$BR" ] || fail "$TAP1 not on $BR"
ip link show "$TAP1" | grep -q "mtu 1400" || fail "mtu not set on $TAP1"
ip link show "$TAP1" | grep -q "<.*UP" || fail "$TAP1 not up"
[ "$(xs xenstore-read "$bedir/0/bridge-linkid")" = "$(cat "/sys/class/net/$BR/ifindex")" ] ||
	fail "bridge-linkid is not $BR's link id"
ok "vif-bridge (bare name): bridge made, TAP on it, mtu, hotplug-status=connected"

# The device goes: offline takes the TAP off the bridge.
"$XNET" vif detach --timeout 1 "$G" 0 >/dev/null 2>&1 || fail "detach 0"
wait_for 10 no_master "$TAP1" || fail "$TAP1 still on $BR after the device went"
ok "offline on removal: TAP off the bridge"

# online=0 and Closed (what a backend does on unplug) also runs offline,
# and finds the interface by its link id after a rename.
"$XNET" vif attach "$G" "vifname=$TAP1,bridge=$BR,devid=5" >/dev/null || fail "attach 5"
initwait "$bedir/5"
wait_for 10 status_is "$bedir/5" connected || fail "devid 5 not connected"
[ "$(master_of "$TAP1")" = "$BR" ] || fail "$TAP1 not on $BR again"
ip link set dev "$TAP1" down || fail "cannot take $TAP1 down"
ip link set dev "$TAP1" name "$TAP1R" || fail "cannot rename $TAP1"
xs xenstore-write "$bedir/5/online" 0 "$bedir/5/state" 6
wait_for 10 no_master "$TAP1R" || fail "offline not run on online=0, Closed (after a rename)"
ip link set dev "$TAP1R" name "$TAP1" || fail "cannot rename $TAP1R back"
"$XNET" vif detach --timeout 1 "$G" 5 >/dev/null 2>&1 || fail "detach 5"
ok "offline on online=0 + Closed, interface renamed meanwhile"

# A script that fails without saying why: hotplugd writes the reason.
ip tuntap add dev "$TAP2" mode tap || fail "cannot make TAP $TAP2"
"$XNET" vif attach "$G" "vifname=$TAP2,bridge=$BR,script=$T/scripts/vif-fail,devid=1" >/dev/null ||
	fail "attach 1"
initwait "$bedir/1"
wait_for 10 status_is "$bedir/1" error || fail "failing script: no hotplug-status=error"
xs xenstore-read "$bedir/1/hotplug-error" | grep -q "exited with status 3" ||
	fail "hotplug-error: $(xs xenstore-read "$bedir/1/hotplug-error")"
no_master "$TAP2" || fail "$TAP2 was bridged although its script failed"
ok "failing script (absolute path): hotplug-status=error with the exit status"

# vif-bridge's own error report: the interface does not exist.
"$XNET" vif attach "$G" "vifname=xthnone$$,bridge=$BR,devid=2" >/dev/null || fail "attach 2"
initwait "$bedir/2"
wait_for 10 status_is "$bedir/2" error || fail "vif-bridge: no hotplug-status=error"
xs xenstore-read "$bedir/2/hotplug-error" | grep -q "xthnone$$ not found" ||
	fail "vif-bridge's reason lost: $(xs xenstore-read "$bedir/2/hotplug-error")"
ok "vif-bridge reports its own reason through hotplug-error"

# A relative path with a directory is refused: whose directory would it be?
"$XNET" vif attach "$G" "vifname=$TAP2,script=scripts/vif-fail,devid=7" >/dev/null ||
	fail "attach 7"
initwait "$bedir/7"
wait_for 10 status_is "$bedir/7" error || fail "relative script path: no error"
xs xenstore-read "$bedir/7/hotplug-error" | grep -q "script 'scripts/vif-fail' is neither" ||
	fail "hotplug-error: $(xs xenstore-read "$bedir/7/hotplug-error")"
ok "a relative script path with a directory is refused"

# A script that hangs is killed at the timeout; the daemon carries on.
hang_runs() { pgrep -f "$T/scripts/vif-hang" >/dev/null; }
hang_gone() { ! hang_runs; }
"$XNET" vif attach "$G" "vifname=$TAP2,script=$T/scripts/vif-hang,devid=3" >/dev/null ||
	fail "attach 3"
initwait "$bedir/3"
wait_for 10 hang_runs || fail "the hanging script did not start"
wait_for 15 status_is "$bedir/3" error || fail "hanging script: no error"
xs xenstore-read "$bedir/3/hotplug-error" | grep -q "timed out" ||
	fail "hotplug-error: $(xs xenstore-read "$bedir/3/hotplug-error")"
wait_for 5 hang_gone || fail "the hung script is still running"
alive "$hpd" || fail "xnet-hotplugd died"
"$XNET" vif attach "$G" "vifname=$TAP1,bridge=$BR,devid=4" >/dev/null || fail "attach 4"
initwait "$bedir/4"
wait_for 10 status_is "$bedir/4" connected || fail "daemon stopped serving after a hang"
ok "hanging script killed at the timeout; the daemon carries on"

sim_down
alive "$hpd" && fail "hotplugd still running after sim down"
ok "sim down"
