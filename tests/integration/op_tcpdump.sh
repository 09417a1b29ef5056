#!/bin/sh
# op_tcpdump.sh — tcpdump on a backend vif shows the guest's traffic: the
# guest pings the host; a capture on the vif (started before, bounded by
# packet count and time) must show every echo request with the guest's MAC
# and address, and every reply. Everything is removed, also on failure.
set -u
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-op-tcpdump.XXXXXX)
export XNET_SIM_DIR="$T/sim" XNET_BIN="$BIN"
XNET="$BIN/xnet"
G=xod-$$
BR=xodb$$
V=xod${$}a
MAC=00:16:3e:18:02:02
N=4
DUMP=

fail_hook() {
	[ -f "$T/dump" ] && { echo "== capture" >&2; cat "$T/dump" "$T/dump.err" >&2; }
}
gone() { ! kill -0 "$1" 2>/dev/null; }
cleanup() {
	set +e
	[ -n "$DUMP" ] && kill "$DUMP" 2>/dev/null
	"$XNET" sim down >/dev/null 2>&1
	has_ns "$G" && ip netns del "$G"
	for l in "$V" "$BR"; do has_link "$l" && ip link del "$l"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

command -v tcpdump >/dev/null || fail "tcpdump is not installed (tools/install-deps.sh)"
"$XNET" sim up >/dev/null || fail "sim up"
domid=$("$XNET" domain create "$G" | awk '{print $2}') || fail "create $G"
"$XNET" vif attach "$G" "mac=$MAC,bridge=$BR,vifname=$V" >/dev/null || fail "attach"
wait_for 20 is "/local/domain/0/backend/vif/$domid/0/state" 4 || fail "backend not Connected"
wait_for 20 ip netns exec "$G" ip link show eth0 || fail "no eth0 in $G"
ip netns exec "$G" ip addr add 198.18.0.2/24 dev eth0
ip netns exec "$G" ip link set eth0 up
ip addr add 198.18.0.1/24 dev "$BR"
ip link set "$BR" up
wait_for 20 ip netns exec "$G" ping -c1 -W1 198.18.0.1 || fail "guest cannot ping the host"

# Requests and replies of N pings: 2N ICMP frames on the vif.
timeout 30 tcpdump -i "$V" -n -e -l -c $((2 * N)) icmp >"$T/dump" 2>"$T/dump.err" &
DUMP=$!
wait_for 10 grep -q "listening on $V" "$T/dump.err" || fail "tcpdump did not start"
ip netns exec "$G" ping -c $N -i 0.2 -W 2 198.18.0.1 >/dev/null || fail "guest ping"
wait_for 15 gone "$DUMP" || fail "tcpdump did not see $((2 * N)) ICMP frames"
wait "$DUMP" || fail "tcpdump failed"
DUMP=
req=$(grep -c "^[0-9:.]* $MAC > .* 198\.18\.0\.2 > 198\.18\.0\.1: ICMP echo request" "$T/dump")
rep=$(grep -c "> $MAC, .* 198\.18\.0\.1 > 198\.18\.0\.2: ICMP echo reply" "$T/dump")
[ "$req" = "$N" ] || fail "$req of $N echo requests from $MAC seen on $V"
[ "$rep" = "$N" ] || fail "$rep of $N echo replies to $MAC seen on $V"
ok "tcpdump -i $V sees the guest's $N requests (from $MAC) and the $N replies"

schema_ok "at the end"
