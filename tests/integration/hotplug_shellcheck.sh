#!/bin/sh
# hotplug_shellcheck.sh — shellcheck finds nothing in every hotplug script
# (vif-* and the sourced helpers, followed with -x) nor in the hotplug_*
# integration tests.
set -u
cd "$(dirname "$0")/../.." || exit 1
command -v shellcheck >/dev/null || { echo "FAIL: shellcheck not installed" >&2; exit 1; }
shellcheck -x hotplug/vif-* || { echo "FAIL: hotplug scripts" >&2; exit 1; }
shellcheck -s sh tests/integration/hotplug_*.sh || { echo "FAIL: hotplug tests" >&2; exit 1; }
echo "ok: shellcheck clean: hotplug scripts and hotplug tests"
