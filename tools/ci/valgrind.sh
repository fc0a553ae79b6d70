#!/usr/bin/env bash
# Valgrind memcheck over a selection of the test programs: catches reads of
# uninitialised memory (which AddressSanitizer does not look for), invalid
# accesses and leaks, in an ordinary gcc build (no sanitizer instrumentation,
# OpenMP off so the runtime's thread pool does not show up as "possibly
# lost"). Non-zero exit on any memcheck error. Self-contained: installs
# valgrind, gcc and cmake with apt-get when they are missing.
#
#   bash tools/ci/valgrind.sh
#   VALGRIND_TESTS="test_core test_nn_plan" bash tools/ci/valgrind.sh
#   VALGRIND_DIR=/tmp/vg bash tools/ci/valgrind.sh
#
# The default list leaves out the slow programs (test_oom makes ~2500 runs of
# a whole training path; under memcheck that is many minutes).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${VALGRIND_DIR:-$top/build-ci/valgrind}
jobs=${RN_JOBS:-2}
tests=${VALGRIND_TESTS:-"test_misuse_api test_concurrent_infer test_core test_layers_args \
test_nn_plan test_nn_block test_io_npy test_io_safetensors test_train_checkpoint"}

need=()
for tool in valgrind gcc cmake make; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "=== valgrind: installing ${need[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "=== valgrind: configure and build (gcc, RelWithDebInfo, OpenMP off) in $dir"
mkdir -p "$dir"
if ! cmake -S "$top" -B "$dir" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRESNET_OPENMP=OFF -DRESNET_BUILD_SHARED=OFF -DRESNET_BUILD_TOOLS=OFF \
    -DRESNET_BUILD_BENCH=OFF -DRESNET_WERROR="${RN_WERROR:-ON}" >"$dir/configure.log" 2>&1; then
  cat "$dir/configure.log"
  exit 1
fi
# shellcheck disable=SC2086
if ! cmake --build "$dir" -j"$jobs" --target $tests >"$dir/build.log" 2>&1; then
  grep -E 'error|Error' "$dir/build.log" | head -40
  tail -20 "$dir/build.log"
  exit 1
fi

failed=()
for t in $tests; do
  echo "=== valgrind: $t"
  # tests find their data through an absolute RN_TEST_DATA_DIR; run from the
  # build dir so files a test writes stay there
  if ! (cd "$dir" && valgrind --quiet --error-exitcode=99 --leak-check=full \
      --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
      --track-origins=yes "$dir/tests/$t" >"$dir/$t.log" 2>&1); then
    failed+=("$t")
    tail -40 "$dir/$t.log"
  else
    tail -1 "$dir/$t.log"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "=== valgrind: FAILED: ${failed[*]} (logs in $dir)"
  exit 1
fi
echo "=== valgrind: clean"
