#!/bin/sh
# cli_shellcheck.sh — shellcheck finds nothing in the hotplug scripts and
# the cli_* and op_* tests (STYLE.md).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v shellcheck >/dev/null || { echo "FAIL: shellcheck not installed" >&2; exit 1; }
cd "$top" || exit 1
shellcheck -x hotplug/vif-bridge hotplug/vif-route hotplug/vif-common.sh || { echo "FAIL: hotplug scripts" >&2; exit 1; }
shellcheck -s sh tests/integration/cli_*.sh tests/integration/op_*.sh ||
	{ echo "FAIL: cli/op tests" >&2; exit 1; }
echo "ok: shellcheck clean"
