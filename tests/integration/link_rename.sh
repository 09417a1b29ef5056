#!/bin/sh
# link_rename.sh — xnet-linkid in a network namespace made for this run:
# link ids and names of veth and bridge links agree with the kernel; a link
# renamed between "the toolstack writes its id" and "the script resolves it"
# is still found, under its new name, also while renames race with
# resolutions; a bridge's recorded id and a port's master survive a bridge
# rename; every missing link gets exit 1 and a one-line reason.
set -u
BIN=${XNET_BIN:-$PWD/build/bin}
LINKID=$BIN/xnet-linkid
NS=xnl-$$
T=$(mktemp -d /tmp/xnet-link.XXXXXX)
A=xla$$		# link names: unique to the run, at most 15 characters
B=xlb$$
R=xlr$$
S=xls$$
BR=xlbr$$
RACER=

# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
cleanup() {
	set +e
	[ -n "$RACER" ] && kill "$RACER" 2>/dev/null && wait "$RACER" 2>/dev/null
	has_ns "$NS" && ip netns del "$NS"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

lid() { "$LINKID" -n "$NS" "$@"; }
nsip() { ip -n "$NS" "$@"; }
kernel_id() { ip netns exec "$NS" cat "/sys/class/net/$1/ifindex"; }
# expect_error "REASON" CMD...: CMD exits 1 with exactly the line REASON.
expect_error() {
	want=$1; shift
	"$@" >"$T/out" 2>"$T/err" && fail "$* succeeded"
	rc=$?
	[ "$rc" -eq 1 ] || fail "$*: exit $rc, not 1"
	[ ! -s "$T/out" ] || fail "$*: printed $(cat "$T/out")"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "$*: not one line: $(cat "$T/err")"
	[ "$(cat "$T/err")" = "xnet-linkid: $want" ] || fail "$*: said '$(cat "$T/err")', not '$want'"
}

[ -x "$LINKID" ] || fail "$LINKID not built"
ip netns add "$NS" || fail "cannot make network namespace $NS"
nsip link add "$A" type veth peer name "$B" || fail "cannot make veth $A/$B"

# Ids and names agree with the kernel, whichever way a link is given.
id=$(lid id "$A") || fail "id $A"
[ "$id" = "$(kernel_id "$A")" ] || fail "id $A is $id, kernel says $(kernel_id "$A")"
[ "$(lid name "$id")" = "$A" ] || fail "name $id"
[ "$(lid resolve "$id")" = "$id" ] || fail "resolve $id"
[ "$(lid resolve "$A")" = "$id" ] || fail "resolve $A"
[ "$(lid id "$id")" = "$id" ] || fail "id accepts a link id"
[ "$(lid name "$A")" = "$A" ] || fail "name accepts a name"
nsip link set "$A" address 00:16:3e:0a:0b:0c || fail "set mac"
lid info "$A" >"$T/info" || fail "info $A"
for kv in "id=$id" "name=$A" kind=veth mac=00:16:3e:0a:0b:0c master= operstate=down mtu=1500; do
	grep -qx "$kv" "$T/info" || fail "info $A lacks $kv: $(cat "$T/info")"
done
# The namespace is honoured: the link is not in ours.
expect_error "no link named $A" "$LINKID" id "$A"
ok "id, name, resolve and info agree with the kernel, in the namespace given"

# The window: the toolstack records the link id (as it does for `nic`)...
echo "$id" >"$T/nic"
# ...an administrator renames the link before the hotplug script runs...
nsip link set "$A" name "$R" || fail "rename $A"
# ...and the script resolves the recorded id: it finds the link, renamed.
[ "$(lid name "$(cat "$T/nic")")" = "$R" ] || fail "recorded id does not give the new name"
# A recorded name would now be stale; and its reuse must not fool the id.
expect_error "no link named $A" lid id "$A"
nsip link set "$B" name "$A" || fail "reuse $A"
[ "$(lid name "$id")" = "$R" ] || fail "id follows the reused name"
[ "$(lid id "$A")" != "$id" ] || fail "reused name resolves to the old id"
ok "rename between writing the id and resolving it: the id finds $R"

# Renames racing with resolutions: every resolution succeeds with one of
# the link's names, never a stale or missing one.
(
	i=0
	while [ "$i" -lt 100 ]; do
		ip -n "$NS" link set "$R" name "$S" && ip -n "$NS" link set "$S" name "$R" || exit 1
		i=$((i + 1))
	done
) &
RACER=$!
n=0
while [ "$n" -lt 100 ]; do
	got=$(lid name "$id") || fail "resolution $n failed during renames"
	[ "$got" = "$R" ] || [ "$got" = "$S" ] || fail "resolution $n gave '$got'"
	n=$((n + 1))
done
wait "$RACER" || fail "the renamer failed"
RACER=
[ "$(lid name "$id")" = "$R" ] || fail "name after the race"
ok "100 resolutions while the link was renamed 200 times"

# bridge: named by name, its first resolution recorded as bridge-linkid;
# after a bridge rename the recorded id and the port's master still agree.
nsip link add "$BR" type bridge || fail "cannot make bridge"
nsip link set "$A" master "$BR" || fail "enslave $A"
lid id "$BR" >"$T/bridge-linkid" || fail "id $BR"
brid=$(cat "$T/bridge-linkid")
[ "$(lid master "$A")" = "$brid" ] || fail "master of $A"
nsip link set "$BR" name "${BR}x" || fail "rename bridge"
[ "$(lid master "$A")" = "$brid" ] || fail "master of $A after the bridge rename"
[ "$(lid name "$brid")" = "${BR}x" ] || fail "bridge-linkid does not give the new name"
lid info "$brid" | grep -qx "kind=bridge" || fail "bridge kind"
out=$(lid master "$R") || fail "master of a link without one fails"
[ -z "$out" ] || fail "master of $R printed '$out'"
ok "bridge-linkid and master survive a bridge rename; no master prints nothing"

# Errors: exit 1 and one line that says what is missing.
nsip link del "$R" || fail "delete $R"
expect_error "no link with id $id" lid name "$id"
expect_error "no link with id $id" lid master "$id"
expect_error "no link with id 2147483647" lid name 2147483647
expect_error "no link named nosuch$$" lid id "nosuch$$"
expect_error "bad link id 0 (out of range)" lid name 0
expect_error "bad link id 2147483648 (out of range)" lid name 2147483648
expect_error "bad link name 'a/b'" lid id a/b
expect_error "bad link name 'abcdefghijklmnopq'" lid id abcdefghijklmnopq
expect_error "no network namespace $NS-gone" "$LINKID" -n "$NS-gone" id lo
expect_error "bad network namespace name '../x'" "$LINKID" -n ../x id lo
expect_error "unknown command frob (try -h)" lid frob lo
"$LINKID" id >/dev/null 2>&1 && fail "a missing LINK is accepted"
ok "missing links, bad ids, names and namespaces: exit 1, one-line reason"
