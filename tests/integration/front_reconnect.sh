#!/bin/sh
# front_reconnect.sh — xnetback is killed (-9) while a TCP stream runs
# between two sim guests, and started again: each guest's xnetfront lets
# go of its old rings and channels, renegotiates with the new backend and
# traffic resumes on the same interface (same ifindex, address kept) and
# the same TCP connection (iperf3 finishes without error and moves data
# after the restart). Each eth0 has no carrier while its backend is away
# (as Linux netfront) and has it again once Connected. The xnetfront
# processes stay up and hold as many descriptors after the reconnect as
# before it (no stale channel left).
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
XNET_SIM_DIR="$(mktemp -d /tmp/xnet-frc.XXXXXX)"
export XNET_SIM_DIR
TAG=$(( $$ % 100000 ))
G1=xfrc1-$TAG G2=xfrc2-$TAG BR=xfrcbr$TAG
RUN=8	# seconds of TCP stream, across the restart

fail_hook() {
	ip -br link | grep "frc$TAG" >&2
	for g in "$G1" "$G2"; do in_ns "$g" ip -br addr >&2; done
	cat "$XNET_SIM_DIR/iperf.json" >&2
}

cleanup() {
	set +e
	[ -n "${IPERF:-}" ] && kill "$IPERF" 2>/dev/null
	for g in "$G1" "$G2"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ifindex() { in_ns "$1" cat /sys/class/net/eth0/ifindex; }
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# carrier G V — guest G's eth0 has carrier V (0 or 1).
carrier() { [ "$(in_ns "$1" cat /sys/class/net/eth0/carrier)" = "$2" ]; }
established() { in_ns "$G2" ss -Htn state established '( sport = :5201 )' | grep -q .; }
logged() { grep -q "$2" "$XNET_SIM_DIR/xnetfront-$1.log"; }

"$XNET" sim up >/dev/null
ip link add "$BR" type bridge && ip link set "$BR" up
make_guest "$G1" "mac=00:16:3e:00:fc:01,bridge=$BR,vifname=frc${TAG}g1" 198.18.9.1/24
make_guest "$G2" "mac=00:16:3e:00:fc:02,bridge=$BR,vifname=frc${TAG}g2" 198.18.9.2/24
wait_for 20 reaches "$G1" 198.18.9.2 || fail "no first ping"
idx1=$(ifindex "$G1") idx2=$(ifindex "$G2")
fe1=$(front_pid "$G1") fe2=$(front_pid "$G2")
fds1=$(nfds "$fe1") fds2=$(nfds "$fe2")

# A paced TCP stream from G1 to G2 that must outlive the restart.
in_ns "$G2" iperf3 -s -1 -D -B 198.18.9.2 >/dev/null
wait_for 10 sh -c "ip netns exec '$G2' ss -Hltn 'sport = :5201' | grep -q 5201" ||
	fail "iperf3 server did not start"
in_ns "$G1" iperf3 -c 198.18.9.2 -t "$RUN" -b 20M -J >"$XNET_SIM_DIR/iperf.json" 2>&1 &
IPERF=$!
wait_for 10 established || fail "iperf3 did not connect"
t0=$(date +%s)

nb=$(daemon_pid xnetback)
kill -9 "$nb"
# Each frontend lets go of its rings: Closing, then Closed (6).
for g in "$G1" "$G2"; do
	wait_for 10 logged "$g" "reconnecting" || fail "$g: xnetfront did not notice xnetback's death"
	wait_for 10 fe_state "$g" 6 || fail "$g: vif not Closed after xnetback's death"
	wait_for 10 carrier "$g" 0 || fail "$g: eth0 kept its carrier with no backend"
done
ok "each guest's eth0 lost carrier with its backend"
for p in "$fe1" "$fe2"; do kill -0 "$p" || fail "an xnetfront died with xnetback"; done
"$XNET" sim up >/dev/null
nb2=$(daemon_pid xnetback)
if [ -z "$nb2" ] || [ "$nb2" = "$nb" ]; then fail "xnet sim up did not restart xnetback"; fi
rebridge "$BR" "frc${TAG}g1" "frc${TAG}g2"
for g in "$G1" "$G2"; do
	wait_for 20 fe_state "$g" 4 || fail "$g: vif not Connected again"
	wait_for 10 carrier "$g" 1 || fail "$g: eth0 without carrier after the reconnect"
done
wait_for 20 reaches "$G1" 198.18.9.2 || fail "no traffic after the restart"
wait_for 5 reaches "$G2" 198.18.9.1 || fail "no traffic back after the restart"
t1=$(date +%s)
ok "traffic resumed $((t1 - t0)) s after the kill"

if [ "$(ifindex "$G1")" != "$idx1" ] || [ "$(ifindex "$G2")" != "$idx2" ]; then
	fail "a guest's eth0 was replaced"
fi
in_ns "$G1" ip -br addr show eth0 | grep -q 198.18.9.1/24 || fail "$G1 lost its address"
if [ "$(nfds "$fe1")" != "$fds1" ] || [ "$(nfds "$fe2")" != "$fds2" ]; then
	fail "xnetfront descriptors: $fds1 -> $(nfds "$fe1"), $fds2 -> $(nfds "$fe2")"
fi
ok "same interfaces, addresses and descriptor counts"

# The frontends' stats socket says so: one reconnect each, counters kept.
J="$XNET_SIM_DIR/stats.json"
"$XNET" stats --json >"$J" || fail "xnet stats --json"
for g in "$G1" "$G2"; do
	jq -e ".vifs[] | select(.domain == \"$g\") | .frontend |
		.reconnects == 1 and .connected and .counters.rx_packets > 0" "$J" >/dev/null ||
		fail "$g: stats after the reconnect: $(cat "$J")"
done

# The stream: finished without error, and data arrived in its last
# second, after the restart.
wait "$IPERF" || fail "iperf3 failed across the restart"
IPERF=
last=$(jq '.intervals[-1].sum.bytes' "$XNET_SIM_DIR/iperf.json")
[ "${last:-0}" -gt 0 ] || fail "no TCP data in the stream's last second"
ok "the TCP connection carried data after the restart ($last bytes in the last second)"
sim_down
echo "PASS front_reconnect"
