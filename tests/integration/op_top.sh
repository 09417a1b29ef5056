#!/bin/sh
# op_top.sh — `xnet top` driven in a real terminal (tmux, on a server of
# its own): it draws the vif, refreshes (the clock and the rates change
# while a guest is pinged), re-sorts on `s`, and exits 0 on `q`, giving the
# terminal back. Also: without a terminal it refuses, -b prints frames.
set -u
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-op-top.XXXXXX)
export XNET_SIM_DIR="$T/sim" XNET_BIN="$BIN"
unset XNET_STATS_SOCKET
XNET="$BIN/xnet"
G=xot-$$
BR=xotb$$
V=xot${$}a
TM="tmux -L xnet-op-top-$$"
PING=

fail_hook() {
	[ -f "$T/pane" ] && { echo "== last screen" >&2; cat "$T/pane" >&2; }
}
screen() { $TM capture-pane -p -t top >"$T/pane" 2>/dev/null; }
# The screen shows a line matching the extended regex $1.
shows() { screen && grep -Eq "$1" "$T/pane"; }
cleanup() {
	set +e
	[ -n "$PING" ] && kill "$PING" 2>/dev/null
	$TM kill-server 2>/dev/null
	"$XNET" sim down >/dev/null 2>&1
	has_ns "$G" && ip netns del "$G"
	for l in "$V" "$BR"; do has_link "$l" && ip link del "$l"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! command -v tmux >/dev/null; then
	sh "$(dirname "$0")/../../tools/install-deps.sh" >/dev/null 2>&1
	command -v tmux >/dev/null || fail "tmux is not installed (tools/install-deps.sh)"
fi

out=$("$XNET" top </dev/null 2>&1) && fail "top without a terminal succeeded"
echo "$out" | grep -q "needs a terminal" || fail "top without a terminal: $out"
ok "top refuses to run without a terminal"

"$XNET" sim up >/dev/null || fail "sim up"
domid=$("$XNET" domain create "$G" | awk '{print $2}') || fail "create $G"
"$XNET" vif attach "$G" "mac=00:16:3e:18:01:02,bridge=$BR,vifname=$V" >/dev/null || fail "attach"
wait_for 20 is "/local/domain/0/backend/vif/$domid/0/state" 4 || fail "backend not Connected"
wait_for 20 ip netns exec "$G" ip link show eth0 || fail "no eth0 in $G"
ip netns exec "$G" ip addr add 198.18.0.2/24 dev eth0
ip netns exec "$G" ip link set eth0 up
ip addr add 198.18.0.1/24 dev "$BR"
ip link set "$BR" up
wait_for 20 ping -c1 -W1 198.18.0.2 || fail "no ping to the guest"

"$XNET" top -b -n 2 -d 0.2 >"$T/batch" || fail "top -b"
[ "$(grep -c '^xnet top - ' "$T/batch")" = 2 ] || fail "top -b -n 2: $(cat "$T/batch")"
grep -Eq "^$V +$G +0 +conn " "$T/batch" || fail "top -b row: $(cat "$T/batch")"
ok "top -b prints two frames with the vif"

ping -q -i 0.05 -W 1 198.18.0.2 >/dev/null 2>&1 &
PING=$!
$TM new-session -d -s top -x 160 -y 30 \
	"env XNET_SIM_DIR='$XNET_SIM_DIR' XNET_BIN='$BIN' '$XNET' top -d 0.5; echo \$? >'$T/rc'; sleep 30" ||
	fail "tmux new-session"
wait_for 10 shows "^$V +$G +0 +conn " || fail "top does not show $V"
first=$(grep '^xnet top - ' "$T/pane")
# Refreshed: the header's clock moved on and the guest's RX rate is non-zero
# (columns: VIF DOMAIN DEVID STATE TX-PPS TX-BPS RX-PPS ...).
refreshed() { shows "^$V " && ! grep -qF "$first" "$T/pane" &&
	awk -v v="$V" '$1 == v && $7 > 0 { f = 1 } END { exit !f }' "$T/pane"; }
wait_for 10 refreshed || fail "top did not refresh with a non-zero rate"
second=$(grep '^xnet top - ' "$T/pane")
refreshed_again() { shows "^xnet top - " && ! grep -qF "$second" "$T/pane"; }
wait_for 10 refreshed_again ||
	fail "top did not refresh a second time"
ok "top refreshes: clock and rates move while the guest is pinged"

grep -q "sort txbps" "$T/pane" || fail "default sort is not txbps"
$TM send-keys -t top s
wait_for 5 shows "sort rxpps" || fail "s did not change the sort column"
$TM send-keys -t top r
wait_for 5 shows "sort rxpps \(reversed\)" || fail "r did not reverse"
ok "s and r change the sort order"

$TM send-keys -t top q
wait_for 5 test -s "$T/rc" || fail "q did not end top"
[ "$(cat "$T/rc")" = 0 ] || fail "top exited $(cat "$T/rc") on q"
ok "q exits with status 0"

schema_ok "at the end"
