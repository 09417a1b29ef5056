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
	echo "$(basename "$0") $command ${dev:-?}: $*" >&2
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

# xs_write KEY VALUE — write $XENBUS_PATH/KEY.
xs_write() {
	xenstore-write "$XENBUS_PATH/$1" "$2" || fatal "cannot write $XENBUS_PATH/$1"
}

# success — tell the backend the host side is wired: it may connect now.
success() {
	xs_write hotplug-status connected
}

if [ -z "$dev" ]; then
	# Not given: the name libxl would use (vifname, else vif<domid>.<devid>).
	dev=$(xs_read_default vifname "")
	if [ -z "$dev" ]; then
		fe_id=$(xs_read frontend-id)
		dev="vif$fe_id.$(xs_read handle)"
	fi
fi
