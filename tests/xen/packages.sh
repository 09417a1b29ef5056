# packages.sh — fetches the Debian packages the real-Xen harness boots from
# into a cache that survives between runs, and unpacks them into one tree.
# Sourced by tests/xen/run.sh; POSIX sh.
#
# The cache holds one .deb per package version, named PACKAGE_VERSION_ARCH.deb
# (':' of an epoch written as '%3a', as apt does); only versions the cache does
# not hold are fetched, with `apt-get download`. Unpacked trees are kept under
# the cache too, keyed by the exact set of .debs, so a rerun with nothing new
# skips the unpacking as well.

# The packages the two domains are built from (bash and iproute2 because the
# project's hotplug scripts are bash and use ip's bridge commands). The kernel metapackage is
# resolved to the versioned image it depends on. Libraries are listed by hand;
# the initramfs builder checks every ELF it copies against what is unpacked and
# names any library still missing.
XEN_PKGS="xen-hypervisor-4.17-amd64 xen-utils-4.17 xenstore-utils busybox-static
libc6 libgcc-s1 libxenmisc4.17 libxenstore4 libxengnttab1 libxenevtchn1
libxencall1 libxenforeignmemory1 libxendevicemodel1 libxentoolcore1
libxentoollog1 libxenhypfs1 libyajl2 libuuid1 zlib1g liblzma5 libzstd1
libmnl0 libcunit1 bash libtinfo6 iproute2 libbpf1 libelf1 libbsd0 libmd0
libcap2"
XEN_KERNEL_META=linux-image-amd64

# candidates PKG...: "PACKAGE VERSION ARCH" of each package's candidate
# version, in one apt-cache call (each call costs most of a second).
candidates() {
	apt-cache show --no-all-versions "$@" 2>/dev/null | awk '
		/^Package: / { p = $2 }
		/^Version: / { v = $2 }
		/^Architecture: / { a = $2 }
		/^$/ { if (p != "") print p, v, a; p = "" }
		END { if (p != "") print p, v, a }'
}

# deb_name PKG VERSION ARCH: the cache file name of that package version.
deb_name() {
	echo "${1}_$(echo "$2" | sed 's/:/%3a/')_$3.deb"
}

# resolve_kernel: the versioned linux-image package the metapackage pulls in.
resolve_kernel() {
	apt-cache depends "$XEN_KERNEL_META" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n 1
}

# newest_cached PKG: the newest .deb of PKG already in the cache, if any.
newest_cached() {
	find "$XEN_CACHE/debs" -name "${1}_*.deb" 2>/dev/null | sort -V | tail -n 1
}

# fetch_packages: fills $XEN_CACHE/debs and sets XEN_DEBS to the list of .deb
# files to unpack. Falls back to a cached version when apt cannot tell or
# fetch the candidate (no archive reachable), so a warm cache works offline.
fetch_packages() {
	mkdir -p "$XEN_CACHE/debs"
	kernel_pkg=$(resolve_kernel)
	if [ -z "$kernel_pkg" ]; then
		# A fresh machine whose apt lists were never fetched.
		apt-get update -qq >/dev/null 2>&1 || true
		kernel_pkg=$(resolve_kernel)
	fi
	if [ -z "$kernel_pkg" ]; then
		kernel_pkg=$(find "$XEN_CACHE/debs" -name 'linux-image-[0-9]*' 2>/dev/null |
			sed -n 's,^.*/\(linux-image-[0-9][^_]*-amd64\)_.*,\1,p' |
			sort -V | tail -n 1)
	fi
	[ -n "$kernel_pkg" ] || { echo "xen: cannot resolve $XEN_KERNEL_META" >&2; return 1; }

	XEN_DEBS=""
	want=""
	# shellcheck disable=SC2086 # one word per package
	known=$(candidates $XEN_PKGS $kernel_pkg)
	for p in $XEN_PKGS $kernel_pkg; do
		line=$(echo "$known" | awk -v p="$p" '$1 == p { print; exit }')
		if [ -n "$line" ]; then
			# shellcheck disable=SC2086 # PACKAGE VERSION ARCH
			f="$XEN_CACHE/debs/$(deb_name $line)"
			if [ -f "$f" ]; then
				XEN_DEBS="$XEN_DEBS $f"
			else
				want="$want $p"
			fi
		else
			f=$(newest_cached "$p")
			[ -n "$f" ] || { echo "xen: package $p unknown to apt and not cached" >&2; return 1; }
			XEN_DEBS="$XEN_DEBS $f"
		fi
	done
	[ -z "$want" ] && return 0

	echo "xen: downloading$want"
	dl=$(mktemp -d "$XEN_CACHE/dl.XXXXXX")
	# shellcheck disable=SC2086 # one word per package
	if ! (cd "$dl" && apt-get download -q -o APT::Sandbox::User=root $want \
			>"$dl/log" 2>&1); then
		cat "$dl/log" >&2
		rm -rf "$dl"
		echo "xen: apt-get download failed" >&2
		return 1
	fi
	for f in "$dl"/*.deb; do
		p=$(dpkg-deb -f "$f" Package)
		name=$(deb_name "$p" "$(dpkg-deb -f "$f" Version)" "$(dpkg-deb -f "$f" Architecture)")
		mv "$f" "$XEN_CACHE/debs/$name"
		XEN_DEBS="$XEN_DEBS $XEN_CACHE/debs/$name"
	done
	rm -rf "$dl"
}

# unpack_packages: sets XEN_ROOT to a tree holding every package of XEN_DEBS
# unpacked (dpkg-deb -x), reusing the tree of an earlier run with the same set.
unpack_packages() {
	key=$(for f in $XEN_DEBS; do basename "$f"; done | sort | md5sum | cut -c1-16)
	XEN_ROOT="$XEN_CACHE/root-$key"
	[ -f "$XEN_ROOT/.complete" ] && return 0
	rm -rf "$XEN_ROOT"
	mkdir -p "$XEN_ROOT"
	for f in $XEN_DEBS; do
		case $(basename "$f") in
		linux-image-*)
			# Of the kernel's 400 MB only the image and the network
			# and Xen modules are used.
			dpkg-deb --fsys-tarfile "$f" | tar -x -C "$XEN_ROOT" --wildcards \
				'./boot/vmlinuz-*' './lib/modules/*/kernel/drivers/xen/*' \
				'./lib/modules/*/kernel/drivers/net/*' \
				'./lib/modules/*/kernel/net/*' || return 1
			;;
		*)
			dpkg-deb -x "$f" "$XEN_ROOT" || return 1
			;;
		esac
	done
	touch "$XEN_ROOT/.complete"
	# Trees of other package sets are stale: keep only this one.
	for d in "$XEN_CACHE"/root-*; do
		[ "$d" = "$XEN_ROOT" ] || rm -rf "$d"
	done
}
