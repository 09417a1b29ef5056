#!/bin/sh
# Installs the Debian packages xnet needs to build, test and demo — only those
# missing, with one apt-get call. Run as root on Debian 12. xen-utils-common
# brings Xen's own hotplug scripts and tools only (it starts no service).
set -eu

PKGS="gcc make pkg-config libxen-dev libcunit1-dev libmnl-dev xenstore-utils xen-utils-common
iproute2 iputils-ping iperf3 bridge-utils tcpdump procps psmisc kmod tmux
shellcheck clang libclang-rt-14-dev
man-db groff-base qemu-system-x86 cpio
jq openvswitch-switch"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is wanted
apt-get install -y -qq --no-install-recommends $missing
