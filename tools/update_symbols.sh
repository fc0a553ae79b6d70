#!/bin/sh
# Rewrite lib/resnet.symbols, the committed list of exported symbols, from the
# public headers. Run after adding a public function; review the diff: a
# removed line breaks the ABI (see docs/abi.md).
top="$(dirname "$0")/.."
"$top/tools/list_api.sh" "$top/include" > "$top/lib/resnet.symbols"
