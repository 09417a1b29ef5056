#!/bin/sh
# front_failover.sh — a passthrough link and the PV vif as one interface
# (xnetfront --failover auto). A guest's vif is on a bridge with a peer; a
# veth pair stands in for a VF: one end, with the vif's MAC and no address,
# is moved into the guest, the other is a port of the same bridge. While
# the guest pings the peer and a TCP connection echoes data:
#   - the passthrough link carries the guest's frames (its counters rise,
#     the vif's do not);
#   - unplugged (moved to another namespace): traffic goes on over the vif
#     with a few pings lost at most;
#   - plugged back: traffic is back on the passthrough link;
#   - its far end down (no carrier): the vif again; up: the link again;
#   - a --failover value that is not a link name is refused;
#   - eth0 keeps its address and link id, and the TCP connection opened
#     before the unplug carries data to the end.
# Cleans up every domain, link, namespace, process and the sim directory,
# also on failure.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
XNET_SIM_DIR="$(mktemp -d /tmp/xnet-fo.XXXXXX)"
export XNET_SIM_DIR
T=$(($$ % 100000))
G=fog$T P=fop$T PARK=fok$T BR=fobr$T VIF=fov$T PT=fopt$T PTH=foph$T PV=fopv$T
MAC=00:16:3e:5a:0f:01 GIP=198.18.30.1 PIP=198.18.30.2
W=$XNET_SIM_DIR/work
LOG=$XNET_SIM_DIR/xnetfront-$G.log
PY=$(command -v python3)
PIDS=""

cleanup() {
	set +e
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	"$XNET" domain destroy "$G" >/dev/null 2>&1
	"$XNET" sim down >/dev/null 2>&1
	for l in "$PTH" "$PV" "$BR"; do ip link del "$l" 2>/dev/null; done
	for n in "$P" "$PARK"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail_hook() {
	tail -n 30 "$LOG"
	in_ns "$G" ip -br link
	in_ns "$G" tc filter show dev eth0 egress
	tail -n 5 "$W/ping.out" "$W/tcp.out"
}

gone() { ! kill -0 "$1" 2>/dev/null; }
# stat NS LINK COUNTER — a counter of LINK in namespace NS ("" : here).
stat() {
	if [ -n "$1" ]; then in_ns "$1" cat "/sys/class/net/$2/statistics/$3"
	else cat "/sys/class/net/$2/statistics/$3"; fi
}
said() { [ "$(grep -c "$1" "$LOG")" -ge "$2" ]; }
# pt_only — over a window in which the passthrough link sends 20 frames,
# the vif (the PV path) receives none from the guest.
pt_only() {
	v=$(stat "" "$VIF" rx_packets) t=$(stat "$G" "$PT" tx_packets)
	wait_for 5 sh -c "[ \$(ip netns exec $G cat /sys/class/net/$PT/statistics/tx_packets) -ge $((t + 20)) ]" || return 1
	[ "$(stat "" "$VIF" rx_packets)" -eq "$v" ]
}
pv_rises() {
	v=$(stat "" "$VIF" rx_packets)
	wait_for 5 sh -c "[ \$(cat /sys/class/net/$VIF/statistics/rx_packets) -ge $((v + 20)) ]"
}
replies() { grep -c 'bytes from' "$W/ping.out"; }
more_replies() { n=$(replies); wait_for 5 sh -c "[ \$(grep -c 'bytes from' $W/ping.out) -gt $((n + 10)) ]"; }

# A --failover that is neither auto nor a link name is refused up front.
rc=0
"$BIN/xnetfront" --foreground --failover 'no/such' 2>"$XNET_SIM_DIR/bad.err" || rc=$?
{ [ "$rc" -eq 2 ] && grep -q "'no/such' is neither 'auto' nor a link name" \
	"$XNET_SIM_DIR/bad.err"; } || fail "bad --failover: rc $rc, $(cat "$XNET_SIM_DIR/bad.err")"
ok "a bad --failover is refused, naming it"

"$XNET" sim up >/dev/null
mkdir "$W"
# The guest, with its xnetfront started again with --failover.
"$XNET" domain create "$G" >/dev/null
f=$(front_pid "$G")
kill "$f"
wait_for 10 gone "$f" || fail "the first xnetfront did not stop"
ip netns exec "$G" env XNET_DOMID="$("$XNET" domain list | awk -v n="$G" '$1 == n { print $2 }')" \
	XNET_SIM_DIR="$XNET_SIM_DIR" "$BIN/xnetfront" --foreground -v --failover auto \
	>>"$LOG" 2>&1 &
echo $! >"$XNET_SIM_DIR/xnetfront-$G.pid"
"$XNET" vif attach "$G" "mac=$MAC,bridge=$BR,vifname=$VIF" >/dev/null
wait_for 20 in_ns "$G" ip link show eth0 || fail "eth0 did not appear"
in_ns "$G" ip addr add "$GIP/24" dev eth0
in_ns "$G" ip link set eth0 up
ID0=$(in_ns "$G" cat /sys/class/net/eth0/ifindex)
wait_for 20 has_link "$BR" || fail "no bridge $BR"

# The peer on the bridge, and the passthrough link.
ip netns add "$P"
ip netns add "$PARK"
ip link add "$PV" type veth peer name eth0 netns "$P"
ip link set "$PV" master "$BR" up
in_ns "$P" ip addr add "$PIP/24" dev eth0
in_ns "$P" ip link set eth0 up
ip link add "$PTH" type veth peer name "$PT" address "$MAC" netns "$G"
ip link set "$PTH" master "$BR" up
wait_for 20 said "failback to passthrough $PT" 1 || fail "$PT never became the path"
in_ns "$G" ip -br link show "$PT" | grep -q UP || fail "$PT not brought up"
ok "xnetfront paired eth0 with $PT and brought it up"

# Traffic: a ping every 50 ms and a TCP connection echoing data. Each is
# started by ip netns exec directly, so $! is the program's own pid.
ip netns exec "$P" "$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("'"$PIP"'", 5901)); s.listen(1); c, _ = s.accept()
while True:
    d = c.recv(65536)
    if not d: break
    c.sendall(d)
' &
PIDS="$PIDS $!"
ip netns exec "$G" ping -i 0.05 -W 1 "$PIP" >"$W/ping.out" 2>&1 &
PING=$!
PIDS="$PIDS $PING"
wait_for 10 reaches "$G" "$PIP" || fail "no ping over passthrough"
ip netns exec "$G" "$PY" -c '
import os, socket, sys, time
c = None
for i in range(50):
    try: c = socket.create_connection(("'"$PIP"'", 5901), timeout=1); break
    except OSError: time.sleep(0.1)
c.settimeout(15)
port = c.getsockname()[1]; n = 0
print("connected", port, flush=True)
while not os.path.exists("'"$W/stop"'"):
    msg = os.urandom(1000); c.sendall(msg); got = b""
    while len(got) < len(msg):
        d = c.recv(len(msg) - len(got))
        if not d: sys.exit("closed by the peer after %d echoes" % n)
        got += d
    if got != msg: sys.exit("echo differs")
    n += 1; time.sleep(0.02)
print("echoes", n, "port", c.getsockname()[1], flush=True)
' >"$W/tcp.out" 2>&1 &
TCP=$!
PIDS="$PIDS $TCP"
wait_for 10 grep -q connected "$W/tcp.out" || fail "no TCP connection"

wait_for 20 pt_only || fail "the guest's frames do not go (only) over $PT"
ok "passthrough carries the traffic; the vif receives nothing from the guest"

# Unplug: the passthrough end leaves the guest.
ip -n "$G" link set "$PT" netns "$PARK"
wait_for 10 said "failover to the PV path: $PT" 1 || fail "no failover"
pv_rises || fail "the vif carries nothing after the unplug"
more_replies || fail "pings stopped after the unplug"
ok "unplugged: traffic on the PV path"

# Plug it back.
ip -n "$PARK" link set "$PT" netns "$G"
wait_for 20 said "failback to passthrough $PT" 2 || fail "no failback"
wait_for 20 pt_only || fail "traffic did not return to $PT"
more_replies || fail "pings stopped after the plug"
ok "plugged back: traffic on $PT again"

# Carrier: the far end of the passthrough link goes down, then up.
ip link set "$PTH" down
wait_for 10 said "failover to the PV path: $PT (link [0-9]*) no carrier" 1 ||
	fail "no failover on carrier loss"
pv_rises || fail "the vif carries nothing without carrier on $PT"
ip link set "$PTH" up
wait_for 20 said "failback to passthrough $PT" 3 || fail "no failback on carrier"
wait_for 20 pt_only || fail "traffic did not return to $PT with carrier"
more_replies || fail "pings stopped after the carrier came back"
ok "carrier lost: PV path; carrier back: $PT"

touch "$W/stop"
wait "$TCP" || fail "the TCP connection broke: $(cat "$W/tcp.out")"
grep -q "^echoes" "$W/tcp.out" || fail "no echo count"
first=$(awk '/^connected/ { print $2 }' "$W/tcp.out")
last=$(awk '/^echoes/ { print $4 }' "$W/tcp.out")
[ "$first" = "$last" ] || fail "the TCP connection changed ($first, $last)"
ok "one TCP connection echoed all along ($(awk '/^echoes/ { print $2 }' "$W/tcp.out") echoes)"

kill -INT "$PING"
wait_for 5 gone "$PING" || fail "ping did not stop"
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$W/ping.out")
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$W/ping.out")
{ [ -n "$sent" ] && [ -n "$got" ]; } || fail "no ping summary"
[ $((sent - got)) -le 20 ] || fail "$((sent - got)) of $sent pings lost"
ok "$((sent - got)) of $sent pings lost over unplug and plug"

in_ns "$G" ip -4 -br addr show eth0 | grep -q " $GIP/24" || fail "eth0 lost its address"
[ "$(in_ns "$G" cat /sys/class/net/eth0/ifindex)" = "$ID0" ] || fail "eth0 is another link"
ok "eth0 kept its address and link id"
sim_down
