#!/bin/sh
# cli_vif.sh — `xnet vif attach|list|detach`: attach writes libxl's layout
# (backend, frontend and /libxl dirs, same keys, same permissions) in one
# go; a bad vifspec is refused naming the key and writes nothing; detach
# closes and removes everything.
set -u
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-cli-vif.XXXXXX)
PBIN="$T/bin"
export XNET_SIM_DIR="$T/sim" XNET_BIN="$PBIN"
XNET="$PBIN/xnet"
G=xtv-$$
D=xtvd-$$
BR=xtvb$$

# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
# key PATH WANT — xenstore-read PATH is WANT.
key() {
	got=$(xs xenstore-read "$1" 2>/dev/null) || fail "$1 missing"
	[ "$got" = "$2" ] || fail "$1 is '$got', want '$2'"
}
# perms PATH WANT — the permissions of PATH as xenstore-ls -p shows them.
perms() {
	parent=${1%/*}; name=${1##*/}
	got=$(xs xenstore-ls -p "$parent" | sed -n "s/^$name = .*(\(.*\))\$/\1/p")
	[ "$got" = "$2" ] || fail "permissions of $1 are '$got', want '$2'"
}
cleanup() {
	set +e
	"$XNET" sim down >/dev/null 2>&1
	for n in "$G" "$D"; do has_ns "$n" && ip netns del "$n"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir "$PBIN"
for p in xnet xnet-simd xnet-schema; do
	[ -e "$BIN/$p" ] || fail "$BIN/$p not built"
	ln -s "$BIN/$p" "$PBIN/$p"
done
"$XNET" sim up >/dev/null || fail "sim up"
id=$("$XNET" domain create "$G" | awk '{print $2}') || fail "domain create"
[ -n "$id" ] || fail "no domid"

name=$("$XNET" vif attach "$G" "mac=00:16:3e:0a:0b:0c,bridge=$BR,rate=10Mb/s@20ms,mtu=9000,ip=10.9.8.7") ||
	fail "vif attach"
[ "$name" = "vif$id.0" ] || fail "attach printed '$name', want vif$id.0"
be=/local/domain/0/backend/vif/$id/0
fe=/local/domain/$id/device/vif/0
lx=/libxl/$id/device/vif/0
key "$be/frontend" "$fe"
key "$be/frontend-id" "$id"
key "$be/online" 1
key "$be/state" 1
key "$be/script" vif-bridge
key "$be/mac" 00:16:3e:0a:0b:0c
key "$be/bridge" "$BR"
key "$be/handle" 0
key "$be/type" vif
key "$be/rate" 25000,20000
key "$be/mtu" 9000
key "$be/ip" 10.9.8.7
key "$be/hotplug-status" ""
key "$fe/backend" "$be"
key "$fe/backend-id" 0
key "$fe/state" 1
key "$fe/handle" 0
key "$fe/mac" 00:16:3e:0a:0b:0c
key "$fe/mtu" 9000
key "$fe/trusted" 1
key "$lx/frontend" "$fe"
key "$lx/backend" "$be"
key "$lx/mac" 00:16:3e:0a:0b:0c
ok "attach writes libxl's keys in backend, frontend and /libxl"

# libxl: backend owned by the backend domain, readable by the guest; frontend
# owned by the guest, readable by the backend; the frontend's mtu read-only.
perms "$be" "n0,r$id"
perms "$be/state" "n0,r$id"
perms "$be/mac" "n0,r$id"
perms "$fe" "n$id,r0"
perms "$fe/state" "n$id,r0"
perms "$fe/backend" "n$id,r0"
perms "$fe/mtu" "n0,r$id"
ok "permissions as libxl sets them"

out=$(xs "$BIN/xnet-schema" check 2>"$T/schema.err") || fail "xnet-schema check: $out $(cat "$T/schema.err")"
[ -z "$out" ] || fail "xnet-schema check reports: $out"
ok "the layout passes xnet-schema check"

name=$("$XNET" vif attach "$G" "vifname=xtvn$$") || fail "second attach"
[ "$name" = "xtvn$$" ] || fail "vifname not printed: $name"
be1=/local/domain/0/backend/vif/$id/1
key "$be1/vifname" "xtvn$$"
key "$be1/bridge" xenbr0
key "$be1/script" vif-bridge
mac=$(xs xenstore-read "$be1/mac")
echo "$mac" | grep -Eq '^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$' || fail "default mac $mac"
xs xenstore-read "$be1/mtu" >/dev/null 2>&1 && fail "default mtu 1500 written to the backend"
key "/local/domain/$id/device/vif/1/mtu" 1500
ok "defaults: next devid, 00:16:3e MAC, vif-bridge, xenbr0, mtu"

"$XNET" vif attach "$G" "devid=7,nic=lo,mode=vepa,vlan=12,pool=p1,gatewaydev=lo,type=vif" >/dev/null ||
	fail "attach with nic/mode/vlan/pool"
be7=/local/domain/0/backend/vif/$id/7
key "$be7/nic" "$(cat /sys/class/net/lo/ifindex)"
key "$be7/mode" vepa
key "$be7/script" vif-vnic
key "$be7/vlan" 12
key "$be7/pool" p1
key "$be7/gatewaydev" lo
out=$(xs "$BIN/xnet-schema" check 2>"$T/schema.err") || fail "xnet-schema check: $out $(cat "$T/schema.err")"
ok "nic as a link id, mode, vlan, pool; still passes the schema"

before=$(xs xenstore-ls -p /)
check_bad() { # check_bad SPEC NEEDLE
	err=$("$XNET" vif attach "$G" "$1" 2>&1) && fail "bad vifspec '$1' accepted"
	[ "$(echo "$err" | wc -l)" -eq 1 ] || fail "reason for '$1' is not one line: $err"
	echo "$err" | grep -q -- "$2" || fail "reason for '$1' does not name $2: $err"
}
check_bad "mac=01:00:00:00:00:01" "mac"
check_bad "mac=00:16:3e:zz:00:01" "mac"
check_bad "colour=blue" "colour"
check_bad "rate=10Mb" "rate"
check_bad "mtu=20" "mtu"
check_bad "bridge=" "bridge"
check_bad "bridge=a,bridge=b" "duplicate key 'bridge'"
check_bad "devid=0" "devid already in use"
check_bad "backend=nosuchdom$$" "backend"
check_bad "nic=nosuchlink$$" "nic"
check_bad "type=ioemu" "type: ioemu"
after=$(xs xenstore-ls -p /)
[ "$before" = "$after" ] || fail "a rejected attach changed xenstore"
err=$("$XNET" vif attach nosuchdom$$ "bridge=x" 2>&1) && fail "attach to a missing domain"
ok "bad vifspecs rejected with the key named; nothing written"

list=$("$XNET" vif list "$G") || fail "vif list"
echo "$list" | head -1 | grep -q "^Idx BE Mac Addr" || fail "list header: $list"
echo "$list" | grep -q "^0 .* 00:16:3e:0a:0b:0c .*$be\$" || fail "list lacks vif 0: $list"
echo "$list" | grep -q "^1 .*$be1\$" || fail "list lacks vif 1"
"$XNET" vif list | grep -q "^$G .*$be\$" || fail "list of all domains lacks vif 0"
ok "vif list"

# No backend daemon runs here: state stops at Closing; removed after timeout.
err=$("$XNET" vif detach --timeout 1 "$G" 0 2>&1) || fail "detach: $err"
echo "$err" | grep -q "did not reach Closed" || fail "no warning on forced removal"
for p in "$be" "$fe" "$lx"; do
	xs xenstore-read "$p" >/dev/null 2>&1 && fail "$p left after detach"
done
ok "detach without a backend: warns, removes all three dirs"

"$XNET" vif detach --timeout 0 "$G" 7 >/dev/null 2>&1 || fail "detach 7"

# A driver domain as the backend: its backend dir, its ownership.
did=$("$XNET" domain create --driver "$D" | awk '{print $2}') || fail "create driver domain"
name=$("$XNET" vif attach "$G" "backend=$D,devid=8") || fail "attach with backend=$D"
[ "$name" = "vif$id.8" ] || fail "attach printed '$name'"
bed=/local/domain/$did/backend/vif/$id/8
key "$bed/frontend" "/local/domain/$id/device/vif/8"
key "/local/domain/$id/device/vif/8/backend" "$bed"
key "/local/domain/$id/device/vif/8/backend-id" "$did"
perms "$bed" "n$did,r$id"
perms "/local/domain/$id/device/vif/8" "n$id,r$did"
perms "/local/domain/$id/device/vif/8/mtu" "n$did,r$id"
XENSTORED_PATH="$XNET_SIM_DIR/dom$did/xenstored.sock" xenstore-write "$bed/state" 2 ||
	fail "the driver domain cannot write its backend state"
"$XNET" vif detach --timeout 0 "$G" 8 >/dev/null 2>&1 || fail "detach 8"
xs xenstore-read "$bed" >/dev/null 2>&1 && fail "$bed left after detach"
"$XNET" domain destroy "$D" || fail "destroy driver domain"
ok "backend in a driver domain: its paths and permissions"

# A backend that closes: detach waits for Closed and does not warn.
( i=0; while [ $i -lt 50 ]; do
	[ "$(xs xenstore-read "$be1/state" 2>/dev/null)" = 5 ] &&
		{ xs xenstore-write "$be1/state" 6; exit 0; }
	i=$((i + 1)); sleep 0.1; done ) &
closer=$!
err=$("$XNET" vif detach "$G" 1 2>&1) || fail "detach 1: $err"
wait "$closer"
echo "$err" | grep -q "warning" && fail "warned although the backend closed: $err"
xs xenstore-read "$be1" >/dev/null 2>&1 && fail "$be1 left after detach"
xs xenstore-read "/local/domain/0/backend/vif/$id" >/dev/null 2>&1 &&
	fail "empty backend/vif/$id left"
"$XNET" vif detach "$G" 1 >/dev/null 2>&1 && fail "detach of a gone vif succeeded"
ok "detach waits for Closed, then removes"

"$XNET" vif attach "$G" "bridge=$BR" >/dev/null || fail "attach before destroy"
"$XNET" domain destroy "$G" || fail "domain destroy with a vif"
xs xenstore-ls /local/domain/0/backend 2>/dev/null | grep -q "^ *$id = " &&
	fail "domain destroy left the backend of its vif"
xs xenstore-read "/libxl/$id" >/dev/null 2>&1 &&
	xs xenstore-ls "/libxl/$id" | grep -q '^ *0 = ' && fail "domain destroy left /libxl"
ok "domain destroy removes its vifs"
