#!/bin/sh
# hostile_faults.sh — kill -9 of each daemon while two guests ping each
# other over a bridge: the others stay up, `xnet sim up` starts whichever
# daemon is missing, and traffic resumes:
#   xnet-hotplugd  — traffic never stops; restarted;
#   xnetfront      — restarted in its guest, it walks its vif back and
#                    reconnects; no stale backend link;
#   xnetback       — restarted, it finds the vifs (recover.c) and xnet-hotplugd
#                    puts their new TAPs back on the bridge; the guests'
#                    xnetfront restarted where it gave its vif up;
#   xnet-simd      — the machine crashed: the others neither crash nor
#                    spin; `xnet sim up` stops them, removes the guests
#                    and their TAPs, starts a new sim; new guests attach
#                    and pass traffic.
# Nothing is left behind (namespaces, links, processes, sim directory).
set -eu

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
XNET_SIM_DIR=$(mktemp -d /tmp/xnet-faults.XXXXXX)
export XNET_SIM_DIR
TAG=$(( $$ % 100000 ))
G1=xhf1-$TAG G2=xhf2-$TAG BR=xhfbr$TAG
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
fail_hook() {
	{
		ip -br link | grep "hf$TAG"
		"$XNET" vif list
		for g in "$G1" "$G2"; do in_ns "$g" ip -br addr; done
	} >&2 2>/dev/null || true
}

cleanup() {
	set +e
	for g in "$G1" "$G2"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	for p in $(cat "$XNET_SIM_DIR"/*.pid 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = xnet-simd ] && kill -9 "$p"
	done
	ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT INT TERM

domid() { "$XNET" domain list | awk -v n="$1" '$1 == n { print $2 }'; }
ping_ok() { in_ns "$G1" ping -c1 -W1 198.18.7.2; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
# Alive and not a zombie (an xnetfront this script restarted is its child).
running() { alive "$1" && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
on_bridge() { [ "$(basename "$(readlink "/sys/class/net/$1/master" 2>/dev/null)")" = "$BR" ]; }

# CPU ticks of PID over a second: a spinning daemon uses most of them.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
not_spinning() {
	a=$(cpu_ticks "$1"); sleep 1; b=$(cpu_ticks "$1")
	[ $((b - a)) -lt 50 ]
}

# kill -9 the xnetfront of guest G and wait until its TAP is gone (else a
# new eth0 could be confused with the dying one).
kill_front() {
	kill -9 "$(front_pid "$1")" 2>/dev/null || true
	wait_for 10 sh -c "! ip netns exec '$1' ip link show eth0" || fail "$1: eth0 outlived its xnetfront"
}

# Start xnetfront again in guest G, as `xnet domain create` does.
restart_front() {
	g=$1
	ip netns exec "$g" env XNET_DOMID="$(domid "$g")" XNET_SIM_DIR="$XNET_SIM_DIR" \
		"$BIN/xnetfront" --foreground >>"$XNET_SIM_DIR/xnetfront-$g.log" 2>&1 &
	echo $! > "$XNET_SIM_DIR/xnetfront-$g.pid"
}

setup_guests() {
	i=1
	for g in "$G1" "$G2"; do
		"$XNET" domain create "$g" >/dev/null
		"$XNET" vif attach "$g" "mac=00:16:3e:00:f7:0$i,bridge=$BR,vifname=hf${TAG}g$i" >/dev/null
		wait_for 20 in_ns "$g" ip link show eth0 || fail "$g: eth0 did not appear"
		in_ns "$g" ip addr add "198.18.7.$i/24" dev eth0
		in_ns "$g" ip link set eth0 up
		i=$((i + 1))
	done
	wait_for 20 ping_ok || fail "no first ping"
}

# eth0 of guest G up again with its address (a restarted xnetfront makes a
# new TAP).
readdress() {
	wait_for 20 in_ns "$1" ip link show eth0 || fail "$1: eth0 did not come back"
	in_ns "$1" ip addr replace "198.18.7.$2/24" dev eth0
	in_ns "$1" ip link set eth0 up
}

# A descriptor of ours must not go with the daemons xnet starts (had a
# daemon kept a lock file open, the lock would outlive the test).
exec 9>"$XNET_SIM_DIR/held"
"$XNET" sim up >/dev/null
ip link add "$BR" type bridge && ip link set "$BR" up
setup_guests
for p in $(daemon_pid xnet-simd) $(daemon_pid xnetback) $(daemon_pid xnet-hotplugd) $(front_pid "$G1"); do
	! holds "$p" "$XNET_SIM_DIR/held" || fail "pid $p inherited our descriptor"
done
exec 9>&-

# 1. xnet-hotplugd
hp=$(daemon_pid xnet-hotplugd) nb=$(daemon_pid xnetback) sd=$(daemon_pid xnet-simd)
kill -9 "$hp"
ping_ok >/dev/null 2>&1 || fail "traffic stopped with xnet-hotplugd killed"
alive "$nb" && alive "$sd" || fail "xnetback or xnet-simd died with xnet-hotplugd"
"$XNET" sim up >/dev/null
hp2=$(daemon_pid xnet-hotplugd)
[ -n "$hp2" ] && [ "$hp2" != "$hp" ] || fail "xnet sim up did not restart xnet-hotplugd"
ping_ok >/dev/null 2>&1 || fail "traffic after xnet-hotplugd restart"
echo "faults: xnet-hotplugd killed and restarted, traffic kept"

# 2. xnetfront of G2
kill_front "$G2"
alive "$(daemon_pid xnetback)" || fail "xnetback died with an xnetfront"
restart_front "$G2"
readdress "$G2" 2
wait_for 30 ping_ok || fail "no traffic after xnetfront restart"
echo "faults: xnetfront killed and restarted, traffic resumed"

# 3. xnetback
nb=$(daemon_pid xnetback)
kill -9 "$nb"
alive "$(daemon_pid xnet-simd)" || fail "xnet-simd died with xnetback"
alive "$(front_pid "$G1")" || fail "xnetfront died with xnetback"
"$XNET" sim up >/dev/null
nb2=$(daemon_pid xnetback)
[ -n "$nb2" ] && [ "$nb2" != "$nb" ] || fail "xnet sim up did not restart xnetback"
for i in 1 2; do
	wait_for 20 ip link show "hf${TAG}g$i" || fail "restarted xnetback did not recreate hf${TAG}g$i"
done
grep -q "left by a previous instance" "$XNET_SIM_DIR/xnetback.log" ||
	fail "restarted xnetback did not recover the vifs"
# A vif's bridge port went with the old TAP: xnet-hotplugd runs the
# script's online again for the new one once the device comes up (at
# once, or when its restarted xnetfront starts over).
if ! wait_for 10 ping_ok; then
	# xnetfront gives a vif up when its backend's channel closes: restart it.
	for g in "$G1" "$G2"; do
		kill_front "$g"
		restart_front "$g"
	done
	readdress "$G1" 1
	readdress "$G2" 2
	wait_for 30 ping_ok || fail "no traffic after xnetback restart"
	echo "faults: xnetback killed and restarted; traffic resumed after the guests' xnetfront restarted"
else
	echo "faults: xnetback killed and restarted; traffic resumed"
fi
for i in 1 2; do
	on_bridge "hf${TAG}g$i" || fail "hf${TAG}g$i not put back on $BR by its hotplug script"
done

schema_ok "after xnetback recovered the vifs"

# 4. xnet-simd: the machine crashed. The others stay up without spinning;
# `xnet sim up` clears the previous run (its daemons, guests, TAPs) and
# starts a new sim in which new guests attach and pass traffic.
sd=$(daemon_pid xnet-simd) nb=$(daemon_pid xnetback) hp=$(daemon_pid xnet-hotplugd)
f1=$(front_pid "$G1") f2=$(front_pid "$G2")
kill -9 "$sd"
wait_for 10 sh -c "! kill -0 $sd" || fail "xnet-simd outlived kill -9"
for p in "$nb" "$hp" "$f1" "$f2"; do
	alive "$p" || fail "pid $p ($(cat "/proc/$p/comm" 2>/dev/null)) died with xnet-simd"
	not_spinning "$p" || fail "pid $p spins with xnet-simd gone"
done
"$XNET" sim up >"$XNET_SIM_DIR/up.out" || fail "xnet sim up after xnet-simd was killed"
grep -q "as after a host crash" "$XNET_SIM_DIR/up.out" || fail "sim up did not say it cleared the crashed run"
for p in "$nb" "$hp" "$f1" "$f2"; do
	! running "$p" || fail "pid $p of the crashed run still runs"
done
for d in xnet-simd xnetback xnet-hotplugd; do
	[ -n "$(daemon_pid "$d")" ] || fail "xnet sim up did not restart $d"
done
for i in 1 2; do
	! has_link "hf${TAG}g$i" || fail "TAP hf${TAG}g$i of the crashed run left"
done
for g in "$G1" "$G2"; do
	! has_ns "$g" || fail "namespace $g of the crashed run left"
done
[ "$("$XNET" domain list | awk 'NR > 1' | wc -l)" -eq 1 ] || fail "the new sim has domains besides Domain-0"
setup_guests
echo "faults: xnet-simd killed; the others stayed up; sim up cleared the crashed run and new guests pass traffic"
schema_ok "with the new sim's guests"

"$XNET" sim down >/dev/null 2>&1 || true
ip link del "$BR"
for i in 1 2; do
	! ip link show "hf${TAG}g$i" >/dev/null 2>&1 || fail "backend link hf${TAG}g$i left behind"
done
echo "PASS hostile_faults"
