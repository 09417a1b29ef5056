#!/bin/sh
# schema_live.sh — what xnet's own components write obeys the schema: a sim
# guest gets a vif from `xnet vif attach` (toolstack), xnetback, the hotplug
# script and xnetfront; once both ends are Connected, and again after
# `xnet vif detach`, `xnet-schema check` finds no violation.
# Needs the `xnet` program; says SKIP and passes while it is not built.
set -u
BIN=${XNET_BIN:-$PWD/build/bin}
XNET="$BIN/xnet"
if [ ! -x "$XNET" ]; then
	echo "SKIP schema_live: $XNET not built"
	exit 0
fi
export XNET_SIM_DIR="$(mktemp -d /tmp/xnet-schema-live.XXXXXX)"
export XENSTORED_PATH="$XNET_SIM_DIR/xenstored.sock"
G=xscl$$ BR=xsclbr$$
BE=/local/domain/0/backend/vif

fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
	set +e
	"$XNET" domain destroy "$G" >/dev/null 2>&1
	"$XNET" sim down >/dev/null 2>&1
	ip link del "$BR" 2>/dev/null
	rm -rf "$XNET_SIM_DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_for SECONDS CMD... — until CMD succeeds, at most SECONDS.
wait_for() {
	n=$(($1 * 10)); shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1)); [ "$n" -gt 0 ] || return 1; sleep 0.1
	done
}
both_connected() {
	[ "$(xenstore-read "$be/state")" = 4 ] && [ "$(xenstore-read "$fe/state")" = 4 ]
}
check_clean() { # check_clean WHEN
	"$BIN/xnet-schema" check >"$XNET_SIM_DIR/out" 2>&1 ||
		fail "$1: violations:
$(cat "$XNET_SIM_DIR/out")
$(xenstore-ls -f /local/domain 2>&1 | grep /vif)"
	echo "ok: $1: $(tail -n 1 "$XNET_SIM_DIR/out")"
}

ip link add "$BR" type bridge || fail "cannot create bridge $BR"
ip link set "$BR" up
"$XNET" sim up >/dev/null || fail "xnet sim up"
"$XNET" domain create "$G" >/dev/null || fail "xnet domain create"
"$BIN/xnet-schema" check "$G" >/dev/null 2>&1 || fail "domain $G not found by name"
"$XNET" vif attach "$G" "mac=00:16:3e:00:5c:01,bridge=$BR" >/dev/null || fail "xnet vif attach"
id=$(xenstore-list "$BE" | head -n 1)
be="$BE/$id/0"
fe=$(xenstore-read "$be/frontend") || fail "no backend at $be"
wait_for 20 both_connected || fail "vif did not connect: $(xenstore-ls -f /local/domain | grep /vif)"
check_clean "connected"
"$BIN/xnet-schema" check "$G" >/dev/null 2>&1 || fail "check by domain name"

"$XNET" vif detach "$G" 0 >/dev/null || fail "xnet vif detach"
check_clean "right after detach"
wait_for 20 sh -c "! xenstore-read '$be/state'" || fail "backend directory not removed"
check_clean "after removal"
echo "PASS schema_live"
