#!/usr/bin/env bash
# ONNX import at every depth: torch.onnx.export writes torchvision-layout
# ResNet-18/34/50/101/152 and the CIFAR ResNet-20/32/56 (option A and
# projection shortcuts; batch norms folded and kept; several opsets) at small
# widths (tests/gen/gen_onnx_fixtures.py --all, each file checked with
# onnx.checker), then `resnet infer MODEL.onnx` must give PyTorch's float64
# logits within 1e-4 of the largest. The committed small fixtures are tested
# by tests/test_io_onnx.c without Python; this covers the big depths without
# committing their files. Then `resnet export --onnx` graphs of several
# architectures must pass onnx.checker (full check) and read back to the
# logits of the safetensors weights. Installs Debian's python3-torch, -torchvision,
# -onnx and -numpy when missing. About 2 minutes on 2 cores.
#
#   bash tools/ci/onnx.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${ONNX_DIR:-$top/build-ci/onnx}
jobs=${RN_JOBS:-2}
py=/usr/bin/python3

need=()
for p in cmake gcc make python3 python3-numpy python3-torch python3-torchvision python3-onnx; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "=== onnx: installing ${need[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "=== onnx: build the resnet program in $dir"
mkdir -p "$dir"
if ! cmake -S "$top" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DRESNET_BUILD_TESTS=OFF \
    -DRESNET_BUILD_BENCH=OFF -DRESNET_WERROR=ON >"$dir/configure.log" 2>&1 ||
   ! cmake --build "$dir/build" -j"$jobs" --target resnet_cli >"$dir/build.log" 2>&1; then
  tail -40 "$dir/configure.log" "$dir/build.log"
  exit 1
fi
exe="$dir/build/resnet"

echo "=== onnx: export every depth with torch.onnx.export (and onnx.checker)"
rm -rf "$dir/graphs"
"$py" "$top/tests/gen/gen_onnx_fixtures.py" --all "$dir/graphs" --check 2>/dev/null |
  sed 's/^/    /'

echo "=== onnx: resnet infer MODEL.onnx against PyTorch float64"
fail=0
for model in "$dir"/graphs/*.onnx; do
  base=${model%.onnx}
  if ! "$exe" infer "$model" --input "${base}_input.npy" --output "${base}_ours.npy" \
      --threads "$jobs" >"$dir/infer.log" 2>&1; then
    cat "$dir/infer.log"; fail=1; continue
  fi
  "$py" - "$base" <<'PYEOF' || fail=1
import sys, os, numpy as np
base = sys.argv[1]
ours = np.load(base + "_ours.npy").astype(np.float64)
ref = np.load(base + "_logits.npy").astype(np.float64)
err = np.abs(ours - ref).max() / np.abs(ref).max()
ok = ours.shape == ref.shape and err < 1e-4
print("    %-32s %s  error %.2e of the largest logit" % (os.path.basename(base),
      "ok  " if ok else "FAIL", err))
sys.exit(0 if ok else 1)
PYEOF
done
echo "=== onnx: resnet export --onnx: onnx.checker, then read back by resnet infer"
"$py" -c "import numpy as np; np.save('$dir/x32.npy', np.random.default_rng(0).uniform(-1, 1, (2, 3, 32, 32)).astype(np.float32))"
for spec in "resnet20 --width 4" "resnet56 --width 2 --shortcut B" "resnet18 --width 4" \
            "resnet50 --width 2 --classes 7" "resnet34 --width 2 --shortcut C"; do
  set -- $spec
  arch=$1; shift
  w="$dir/export.safetensors" m="$dir/export.onnx"
  if ! "$exe" init "$arch" "$@" --seed 3 -o "$w" >/dev/null ||
     ! "$exe" export "$arch" "$@" --weights "$w" --onnx -o "$m" >/dev/null ||
     ! "$py" -c "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" "$m" ||
     ! "$exe" infer "$m" --input "$dir/x32.npy" --output "$dir/y_onnx.npy" >/dev/null ||
     ! "$exe" infer "$arch" --weights "$w" --input "$dir/x32.npy" --output "$dir/y_st.npy" >/dev/null; then
    echo "    $spec: FAIL"; fail=1; continue
  fi
  "$py" - "$dir" "$spec" <<'PYEOF' || fail=1
import sys, numpy as np
a, b = np.load(sys.argv[1] + "/y_onnx.npy"), np.load(sys.argv[1] + "/y_st.npy")
err = np.abs(a - b).max() / np.abs(b).max()
print("    %-34s %s  checker ok, read back within %.1e" % (sys.argv[2], "ok  " if err <= 1e-6 else "FAIL", err))
sys.exit(0 if err <= 1e-6 else 1)
PYEOF
done
[ $fail = 0 ] || { echo "=== onnx: FAILED"; exit 1; }
echo "=== onnx: every graph matched PyTorch; every export passed the checker and read back"
