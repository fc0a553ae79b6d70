#!/usr/bin/env bash
# ThreadSanitizer over the library's threads: builds the library (with its
# own thread pool: RESNET_THREADS=pool; OpenMP's runtime is not instrumented
# and would report its own internals), tests/test_concurrent_infer.c and
# tests/test_threads.c with clang -fsanitize=thread, then runs them: several
# threads, each with its own context and RN_MODE_INFER plan, share one model;
# contexts with pools of 2-7 threads, and caller-supplied pools, run
# inference and training steps, several at once. Any data race, or any
# output that differs from a single-threaded run, fails the script (non-zero
# exit). Self-contained: installs clang and cmake with apt-get when they are
# missing.
#
#   bash tools/ci/tsan.sh
#   TSAN_DIR=/tmp/tsan bash tools/ci/tsan.sh   # build here instead of build-ci/tsan
#   RN_WERROR=OFF bash tools/ci/tsan.sh        # tolerate warnings elsewhere in the tree
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${TSAN_DIR:-$top/build-ci/tsan}
jobs=${RN_JOBS:-2}
cc=${TSAN_CC:-clang}

need=()
command -v "$cc" >/dev/null 2>&1 || need+=(clang)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v make >/dev/null 2>&1 || need+=(make)
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "=== tsan: installing ${need[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "=== tsan: configure and build with $cc -fsanitize=thread in $dir"
mkdir -p "$dir"
if ! cmake -S "$top" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRESNET_SANITIZE=thread -DRESNET_THREADS=pool -DRESNET_BUILD_SHARED=OFF \
    -DRESNET_BUILD_TOOLS=OFF -DRESNET_BUILD_BENCH=OFF -DRESNET_WERROR="${RN_WERROR:-ON}" \
    >"$dir/configure.log" 2>&1; then
  cat "$dir/configure.log"
  exit 1
fi
if ! cmake --build "$dir" -j"$jobs" --target test_concurrent_infer test_threads >"$dir/build.log" 2>&1; then
  grep -E 'error|Error' "$dir/build.log" | head -40
  tail -20 "$dir/build.log"
  exit 1
fi

# halt_on_error: the first race ends the run with exit code 66.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
# clang 14's TSan cannot map its shadow memory under the high-entropy ASLR of
# recent kernels ("unexpected memory mapping"); running without ASLR avoids it.
pre=()
if command -v setarch >/dev/null 2>&1 && setarch "$(uname -m)" -R true 2>/dev/null; then
  pre=(setarch "$(uname -m)" -R)
fi
for t in test_concurrent_infer test_threads; do
  echo "=== tsan: run $t"
  status=0
  # the pool stress test runs 20000 regions here instead of a million (TSan is slow)
  RN_TEST_POOL_REGIONS=20000 "${pre[@]}" "$dir/tests/$t" 2>"$dir/tsan-$t.log" || status=$?
  cat "$dir/tsan-$t.log"
  if [ "$status" != 0 ]; then
    echo "=== tsan: $t FAILED (a data race, or outputs that differ between threads)"
    exit 1
  fi
done
echo "=== tsan: clean (no data race, identical outputs)"
