#!/usr/bin/env bash
# The include graph of src/ against docs/architecture.md's layer table: no
# layer includes one below it, none includes another layer's private header
# (tools/ci/layers.py says what each layer offers). Needs python3 only.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v python3 >/dev/null || { echo "=== layers: python3 missing"; exit 1; }
echo "=== layers: include graph"
python3 "$top/tools/ci/layers.py"
