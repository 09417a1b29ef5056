#!/bin/sh
# cli_route.sh — vif-route through xnet-hotplugd running in a driver domain
# (as `xl devd` does), with the driver domain's network in its namespace:
# online gives the interface the gateway device's address, proxy ARP and a
# host route per guest address, and reports connected; a gateway device
# without an address is an error; offline removes the routes; scripts do
# not outlive the daemon. Also: XNET_SCRIPTS_DIR is where bare names are
# found.
set -u
# shellcheck source=lib/common.sh disable=SC1091
. "$(dirname "$0")/lib/common.sh"
BIN=${XNET_BIN:-$PWD/build/bin}
T=$(mktemp -d /tmp/xnet-cli-route.XXXXXX)
PBIN="$T/bin"
export XNET_SIM_DIR="$T/sim" XNET_BIN="$PBIN"
XNET="$PBIN/xnet"
G=xtr-$$
H=xtrd-$$
TAP=xtr${$}t
hpd=""

fail_hook() { cat "$T/hp.log" >&2 2>/dev/null; }
no_route() { [ -z "$(ip -n "$H" route show "$1")" ]; }
hp_ready() { [ "$(cat "$T/hp.pid" 2>/dev/null)" = "$hpd" ]; }
cleanup() {
	set +e
	[ -n "$hpd" ] && kill "$hpd" 2>/dev/null && wait "$hpd" 2>/dev/null
	"$XNET" sim down >/dev/null 2>&1
	has_ns "$G" && ip netns del "$G"
	has_ns "$H" && ip netns del "$H"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir "$PBIN"
for p in xnet xnet-simd vif-route vif-common.sh; do
	[ -e "$BIN/$p" ] || fail "$BIN/$p not built"
	ln -s "$BIN/$p" "$PBIN/$p"
done
[ -x "$BIN/xnet-hotplugd" ] || fail "$BIN/xnet-hotplugd not built"

"$XNET" sim up >/dev/null || fail "sim up"
# The driver domain, with a gateway device in its network.
did=$("$XNET" domain create --driver "$H" | awk '{print $2}') || fail "create driver domain"
ip -n "$H" tuntap add dev gw0 mode tap || fail "cannot make gw0"
ip -n "$H" addr add 10.77.1.1/24 dev gw0 || fail "cannot address gw0"
ip -n "$H" link set gw0 up || fail "cannot bring gw0 up"
ip -n "$H" tuntap add dev gw1 mode tap || fail "cannot make gw1"
ip -n "$H" tuntap add dev "$TAP" mode tap || fail "cannot make $TAP"
exec 9>"$T/held"	# a descriptor of ours it must not keep
ip netns exec "$H" env XNET_DOMID="$did" XNET_SCRIPTS_DIR="$PBIN" \
	"$BIN/xnet-hotplugd" --foreground --pidfile "$T/hp.pid" >"$T/hp.log" 2>&1 &
hpd=$!
exec 9>&-
wait_for 10 hp_ready || fail "xnet-hotplugd not ready"
! holds "$hpd" "$T/held" || fail "xnet-hotplugd kept a descriptor it was started with"

id=$("$XNET" domain create "$G" | awk '{print $2}') || fail "domain create"
be=/local/domain/$did/backend/vif/$id
"$XNET" vif attach "$G" "backend=$H,vifname=$TAP,script=vif-route,ip=10.77.2.5 10.77.2.6,gatewaydev=gw0" \
	>/dev/null || fail "attach"
initwait "$be/0"
wait_for 10 status_is "$be/0" connected || fail "vif-route: not connected"
for a in 10.77.2.5 10.77.2.6; do
	ip -n "$H" route show "$a" | grep -q "dev $TAP" || fail "no route for $a via $TAP"
done
ip -n "$H" -4 addr show dev "$TAP" | grep -q "10.77.1.1/32" || fail "$TAP lacks the gateway address"
[ "$(ip netns exec "$H" cat "/proc/sys/net/ipv4/conf/$TAP/proxy_arp")" = 1 ] ||
	fail "no proxy ARP on $TAP"
ok "vif-route online: gateway address, proxy ARP, a route per guest address"
schema_ok "with a routed vif in a driver domain"

"$XNET" vif detach --timeout 0 "$G" 0 >/dev/null 2>&1 || fail "detach"
wait_for 10 no_route 10.77.2.5 || fail "route for 10.77.2.5 left after offline"
no_route 10.77.2.6 || fail "route for 10.77.2.6 left after offline"
ok "vif-route offline: routes gone"

"$XNET" vif attach "$G" "backend=$H,vifname=$TAP,script=vif-route,ip=10.77.2.7,gatewaydev=gw1,devid=1" \
	>/dev/null || fail "attach 1"
initwait "$be/1"
wait_for 10 status_is "$be/1" error || fail "gateway without address: no error"
xs xenstore-read "$be/1/hotplug-error" | grep -q "gw1 has no IPv4 address" ||
	fail "hotplug-error: $(xs xenstore-read "$be/1/hotplug-error")"
no_route 10.77.2.7 || fail "route added although the script failed"
ok "vif-route: a gateway device without an address is reported"

# A script still running when the daemon stops does not outlive it.
printf '#!/bin/sh\nsleep 1000\n' >"$T/vif-hang"
chmod +x "$T/vif-hang"
"$XNET" vif attach "$G" "backend=$H,vifname=$TAP,script=$T/vif-hang,devid=2" >/dev/null ||
	fail "attach 2"
initwait "$be/2"
hang_runs() { pgrep -f "$T/vif-hang" >/dev/null; }
wait_for 10 hang_runs || fail "the script did not start"
kill "$hpd" && wait "$hpd"
hpd=""
hang_runs && fail "the script outlived xnet-hotplugd"
ok "xnet-hotplugd stops its running scripts when it exits"

schema_ok "at the end"
