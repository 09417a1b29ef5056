#!/bin/sh
# vif_reuse_devid.sh — a vif detached and attached again at once with the
# same devid (and so the same directories and interface name), many times
# in a row: each time both ends must reach Connected again and the guest's
# interface come back. The watch events of the old device and the new one
# arrive at the daemons close together; none of them may take the new
# device for the old one. Every other round the guest's xnetfront is
# stopped from the moment its old device is Closed until the new one is
# attached, so it sees the removal and the new directory in one batch (a
# busy guest does).
# VIF_REUSE_ROUNDS (default 20) rounds.
set -u
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
ROUNDS=${VIF_REUSE_ROUNDS:-20}
XNET_SIM_DIR=$(mktemp -d /tmp/xnet-reuse.XXXXXX)
export XNET_SIM_DIR
TAG=$(( $$ % 100000 ))
G=xru$TAG
BR=xrubr$TAG
NAME=ru${TAG}v1

cleanup() {
	set +e
	[ -n "${front:-}" ] && kill -CONT "$front" 2>/dev/null
	"$XNET" domain destroy "$G" >/dev/null 2>&1
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	has_link "$NAME" && ip link del "$NAME"
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# shellcheck disable=SC2154 # make_guest sets domid
# both_connected — vif 1 Connected at both ends, eth1 in the guest.
both_connected() {
	is "/local/domain/$domid/device/vif/1/state" 4 &&
		is "/local/domain/0/backend/vif/$domid/1/state" 4 &&
		in_ns "$G" ip link show eth1
}

fail_hook() {
	echo "round $round: frontend state $(xs xenstore-read "/local/domain/$domid/device/vif/1/state" 2>&1)," \
		"backend state $(xs xenstore-read "/local/domain/0/backend/vif/$domid/1/state" 2>&1)," \
		"hotplug-status $(hp_status "/local/domain/0/backend/vif/$domid/1")" >&2
	ip -o link show "$NAME" >&2
}

"$XNET" sim up >/dev/null || fail "sim up"
ip link add "$BR" type bridge || fail "bridge"
ip link set "$BR" up
round=0
make_guest "$G" "mac=00:16:3e:5b:00:01,bridge=$BR" 198.18.0.1/16
"$XNET" vif attach "$G" "devid=1,mac=00:16:3e:5b:00:02,bridge=$BR,vifname=$NAME" >/dev/null ||
	fail "attach vif 1"
wait_for 20 both_connected || fail "vif 1 did not connect"
front=$("$XNET" domain list | awk -v g="$G" '$1 == g && $NF ~ /^[0-9]+$/ { print $NF }')
[ -n "$front" ] || fail "no xnetfront pid for $G"
fe=/local/domain/$domid/device/vif/1

# front_done — the guest's old device is Closed (or already gone).
front_done() { is "$fe/state" 6 || ! xs xenstore-exists "$fe"; }

t0=$(date +%s)
caught=0
while [ "$round" -lt "$ROUNDS" ]; do
	round=$((round + 1))
	"$XNET" vif detach --timeout 10 "$G" 1 > "$XNET_SIM_DIR/detach.out" 2>&1 &
	det=$!
	stopped=""
	if [ $((round % 2)) -eq 0 ]; then
		# Polled without a pause: the window until the directory goes is
		# the offline script's run.
		n=0
		until front_done; do
			n=$((n + 1))
			[ "$n" -lt 3000 ] || fail "the guest did not close vif 1"
		done
		kill -STOP "$front" && stopped=1
		! xs xenstore-exists "$fe" || caught=$((caught + 1))
	fi
	wait "$det" || { [ -z "$stopped" ] || kill -CONT "$front"; fail "detach: $(cat "$XNET_SIM_DIR/detach.out")"; }
	"$XNET" vif attach "$G" "devid=1,mac=00:16:3e:5b:00:02,bridge=$BR,vifname=$NAME" \
		>/dev/null || { [ -z "$stopped" ] || kill -CONT "$front"; fail "attach again"; }
	[ -z "$stopped" ] || kill -CONT "$front"
	wait_for 20 both_connected || fail "vif 1 not connected again"
done
ok "$ROUNDS detach + attach rounds of the same devid, $(( $(date +%s) - t0 )) s;" \
	"in $caught the guest was stopped before its directory went"
schema_ok "after the rounds"
"$XNET" domain destroy "$G" >/dev/null || fail "domain destroy"
sim_down
has_link "$NAME" && fail "backend link $NAME left behind"
echo "PASS vif_reuse_devid"
