#!/usr/bin/env bash
# Build libresnet and train ResNet-20 on Fashion-MNIST, from a fresh machine.
#
#   bash tools/demo-train.sh            # short schedule: a few minutes
#   bash tools/demo-train.sh --full     # the full recipe (30 epochs, lr /10 at 15 and 25)
#
# Extra arguments are passed to `resnet train` (e.g. --threads 1, --epochs 5).
# Installs what it needs with apt-get (cmake, a compiler, dataset-fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
need_pkgs=()
for p in cmake gcc make dataset-fashion-mnist; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_pkgs[@]}"
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRESNET_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target resnet_cli >/dev/null
threads=$(nproc 2>/dev/null || echo 2)
if [ "${1:-}" = "--full" ]; then
  shift
  exec ./build/resnet train resnet20 --data fashion-mnist --epochs 30 --schedule step:15,25 \
    --threads "$threads" --out runs/resnet20-fmnist-full "$@"
fi
exec ./build/resnet train resnet20 --data fashion-mnist --epochs 3 --schedule step:2 \
  --subset 20000 --threads "$threads" --out runs/resnet20-fmnist-quick "$@"
