#!/bin/sh
# run.sh — the real-Xen harness (`make check-xen`, part of `make check`):
# boots Xen 4.17 under QEMU's software emulation, headless and with no NIC,
# with a PV dom0 and a PV domU built from Debian packages plus the project's
# binaries, and checks that xnet interoperates with Linux's Xen net drivers.
#
#   scenario 0  Linux xen-netback  <-> Linux xen-netfront   (the reference)
#   scenario 1  xnetback + xnet-hotplugd <-> Linux xen-netfront
#   scenario 2  Linux xen-netback  <-> xnetfront
#
# Each scenario is one boot and prints PASS, FAIL or SKIP (its program not
# built); the exit status is non-zero if any failed. Results come back over
# the serial console (there is no network to the host), captured to a file
# and printed.
#
# Environment:
#   XNET_BIN             the project's programs (default: build/bin)
#   XNET_XEN_CACHE       package cache (default: /var/cache/xnet-xen)
#   XNET_XEN_SCENARIOS   which scenarios to run (default: "0 1 2")
#   XNET_XEN_TIMEOUT     seconds one boot may take (default: 240)
#   XNET_XEN_TOTAL       seconds the whole run may take (default: 600)
#   XNET_XEN_KEEP        a directory to keep the serial logs in
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
XNET_BIN=${XNET_BIN:-$PWD/build/bin}
XEN_CACHE=${XNET_XEN_CACHE:-/var/cache/xnet-xen}
SCENARIOS=${XNET_XEN_SCENARIOS:-0 1 2}
BOOT_TIMEOUT=${XNET_XEN_TIMEOUT:-240}
TOTAL_TIMEOUT=${XNET_XEN_TOTAL:-600}

XEN_ARGS="console=com1 dom0_mem=384M,max:384M noreboot"
DOM0_ARGS="console=hvc0"

# shellcheck source=tests/xen/packages.sh
. "$HERE/packages.sh"
# shellcheck source=tests/xen/initramfs.sh
. "$HERE/initramfs.sh"

start=$(date +%s)
deadline=$((start + TOTAL_TIMEOUT))
WORK=""
qpid=""

cleanup() {
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null
		wait "$qpid" 2>/dev/null
	fi
	[ -n "$WORK" ] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

say() { echo "xen: $*"; }
elapsed() { echo $(($(date +%s) - $1)); }

# need_tools: the host programs the harness runs.
need_tools() {
	missing=""
	for t in qemu-system-x86_64 apt-get dpkg-deb readelf cpio gzip flock; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -z "$missing" ] && return 0
	say "missing host tools:$missing (run 'make deps' as root)" >&2
	return 1
}

# prepare: packages fetched and unpacked, under a lock so two runs sharing
# the cache do not unpack over each other.
prepare() {
	mkdir -p "$XEN_CACHE" 2>/dev/null && [ -w "$XEN_CACHE" ] ||
		XEN_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/xnet-xen
	mkdir -p "$XEN_CACHE" || return 1
	exec 9>"$XEN_CACHE/lock"
	flock -w 300 9 || { say "cache $XEN_CACHE is locked" >&2; return 1; }
	fetch_packages && unpack_packages
	status=$?
	flock -u 9
	return $status
}

prog() { [ -x "$XNET_BIN/$1" ] && [ -f "$XNET_BIN/$1" ]; }

# hotplug_script NAME: the project's hotplug script NAME, as built next to
# the programs (where xnet-hotplugd looks) or from the source tree.
hotplug_script() {
	for d in "$XNET_BIN" "$SRC/hotplug"; do
		[ -f "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	return 1
}

# scenario_missing N: why scenario N cannot run, or nothing.
scenario_missing() {
	case $1 in
	1) { prog xnetback && prog xnet-hotplugd && prog xnet-linkid &&
		hotplug_script vif-bridge >/dev/null; } ||
		echo "xnetback/xnet-hotplugd/xnet-linkid not built" ;;
	2) prog xnetfront || echo "xnetfront not built" ;;
	esac
}

xen_tool() { # xen_tool TREE NAME: a Xen tool at its packaged path
	ird_elf "$1" "$XEN_ROOT/usr/lib/xen-4.17/bin/$2" "usr/lib/xen-4.17/bin/$2"
}

xenstore_cli() { # xenstore_cli TREE: the xenstore-* commands
	ird_elf "$1" "$XEN_ROOT/usr/bin/xenstore" usr/bin/xenstore || return 1
	for c in read write ls list rm exists chmod watch; do
		ln -sf xenstore "$1/usr/bin/xenstore-$c"
	done
}

build_domU() {
	t=$WORK/domU
	ird_new "$t" &&
		cp "$HERE/guest-lib.sh" "$t/lib/xnet-lib.sh" &&
		install -m 755 "$HERE/domU-init" "$t/init" &&
		ird_modules "$t" xen-netfront xen-privcmd xenfs xen-evtchn xen-gntdev \
			xen-gntalloc tun &&
		xenstore_cli "$t" || return 1
	if prog xnetfront; then
		ird_elf "$t" "$XNET_BIN/xnetfront" usr/bin/xnetfront || return 1
	fi
	ird_pack "$t" "$WORK/domU.cpio.gz"
}

build_dom0() {
	t=$WORK/dom0
	ird_new "$t" &&
		cp "$HERE/guest-lib.sh" "$t/lib/xnet-lib.sh" &&
		install -m 755 "$HERE/dom0-init" "$t/init" &&
		ird_modules "$t" xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc \
			bridge tun xen-netback || return 1
	for p in xl xenstored xenconsoled xen-init-dom0; do
		xen_tool "$t" "$p" || return 1
	done
	xenstore_cli "$t" &&
		ird_lib "$t" libgcc_s.so.1 || return 1 # pthread_cancel dlopen()s it
	mkdir -p "$t/etc/xen/scripts" "$t/boot"
	install -m 755 "$HERE/vif-xnet-test" "$t/etc/xen/scripts/vif-xnet-test"
	# The project's scripts go where libxl's script= names point.
	for s in vif-bridge vif-route vif-vnic vif-openvswitch vif-common.sh vif-pool.sh; do
		f=$(hotplug_script "$s") && install -m 755 "$f" "$t/etc/xen/scripts/$s"
	done
	# A driver domain's own bash and ip (the scripts need both).
	ird_elf "$t" "$XEN_ROOT/bin/bash" bin/bash &&
		ird_elf "$t" "$XEN_ROOT/bin/ip" usr/sbin/ip || return 1
	# The scripts resolve link ids with xnet-linkid (found on PATH).
	for p in xnetback xnet-hotplugd xnet xnet-linkid; do
		if prog "$p"; then
			ird_elf "$t" "$XNET_BIN/$p" "usr/bin/$p" || return 1
		fi
	done
	cp "$KERNEL" "$t/boot/vmlinuz" && cp "$WORK/domU.cpio.gz" "$t/boot/" &&
		ird_pack "$t" "$WORK/dom0.cpio.gz"
}

build_images() {
	KERNEL=$(find "$XEN_ROOT/boot" -name 'vmlinuz-*' | head -n 1)
	# QEMU's multiboot loader takes only an uncompressed hypervisor.
	gunzip -c "$XEN_ROOT/boot/xen-4.17-amd64.gz" >"$WORK/xen" &&
		build_domU && build_dom0
}

# boot N LOG: boots scenario N, serial console to LOG, until the dom0 says
# XNET-DONE, QEMU exits, Xen or the dom0 kernel panics, or the time is up.
# QEMU is always killed.
boot() {
	limit=$BOOT_TIMEOUT
	left=$((deadline - $(date +%s)))
	[ "$left" -lt "$limit" ] && limit=$left
	if [ "$limit" -le 10 ]; then
		echo "XNET-HOST: no time left for this boot" >"$2"
		return 1
	fi
	# timeout(1): QEMU cannot outlive its budget even if this script is
	# killed outright; a TERM to it reaches QEMU too.
	timeout -s KILL $((limit + 30)) \
	qemu-system-x86_64 -M pc -accel tcg -cpu qemu64,+svm -smp 2 -m 1G \
		-display none -monitor none -serial "file:$2" -nic none -no-reboot \
		-kernel "$WORK/xen" -append "$XEN_ARGS" \
		-initrd "$KERNEL $DOM0_ARGS xnet.scenario=$1,$WORK/dom0.cpio.gz" \
		>"$WORK/qemu.out" 2>&1 &
	qpid=$!
	end=$(($(date +%s) + limit))
	while :; do
		grep -q '^XNET-DONE' "$2" 2>/dev/null && break
		kill -0 "$qpid" 2>/dev/null || break
		grep -q -e 'Panic on CPU' -e 'Kernel panic' "$2" 2>/dev/null && break
		if [ "$(date +%s)" -ge "$end" ]; then
			echo "XNET-HOST: timed out after $limit s" >>"$2"
			break
		fi
		sleep 0.5
	done
	kill "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	qpid=""
	if [ -s "$WORK/qemu.out" ]; then
		sed 's/^/qemu: /' "$WORK/qemu.out" >>"$2"
	fi
	return 0
}

# sum_in LOG KEY: the checksum reported on the line with KEY.
sum_in() {
	grep -a "$2 " "$1" | tr -d '\r' | sed -n "s/.*$2 \([0-9a-f]\{64\}\).*/\1/p" | tail -n 1
}

# judge N LOG: prints why scenario N failed, if it did. Besides the dom0's
# own verdict, the checksums printed by both ends are compared here again.
judge() {
	log=$2
	tr -d '\r' <"$log" | grep -a -q '^XNET-DONE' || { echo "no XNET-DONE (boot incomplete)"; return; }
	fails=$(tr -d '\r' <"$log" | grep -a '^XNET-CHECK .* FAIL' | cut -d' ' -f2 | tr '\n' ' ')
	[ -n "$fails" ] && { echo "failed checks: $fails"; return; }
	tr -d '\r' <"$log" | grep -a -q '^XNET-RESULT PASS' || { echo "no XNET-RESULT PASS"; return; }
	a=$(sum_in "$log" "XNET-SUM dom0-served"); b=$(sum_in "$log" "XNET-GUEST fetched")
	if [ -z "$a" ] || [ "$a" != "$b" ]; then
		echo "dom0->domU checksums differ: '$a' '$b'"; return
	fi
	a=$(sum_in "$log" "XNET-GUEST serving"); b=$(sum_in "$log" "XNET-SUM dom0-fetched")
	if [ -z "$a" ] || [ "$a" != "$b" ]; then
		echo "domU->dom0 checksums differ: '$a' '$b'"; return
	fi
	expected_messages "$1" | while IFS= read -r want; do
		tr -d '\r' <"$log" | grep -a -q -F -- "$want" ||
			{ echo "the log lacks '$want'"; break; }
	done
}

# expected_messages N: lines the Linux drivers themselves (and the state
# report) must have printed, so a run where they never spoke cannot pass.
expected_messages() {
	case $1 in
	0|2) echo "Guest Rx ready" ;; # Linux xen-netback connected its rings
	esac
	case $1 in
	0|1) echo "xen_netfront: Initialising Xen virtual ethernet driver" ;;
	esac
	echo "frontend state 4"
}

describe() {
	case $1 in
	0) echo "Linux netback <-> Linux netfront (reference)" ;;
	1) echo "xnetback + xnet-hotplugd <-> Linux netfront" ;;
	2) echo "Linux netback <-> xnetfront" ;;
	*) echo "unknown" ;;
	esac
}

main() {
	pass=0; fail=0; skip=0; results=""
	need_tools || exit 1
	t0=$(date +%s)
	prepare || { say "FAIL: could not fetch or unpack the packages"; exit 1; }
	say "packages ready in $(elapsed "$t0") s ($XEN_ROOT)"
	WORK=$(mktemp -d /tmp/xnet-xen.XXXXXX)
	t0=$(date +%s)
	build_images || { say "FAIL: could not build the boot images"; exit 1; }
	say "images built in $(elapsed "$t0") s: dom0 $(du -k "$WORK/dom0.cpio.gz" | cut -f1) KiB," \
		"domU $(du -k "$WORK/domU.cpio.gz" | cut -f1) KiB"
	for n in $SCENARIOS; do
		name="scenario $n ($(describe "$n"))"
		why=$(scenario_missing "$n")
		if [ -n "$why" ]; then
			say "$name: SKIP ($why)"
			skip=$((skip + 1)); results="$results
$name: SKIP ($why)"
			continue
		fi
		log=$WORK/serial-$n.log
		: >"$log"
		t0=$(date +%s)
		say "$name: booting"
		boot "$n" "$log"
		secs=$(elapsed "$t0")
		echo "---- serial console, scenario $n"
		tr -d '\r' <"$log"
		echo "---- end of serial console, scenario $n"
		if [ -n "${XNET_XEN_KEEP:-}" ]; then
			mkdir -p "$XNET_XEN_KEEP" && cp "$log" "$XNET_XEN_KEEP/"
		fi
		why=$(judge "$n" "$log")
		if [ -z "$why" ]; then
			pass=$((pass + 1)); verdict="PASS ($secs s)"
		else
			fail=$((fail + 1)); verdict="FAIL ($secs s): $why"
		fi
		say "$name: $verdict"
		results="$results
$name: $verdict"
	done
	echo "xen: summary, $(elapsed "$start") s in all:$results"
	echo "check-xen: $pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
}

main "$@"
