#!/bin/sh
# hotplug_native.sh — xnet-hotplugd's own vif-bridge (done in the daemon,
# no script run) leaves exactly what the script leaves: the same vifs are
# attached once with the daemon's default and once with
# XNET_HOTPLUG_SCRIPTS_ONLY=1, and what a user can see is compared — the
# vif's master, flags, operstate and mtu, the bridge made when missing, the
# xenstore keys, the error for a bridge name taken by another kind of link,
# and what offline undoes. TAPs stand in for the backend's interfaces.
set -u
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-hp-native.XXXXXX)
PBIN="$T/bin"
export XNET_SIM_DIR="$T/sim" XNET_BIN="$PBIN" XNET_SCRIPTS_DIR="$T/scripts"
XNET="$PBIN/xnet"
G=xtn-$$
BR=xtnb$$	# exists, down, before the attach
BRM=xtnm$$	# missing: vif-bridge makes it
DUM=xtnd$$	# a TAP where a bridge is asked for
TAPS="xtn${$}a xtn${$}b xtn${$}c"

fail_hook() { cat "$XNET_SIM_DIR/xnet-hotplugd.log" >&2 2>/dev/null; }
cleanup() {
	set +e
	"$XNET" sim down >/dev/null 2>&1
	for l in $TAPS "$BR" "$BRM" "$DUM"; do
		ip link show "$l" >/dev/null 2>&1 && ip link del "$l"
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir "$PBIN" "$T/scripts" "$T/out"
for p in xnet xnet-simd xnet-hotplugd xnet-linkid; do
	[ -e "$BIN/$p" ] || fail "$BIN/$p not built"
	ln -s "$BIN/$p" "$PBIN/$p"
done
# The scripts as built, the one change being that vif-bridge notes each
# run: the native path must leave no note, the script path one per run.
cp "$BIN/vif-common.sh" "$T/scripts/" || fail "no vif-common.sh"
sed "1a echo \"\$1\" >>'$T/ran'" "$BIN/vif-bridge" >"$T/scripts/vif-bridge" || fail "no vif-bridge"
chmod +x "$T/scripts/vif-bridge"
grep -q '^# xnet-hotplugd: may do this natively' "$T/scripts/vif-bridge" ||
	fail "vif-bridge has lost the line that lets the daemon do it natively"

# field LINK KEY — one field of `xnet-linkid info LINK`, or '-'.
field() {
	v=$("$PBIN/xnet-linkid" info "$1" 2>/dev/null | sed -n "s/^$2=//p")
	echo "${v:--}"
}
# link LINK — what a user sees of LINK: kind, master's name, up, mtu, operstate.
link() {
	m=$(field "$1" master)
	[ "$m" = - ] || m=$("$PBIN/xnet-linkid" name "$m")
	up=down; ip link show "$1" | grep -q '<[^>]*UP' && up=up
	echo "$1 kind=$(field "$1" kind) master=$m $up mtu=$(field "$1" mtu)" \
		"oper=$(field "$1" operstate)"
}
# keys DEVID — the backend's hotplug keys; bridge-linkid as the name of
# the link it names (link ids differ between the two runs).
keys() {
	d=$bedir/$1
	bl=$(xs xenstore-read "$d/bridge-linkid" 2>/dev/null) && bl=$("$PBIN/xnet-linkid" name "$bl")
	echo "status=$(hp_status "$d") error=$(xs xenstore-read "$d/hotplug-error" 2>/dev/null)" \
		"bridge-linkid=${bl:--}"
}
has_status() { [ -n "$(hp_status "$1")" ]; }
no_master() { [ "$(field "$1" master)" = - ]; }

# attach DEVID TAP VIFSPEC-REST — attach TAP, stand in for the backend
# (InitWait), wait for the daemon's answer.
attach() {
	"$XNET" vif attach "$G" "vifname=$2,devid=$1,$3" >/dev/null || fail "attach $1"
	initwait "$bedir/$1"
	wait_for 10 has_status "$bedir/$1" || fail "$MODE: devid $1: no hotplug-status"
}

# run MODE — the same attaches and offline; what they left into $T/out/MODE.
run() {
	MODE=$1
	out=$T/out/$MODE
	rm -f "$T/ran"
	for l in $TAPS; do ip tuntap add dev "$l" mode tap || fail "cannot make TAP $l"; done
	ip link add "$BR" type bridge || fail "cannot make $BR"
	ip tuntap add dev "$DUM" mode tap || fail "cannot make $DUM"
	"$XNET" sim up >/dev/null || fail "$MODE: sim up"
	id=$("$XNET" domain create "$G" | awk '{print $2}') || fail "$MODE: domain create"
	bedir=/local/domain/0/backend/vif/$id
	# shellcheck disable=SC2086 # one word per TAP
	set -- $TAPS
	attach 0 "$1" "bridge=$BR,mtu=1400"
	attach 1 "$2" "bridge=$BRM"
	attach 2 "$3" "bridge=$DUM,mtu=1300"
	for dev in 0 1 2; do echo "devid $dev: $(keys $dev)"; done >"$out"
	for l in "$@" "$BR" "$BRM" "$DUM"; do link "$l"; done >>"$out"
	# Offline of the first (no backend closes it: detach's timeout).
	"$XNET" vif detach --timeout 1 "$G" 0 >/dev/null 2>&1 || fail "$MODE: detach 0"
	wait_for 10 no_master "$1" || fail "$MODE: offline left $1 on $BR"
	echo "after offline: $(link "$1")" >>"$out"
	runs=$(sort "$T/ran" 2>/dev/null | uniq -c | awk '{printf "%s%d %s", (NR > 1 ? " " : ""), $1, $2}')
	echo "script runs: $runs" >>"$out"
	sim_down
	for l in $TAPS "$BR" "$BRM" "$DUM"; do ip link del "$l"; done
}

run native
XNET_HOTPLUG_SCRIPTS_ONLY=1 run script
cat "$T/out/native"

# What each run must show on its own (so both cannot be wrong alike).
want() { grep -qF -- "$2" "$T/out/$1" || fail "$1: no '$2' in: $(cat "$T/out/$1")"; }
for m in native script; do
	# shellcheck disable=SC2086 # one word per TAP
	set -- $TAPS
	want $m "devid 0: status=connected error= bridge-linkid=$BR"
	want $m "devid 1: status=connected error= bridge-linkid=$BRM"
	want $m "devid 2: status=error error=$DUM exists and is not a bridge bridge-linkid=-"
	want $m "$1 kind=tun master=$BR up mtu=1400"
	want $m "$2 kind=tun master=$BRM up"
	want $m "$3 kind=tun master=- down mtu=1500"
	want $m "$BR kind=bridge master=- up"
	want $m "$BRM kind=bridge master=- up"
	want $m "after offline: $1 kind=tun master=- down mtu=1400"
done
want native "script runs: "
grep -q "script runs: *$" "$T/out/native" || fail "native: vif-bridge ran: $(tail -1 "$T/out/native")"
want script "script runs: 1 offline 3 online"
ok "each way: the bridge made when missing, vifs on their bridges, up, mtu; the error"
ok "the default ran no script; --scripts-only ran vif-bridge for each"

grep -v "^script runs" "$T/out/native" >"$T/out/n"
grep -v "^script runs" "$T/out/script" >"$T/out/s"
diff "$T/out/s" "$T/out/n" >&2 || fail "native and script outcomes differ (diff: script, native)"
ok "native vif-bridge and the script leave the same links and keys"
