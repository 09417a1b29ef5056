#!/bin/sh
# soak_short.sh — many vifs on one bridge with traffic while vifs are
# detached and attached again at random; the daemons' memory and open
# descriptors must stay flat (sampled, start against end with a tolerance),
# the first guests keep answering pings throughout, and nothing is left
# behind. Short by default (for make check: every vif cycled once before
# the first sample, then SOAK_SECONDS=25 s measured); SOAK_SECONDS=600 for
# the long run, SOAK_DOMAINS x SOAK_VIFS_PER_DOMAIN vifs (default 16 x 4 = 64).
# A re-attached vif gets a fresh devid (as xl gives it) and the old one
# in turn: the same devid attached again at once after its detach
# (SOAK_REUSE_DEVID=0: always fresh, 1: always the old one).
# Descriptors: the TAPs must stay exactly as many (every vif is Connected
# at both samples); the others within SOAK_FD_SLACK (an event channel's
# writing end of the peer's wake-up pipe is fetched on its first
# notification, and xnet-simd keeps a closed handle's pipe a second or two,
# so descriptors follow the traffic a little), far below the one per round
# a leak would show.
# With XNET_BIN pointing at an ASan build it runs under the sanitizers.
set -eu
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"	# schema_ok; the helpers below are this test's own

BIN=${XNET_BIN:?}
XNET="$BIN/xnet"
SECONDS_TOTAL=${SOAK_SECONDS:-25}
NDOM=${SOAK_DOMAINS:-16}
NVIF=${SOAK_VIFS_PER_DOMAIN:-4}
RSS_SLACK_KB=${SOAK_RSS_SLACK_KB:-8192}
FD_SLACK=${SOAK_FD_SLACK:-16}
REUSE=${SOAK_REUSE_DEVID:-alternate}
export XNET_SIM_DIR="$(mktemp -d /tmp/xnet-soak.XXXXXX)"
# Under ASan a freed block waits in a quarantine (256 MiB by default)
# before it is reused, so RSS climbs with churn although nothing leaks:
# keep it small, so RSS shows what is held (leaks are LeakSanitizer's to
# report at exit). Programs built without ASan do not read this.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
TAG=$(( $$ % 100000 ))
BR=xskbr$TAG
# fail: what went wrong, and the daemons' last words (the directory goes
# with cleanup unless SOAK_KEEP is set).
fail() {
	echo "FAIL: $*" >&2
	for f in "$XNET_SIM_DIR"/xnetback.log "$XNET_SIM_DIR"/xnet-hotplugd.log; do
		[ -f "$f" ] && { echo "== $f (last 40 lines)" >&2; tail -40 "$f" >&2; }
	done
	exit 1
}

guest() { echo "xsk$TAG-$1"; }

cleanup() {
	set +e
	d=1
	while [ "$d" -le "$NDOM" ]; do
		"$XNET" domain destroy "$(guest "$d")" >/dev/null 2>&1
		d=$((d + 1))
	done
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	if [ -n "${SOAK_KEEP:-}" ]; then
		echo "soak: logs kept in $XNET_SIM_DIR" >&2
	else
		rm -rf "$XNET_SIM_DIR"
	fi
}
trap cleanup EXIT INT TERM

wait_for() {
	t=$1; shift
	end=$(( $(date +%s) + t ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

in_ns() { ns=$1; shift; ip netns exec "$ns" "$@"; }

# mac and unique backend name of vif V of domain D
mac() { printf '00:16:3e:5a:%02x:%02x' "$1" "$2"; }
vifname() { echo "sk${TAG}d${1}v${2}"; }

# Slot V of domain D holds one vif at a time; its current devid is kept in
# a file. A re-attach takes a fresh devid or the old one (REUSE, above).
slot_file() { echo "$XNET_SIM_DIR/slot.$1.$2"; }
devid_of() { cat "$(slot_file "$1" "$2")"; }

attach() { # attach D V DEVID
	"$XNET" vif attach "$(guest "$1")" \
		"devid=$3,mac=$(mac "$1" "$2"),bridge=$BR,vifname=$(vifname "$1" "$3")" >/dev/null
	echo "$3" > "$(slot_file "$1" "$2")"
}

# The pids of the daemons and every guest's xnetfront.
daemon_pids() {
	"$XNET" sim status | awk '$2 == "running" { print $4 }'
	"$XNET" domain list | awk 'NR > 1 && $NF ~ /^[0-9]+$/ { print $NF }'
}

# What PID's descriptors are, counted by kind.
fd_kinds() {
	ls -l "/proc/$1/fd" 2>/dev/null |
		awk 'NR > 1 { sub(/:\[.*/, "", $NF); print $NF }' | sort | uniq -c | tr -s ' \n' ' '
}

# "pid rss_kb fds taps" for each daemon; the kinds of descriptors into
# $1.kinds.
sample() {
	for p in $(daemon_pids); do
		echo "$p: $(fd_kinds "$p")" >> "$1.kinds"
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
		fds=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
		taps=$(find "/proc/$p/fd" -lname /dev/net/tun 2>/dev/null | wc -l)
		echo "$p ${rss:-0} $fds $taps"
	done
}

ping_ok() { in_ns "$(guest 1)" ping -c1 -W1 "198.18.0.$1"; }

# Every vif of every guest Connected at both ends and its interface there
# in the guest.
all_connected() {
	n=$("$XNET" vif list --json | jq '[.[] | select(.state == "4" and .be_state == "4")] | length')
	[ "$n" -eq $(( NDOM * NVIF )) ] || return 1
	ad=1
	while [ "$ad" -le "$NDOM" ]; do
		n=$(in_ns "$(guest "$ad")" ip -o link show | grep -c ': eth')
		[ "$n" -eq "$NVIF" ] || return 1
		ad=$((ad + 1))
	done
}

# Detach vif slot V of domain D and attach it again.
rounds=0
next_devid=$NVIF
cycle() {
	d=$1 v=$2
	old=$(devid_of "$d" "$v")
	out=$("$XNET" vif detach --timeout 10 "$(guest "$d")" "$old" 2>&1) ||
		fail "detach $d/$old after $rounds rounds: $out; $("$XNET" vif list "$(guest "$d")")"
	case $REUSE in
	1) new=$old ;;
	0) new=$next_devid ;;
	*) new=$(( rounds % 2 ? old : next_devid )) ;;
	esac
	[ "$new" = "$old" ] || next_devid=$((next_devid + 1))
	attach "$d" "$v" "$new" || fail "attach $d/$new"
	ping_ok 2 >/dev/null 2>&1 || wait_for 10 ping_ok 2 ||
		fail "guest 1 lost guest 2 after $rounds rounds"
	rounds=$((rounds + 1))
}

# Churn for $1 seconds: cycle a random vif other than eth0 (devid 0).
churn() {
	end=$(( $(date +%s) + $1 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		cycle $(( $(od -An -N2 -tu2 /dev/urandom) % NDOM + 1 )) \
		      $(( $(od -An -N2 -tu2 /dev/urandom) % (NVIF - 1) + 1 ))
	done
}

# Cycle every vif other than eth0 once.
cycle_all() {
	cd_=1
	while [ "$cd_" -le "$NDOM" ]; do
		cv_=1
		while [ "$cv_" -lt "$NVIF" ]; do cycle "$cd_" "$cv_"; cv_=$((cv_ + 1)); done
		cd_=$((cd_ + 1))
	done
}

"$XNET" sim up >/dev/null
ip link add "$BR" type bridge && ip link set "$BR" up
d=1
while [ "$d" -le "$NDOM" ]; do
	"$XNET" domain create "$(guest "$d")" >/dev/null
	v=0
	while [ "$v" -lt "$NVIF" ]; do attach "$d" "$v" "$v"; v=$((v + 1)); done
	d=$((d + 1))
done
d=1
while [ "$d" -le "$NDOM" ]; do
	g=$(guest "$d")
	wait_for 30 in_ns "$g" ip link show eth0 || fail "$g: eth0 did not appear"
	in_ns "$g" ip addr add "198.18.0.$d/16" dev eth0
	in_ns "$g" ip link set eth0 up
	d=$((d + 1))
done
wait_for 30 ping_ok 2 || fail "no first ping"
echo "soak: $NDOM domains x $NVIF vifs, ${SECONDS_TOTAL}s"

# Traffic: every guest pings the next one, continuously, in the background.
d=1
while [ "$d" -le "$NDOM" ]; do
	peer=$(( d % NDOM + 1 ))
	in_ns "$(guest "$d")" ping -q -i 0.05 -w "$((SECONDS_TOTAL + 120))" \
		"198.18.0.$peer" >/dev/null 2>&1 &
	d=$((d + 1))
done
wait_for 60 all_connected || fail "not every vif connected: $("$XNET" vif list)"
# Warm up first: every vif detached and attached once. A daemon's
# per-vif state grows to its working size lazily (an event channel's
# writing end is fetched on the first notification, staging buffers are
# touched by the first frames), and a vif that has been re-attached is in
# the state every vif is in at the end; flat is measured from there.
cycle_all
wait_for 60 all_connected || fail "not every vif connected after warm-up: $("$XNET" vif list)"
sleep "${SOAK_SETTLE:-2}"
sample "$XNET_SIM_DIR/sample.start" > "$XNET_SIM_DIR/sample.start"
churn "$SECONDS_TOTAL"

echo "soak: $rounds detach/attach rounds"
# Let the last attaches finish their handshakes before the last sample.
d=1
while [ "$d" -le "$NDOM" ]; do
	v=0
	while [ "$v" -lt "$NVIF" ]; do
		wait_for 20 ip link show "$(vifname "$d" "$(devid_of "$d" "$v")")" ||
			fail "vif $d/$v missing at the end"
		v=$((v + 1))
	done
	d=$((d + 1))
done
wait_for 60 all_connected || fail "not every vif connected at the end: $("$XNET" vif list)"
sleep "${SOAK_SETTLE:-2}"
sample "$XNET_SIM_DIR/sample.stop" > "$XNET_SIM_DIR/sample.stop"
wait_for 10 ping_ok 2 || fail "no ping at the end"

# Flat: each daemon sampled at both ends within the tolerance.
grew=""
while read -r p rss fds taps; do
	line=$(grep "^$p " "$XNET_SIM_DIR/sample.start") || continue
	set -- $line
	echo "soak: pid $p ($(cat /proc/$p/comm 2>/dev/null)): rss $2 -> $rss KiB, fds $3 -> $fds, TAPs $4 -> $taps"
	if [ "$rss" -gt $(( $2 + RSS_SLACK_KB )) ]; then
		grew="$grew; pid $p: rss grew $2 -> $rss KiB"
	fi
	if [ "$taps" -ne "$4" ]; then
		grew="$grew; pid $p: TAP descriptors $4 -> $taps"
	fi
	if [ "$fds" -gt $(( $3 + FD_SLACK )) ]; then
		grew="$grew; pid $p: fds grew $3 -> $fds: at start $(grep "^$p:" "$XNET_SIM_DIR/sample.start.kinds"), at end $(grep "^$p:" "$XNET_SIM_DIR/sample.stop.kinds")"
	fi
done < "$XNET_SIM_DIR/sample.stop"
if [ -n "$grew" ]; then
	echo "soak: $(ip -o link show | grep -c "sk${TAG}d") backend links up" >&2
	grep -h "of our pages" "$XNET_SIM_DIR"/xnetfront-*.log | head -3 >&2
	fail "${grew#; }"
fi
[ "$rounds" -gt 0 ] || fail "no churn round ran"
schema_ok "after the churn"

d=1
while [ "$d" -le "$NDOM" ]; do "$XNET" domain destroy "$(guest "$d")" >/dev/null; d=$((d + 1)); done
"$XNET" sim down >/dev/null
ip link del "$BR"
left=$(ip -o link show | grep -c "sk${TAG}d" || true)
[ "$left" -eq 0 ] || fail "$left backend links left behind"
echo "PASS soak_short"
