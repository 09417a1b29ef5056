# shellcheck shell=bash
#
# vif-common.sh — helpers shared by xnet's vif hotplug scripts (sourced, not
# run): argument and environment checks, xenstore access, error reporting.
#
# Usage (from a script):  . "$(dirname "$0")/vif-common.sh"
#   then: command is "online" or "offline" ($1), dev is the backend interface.
#
# Environment (set by xnet-hotplugd, as libxl sets it for Xen's scripts):
#   XENBUS_PATH       the device's backend directory in xenstore (required)
#   vif               the backend interface name (vif<domid>.<devid> or vifname)
#   XENBUS_TYPE       "vif";  XENBUS_BASE_PATH "backend";  script  this script
#   netdev            the gatewaydev key, or empty
#   XENSTORED_PATH    which xenstored the xenstore-* tools talk to
#   XNET_VIF_LINKID   the backend interface's link id (xnet-hotplugd sets it)
#   XNET_BIN          where xnet-linkid is (else next to the script, or PATH)
#
# Every link (the vif, the bridge, the physical link) is kept by link id and
# resolved to its current name with xnet-linkid each time a command needs
# it: vif_name, link_name ID.
#
# Xenstore keys written (under $XENBUS_PATH):
#   hotplug-status    "connected" on success (online only), "error" on failure
#   hotplug-error     a one-line reason, on failure
# Keys read are listed by each script.

set -eE	# -E: the ERR trap below also fires inside functions

command=${1:-}
case "$command" in
online|offline) ;;
*)	echo "$(basename "$0"): usage: $(basename "$0") online|offline [type_if=vif]" >&2
	exit 2 ;;
esac

if [ -z "${XENBUS_PATH:-}" ]; then
	echo "$(basename "$0"): XENBUS_PATH is not set" >&2
	exit 2
fi

dev=${vif:-}

log() {
	echo "${0##*/} $command ${dev:-?}: $*" >&2
}

# fatal MSG... — report MSG through hotplug-status/hotplug-error and stop.
# On offline the device directory may already be gone: never recreate it.
# The first reason wins (a fatal inside $(...) is seen again by the caller).
fatal() {
	trap - ERR
	log "error: $*"
	if xenstore-exists "$XENBUS_PATH" 2>/dev/null &&
	   [ "$(xenstore-read "$XENBUS_PATH/hotplug-status" 2>/dev/null)" != error ]; then
		xenstore-write "$XENBUS_PATH/hotplug-error" "$*" \
			"$XENBUS_PATH/hotplug-status" error 2>/dev/null || true
	fi
	exit 1
}

# Any command that fails unexpectedly ends the script as an error.
trap 'fatal "line $LINENO: command failed (status $?)"' ERR

# do_or_die CMD... — run CMD; on failure, fatal naming CMD.
do_or_die() {
	"$@" || fatal "$* failed"
}

# do_without_error CMD... — run CMD, ignore its failure (teardown).
do_without_error() {
	"$@" 2>/dev/null || true
}

# xs_read KEY — the value of $XENBUS_PATH/KEY; fatal if missing.
xs_read() {
	local v
	v=$(xenstore-read "$XENBUS_PATH/$1" 2>/dev/null) ||
		fatal "xenstore key $XENBUS_PATH/$1 missing"
	printf '%s\n' "$v"
}

# xs_read_default KEY DEFAULT — the value of $XENBUS_PATH/KEY, or DEFAULT.
xs_read_default() {
	local v
	if v=$(xenstore-read "$XENBUS_PATH/$1" 2>/dev/null); then
		printf '%s\n' "$v"
	else
		printf '%s\n' "$2"
	fi
}

# xs_write KEY VALUE [KEY VALUE...] — write $XENBUS_PATH/KEY, in one
# call. A directory the toolstack removed meanwhile (the device went while
# this ran) is not made again: a device added at once under the same devid
# would find it taken.
xs_write() {
	local args=()
	while [ $# -ge 2 ]; do
		args+=("$XENBUS_PATH/$1" "$2")
		shift 2
	done
	xenstore-exists "$XENBUS_PATH" 2>/dev/null || fatal "$XENBUS_PATH is gone"
	xenstore-write "${args[@]}" || fatal "cannot write ${args[*]}"
}

# success — tell the backend the host side is wired: it may connect now.
success() {
	xs_write hotplug-status connected
}

# ---- link ids --------------------------------------------------------------
# Links are held by link id (the ifindex) and turned into a name only at
# the moment a command needs one, so a rename never leaves a stale name.

# The link-id helper: next to the programs, next to this script (or to
# what it links to), or on PATH.
# (Parameter expansion rather than dirname: every program run costs.)
linkid_bin=
for d in "${XNET_BIN:-}" "${0%/*}" "@readlink"; do
	[ "$d" = @readlink ] && { d=$(readlink -f "$0"); d=${d%/*}; }
	if [ -n "$d" ] && [ -x "$d/xnet-linkid" ]; then
		linkid_bin="$d/xnet-linkid"
		break
	fi
done
linkid_bin=${linkid_bin:-xnet-linkid}

# link_name ID — the current name of link ID; fatal if it is gone.
link_name() {
	local n
	n=$("$linkid_bin" name "$1" 2>&1) || fatal "link id $1: ${n#xnet-linkid: }"
	printf '%s\n' "$n"
}

# link_id LINK — the link id of LINK (a name or an id); fatal if none.
link_id() {
	local n
	n=$("$linkid_bin" id "$1" 2>&1) || fatal "${n#xnet-linkid: }"
	printf '%s\n' "$n"
}

# name_now ID — the current name of link ID, or nothing if it is gone. For
# teardown, where a link may go at any moment and that is no error.
name_now() {
	"$linkid_bin" name "$1" 2>/dev/null || true
}

# link_exists ID — does link ID exist now? (no error report)
link_exists() {
	"$linkid_bin" name "$1" >/dev/null 2>&1
}

# link_master ID — the link id of ID's master (bridge), or nothing.
link_master() {
	"$linkid_bin" master "$1" 2>/dev/null || true
}

# info_field INFO KEY — one field (id, name, kind, mac, mtu, ...) of the
# output INFO of `xnet-linkid info`.
info_field() {
	local line
	while IFS= read -r line; do
		case $line in "$2="*) printf '%s\n' "${line#*=}" ;; esac
	done <<<"$1"
}

# link_info ID KEY — one field of `xnet-linkid info ID`.
link_info() {
	info_field "$("$linkid_bin" info "$1" 2>/dev/null)" "$2"
}

# The device's numbers, from XENBUS_PATH (.../backend/vif/<domid>/<devid>).
# shellcheck disable=SC2034 # used by the scripts that source this
devid=${XENBUS_PATH##*/}
domid=${XENBUS_PATH%/*}
domid=${domid##*/}

if [ -z "$dev" ]; then
	# Not given: the name libxl would use (vifname, else vif<domid>.<devid>).
	dev=$(xs_read_default vifname "")
	if [ -z "$dev" ]; then
		fe_id=$(xs_read frontend-id)
		dev="vif$fe_id.$(xs_read handle)"
	fi
fi

# vif_id: the backend interface by link id. xnet-hotplugd passes it
# (XNET_VIF_LINKID); else the backend's vif-linkid; else look $vif up once.
vif_id=${XNET_VIF_LINKID:-}
if [ -z "$vif_id" ]; then
	vif_id=$(xs_read_default vif-linkid "")
fi
if [ -z "$vif_id" ]; then
	if [ "$command" = online ]; then
		vif_id=$("$linkid_bin" id "$dev" 2>/dev/null) ||
			fatal "interface $dev not found"
	elif ! vif_id=$("$linkid_bin" id "$dev" 2>/dev/null); then
		vif_id=""	# offline, and the interface is gone: nothing to find
	fi
elif ! link_exists "$vif_id"; then
	# Offline keeps the id even if the link is gone (it still names what
	# was recorded for it); another link now called $dev is not ours.
	[ "$command" = offline ] || fatal "interface $dev (link id $vif_id) not found"
fi

# vif_name — the backend interface's name right now.
vif_name() {
	link_name "$vif_id"
}

# As Xen's vif-common.sh: an interface not yet called what the toolstack
# asked for (vifname) is renamed to it; the backend follows the rename.
rename_to_vifname() {
	local want now
	want=$(xs_read_default vifname "")
	now=$(vif_name)
	if [ -n "$want" ] && [ "$want" != "$now" ]; then
		do_or_die ip link set dev "$now" down
		do_or_die ip link set dev "$now" name "$want"
	fi
}
