#!/bin/sh
# cli_sim.sh — `xnet sim up|status|down`: up starts the daemons and is
# idempotent (restarts only what died), status tells pids and the sim dir,
# down stops everything and leaves nothing; every command takes --help.
set -u
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-cli-sim.XXXXXX)
PBIN="$T/bin"
export XNET_SIM_DIR="$T/sim" XNET_BIN="$PBIN"
XNET="$PBIN/xnet"

# wait_for SECONDS CMD... — until CMD succeeds, at most SECONDS.
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
dead() { ! alive "$1"; }
pid_of() { cat "$XNET_SIM_DIR/$1.pid" 2>/dev/null; }
# Live daemons started for this sim (their environment names its dir).
sim_procs() {
	for e in /proc/[0-9]*/environ; do
		p=${e#/proc/}; p=${p%/environ}
		case $(readlink "/proc/$p/exe" 2>/dev/null) in
		*/xnet-simd|*/xnet-hotplugd|*/xnetback|*/xnetfront) ;;
		*) continue ;;
		esac
		tr '\0' '\n' 2>/dev/null <"$e" | grep -qx "XNET_SIM_DIR=$XNET_SIM_DIR" &&
			alive "$p" && echo "$p"
	done
}
cleanup() {
	set +e
	"$XNET" sim down >/dev/null 2>&1
	for p in $pids; do alive "$p" && kill -9 "$p"; done
	rm -rf "$T"
}
pids=""
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir "$PBIN"
# Only the programs this test is about: no xnetback touching the host.
for p in xnet xnet-simd xnet-hotplugd vif-bridge vif-common.sh; do
	[ -e "$BIN/$p" ] || fail "$BIN/$p not built"
	ln -s "$BIN/$p" "$PBIN/$p"
done

for c in "--help" "sim --help" "sim up --help" "sim down --help" "sim status --help" \
	 "domain --help" "domain create --help" "domain destroy --help" \
	 "domain list --help" "vif --help" "vif attach --help" "vif detach --help" \
	 "vif list --help"; do
	# shellcheck disable=SC2086 # the command words are split on purpose
	out=$("$XNET" $c 2>&1) || fail "xnet $c exits non-zero"
	echo "$out" | grep -q usage || fail "xnet $c prints no usage"
done
ok "--help on every command"

err=$("$XNET" sim sideways 2>&1) && fail "unknown command accepted"
[ "$(echo "$err" | wc -l)" -eq 1 ] || fail "reason is not one line: $err"
echo "$err" | grep -q sideways || fail "reason does not name the command: $err"
ok "unknown command: non-zero, one line"

"$XNET" sim up >/dev/null || fail "sim up"
simd=$(pid_of xnet-simd); hpd=$(pid_of xnet-hotplugd); pids="$simd $hpd"
alive "$simd" || fail "xnet-simd not running after sim up"
alive "$hpd" || fail "xnet-hotplugd not running after sim up"
[ -S "$XNET_SIM_DIR/xenstored.sock" ] || fail "no xenstore socket"
XENSTORED_PATH="$XNET_SIM_DIR/xenstored.sock" xenstore-read /local/domain/0/name >/dev/null ||
	fail "xenstore does not answer after sim up"
ok "sim up starts xnet-simd and xnet-hotplugd, ready"

out=$("$XNET" sim up) || fail "second sim up fails"
[ "$(pid_of xnet-simd)" = "$simd" ] || fail "second sim up replaced xnet-simd"
[ "$(pid_of xnet-hotplugd)" = "$hpd" ] || fail "second sim up replaced hotplugd"
echo "$out" | grep -q "already running" || fail "second sim up does not say so"
ok "sim up is idempotent"

st=$("$XNET" sim status) || fail "sim status"
echo "$st" | grep -q "$XNET_SIM_DIR" || fail "status does not name the sim dir"
echo "$st" | grep "xnet-simd" | grep -q "$simd" || fail "status lacks xnet-simd's pid"
echo "$st" | grep "xnet-hotplugd" | grep -q "$hpd" || fail "status lacks hotplugd's pid"
echo "$st" | grep -q "^domains: Domain-0(0)" || fail "status lacks the domains: $st"
ok "sim status shows pids and the sim dir"

kill -9 "$hpd"
wait_for 5 dead "$hpd" || fail "cannot kill hotplugd"
"$XNET" sim up >/dev/null || fail "sim up after a daemon died"
hpd2=$(pid_of xnet-hotplugd); pids="$pids $hpd2"
[ "$(pid_of xnet-simd)" = "$simd" ] || fail "sim up restarted a live xnet-simd"
alive "$hpd2" || fail "sim up did not restart hotplugd"
[ "$hpd2" != "$hpd" ] || fail "hotplugd pid file not renewed"
ok "sim up restarts only what died"

sim_down
dead "$simd" || fail "xnet-simd still running after sim down"
dead "$hpd2" || fail "hotplugd still running after sim down"
[ ! -e "$XNET_SIM_DIR" ] || fail "sim down left $(ls -A "$XNET_SIM_DIR")"
"$XNET" sim status | grep "xnet-simd" | grep -q stopped || fail "status after down"
[ -z "$(sim_procs)" ] || fail "processes left after sim down: $(sim_procs)"
ok "sim down stops everything and leaves nothing"

# Two sim ups at once start one set of daemons.
"$XNET" sim up >"$T/up1" 2>&1 & up1=$!
"$XNET" sim up >"$T/up2" 2>&1 & up2=$!
wait "$up1" || fail "concurrent sim up 1: $(cat "$T/up1")"
wait "$up2" || fail "concurrent sim up 2: $(cat "$T/up2")"
pids="$pids $(pid_of xnet-simd) $(pid_of xnet-hotplugd)"
n=$(sim_procs | wc -l)
[ "$n" -eq 2 ] || fail "$n processes after two concurrent sim ups, want 2"
"$XNET" sim down >/dev/null || fail "sim down after concurrent ups"
[ -z "$(sim_procs)" ] || fail "processes left: $(sim_procs)"
"$XNET" sim down >/dev/null || fail "sim down with nothing up fails"
ok "concurrent sim up starts one of each; sim down twice is fine"

# A daemon that dies at start: sim up fails with its reason in one line.
rm "$PBIN/xnet-hotplugd"
printf '#!/bin/sh\necho "xnet-hotplugd: error: no watch for you" >&2\nexit 1\n' >"$PBIN/xnet-hotplugd"
chmod +x "$PBIN/xnet-hotplugd"
err=$("$XNET" sim up 2>&1 >/dev/null) && fail "sim up with a dying daemon succeeded"
pids="$pids $(pid_of xnet-simd)"
[ "$(echo "$err" | wc -l)" -eq 1 ] || fail "reason is not one line: $err"
echo "$err" | grep -q "xnet-hotplugd exited during start-up: xnet-hotplugd: error: no watch" ||
	fail "unclear reason: $err"
"$XNET" sim down >/dev/null || fail "sim down after a failed sim up"
[ -z "$(sim_procs)" ] || fail "processes left: $(sim_procs)"
ok "a daemon that dies at start: sim up names why"
