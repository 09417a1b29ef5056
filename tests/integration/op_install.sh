#!/bin/sh
# op_install.sh — `make install DESTDIR=...` lays out exactly the expected
# files (programs, scripts, schema, man pages, systemd units, defaults) with
# the right modes and installed paths inside the units; every man page
# renders without a warning; the installed programs find each other and
# the schema; every program and xnet command answers --help; the units
# pass systemd-analyze verify; `make uninstall` takes it all back.
# Uses the build directory XNET_BIN belongs to, with its flags (SAN=1 for
# a sanitizer build): make only brings it up to date.
set -u
BIN=${XNET_BIN:-$PWD/build/bin}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=$(dirname "$BIN")
T=$(mktemp -d /tmp/xnet-op-install.XXXXXX)
D=$T/root

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
P=$T/prefix
G=xoi-$$
BR=xoib$$
run_sim() { env -u XNET_BIN -u XNET_SCRIPTS_DIR XNET_DEFAULTS="$P/etc/default/xnet" \
	XNET_SIM_DIR="$T/sim" "$P/sbin/xnet" "$@"; }
cleanup() {
	set +e
	[ -x "$P/sbin/xnet" ] && run_sim sim down >/dev/null 2>&1
	ip netns list | awk '{print $1}' | grep -qx "$G" && ip netns del "$G"
	ip link show "$BR" >/dev/null 2>&1 && ip link del "$BR"
	ip link show "xoi$$" >/dev/null 2>&1 && ip link del "xoi$$"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The build's own flavour, so that make links nothing differently.
SAN=0
ldd "$BIN/xnet" 2>/dev/null | grep -q libasan && SAN=1
inst() {
	make -s -C "$SRC" B="$B" SAN="$SAN" "$@" >"$T/make.log" 2>&1 ||
		fail "make $*: $(tail -20 "$T/make.log")"
}

inst install DESTDIR="$D"
cat >"$T/want" <<EOF
/etc/default/xnet 644
/usr/local/lib/systemd/system/xnet-hotplugd.service 644
/usr/local/lib/systemd/system/xnet-simd.service 644
/usr/local/lib/systemd/system/xnetback.service 644
/usr/local/sbin/xnet 755
/usr/local/sbin/xnet-bench 755
/usr/local/sbin/xnet-hotplugd 755
/usr/local/sbin/xnet-linkid 755
/usr/local/sbin/xnet-schema 755
/usr/local/sbin/xnet-simd 755
/usr/local/sbin/xnetback 755
/usr/local/sbin/xnetfront 755
/usr/local/share/man/man1/xnet-bench.1 644
/usr/local/share/man/man1/xnet-linkid.1 644
/usr/local/share/man/man1/xnet-schema.1 644
/usr/local/share/man/man1/xnet-stats.1 644
/usr/local/share/man/man1/xnet-status.1 644
/usr/local/share/man/man1/xnet-top.1 644
/usr/local/share/man/man1/xnet.1 644
/usr/local/share/man/man8/xnet-hotplugd.8 644
/usr/local/share/man/man8/xnet-simd.8 644
/usr/local/share/man/man8/xnetback.8 644
/usr/local/share/man/man8/xnetfront.8 644
/usr/local/share/xnet/vif.schema 644
EOF
# Every hotplug script of the tree (helpers sourced by them: not executable).
for f in "$SRC"/hotplug/vif-*; do
	case $f in *.sh) m=644 ;; *) m=755 ;; esac
	echo "/etc/xnet/scripts/${f##*/} $m"
done >>"$T/want"
grep -q '^/etc/xnet/scripts/vif-bridge 755$' "$T/want" || fail "no vif-bridge in the tree"
(cd "$D" && find . -type f -printf '/%P %m\n' | LC_ALL=C sort) >"$T/got"
LC_ALL=C sort "$T/want" >"$T/want.s"
diff "$T/want.s" "$T/got" >"$T/diff" || fail "installed files differ (- expected, + got): $(cat "$T/diff")"
ok "make install DESTDIR: $(wc -l <"$T/got") files where and as expected"

U=$D/usr/local/lib/systemd/system
grep -qx 'ExecStart=/usr/local/sbin/xnetback --foreground' "$U/xnetback.service" ||
	fail "xnetback.service ExecStart: $(grep ExecStart "$U/xnetback.service")"
grep -qx 'ExecStart=/usr/local/sbin/xnet-hotplugd --foreground --pidfile /run/xnet/xnet-hotplugd.pid' "$U/xnet-hotplugd.service" ||
	fail "xnet-hotplugd.service ExecStart"
grep -qx 'PIDFile=/run/xnet/xnet-simd.pid' "$U/xnet-simd.service" || fail "xnet-simd.service PIDFile"
grep -q '@' "$U"/*.service && fail "a placeholder is left in a unit: $(grep '@' "$U"/*.service)"
grep -qx 'XNET_SCRIPTS_DIR=/etc/xnet/scripts' "$D/etc/default/xnet" || fail "default scripts dir"
grep -qx 'XNET_BIN=/usr/local/sbin' "$D/etc/default/xnet" || fail "default XNET_BIN"
cmp -s "$SRC/hotplug/vif-bridge" "$D/etc/xnet/scripts/vif-bridge" || fail "vif-bridge differs"
ok "units and defaults name the installed paths"

for m in "$D"/usr/local/share/man/man*/*; do
	out=$(groff -ww -z -man "$m" 2>&1)
	[ -z "$out" ] || fail "groff warns on $(basename "$m"): $out"
	out=$(MANWIDTH=80 man -l "$m" 2>&1 >"$T/page")
	[ -z "$out" ] || fail "man -l warns on $(basename "$m"): $out"
	{ grep -q '^NAME' "$T/page" && grep -q '^SYNOPSIS' "$T/page"; } ||
		fail "$(basename "$m") has no NAME/SYNOPSIS: $(head "$T/page")"
done
MANPATH="$D/usr/local/share/man" man -w xnet-stats >/dev/null || fail "man -w xnet-stats"
ok "every man page renders without a warning (groff -ww, man -l)"

S=$D/usr/local/sbin
for p in xnet xnetback xnetfront xnet-hotplugd xnet-simd xnet-bench; do
	"$S/$p" --help >"$T/help" 2>&1 || fail "$p --help exits non-zero: $(cat "$T/help")"
	grep -qi '^usage: ' "$T/help" || fail "$p --help prints no usage: $(cat "$T/help")"
done
for c in sim domain vif stats top status schema bench; do
	"$S/xnet" "$c" --help >"$T/help" 2>&1 || fail "xnet $c --help exits non-zero: $(cat "$T/help")"
	grep -qi 'usage: ' "$T/help" || fail "xnet $c --help prints no usage: $(cat "$T/help")"
done
ok "--help on every program and xnet command"

# Each long option a daemon's or xnet's --help names is in its man page.
M=$D/usr/local/share/man
documented() { # documented PAGE... < options
	while read -r o; do
		r=$(printf '%s' "$o" | sed 's/-/\\-/g')
		cat "$@" | grep -qF -- "$r" || echo "$o"
	done
}
for p in xnetback:8 xnetfront:8 xnet-hotplugd:8 xnet-simd:8; do
	"$S/${p%:*}" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u |
		documented "$M/man${p#*:}/${p%:*}.${p#*:}" >"$T/undoc"
	[ -s "$T/undoc" ] && fail "${p%:*}.${p#*:} lacks $(tr '\n' ' ' <"$T/undoc")"
done
for c in "" sim domain vif stats top status schema; do
	# shellcheck disable=SC2086 # no command: xnet --help itself
	"$S/xnet" $c --help 2>&1
done | grep -o -- '--[a-z][a-z-]*' | sort -u | documented "$M"/man1/xnet*.1 >"$T/undoc"
[ -s "$T/undoc" ] && fail "xnet's man pages lack $(tr '\n' ' ' <"$T/undoc")"
ok "every long option in --help is in the man pages"

# Installed programs find each other and the schema next to themselves.
env -u XNET_BIN XNET_SIM_DIR="$T/run" "$S/xnet" status --json >"$T/st.json" ||
	fail "installed xnet status"
jq -e '.daemons | all(.state == "stopped")' "$T/st.json" >/dev/null ||
	fail "installed xnet does not see the daemons beside it: $(cat "$T/st.json")"
[ "$(env -u XNET_SCHEMA "$S/xnet-schema" path)" = "$S/../share/xnet/vif.schema" ] ||
	fail "installed schema path: $(env -u XNET_SCHEMA "$S/xnet-schema" path)"
ok "installed xnet finds the daemons, xnet-schema its schema"

if command -v systemd-analyze >/dev/null; then
	inst install PREFIX="$P" SYSCONFDIR="$P/etc" RUNDIR="$P/run"
	MANPATH="$P/share/man" systemd-analyze verify "$P"/lib/systemd/system/*.service \
		>"$T/verify" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify")"
	[ -s "$T/verify" ] && fail "systemd-analyze verify warns: $(cat "$T/verify")"
	ok "systemd-analyze verify: the three units are clean"
fi

# The installed programs run: sim up from the prefix (scripts found through
# the installed defaults file), a guest's vif goes through its hotplug
# script to Connected, sim down leaves nothing.
[ -x "$P/sbin/xnet" ] || inst install PREFIX="$P" SYSCONFDIR="$P/etc" RUNDIR="$P/run"
xs() { XENSTORED_PATH="$T/sim/xenstored.sock" "$@"; }
is() { [ "$(xs xenstore-read "$1" 2>/dev/null)" = "$2" ]; }
wait_for() {
	n=$(($1 * 10)); shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1)); [ "$n" -gt 0 ] || return 1; sleep 0.1
	done
}
run_sim sim up >"$T/up" 2>&1 || fail "installed sim up: $(cat "$T/up")"
domid=$(run_sim domain create "$G" | awk '{print $2}') || fail "installed domain create"
run_sim vif attach "$G" "bridge=$BR,vifname=xoi$$" >/dev/null || fail "installed vif attach"
wait_for 20 is "/local/domain/0/backend/vif/$domid/0/hotplug-status" connected ||
	fail "hotplug script not found or failed: $(xs xenstore-read \
		"/local/domain/0/backend/vif/$domid/0/hotplug-error" 2>&1)"
wait_for 20 is "/local/domain/0/backend/vif/$domid/0/state" 4 || fail "installed: not Connected"
out=$(run_sim schema check 2>&1) || fail "installed: xenstore schema check: $out"
run_sim sim down >/dev/null || fail "installed sim down"
[ ! -e "$T/sim" ] || fail "installed sim down left $(ls -A "$T/sim")"
ok "installed programs: sim up, a vif through its installed hotplug script to Connected"

inst uninstall DESTDIR="$D"
left=$(cd "$D" && find . -type f -printf '/%P\n')
[ "$left" = "/etc/default/xnet" ] || fail "uninstall left: $left"
ok "make uninstall removes everything but the edited-by-admins defaults"
