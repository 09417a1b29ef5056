# guest-lib.sh — helpers shared by the dom0 and domU init scripts of the
# real-Xen harness (installed in both initramfs trees as /lib/xnet-lib.sh).
# busybox sh.
# shellcheck shell=sh disable=SC2034 # the settings are used by the init scripts

PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
CR=$(printf '\r')

# Addresses of the isolated link between the two domains (TEST-NET-1: the
# machine has no NIC, these never leave it).
DOM0_IP=192.0.2.1
DOMU_IP=192.0.2.2
GUEST_MAC=00:16:3e:58:4e:01
BLOB_MB=4

# mount_basics: the file systems every init needs.
mount_basics() {
	/bin/busybox --install -s /bin
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /tmp
	mount -t tmpfs tmpfs /run
	ip link set lo up
}

# cmdline_value KEY: the value of KEY=... on the kernel command line.
cmdline_value() {
	tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | head -n 1
}

# uptime_s: seconds since this kernel booted, to one decimal.
uptime_s() {
	cut -d' ' -f1 /proc/uptime
}

# load_mod NAME: insmod NAME after its dependencies (order computed when
# the initramfs was built), skipping what is already loaded.
load_mod() {
	while read -r m; do
		u=$(echo "$m" | tr - _)
		grep -q "^$u " /proc/modules && continue
		insmod "/lib/modules/$m.ko" || return 1
	done <"/lib/modules/$1.deps"
}

# wait_for SECONDS CMD...: runs CMD every 0.5 s until it succeeds or the
# time is up; returns CMD's last status. (Polling faster only takes CPU from
# the emulated machine.)
wait_for() {
	limit=$1; shift
	end=$(( $(cut -d. -f1 /proc/uptime) + limit ))
	while :; do
		"$@" && return 0
		[ "$(cut -d. -f1 /proc/uptime)" -ge "$end" ] && return 1
		sleep 0.5
	done
}

# sum_of FILE: the sha256 of FILE.
sum_of() {
	sha256sum "$1" | cut -d' ' -f1
}

# make_blob FILE: BLOB_MB MiB of random bytes.
make_blob() {
	dd if=/dev/urandom of="$1" bs=1048576 count="$BLOB_MB" 2>/dev/null
}

# have_if NAME / no_if NAME: whether network interface NAME exists.
have_if() { [ -e "/sys/class/net/$1" ]; }
no_if() { [ ! -e "/sys/class/net/$1" ]; }

# relay FILE PREFIX: copies FILE, as it grows, to the console line by line.
relay() {
	tail -n +1 -F "$1" 2>/dev/null | while IFS= read -r line; do
		echo "$2${line%"$CR"}"
	done
}
