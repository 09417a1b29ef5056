#!/bin/sh
# feature_matrix.sh — every netif feature of the README's table negotiated
# on, off, and against a peer that does not know it (the key absent), with
# xnetback and xnetfront on the sim; one sim, one vif re-attached per case.
#
# A case edits the keys one side advertises before the other side reads
# them: backend keys while the guest's xnetfront is stopped (SIGSTOP) and
# the backend waits in InitWait; frontend keys while xnetback is stopped and
# the frontend has published. Then it checks what was negotiated — the
# keys the reader wrote in answer, the queues and event channels xnetback
# reports, whether GSO packets crossed, whether the backend took static
# grants — and that traffic flows (ping and iperf3 TCP both ways).
# "on" is every feature's default, checked at once in the first case. A
# case marked xfail is a known bug (named next to it): it must still fail;
# once fixed, the mark goes.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
XNET_SIM_DIR=$(mktemp -d /tmp/xnet-feat.XXXXXX)
export XNET_SIM_DIR
P=xfp-$$ T=xft-$$ BR=xfbr$$
MAC=00:16:3e:00:fe:01
NQ=$(nproc); [ "$NQ" -le 8 ] || NQ=8	# xnetfront's default queue count

cleanup() {
	set +e
	iperf_stop
	for p in $(front_pid "$T") $(daemon_pid xnetback); do kill -CONT "$p"; done
	# Whatever still runs in our guests' namespaces is ours (T's xnetfront).
	for p in $(ip netns pids "$T" 2>/dev/null); do kill "$p"; done
	for g in "$P" "$T"; do "$XNET" domain destroy "$g" >/dev/null 2>&1; done
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT INT TERM


# The features as the table names them; each case below says which keys
# it edits, on which side, and what must follow.
#   NAME       SIDE KEYS                          VALUE   EXPECT
CASES='
defaults       -  -                                 -       split queues=NQ txgso rxgso static mcast
sg             be feature-sg                        0       !txgso
sg             be feature-sg                        absent  !txgso
sg             fe feature-sg                        0       !rxgso
sg             fe feature-sg                        absent  !rxgso
gso-tcpv4      be feature-gso-tcpv4                 0       !txgso
gso-tcpv4      be feature-gso-tcpv4                 absent  !txgso
gso-tcpv4      fe feature-gso-tcpv4                 0       !rxgso
gso-tcpv4      fe feature-gso-tcpv4                 absent  !rxgso
gso-tcpv6      -  -                                 -       v6 txgso rxgso
gso-tcpv6      be feature-gso-tcpv6                 0       v6 !txgso
gso-tcpv6      be feature-gso-tcpv6                 absent  v6 !txgso
gso-tcpv6      fe feature-gso-tcpv6                 0       v6 !rxgso
gso-tcpv6      fe feature-gso-tcpv6                 absent  v6 !rxgso
no-csum        fe feature-no-csum-offload           1       !rxgso
no-csum        fe feature-no-csum-offload           0       rxgso
ipv6-csum      fe feature-ipv6-csum-offload         0       !rxgso
ipv6-csum      fe feature-ipv6-csum-offload         absent  !rxgso
ipv6-csum      be feature-ipv6-csum-offload         0       v6 !txgso
ipv6-csum      be feature-ipv6-csum-offload         absent  v6 !txgso
multi-queue    be multi-queue-max-queues            1       queues=1 fe:multi-queue-num-queues=1
multi-queue    be multi-queue-max-queues            absent  queues=1 !fe:multi-queue-num-queues
split-evtchn   be feature-split-event-channels      0       !split
split-evtchn   be feature-split-event-channels      absent  !split
ctrl-ring      be feature-ctrl-ring                 0       !fe:ctrl-ring-ref !static
ctrl-ring      be feature-ctrl-ring                 absent  !fe:ctrl-ring-ref !static
mcast          be feature-dynamic-multicast-control absent  mcast
mcast          be feature-multicast-control         absent  mcast
mcast          be feature-multicast-control,feature-dynamic-multicast-control 0 !mcast
mcast          be feature-multicast-control,feature-dynamic-multicast-control absent !mcast
rx-notify      fe feature-rx-notify                 0       -
rx-notify      fe feature-rx-notify                 absent  -
rx-copy        be feature-rx-copy                   0       refused
rx-copy        be feature-rx-copy                   absent  refused
rx-copy        fe request-rx-copy                   0       refused
rx-copy        fe request-rx-copy                   absent  refused
'

# edit DIR KEYS VALUE — write VALUE to each of the comma-separated KEYS
# under DIR, or remove them ("absent").
edit() {
	for k in $(echo "$2" | tr , ' '); do
		if [ "$3" = absent ]; then
			xs xenstore-rm "$1/$k" || fail "rm $1/$k"
		else
			xs xenstore-write "$1/$k" "$3" || fail "write $1/$k"
		fi
	done
}

# attach SIDE KEYS VALUE — attach T's vif (devid $devid) and edit KEYS on
# SIDE before the other side reads them.
attach() {
	front=$(front_pid "$T")
	kill -STOP "$front" || fail "cannot stop xnetfront ('$front')"
	wait_for 5 stopped "$front" || fail "xnetfront ($front) did not stop"
	"$XNET" vif attach "$T" "mac=$MAC,bridge=$BR,devid=$devid" >/dev/null || fail "attach"
	wait_for 20 is "$be/state" 2 || fail "backend not in InitWait"
	case $1 in
	be)	edit "$be" "$2" "$3"
		kill -CONT "$front" ;;
	fe)	nb=$(daemon_pid xnetback)
		kill -STOP "$nb" || fail "cannot stop xnetback ('$nb')"
		wait_for 5 stopped "$nb" || fail "xnetback ($nb) did not stop"
		kill -CONT "$front"
		wait_for 20 is "$fe/state" 4 || { kill -CONT "$nb"; fail "frontend did not publish"; }
		edit "$fe" "$2" "$3"
		kill -CONT "$nb" ;;
	*)	kill -CONT "$front" ;;
	esac
}

# stopped PID — every thread of PID is stopped (a signal is not at once).
stopped() {
	for t in /proc/"$1"/task/*/stat; do
		[ "$(awk '{ print $3 }' "$t")" = T ] || return 1
	done
}

connected() { is "$be/state" 4 && is "$fe/state" 4; }
eth() { in_ns "$T" ip -o link | awk -v m="$MAC" '$0 ~ m { sub(":", "", $2); print $2 }'; }

# traffic EXPECT — ping, then iperf3 TCP both ways (IPv6 when EXPECT has
# v6), as the GSO checks need; with static grants expected, only once
# xnetfront has handed them over. Leaves T's vif's counters in $stats.
traffic() {
	dev=$(eth)
	[ -n "$dev" ] || fail "no interface with $MAC in $T"
	in_ns "$T" ip addr add 198.18.11.2/24 dev "$dev"
	in_ns "$T" ip addr add fd00:11::2/64 dev "$dev" nodad
	in_ns "$T" ip link set "$dev" up
	wait_for 20 reaches "$T" 198.18.11.1 || fail "no ping from $T"
	src=198.18.11.2 dst=198.18.11.1
	case " $1 " in *" v6 "*) src=fd00:11::2 dst=fd00:11::1 ;; esac
	case " $1 " in *" static "*)
		wait_for 10 static_grants || fail "no static grants handed over" ;;
	esac
	iperf_server "$P" "$dst" || fail "iperf3 server in $P"
	in_ns "$T" timeout 5 iperf3 -c "$dst" -n 8M >/dev/null || fail "iperf3 $T -> $P"
	iperf_server "$T" "$src" || fail "iperf3 server in $T"
	in_ns "$P" timeout 5 iperf3 -c "$src" -n 8M >/dev/null || fail "iperf3 $P -> $T"
	stats=$("$XNET" stats --json "$T/$devid") || fail "stats"
}

c() { echo "$stats" | jq -r ".vifs[0].counters.$1"; }
# The backend took xnetfront's static grants (ADD_GREF_MAPPING) for queue 0.
static_grants() {
	grep -q "vif $devid: queue 0: [1-9][0-9]* static grants in the backend" \
		"$XNET_SIM_DIR/xnetfront-$T.log"
}
fe_key() { xs xenstore-read "$fe/$1" 2>/dev/null; }
split() { echo "$stats" | jq -e 'all(.vifs[0].queues[]; .counters.tx_port != .counters.rx_port)' >/dev/null; }

# check EXPECT — one negotiated outcome holds.
check() {
	case $1 in
	-|v6|xfail)	return 0 ;;
	split)		split ;;
	!split)		! split ;;
	queues=*)	[ "$(echo "$stats" | jq '.vifs[0].queues | length')" = "${1#queues=}" ] ;;
	txgso)		[ "$(c tx_gso)" -gt 0 ] ;;
	!txgso)		[ "$(c tx_gso)" = 0 ] ;;
	rxgso)		[ "$(c rx_gso)" -gt 0 ] ;;
	!rxgso)		[ "$(c rx_gso)" = 0 ] ;;
	static)		static_grants ;;
	!static)	! static_grants ;;
	mcast)		[ "$(fe_key request-multicast-control)" = 1 ] ;;
	!mcast)		[ -z "$(fe_key request-multicast-control)" ] ;;
	fe:*=*)		k=${1#fe:}; [ "$(fe_key "${k%%=*}")" = "${k#*=}" ] ;;
	!fe:*)		! xs xenstore-exists "$fe/${1#!fe:}" 2>/dev/null ;;
	*)		fail "unknown check $1" ;;
	esac
}

# refusal_logged — the reader logged giving the vif up for want of rx-copy
# (it may then start over: the frontend retries, with its own keys).
refusal_logged() {
	grep -q "$be: .*rx-copy" "$XNET_SIM_DIR/xnetback.log" ||
		grep -q "vif $devid: .*rx-copy" "$XNET_SIM_DIR/xnetfront-$T.log"
}

# refused — the reader gives the vif up naming why; the daemons serve on.
refused() {
	wait_for 20 refusal_logged || fail "not refused: backend state $(xs xenstore-read "$be/state"), frontend $(xs xenstore-read "$fe/state")"
	reaches "$P" 198.18.11.1 || fail "the peer's traffic stopped"
}

"$XNET" sim up >/dev/null
ip link add "$BR" type bridge && ip link set "$BR" up
"$XNET" domain create "$P" >/dev/null
"$XNET" vif attach "$P" "mac=00:16:3e:00:fe:02,bridge=$BR" >/dev/null
wait_for 20 in_ns "$P" ip link show eth0 || fail "$P: eth0 did not appear"
in_ns "$P" ip addr add 198.18.11.1/24 dev eth0
in_ns "$P" ip addr add fd00:11::1/64 dev eth0 nodad
in_ns "$P" ip link set eth0 up
dt=$("$XNET" domain create "$T" | awk '{ print $2 }')
[ -n "$dt" ] || fail "domain create $T"
# T's xnetfront asks for multicast control, so that feature shows, and
# logs (-v) when its static grants are in place.
kill "$(front_pid "$T")"
wait_for 10 sh -c "! kill -0 $(front_pid "$T") 2>/dev/null"
# (ip execs env, env execs xnetfront: $! is its pid, for domain destroy.)
ip netns exec "$T" env XNET_DOMID="$dt" XNET_SIM_DIR="$XNET_SIM_DIR" \
	"$BIN/xnetfront" --foreground --multicast-control -v >>"$XNET_SIM_DIR/xnetfront-$T.log" 2>&1 &
echo $! >"$XNET_SIM_DIR/xnetfront-$T.pid"

# run_case — attach, negotiate, check (run in a subshell: fail ends the case).
run_case() {
	attach "$side" "$keys" "$value"
	case $expect in
	refused) refused ;;
	*)	wait_for 20 connected ||
			fail "not connected (backend $(xs xenstore-read "$be/state"), frontend $(xs xenstore-read "$fe/state"))"
		traffic "$expect"
		for e in $expect; do
			check "$e" || fail "$e does not hold: $(echo "$stats" | jq -c '.vifs[0].counters')"
		done ;;
	esac
	[ "$name" != defaults ] || schema_ok "with every feature on"
}

# Every case runs, also after one failed; the failures are named at the end.
devid=0 failed=""
while read -r name side keys value expect; do
	[ -n "$name" ] || continue
	expect=$(echo "$expect" | sed "s/queues=NQ/queues=$NQ/")
	be=/local/domain/0/backend/vif/$dt/$devid fe=/local/domain/$dt/device/vif/$devid
	what="$name: $side $keys=$value"
	# A known bug fails quietly: its reason in one line, no logs.
	if (case " $expect " in *" xfail "*) fail() { echo "  ($*)"; exit 1; } ;; esac
	    run_case); then
		case " $expect " in
		*" xfail "*) failed="$failed
  $what: passes now; drop its xfail mark" ;;
		*) ok "$what: $expect" ;;
		esac
	else
		case " $expect " in
		*" xfail "*) echo "xfail: $what: a known bug, see the table" ;;
		*) echo "FAIL: $what: see above" >&2
		   failed="$failed
  $what" ;;
		esac
	fi
	iperf_stop
	for p in $(front_pid "$T") $(daemon_pid xnetback); do kill -CONT "$p"; done
	"$XNET" vif detach "$T" "$devid" >/dev/null || fail "$what: detach"
	devid=$((devid + 1))
done <<EOF
$CASES
EOF
[ -z "$failed" ] || fail "cases that failed:$failed"

for g in "$P" "$T"; do "$XNET" domain destroy "$g" >/dev/null; done
sim_down
ip link del "$BR"
echo "PASS feature_matrix"
