#!/bin/sh
# xenstore_tools.sh — drives xnet-simd's xenstore with Debian's xenstore-*
# tools (xenstore-utils: write, read, ls, list, rm, exists, chmod, watch)
# and compares their output and exit codes with what C xenstored gives for
# the same sequence.
#
# There is no real xenstored here, so the expected outputs below were
# written from C xenstored's semantics (Xen tools/xenstored: implicit
# parents, RM of a missing node succeeding when its parent exists, ENOENT
# and EINVAL cases, permission strings, watch events incl. the initial one
# and the event for the removed root) and from the tools' own formatting
# (tools/xenstore/xenstore_client.c: "name = "value"" lines with one space
# of indent per level, the 80-column dotted padding before the
# permissions of `ls -p`, the warnx/err messages on failure, and retrying
# each command's transaction on EAGAIN).
#
# Environment: XNET_BIN (default build/bin) holds xnet-simd. Exit 0 = pass.
set -u

BIN=${XNET_BIN:-build/bin}
dir=$(mktemp -d /tmp/xnet-xstools.XXXXXX) || exit 1
pid=""
guest=""
bg=""	# background watchers
pass=0
fail=0

cleanup() {
	for p in $bg; do
		kill "$p" 2>/dev/null
	done
	if [ -n "$guest" ]; then
		XNET_SIM_DIR="$dir" XNET_BIN="$dir/nobin" "$BIN/xnet" domain destroy "$guest" \
			>/dev/null 2>&1
		ip netns delete "$guest" 2>/dev/null
	fi
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_for WHAT CMD...: run CMD until it succeeds, at most 10 s.
wait_for() {
	what=$1
	shift
	i=0
	until "$@"; do
		i=$((i + 1))
		if [ "$i" -gt 200 ]; then
			echo "timed out waiting for $what" >&2
			return 1
		fi
		sleep 0.05
	done
}

# check NAME RC STDOUT STDERR CMD...: run CMD, compare all three.
check() {
	name=$1 want_rc=$2 want_out=$3 want_err=$4
	shift 4
	out=$("$@" 2>"$dir/stderr")
	rc=$?
	err=$(cat "$dir/stderr")
	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ] && [ "$err" = "$want_err" ]; then
		pass=$((pass + 1))
		return 0
	fi
	fail=$((fail + 1))
	echo "FAIL: $name: $*"
	echo "  exit code: got $rc, want $want_rc"
	[ "$out" = "$want_out" ] || printf '  stdout: got\n%s\n  want\n%s\n' "$out" "$want_out"
	[ "$err" = "$want_err" ] || printf '  stderr: got\n%s\n  want\n%s\n' "$err" "$want_err"
	return 1
}

"$BIN/xnet-simd" --foreground --dir "$dir" 2>"$dir/simd.err" &
pid=$!
export XENSTORED_PATH="$dir/xenstored.sock"
wait_for "the xenstore socket" test -S "$XENSTORED_PATH" || exit 1
wait_for "domain 0 in the store" xenstore-exists /local/domain/0/name || exit 1

# ---- write, read, implicit parents -------------------------------------------
check write-two 0 "" "" xenstore-write /test/a 1 /test/b "hello world"
check read-two 0 "1
hello world" "" xenstore-read /test/a /test/b
check read-prefix 0 "/test/b: hello world" "" xenstore-read -p /test/b
check read-parent 0 "" "" xenstore-read /test
check read-relative 0 "Domain-0" "" xenstore-read name
check read-missing 1 "" "xenstore-read: couldn't read path /test/zzz" \
	xenstore-read /test/zzz
check read-special 1 "" "xenstore-read: couldn't read path @releaseDomain" \
	xenstore-read @releaseDomain
check write-invalid 1 "" "xenstore-write: could not write path /bad//x" \
	xenstore-write /bad//x 1
check write-trailing-slash 1 "" "xenstore-write: could not write path /bad/" \
	xenstore-write /bad/ 1
check write-tab 0 "" "" xenstore-write /v "$(printf 'a\tb')"
check read-escaped 0 'a\tb' "" xenstore-read /v
check read-raw 0 "$(printf 'a\tb')" "" xenstore-read -R /v

# ---- exists, list, ls -------------------------------------------------------------
check exists-yes 0 "" "" xenstore-exists /test/a
check exists-no 1 "" "" xenstore-exists /test/zzz
check list 0 "a
b" "" xenstore-list /test
check list-prefix 0 "/test/a
/test/b" "" xenstore-list -p /test
check list-missing 1 "" "xenstore-list: could not list path /nope" xenstore-list /nope
check ls 0 'a = "1"
b = "hello world"' "" xenstore-ls /test
check ls-full 0 '/test/a = "1"
/test/b = "hello world"' "" xenstore-ls -f /test
check ls-missing 1 "" "xenstore-ls: xs_directory (/nope): No such file or directory" \
	xenstore-ls /nope
check mkdir-deep 0 "" "" xenstore-write /deep/x/y/z v
check ls-nested 0 'x = ""
 y = ""
  z = "v"' "" xenstore-ls /deep
check ls-root 0 'tool = ""
 xenstored = ""
local = ""
 domain = ""
  0 = ""
   name = "Domain-0"
   domid = "0"
test = ""
 a = "1"
 b = "hello world"
v = "a\tb"
deep = ""
 x = ""
  y = ""
   z = "v"' "" xenstore-ls /

# ---- chmod and permissions -----------------------------------------------------------
check chmod 0 "" "" xenstore-chmod /test/b n0 r1
check ls-perms 0 'a = "1"  . . . . . . . . . . . . . . . . . . . . . . . . . .  (n0)
b = "hello world"  . . . . . . . . . . . . . . . . . . . . .  (n0,r1)' "" \
	xenstore-ls -p /test
check chmod-recursive 0 "" "" xenstore-chmod -r /test b0 w5 r7
check ls-perms-recursive 0 'a = "1"  . . . . . . . . . . . . . . . . . . . . . . . . . .  (b0,w5,r7)
b = "hello world"  . . . . . . . . . . . . . . . . . . . . .  (b0,w5,r7)' "" \
	xenstore-ls -p /test
check chmod-missing 1 "" \
	"xenstore-chmod: Error occurred setting permissions on '/nope': No such file or directory" \
	xenstore-chmod /nope n0
check write-inherits 0 "" "" xenstore-write /test/c new
check ls-invalid 1 "" "xenstore-ls: xs_directory (/test/..): Invalid argument" \
	xenstore-ls /test/..
check perms-inherited 0 'a = "1"  . . . . . . . . . . . . . . . . . . . . . . . . . .  (b0,w5,r7)
b = "hello world"  . . . . . . . . . . . . . . . . . . . . .  (b0,w5,r7)
c = "new"  . . . . . . . . . . . . . . . . . . . . . . . . .  (b0,w5,r7)' "" \
	xenstore-ls -p /test

# ---- rm ---------------------------------------------------------------------------------
check rm 0 "" "" xenstore-rm /test/a
check rm-gone-parent-exists 0 "" "" xenstore-rm /test/a
check rm-no-parent 1 "" "xenstore-rm: could not remove path /nope/deeper" \
	xenstore-rm /nope/deeper
check rm-subtree 0 "" "" xenstore-rm /deep
check exists-after-rm 1 "" "" xenstore-exists /deep/x/y/z
check list-after-rm 0 "b
c" "" xenstore-list /test

# ---- watch ------------------------------------------------------------------------------
# Expected, from xenstored: the initial event on the watched path, the
# write below it, and the removal of the watched node itself.
stdbuf -oL xenstore-watch -n 3 /w >"$dir/watch.out" 2>&1 &
wpid=$!
bg="$bg $wpid"
wait_for "the initial watch event" grep -qsx /w "$dir/watch.out" || fail=$((fail + 1))
xenstore-write /w/x 1
xenstore-rm /w
wait_for "xenstore-watch to exit" sh -c "! kill -0 $wpid 2>/dev/null" || {
	kill "$wpid" 2>/dev/null
	fail=$((fail + 1))
}
wait "$wpid"
wrc=$?
check watch-events 0 "/w
/w/x
/w" "" sh -c "cat '$dir/watch.out'; exit $wrc"

# ---- concurrent writers: the tools' transactions retry on EAGAIN ------------------------
xenstore-write /par ""
n=0
while [ "$n" -lt 20 ]; do
	xenstore-write "/par/k$n" "$n" &
	bg="$bg $!"
	n=$((n + 1))
done
wait_for "the concurrent writers" sh -c "[ \$(xenstore-list /par | wc -l) -eq 20 ]" ||
	fail=$((fail + 1))
check concurrent-values 0 "7" "" xenstore-read /par/k7

# ---- a guest's own socket -------------------------------------------------------------
# A sim domain made the way a user makes one (`xnet domain create`; no
# xnetfront: XNET_BIN points at an empty directory). Its clients use its
# socket, so the daemon knows they are the guest.
guest="xst$$"
mkdir -p "$dir/nobin"
stdbuf -oL xenstore-watch -n 2 @introduceDomain >"$dir/intro.out" 2>&1 &
ipid=$!
bg="$bg $ipid"
wait_for "the @introduceDomain watch" grep -qsx @introduceDomain "$dir/intro.out" ||
	fail=$((fail + 1))
created=$(XNET_SIM_DIR="$dir" XNET_BIN="$dir/nobin" "$BIN/xnet" domain create "$guest") || {
	echo "FAIL: xnet domain create: $created"
	exit 1
}
domid=${created##* }
gsock="$dir/dom$domid/xenstored.sock"
wait_for "@introduceDomain" sh -c "! kill -0 $ipid 2>/dev/null" || kill "$ipid"
check introduce-event 0 "@introduceDomain
@introduceDomain" "" cat "$dir/intro.out"
check skeleton 0 "name
domid
control
device
data
drivers
feature
attr
error" "" xenstore-list "/local/domain/$domid"
check skeleton-perms 0 "device = \"\"  . . . . . . . . . . . . . . . . . . . . . . . .  (n$domid)" "" \
	sh -c "xenstore-ls -p /local/domain/$domid | grep '^device = '"
check guest-name 0 "$guest" "" env XENSTORED_PATH="$gsock" xenstore-read name
check guest-domid 0 "$domid" "" env XENSTORED_PATH="$gsock" xenstore-read domid
check guest-denied-read 1 "" "xenstore-read: couldn't read path /local/domain/0/name" \
	env XENSTORED_PATH="$gsock" xenstore-read /local/domain/0/name
check guest-denied-write 1 "" "xenstore-write: could not write path /local/domain/0/x" \
	env XENSTORED_PATH="$gsock" xenstore-write /local/domain/0/x 1
check guest-denied-root 1 "" "xenstore-ls: xs_directory (/): Permission denied" \
	env XENSTORED_PATH="$gsock" xenstore-ls /
check guest-denied-home 1 "" "xenstore-write: could not write path name" \
	env XENSTORED_PATH="$gsock" xenstore-write name evil
check guest-write 0 "" "" env XENSTORED_PATH="$gsock" xenstore-write data/greeting hi
check guest-ls 0 'greeting = "hi"  . . . . . . . . . . . . . . . . . . . . . .  ('"n$domid"')' "" \
	env XENSTORED_PATH="$gsock" xenstore-ls -p "/local/domain/$domid/data"
check guest-chmod 0 "" "" env XENSTORED_PATH="$gsock" xenstore-chmod data/greeting "n$domid" r0
check guest-chmod-owner 1 "" \
	"xenstore-chmod: Error occurred setting permissions on 'data/greeting': Operation not permitted" \
	env XENSTORED_PATH="$gsock" xenstore-chmod data/greeting n0
check dom0-reads-guest 0 "hi" "" xenstore-read "/local/domain/$domid/data/greeting"
stdbuf -oL xenstore-watch -n 2 @releaseDomain >"$dir/release.out" 2>&1 &
rpid=$!
bg="$bg $rpid"
wait_for "the @releaseDomain watch" grep -qsx @releaseDomain "$dir/release.out" ||
	fail=$((fail + 1))
check destroy 0 "" "" env XNET_SIM_DIR="$dir" XNET_BIN="$dir/nobin" "$BIN/xnet" domain destroy "$guest"
guest=""
wait_for "@releaseDomain" sh -c "! kill -0 $rpid 2>/dev/null" || kill "$rpid"
check release-event 0 "@releaseDomain
@releaseDomain" "" cat "$dir/release.out"
check release-removes 1 "" "" xenstore-exists "/local/domain/$domid"

# ---- the daemon exits cleanly, no sanitizer reports --------------------------------------
kill -TERM "$pid"
wait_for "xnet-simd to exit" sh -c "! kill -0 $pid 2>/dev/null" || fail=$((fail + 1))
wait "$pid"
drc=$?
pid=""
if [ "$drc" -ne 0 ] || grep -qE "Sanitizer|runtime error" "$dir/simd.err"; then
	fail=$((fail + 1))
	echo "FAIL: xnet-simd exit code $drc, stderr:"
	cat "$dir/simd.err"
else
	pass=$((pass + 1))
fi

echo "xenstore_tools: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
