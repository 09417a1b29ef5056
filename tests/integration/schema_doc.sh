#!/bin/sh
# schema_doc.sh — the committed xenstore-schema/vif-keys.md is exactly what
# `xnet-schema render` makes from xenstore-schema/vif.schema now (run
# `make schema-doc` after editing the schema).
set -eu
cd "$(dirname "$0")/../.."
bin=${XNET_BIN:-build/bin}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$bin/xnet-schema" render xenstore-schema/vif.schema > "$tmp"
if ! diff -u xenstore-schema/vif-keys.md "$tmp"; then
	echo "schema_doc: vif-keys.md is stale: run make schema-doc" >&2
	exit 1
fi
# The run-time lookup finds the same schema the doc was made from.
XNET_SCHEMA= "$bin/xnet-schema" render > "$tmp"
diff -q xenstore-schema/vif-keys.md "$tmp" >/dev/null
echo "schema_doc: vif-keys.md is up to date"
