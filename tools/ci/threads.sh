#!/usr/bin/env bash
# The three sources of threads give the same bits: builds the library with
# RESNET_THREADS=pool, openmp and none, runs tests/test_threads.c in each
# (which checks, inside that build, 2-7 threads, caller-supplied pools and
# many contexts at once against one thread) and compares the 2-thread record
# each writes (logits, loss, input gradient, running statistics, every
# parameter gradient of a small ResNet-20) byte for byte across the builds.
#
#   bash tools/ci/threads.sh
#   THREADS_DIR=/tmp/th bash tools/ci/threads.sh   # build here instead of build-ci/threads
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${THREADS_DIR:-$top/build-ci/threads}
jobs=${RN_JOBS:-2}
mkdir -p "$dir"
status=0
for kind in pool openmp none; do
  b="$dir/$kind"
  echo "=== threads: build RESNET_THREADS=$kind"
  if ! cmake -S "$top" -B "$b" -DCMAKE_BUILD_TYPE=Release -DRESNET_THREADS=$kind \
      -DRESNET_BUILD_SHARED=OFF -DRESNET_BUILD_TOOLS=OFF -DRESNET_BUILD_BENCH=OFF \
      -DRESNET_WERROR="${RN_WERROR:-ON}" >"$b.configure.log" 2>&1; then
    cat "$b.configure.log"; exit 1
  fi
  grep -q "libresnet threads: $kind" "$b.configure.log" ||
    { echo "=== threads: asked for $kind, got: $(grep 'libresnet threads' "$b.configure.log")"; exit 1; }
  if ! cmake --build "$b" -j"$jobs" --target test_threads >"$b.build.log" 2>&1; then
    grep -E 'error|Error' "$b.build.log" | head -40; exit 1
  fi
  echo "=== threads: run test_threads ($kind)"
  RN_THREADS_DUMP="$dir/record-$kind.bin" "$b/tests/test_threads" || status=1
done
[ $status = 0 ] || { echo "=== threads: FAILED inside a build"; exit 1; }
for kind in openmp none; do
  if ! cmp "$dir/record-pool.bin" "$dir/record-$kind.bin"; then
    echo "=== threads: FAILED: the $kind build differs from the pool build"
    exit 1
  fi
done
echo "=== threads: pool, OpenMP and no-thread builds agree bit for bit ($(wc -c <"$dir/record-pool.bin") bytes)"
