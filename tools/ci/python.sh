#!/usr/bin/env bash
# The Python package as a user installs it: a fresh virtual environment
# (Debian's python3-venv, with the system's numpy), `pip install
# ./bindings/python` without network access (the package's build step
# compiles libresnet.so with CMake and bundles it), then the binding tests
# run from a folder outside the source tree against the installed package
# (with Debian's dataset-fashion-mnist for the fine-tuning test).
#
#   bash tools/ci/python.sh        # ~2-3 minutes on 2 cores
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
jobs=${RN_JOBS:-$(nproc 2>/dev/null || echo 2)}
py=/usr/bin/python3

need=()
for p in python3 python3-venv python3-setuptools python3-numpy cmake gcc dataset-fashion-mnist; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "=== python: venv in $work"
"$py" -m venv --system-site-packages "$work/venv"
echo "=== python: pip install ./bindings/python (no network, no build isolation)"
if ! RESNET_BUILD_JOBS=$jobs "$work/venv/bin/pip" install --no-index --no-build-isolation \
     --disable-pip-version-check -q "$top/bindings/python" >"$work/pip.log" 2>&1; then
  tail -40 "$work/pip.log"; exit 1
fi
mkdir "$work/elsewhere" && cd "$work/elsewhere"
env -u RESNET_LIBRARY "$work/venv/bin/python" - "$work/venv" <<'PYEOF'
import os, sys, resnet
venv = os.path.realpath(sys.argv[1])
where = os.path.realpath(resnet.__file__)
lib = os.path.realpath(resnet._lib.lib().path)
assert where.startswith(venv), "resnet imported from %s, not the venv" % where
assert lib.startswith(os.path.dirname(where)), "libresnet loaded from %s" % lib
print("    import resnet: %s, library %s, version %s" % (where, lib, resnet.version()))
PYEOF
echo "=== python: binding tests against the installed package"
env -u RESNET_LIBRARY "$work/venv/bin/python" "$top/bindings/python/tests/run.py"
