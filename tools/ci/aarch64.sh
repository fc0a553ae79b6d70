#!/usr/bin/env bash
# Cross-build libresnet and its test suite for AArch64 with Debian's
# gcc-aarch64-linux-gnu and run every ctest under qemu-aarch64: the NEON
# kernels (the AArch64 table) against the naive references, plus the whole
# suite on a second architecture. Self-contained (installs missing Debian
# packages), exits non-zero when a step fails.
#
#   bash tools/ci/aarch64.sh
#   RN_AARCH64_DIR=/tmp/a64 RN_JOBS=4 bash tools/ci/aarch64.sh
#
# Tests that need Python or the host's nm (the ABI export checks, whose
# nm -D would read a foreign ELF) are excluded; the ABI checks run natively.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${RN_AARCH64_DIR:-$top/build-ci/aarch64}
jobs=${RN_JOBS:-2}

need=()
for p in cmake make gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || { echo "aarch64: missing ${need[*]} and no apt-get"; exit 1; }
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "=== aarch64: installing ${need[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

# gcc 12's aarch64 loop vectoriser crashes (an internal compiler error in
# vect_transform_reduction) on some double-precision reductions in the tests;
# the NEON kernels are intrinsics and do not depend on it.
echo "=== aarch64: configure and build in $dir"
mkdir -p "$dir"
cmake -S "$top" -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$top/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DRESNET_WERROR=ON -DRESNET_BUILD_TOOLS=OFF \
  -DRESNET_INSTALL=OFF \
  -DCMAKE_C_FLAGS=-fno-tree-loop-vectorize >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
grep -q "RN_HAVE_NEON" "$dir/CMakeFiles/resnet_objects.dir/flags.make" ||
  { echo "aarch64: the NEON kernels were not compiled in"; exit 1; }
cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1 ||
  { grep -vE '^\[ *[0-9]+%\]' "$dir.build.log" | tail -60; echo "aarch64: build failed"; exit 1; }

# test_cli_resnet runs the x86 resnet program, which this cross build does not make.
echo "=== aarch64: ctest under qemu-aarch64"
# the GEMM test must really have exercised NEON, not skipped it
(cd "$dir" && ctest --output-on-failure -j"$jobs" -E '^abi_|python|^test_cli_resnet$') || exit 1
# the gradient-accuracy test must have run its NEON cases (LastTest.log holds
# every test's output until the next ctest run)
if ! grep -q "ok   gradients_within_bound_neon" "$dir/Testing/Temporary/LastTest.log" ||
   grep -q "(neon not available here: not checked)" "$dir/Testing/Temporary/LastTest.log"; then
  echo "aarch64: test_grad_accuracy did not run its NEON cases"
  exit 1
fi
out=$(cd "$dir" && ctest -R '^test_kernels_gemm$' -V 2>&1)
if echo "$out" | grep -q "neon not available"; then
  echo "$out" | tail -20
  echo "aarch64: test_kernels_gemm skipped NEON"
  exit 1
fi

# The int8 convolution has two NEON kernels, chosen at run time: with the
# dot-product extension (sdot) and without (widening multiplies). qemu's CPU
# model decides which the process sees: a Cortex-A72 lacks dotprod (the plain
# kernel must run and the sdot one must report itself skipped), `max` has it
# (both must run). Each must equal the scalar reference (tests/test_qconv.c).
for cpu in cortex-a72 max; do
  echo "=== aarch64: test_qconv under qemu -cpu $cpu"
  out=$(qemu-aarch64 -cpu "$cpu" -L /usr/aarch64-linux-gnu "$dir/tests/test_qconv" 2>&1) ||
    { echo "$out" | tail -30; echo "aarch64: test_qconv failed under -cpu $cpu"; exit 1; }
  echo "$out" | tail -1
  echo "$out" | grep -q "^ok   kernel_neon$" ||
    { echo "aarch64: test_qconv did not run the plain NEON int8 kernel under -cpu $cpu"; exit 1; }
  if [ "$cpu" = max ]; then
    echo "$out" | grep -q "^ok   kernel_neondot$" ||
      { echo "aarch64: test_qconv did not run the sdot int8 kernel under -cpu max"; exit 1; }
  else
    echo "$out" | grep -q "^skip kernel_neondot$" ||
      { echo "aarch64: test_qconv did not skip the sdot kernel on a CPU without dotprod"; exit 1; }
  fi
done

# The amalgamation carries the NEON kernels: the consumer built from resnet.c
# alone must link (every NEON instantiation of a template present) and run.
if command -v python3 >/dev/null; then
  echo "=== aarch64: amalgamation"
  am="$dir/amalgamation"
  rm -rf "$am" && mkdir -p "$am"
  python3 "$top/tools/amalgamate.py" -o "$am" >/dev/null &&
    aarch64-linux-gnu-gcc -std=c99 -O2 -Wall -Wextra -pedantic -Werror -fno-tree-loop-vectorize \
      -I"$am" "$top/tests/consumer/main.c" "$am/resnet.c" -lm -o "$am/consumer" &&
    qemu-aarch64 -L /usr/aarch64-linux-gnu "$am/consumer" ||
    { echo "aarch64: the amalgamation's consumer failed"; exit 1; }
else
  echo "=== aarch64: amalgamation skipped (no python3)"
fi
echo "=== aarch64: passed"
