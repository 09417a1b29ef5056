# initramfs.sh — assembles the dom0 and domU initramfs trees from the
# unpacked Debian packages ($XEN_ROOT) and the project's binaries.
# Sourced by tests/xen/run.sh; POSIX sh.
#
# Layout of a tree: busybox at /bin/busybox (the init script installs its
# applets), ELF programs at the path they have in their package, every shared
# library they need (found by walking DT_NEEDED within $XEN_ROOT, never on the
# host) in /lib/x86_64-linux-gnu, kernel modules flat in /lib/modules with a
# NAME.deps file listing what to insmod, in order, to load NAME (the Debian
# kernel package ships no modules.dep).

LIBDIRS="lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu"

# ird_new DIR: an empty tree with busybox.
ird_new() {
	mkdir -p "$1/bin" "$1/sbin" "$1/usr/bin" "$1/usr/sbin" "$1/lib/modules" \
		"$1/lib/x86_64-linux-gnu" "$1/lib64" "$1/etc" "$1/proc" "$1/sys" \
		"$1/dev" "$1/tmp" "$1/run" "$1/var/log" "$1/var/run" "$1/var/lib" \
		"$1/root"
	cp "$XEN_ROOT/bin/busybox" "$1/bin/busybox"
	ln -sf busybox "$1/bin/sh"
}

# needed FILE: the DT_NEEDED sonames of an ELF file.
needed() {
	readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

# find_lib SONAME: the path of SONAME in the unpacked packages.
find_lib() {
	for d in $LIBDIRS; do
		if [ -e "$XEN_ROOT/$d/$1" ]; then
			echo "$XEN_ROOT/$d/$1"
			return 0
		fi
	done
	return 1
}

# ird_libs DIR FILE: copies the libraries FILE needs, recursively (a
# subshell body, so the recursion keeps its own variables).
ird_libs() (
	for so in $(needed "$2"); do
		[ -e "$1/lib/x86_64-linux-gnu/$so" ] && continue
		if ! src=$(find_lib "$so"); then
			echo "xen: $so (needed by $(basename "$2")) is in no unpacked package;" \
				"add its package to XEN_PKGS in tests/xen/packages.sh" >&2
			return 1
		fi
		cp -L "$src" "$1/lib/x86_64-linux-gnu/$so"
		ird_libs "$1" "$1/lib/x86_64-linux-gnu/$so" || return 1
	done
)

# ird_elf DIR SRC DEST: installs the program SRC at DEST in the tree, with
# the dynamic loader and its libraries.
ird_elf() {
	mkdir -p "$(dirname "$1/$3")"
	cp -L "$2" "$1/$3"
	chmod 755 "$1/$3"
	if [ ! -e "$1/lib64/ld-linux-x86-64.so.2" ]; then
		cp -L "$(find_lib ld-linux-x86-64.so.2)" "$1/lib64/ld-linux-x86-64.so.2" ||
			return 1
	fi
	ird_libs "$1" "$1/$3"
}

# ird_lib DIR SONAME: a library nobody links but something dlopen()s.
ird_lib() {
	src=$(find_lib "$2") || { echo "xen: $2 is in no unpacked package" >&2; return 1; }
	cp -L "$src" "$1/lib/x86_64-linux-gnu/$2"
	ird_libs "$1" "$1/lib/x86_64-linux-gnu/$2"
}

# find_module NAME: the .ko file of module NAME ('-' and '_' alike).
find_module() {
	f=$(find "$XEN_ROOT/lib/modules" -name "$1.ko" 2>/dev/null | head -n 1)
	[ -n "$f" ] || f=$(find "$XEN_ROOT/lib/modules" -name "$(echo "$1" | tr _ -).ko" | head -n 1)
	[ -n "$f" ] || f=$(find "$XEN_ROOT/lib/modules" -name "$(echo "$1" | tr - _).ko" | head -n 1)
	[ -n "$f" ] && echo "$f"
}

# mod_order NAME: NAME's dependencies, depth first, then NAME (from the
# module's own "depends=" modinfo field). A subshell body, like ird_libs.
mod_order() (
	f=$(find_module "$1") || { echo "xen: kernel module $1 not found" >&2; return 1; }
	deps=$(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ')
	for d in $deps; do
		mod_order "$d" || return 1
	done
	basename "$f" .ko
)

# ird_modules DIR NAME...: copies each module and its dependencies and writes
# /lib/modules/NAME.deps (load order, duplicates removed).
ird_modules() {
	dir=$1; shift
	for m in "$@"; do
		order=$(mod_order "$m") || return 1
		echo "$order" | awk '!seen[$0]++' >"$dir/lib/modules/$m.deps"
		for o in $order; do
			cp "$(find_module "$o")" "$dir/lib/modules/$o.ko"
		done
	done
}

# ird_pack DIR OUT: a gzip'd newc cpio archive of the tree, owned by root.
ird_pack() {
	(cd "$1" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$2"
}
