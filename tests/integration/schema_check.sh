#!/bin/sh
# schema_check.sh — `xnet-schema check` against a live store: xnet-simd in a
# private XNET_SIM_DIR, a vif written with xenstore-write as libxl writes it
# (then as the backend, hotplug script and frontend complete the handshake)
# passes; then each key is broken in turn and the violation must be named
# with its path and kind; the domain filter and name lookup work.
set -u
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-schema-check.XXXXXX)
export XNET_SIM_DIR="$T/sim" XENSTORED_PATH="$T/sim/xenstored.sock"
BE=/local/domain/0/backend/vif/1/0
FE=/local/domain/1/device/vif/0
simd=""

# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
cleanup() {
	set +e
	[ -n "$simd" ] && kill "$simd" 2>/dev/null && wait "$simd" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for p in xnet-simd xnet-schema; do
	[ -x "$BIN/$p" ] || fail "$BIN/$p not built"
done
mkdir -p "$XNET_SIM_DIR"
exec 9>"$T/held"	# a descriptor of ours it must not keep
"$BIN/xnet-simd" --foreground --dir "$XNET_SIM_DIR" >"$T/simd.log" 2>&1 &
simd=$!
exec 9>&-
n=50
until xenstore-read /local/domain/0/name >/dev/null 2>&1; do
	n=$((n - 1)); [ "$n" -gt 0 ] || fail "xnet-simd did not serve xenstore in 5s"
	kill -0 "$simd" 2>/dev/null || fail "xnet-simd died: $(cat "$T/simd.log")"
	sleep 0.1
done
! holds "$simd" "$T/held" || fail "xnet-simd kept a descriptor it was started with"

check() { # check [DOMAIN]: run the checker, output in $T/out, status in $rc
	"$BIN/xnet-schema" check "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
expect_clean() { # expect_clean WHAT [DOMAIN]
	what=$1; shift
	check "$@"
	[ "$rc" -eq 0 ] || fail "$what: exit $rc, violations:
$(cat "$T/out" "$T/err")"
	[ ! -s "$T/out" ] || fail "$what: output on a clean store: $(cat "$T/out")"
}
w() { xenstore-write "$@" || fail "xenstore-write $*"; }

# The vif as libxl's device add writes it, in one transaction's worth of keys.
w "$BE/frontend" "$FE" "$BE/frontend-id" 1 "$BE/online" 1 "$BE/state" 1 \
  "$BE/script" /etc/xen/scripts/vif-bridge "$BE/mac" 00:16:3e:5a:01:02 \
  "$BE/bridge" xenbr0 "$BE/handle" 0 "$BE/type" vif "$BE/hotplug-status" ""
w "$FE/backend" "$BE" "$FE/backend-id" 0 "$FE/state" 1 "$FE/handle" 0 \
  "$FE/mac" 00:16:3e:5a:01:02 "$FE/mtu" 1500 "$FE/trusted" 1
w /local/domain/1/name guest1
expect_clean "libxl's layout, both Initialising"
ok "libxl's layout passes"

# The backend advertises its features and waits; the script wires the vif.
w "$BE/feature-sg" 1 "$BE/feature-gso-tcpv4" 1 "$BE/feature-gso-tcpv6" 1 \
  "$BE/feature-ipv6-csum-offload" 1 "$BE/feature-rx-copy" 1 "$BE/feature-rx-flip" 0 \
  "$BE/feature-multicast-control" 1 "$BE/feature-dynamic-multicast-control" 1 \
  "$BE/feature-split-event-channels" 1 "$BE/multi-queue-max-queues" 2 \
  "$BE/feature-ctrl-ring" 1 "$BE/state" 2
w "$BE/bridge-linkid" 7 "$BE/hotplug-status" connected
expect_clean "backend in InitWait"
# The frontend publishes rings and channels (as Linux netfront: one queue,
# split channels), then both connect.
w "$FE/tx-ring-ref" 8 "$FE/rx-ring-ref" 9 "$FE/event-channel-tx" 3 \
  "$FE/event-channel-rx" 4 "$FE/request-rx-copy" 1 "$FE/feature-rx-notify" 1 \
  "$FE/feature-sg" 1 "$FE/feature-gso-tcpv4" 1 "$FE/feature-gso-tcpv6" 1 \
  "$FE/feature-ipv6-csum-offload" 1 "$FE/state" 4
w "$BE/state" 4
expect_clean "both Connected"
expect_clean "domain 1 by id" 1
expect_clean "domain 1 by name" guest1
ok "handshake layout passes (all, by id, by name)"

# Each break: a key, the bad value ("-" removes the key), the kind expected
# and where (default: the key itself). The key is restored after each.
while read -r key value kind where; do
	[ "$value" = '""' ] && value=""
	where=${where:-$key}
	old=$(xenstore-read "$key" 2>/dev/null) && had=1 || had=0
	if [ "$value" = "-" ]; then
		xenstore-rm "$key" || fail "xenstore-rm $key"
	else
		w "$key" "$value"
	fi
	check
	[ "$rc" -eq 1 ] || fail "$key=$value: exit $rc, want 1 ($(cat "$T/out" "$T/err"))"
	grep -q "^$where: $kind: " "$T/out" || fail "$key=$value: no '$kind' at $where in:
$(cat "$T/out")"
	if [ "$had" = 1 ]; then w "$key" "$old"; else xenstore-rm "$key"; fi
	ok "$key=$value: $(grep "^$where: $kind: " "$T/out" | head -n 1)"
done <<EOF
$BE/mac 00:16:3e:5a:01 bad-value
$BE/frontend-id 2 mismatch
$BE/frontend /local/domain/1/device/vif/9 mismatch
$BE/handle 3 mismatch
$BE/online - missing
$BE/state 12 bad-value
$BE/hotplug-status error bad-value
$BE/feature-rx-copy - missing
$BE/nic eth0 bad-value
$BE/mode sideways bad-value
$BE/rate 10Mb/s bad-value
$BE/vifname this-name-is-too-long bad-value
$BE/colour blue unknown-key
$FE/backend /local/domain/0/backend/vif/1/5 mismatch
$FE/backend-id 4 mismatch
$FE/tx-ring-ref - missing
$FE/rx-ring-ref 2 bad-value
$FE/event-channel-rx - missing
$FE/request-rx-copy 0 bad-value
$FE/queue-0 "" forbidden
$FE/multi-queue-num-queues 3 peer
$FE/ctrl-ring-ref 12 missing $FE/event-channel-ctrl
$FE/mac ff:ff:ff:ff:ff:ff bad-value
EOF
# The split channels need the backend's feature: the frontend's key is named.
xenstore-rm "$BE/feature-split-event-channels"
check
grep -q "^$FE/event-channel-tx: peer: " "$T/out" || fail "no peer violation: $(cat "$T/out")"
w "$BE/feature-split-event-channels" 1
ok "split channels without the backend's feature: peer"

# Output is one line per violation; another domain's filter sees none.
w "$BE/colour" blue "$FE/flavour" sweet
check
[ "$(wc -l <"$T/out")" -eq 2 ] || fail "want 2 lines: $(cat "$T/out")"
expect_clean "domain 7 (no vifs)" 7
check nosuchdomain
[ "$rc" -eq 2 ] || fail "unknown domain name: exit $rc, want 2"
xenstore-rm "$BE/colour"; xenstore-rm "$FE/flavour"
expect_clean "restored"
ok "one line per violation, domain filter, unknown domain"
