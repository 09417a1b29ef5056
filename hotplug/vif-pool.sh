# shellcheck shell=bash
#
# vif-pool.sh — device pools for vif-vnic (sourced after vif-common.sh, not
# run): a named set of links (SR-IOV virtual functions on real hardware,
# veth ends in the tests) handed out one per vif. The vif's MAC is set on
# the device it gets; the device's own MAC is saved and put back when the
# vif goes, and the device returns to the pool.
#
# Configuration: one file per pool, $XNET_POOL_DIR/<pool> (default
# /etc/xnet/pools/<pool>): one link per line, by name or by link id; blank
# lines and '#' comments are ignored. Names are resolved when a device is
# handed out; list link ids to be immune to renames in between.
#
# State (what is handed out, the saved MACs, who had what): the directory
# $XNET_POOL_STATE/<pool> (default <run dir>/pools/<pool>, the run dir being
# $XNET_SIM_DIR or /run/xnet), one flock(1)-held lock per pool:
#   owner-<linkid>   "<domid>.<devid>" that holds the device
#   mac-<linkid>     the device's own MAC, put back on release
#   last-<domid>.<devid>   the device that vif had last: it gets it again at
#                    its next attach if that device is free
#
# Functions:
#   pool_take POOL DOMID DEVID MAC   print the link id of the device handed
#                                    out (fatal if none is free)
#   pool_release POOL LINKID DOMID DEVID   MAC back, device back in the pool

: "${linkid_bin:=xnet-linkid}"	# set by vif-common.sh
pool_conf_dir=${XNET_POOL_DIR:-/etc/xnet/pools}
pool_state_root=${XNET_POOL_STATE:-${XNET_SIM_DIR:-/run/xnet}/pools}

# pool_check_name POOL — fatal unless POOL is a plain name (it names files).
pool_check_name() {
	case "$1" in
	""|.|..|*[!A-Za-z0-9_.-]*) fatal "pool '$1': not a pool name (letters, digits, _ . -)" ;;
	esac
}

# pool_members POOL — the link id of every configured link that exists now.
pool_members() {
	local line id
	[ -r "$pool_conf_dir/$1" ] || fatal "pool $1: no file $pool_conf_dir/$1"
	while read -r line; do
		line=${line%%#*}
		line=${line//[[:space:]]/}
		[ -n "$line" ] || continue
		if id=$("$linkid_bin" id "$line" 2>/dev/null); then
			printf '%s\n' "$id"
		else
			log "pool $1: link $line does not exist; skipped"
		fi
	done <"$pool_conf_dir/$1"
}

# pool_pick POOL STATE DOMID.DEVID — the device to hand out (under the lock).
pool_pick() {
	local st=$2 who=$3 id last members n=0
	members=$(pool_members "$1")
	for id in $members; do
		n=$((n + 1))
		# Online run again for a vif that has its device already.
		if [ "$(cat "$st/owner-$id" 2>/dev/null)" = "$who" ]; then
			printf '%s\n' "$id"
			return 0
		fi
	done
	last=$(cat "$st/last-$who" 2>/dev/null || true)
	for id in $members; do
		if [ "$id" = "$last" ] && [ ! -e "$st/owner-$id" ]; then
			printf '%s\n' "$id"
			return 0
		fi
	done
	for id in $members; do
		if [ ! -e "$st/owner-$id" ]; then
			printf '%s\n' "$id"
			return 0
		fi
	done
	fatal "pool $1: no free device (all $n in use)"
}

# pool_claim POOL STATE DOMID.DEVID MAC — under the lock: pick a device,
# record it, save its MAC, set MAC on it. Prints its link id.
pool_claim() {
	local st=$2 who=$3 mac=$4 id name
	id=$(pool_pick "$1" "$st" "$who")
	name=$(link_name "$id")
	if [ ! -e "$st/mac-$id" ]; then
		link_info "$id" mac >"$st/mac-$id.tmp"
		[ -s "$st/mac-$id.tmp" ] || fatal "pool $1: cannot read the MAC of $name"
		mv "$st/mac-$id.tmp" "$st/mac-$id"
	fi
	printf '%s\n' "$who" >"$st/owner-$id"
	printf '%s\n' "$id" >"$st/last-$who"
	do_or_die ip link set dev "$name" down
	do_or_die ip link set dev "$name" address "$mac"
	log "pool $1: $name (link id $id) for $who, mac $mac"
	printf '%s\n' "$id"
}

# pool_take POOL DOMID DEVID MAC
pool_take() {
	local st fd
	pool_check_name "$1"
	st=$pool_state_root/$1
	mkdir -p "$st" || fatal "pool $1: cannot make $st"
	exec {fd}>"$st/lock"
	flock -w 10 "$fd" || fatal "pool $1: lock $st/lock busy"
	pool_claim "$1" "$st" "$2.$3" "$4"
	exec {fd}>&-
}

# pool_release POOL LINKID DOMID DEVID — only if that vif holds it.
pool_release() {
	local st=$pool_state_root/$1 fd name mac
	[ -d "$st" ] || return 0
	exec {fd}>"$st/lock"
	flock -w 10 "$fd" || { log "pool $1: lock busy; device $2 not released"; return 0; }
	if [ "$(cat "$st/owner-$2" 2>/dev/null)" = "$3.$4" ]; then
		mac=$(cat "$st/mac-$2" 2>/dev/null || true)
		name=$(name_now "$2")
		if [ -n "$name" ]; then
			do_without_error ip link set dev "$name" down
			[ -z "$mac" ] || do_without_error ip link set dev "$name" address "$mac"
			log "pool $1: $name (link id $2) back, mac ${mac:-unknown}"
		fi
		rm -f "$st/owner-$2" "$st/mac-$2"
	fi
	exec {fd}>&-
}
