#!/bin/sh
# demo.sh — `make demo`: start the sim, put two guests on bridge xenbr0, ping
# each way, run iperf3 between them, print the results, clean up.
#
# Environment: XNET_BIN (directory of the built programs, required),
# XNET_SIM_DIR (the sim's run directory; default: a fresh temporary one).
set -eu

BIN=${XNET_BIN:?XNET_BIN must name the directory of the built programs}
XNET_SIM_DIR=${XNET_SIM_DIR:-$(mktemp -d /tmp/xnet-demo.XXXXXX)}
export XNET_SIM_DIR
XNET="$BIN/xnet"
G1=xdemo-g1-$$
G2=xdemo-g2-$$
BR=xenbr0
made_bridge=0
IPERF_PID="$XNET_SIM_DIR/iperf3.pid"

cleanup() {
	set +e
	# A server whose client failed would outlive its namespace.
	p=$(cat "$IPERF_PID" 2>/dev/null) && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = iperf3 ] &&
		kill "$p"
	"$XNET" domain destroy "$G1" >/dev/null 2>&1
	"$XNET" domain destroy "$G2" >/dev/null 2>&1
	"$XNET" sim down >/dev/null 2>&1
	[ "$made_bridge" = 1 ] && ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT INT TERM

step() { printf '\n== %s\n' "$*"; }

# wait_for SECONDS CMD... — retry CMD until it succeeds or time runs out.
wait_for() {
	t=$1; shift
	end=$(( $(date +%s) + t ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || { echo "timed out waiting for: $*" >&2; return 1; }
		sleep 0.1
	done
}

step "starting the simulated hypervisor, xnetback and xnet-hotplugd"
"$XNET" sim up
"$XNET" sim status

if ! ip link show "$BR" >/dev/null 2>&1; then
	ip link add "$BR" type bridge
	ip link set "$BR" up
	made_bridge=1
fi

step "creating guests $G1 and $G2, one vif each on $BR"
"$XNET" domain create "$G1"
"$XNET" domain create "$G2"
"$XNET" vif attach "$G1" "mac=00:16:3e:00:de:01,bridge=$BR"
"$XNET" vif attach "$G2" "mac=00:16:3e:00:de:02,bridge=$BR"

for g in "$G1" "$G2"; do
	wait_for 20 ip netns exec "$g" ip link show eth0
done
ip netns exec "$G1" ip addr add 198.18.0.1/24 dev eth0
ip netns exec "$G2" ip addr add 198.18.0.2/24 dev eth0
ip netns exec "$G1" ip link set eth0 up
ip netns exec "$G2" ip link set eth0 up
"$XNET" vif list

step "ping $G1 -> $G2 and back"
wait_for 20 ip netns exec "$G1" ping -c1 -W1 198.18.0.2
ip netns exec "$G1" ping -c 5 -i 0.2 198.18.0.2
ip netns exec "$G2" ping -c 5 -i 0.2 198.18.0.1

step "iperf3 TCP $G1 -> $G2 (5 s)"
ip netns exec "$G2" iperf3 -s -1 -D -B 198.18.0.2 -I "$IPERF_PID" >/dev/null
wait_for 10 sh -c "ip netns exec '$G2' ss -Hltn 'sport = :5201' | grep -q 5201"
ip netns exec "$G1" iperf3 -c 198.18.0.2 -t 5 -f g | tail -4

step "done; cleaning up"
