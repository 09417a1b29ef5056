#!/bin/sh
# cli_domain.sh — `xnet domain create|list|destroy`: a sim domain with its
# network namespace (lo up); names are unique; destroy and sim down remove
# the namespace; bad names and unknown domains fail with one line.
set -u
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-cli-dom.XXXXXX)
PBIN="$T/bin"
export XNET_SIM_DIR="$T/sim" XNET_BIN="$PBIN"
XNET="$PBIN/xnet"
G1=xtd1-$$
G2=xtd2-$$

cleanup() {
	set +e
	"$XNET" sim down >/dev/null 2>&1
	for g in "$G1" "$G2"; do has_ns "$g" && ip netns del "$g"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir "$PBIN"
for p in xnet xnet-simd; do
	[ -e "$BIN/$p" ] || fail "$BIN/$p not built"
	ln -s "$BIN/$p" "$PBIN/$p"
done

err=$("$XNET" domain create "$G1" 2>&1) && fail "domain create without a sim succeeded"
echo "$err" | grep -q "not running" || fail "no clear reason without a sim: $err"
has_ns "$G1" && fail "a failed create left namespace $G1"
ok "domain create without a sim: clear error, nothing made"

"$XNET" sim up >/dev/null || fail "sim up"

out=$("$XNET" domain create "$G1") || fail "domain create $G1"
id1=$(echo "$out" | awk '{print $2}')
[ -n "$id1" ] || fail "create did not print a domid: $out"
[ "$id1" -gt 0 ] || fail "create printed domid $id1"
has_ns "$G1" || fail "no namespace $G1"
ip -n "$G1" link show lo | grep -q "LOWER_UP" || fail "lo is not up in $G1"
XENSTORED_PATH="$XNET_SIM_DIR/xenstored.sock" xenstore-read "/local/domain/$id1/name" |
	grep -qx "$G1" || fail "domain $id1 has no name $G1 in xenstore"
ok "domain create: domain $id1, namespace with lo up"

"$XNET" domain create --driver "$G2" >/dev/null || fail "domain create --driver $G2"
list=$("$XNET" domain list) || fail "domain list"
echo "$list" | grep -q "^$G1 *$id1 - *yes " || fail "list lacks $G1: $list"
echo "$list" | grep -q "^$G2 *[0-9]* driver *yes " || fail "list lacks driver domain $G2: $list"
echo "$list" | grep -q "^Domain-0 " || fail "list lacks Domain-0"
ok "domain list"

err=$("$XNET" domain create "$G1" 2>&1) && fail "second create of $G1 succeeded"
echo "$err" | grep -q "exists" || fail "duplicate create: unclear reason: $err"
has_ns "$G1" || fail "failed duplicate create removed the first's namespace"
for bad in "a/b" "-x" "" "$(printf 'x%.0s' $(seq 1 70))"; do
	"$XNET" domain create "$bad" >/dev/null 2>&1 && fail "bad name '$bad' accepted"
done
ok "duplicate and bad names rejected"

"$XNET" domain destroy "$G1" || fail "domain destroy $G1"
has_ns "$G1" && fail "namespace $G1 still there after destroy"
"$XNET" domain list | grep -q "^$G1 " && fail "$G1 still listed"
err=$("$XNET" domain destroy "$G1" 2>&1) && fail "destroying a gone domain succeeded"
echo "$err" | grep -q "no domain" || fail "unclear reason: $err"
ok "domain destroy removes the domain and its namespace"

ip netns add "$G1" || fail "cannot make a foreign namespace"
err=$("$XNET" domain create "$G1" 2>&1) && fail "create over a foreign namespace succeeded"
"$XNET" domain destroy "$G1" >/dev/null 2>&1
has_ns "$G1" || fail "xnet deleted a namespace it did not make"
ip netns del "$G1"
ok "a namespace xnet did not make is never touched"

# An xnetfront that cannot start: create fails and leaves nothing.
printf '#!/bin/sh\necho "xnetfront: cannot open the platform" >&2\nexit 1\n' >"$PBIN/xnetfront"
chmod +x "$PBIN/xnetfront"
err=$("$XNET" domain create "$G1" 2>&1) && fail "create with a failing xnetfront succeeded"
[ "$(echo "$err" | wc -l)" -eq 1 ] || fail "reason is not one line: $err"
echo "$err" | grep -q "xnetfront failed to start: xnetfront: cannot open the platform" ||
	fail "unclear reason: $err"
has_ns "$G1" && fail "namespace $G1 left after a failed create"
"$XNET" domain list | grep -q "^$G1 " && fail "domain $G1 left after a failed create"
rm "$PBIN/xnetfront"
ok "a frontend that fails to start: create fails naming why, nothing left"

sim_down
has_ns "$G2" && fail "sim down left namespace $G2"
[ ! -e "$XNET_SIM_DIR" ] || fail "sim down left files: $(ls -A "$XNET_SIM_DIR")"
ok "sim down destroys the remaining domain and its namespace"
