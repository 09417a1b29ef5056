#!/bin/sh
# first_packets.sh — two sim guests on a bridge: ping both ways with 0 % loss,
# 1 GB through iperf3, detach one vif while the other keeps working, and
# nothing left behind (namespaces, links, processes, sim directory).
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
export XNET_SIM_DIR="$(mktemp -d /tmp/xnet-fp.XXXXXX)"
G1=xfp1-$$ G2=xfp2-$$ G3=xfp3-$$ BR=xfpbr$$

cleanup() {
	set +e
	iperf_stop
	for g in "$G1" "$G2" "$G3"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT INT TERM

"$XNET" sim up
ip link add "$BR" type bridge && ip link set "$BR" up
i=1 vifs=""
for g in "$G1" "$G2" "$G3"; do
	"$XNET" domain create "$g"
	vifs="$vifs $("$XNET" vif attach "$g" "mac=00:16:3e:00:f0:0$i,bridge=$BR")"
	wait_for 20 in_ns "$g" ip link show eth0 || fail "$g: eth0 did not appear"
	in_ns "$g" ip addr add "198.18.0.$i/24" dev eth0
	in_ns "$g" ip link set eth0 up
	i=$((i + 1))
done

wait_for 20 in_ns "$G1" ping -c1 -W1 198.18.0.2 || fail "no first ping $G1 -> $G2"
for pair in "$G1 198.18.0.2" "$G2 198.18.0.1"; do
	set -- $pair
	out=$(in_ns "$1" ping -c 20 -i 0.05 -W 1 "$2") || true
	echo "$out" | grep -q ' 0% packet loss' || fail "ping $1 -> $2: $out"
done

iperf_server "$G2" 198.18.0.2 || fail "iperf3 server"
json=$(in_ns "$G1" iperf3 -c 198.18.0.2 -n 1G -J) || fail "iperf3 1 GB failed"
# end.sum_received.bytes: what the server acknowledged receiving.
bytes=$(echo "$json" | awk '/"sum_received"/ { f = 1 } f && /"bytes"/ { gsub(/[^0-9]/, ""); print; exit }')
[ "${bytes:-0}" -ge 1000000000 ] || fail "iperf3 moved only ${bytes:-0} bytes"
echo "iperf3: $bytes bytes received"

schema_ok "with three guests connected"

# Detach G3's vif: G1 <-> G2 must keep working.
"$XNET" vif detach "$G3" 0
wait_for 20 sh -c "! ip netns exec '$G3' ip link show eth0" || fail "$G3: eth0 still there"
out=$(in_ns "$G1" ping -c 10 -i 0.05 -W 1 198.18.0.2) || true
echo "$out" | grep -q ' 0% packet loss' || fail "ping after detach: $out"

for g in "$G1" "$G2" "$G3"; do "$XNET" domain destroy "$g"; done
pids=$("$XNET" sim status | awk '$2 == "running" { print $4 }')
sim_down
ip link del "$BR"
# Nothing of ours may remain: backend links, namespaces, daemons.
for v in $vifs; do
	! ip link show "$v" >/dev/null 2>&1 || fail "backend link $v left behind"
done
for g in "$G1" "$G2" "$G3"; do
	! ip netns list | grep -qw "$g" || fail "namespace $g left behind"
done
for p in $pids; do	# a zombie awaiting its reaper has stopped running
	state=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null) || continue
	[ "$state" = Z ] || fail "daemon $p still running"
done
echo "PASS first_packets"
