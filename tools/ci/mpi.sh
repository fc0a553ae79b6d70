#!/usr/bin/env bash
# Data-parallel training on MPI: installs Debian's Open MPI (libopenmpi-dev,
# openmpi-bin) and python3 (which writes the test's tiny dataset) when they
# are missing, builds the project with -DRESNET_MPI=ON (libresnet_mpi and a
# resnet program that trains under mpirun), then runs
# tests/mpi/test_mpi_train.sh: 2 ranks on this machine against one process
# (bit-identical weights with --sync-bn), resume under MPI, a killed rank
# and a hung rank. The in-process N-rank test (tests/test_train_dist.c) is
# in the normal suite. About 2 minutes on 2 cores.
#
#   bash tools/ci/mpi.sh
#   MPI_DIR=/tmp/mpi bash tools/ci/mpi.sh   # build here instead of build-ci/mpi
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${MPI_DIR:-$top/build-ci/mpi}
jobs=${RN_JOBS:-2}

need=()
for p in libopenmpi-dev openmpi-bin python3 cmake gcc make; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "=== mpi: installing ${need[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "=== mpi: configure and build with -DRESNET_MPI=ON in $dir"
mkdir -p "$dir"
if ! cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DRESNET_MPI=ON \
    -DRESNET_BUILD_TESTS=OFF -DRESNET_BUILD_BENCH=OFF -DRESNET_WERROR="${RN_WERROR:-ON}" \
    >"$dir/configure.log" 2>&1; then
  cat "$dir/configure.log"
  exit 1
fi
if ! cmake --build "$dir" -j"$jobs" --target resnet_cli resnet_mpi >"$dir/build.log" 2>&1; then
  grep -E 'error|Error' "$dir/build.log" | head -40
  exit 1
fi
mpirun=$(sed -n 's/^MPIEXEC_EXECUTABLE:FILEPATH=//p' "$dir/CMakeCache.txt")
echo "=== mpi: tests/mpi/test_mpi_train.sh (mpirun -np 2 on this machine)"
bash "$top/tests/mpi/test_mpi_train.sh" "$dir/resnet" "${mpirun:-mpirun}"
