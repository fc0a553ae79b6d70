#!/usr/bin/env bash
# Fuzz the file readers: builds tests/fuzz/fuzz_*.c as libFuzzer programs
# (clang -fsanitize=fuzzer,address,undefined) against the library sources,
# runs each for a bounded time from its seed corpus (tests/fuzz/corpus/NAME,
# copied so the committed seeds never change, plus, for a harness that has a
# -DRN_FUZZ_SEED_MAIN mode, a seed it writes now: a checkpoint or weight file
# of the current format), and fails on any crash, leak, sanitizer report or
# timeout. Self-contained: installs missing Debian
# packages.
#
#   bash tools/ci/fuzz.sh                       # every harness, 20 s each
#   FUZZ_SECONDS=300 bash tools/ci/fuzz.sh      # longer runs
#   FUZZ_TARGETS="npy inflate" bash tools/ci/fuzz.sh
#   FUZZ_DIR=/tmp/fuzz bash tools/ci/fuzz.sh    # build + working corpora here
#
# A crash leaves its input in $FUZZ_DIR/artifacts/; replay it with
#   $FUZZ_DIR/fuzz_NAME $FUZZ_DIR/artifacts/crash-...
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
work=${FUZZ_DIR:-$top/build-ci/fuzz}
seconds=${FUZZ_SECONDS:-20}
targets=${FUZZ_TARGETS:-"npy safetensors idx cifar inflate onnx json checkpoint model_safetensors int8"}
jobs=${RN_JOBS:-2}
cc=${FUZZ_CC:-clang}

need=()
for p in cmake make clang libclang-rt-14-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "=== installing ${need[*]}"
  $sudo_cmd apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$work/artifacts"
echo "=== fuzz: building the library with $cc (fuzzer-no-link, address, undefined)"
# The library is compiled with coverage instrumentation so libFuzzer sees
# inside the readers; OpenMP and the shared library are not needed here.
if ! cmake -S "$top" -B "$work/lib" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DRESNET_SANITIZE=fuzzer-no-link,address,undefined -DRESNET_OPENMP=OFF \
    -DRESNET_BUILD_SHARED=OFF -DRESNET_BUILD_TESTS=OFF -DRESNET_BUILD_TOOLS=OFF \
    -DRESNET_INSTALL=OFF -DRESNET_WERROR=ON >"$work/configure.log" 2>&1 ||
   ! cmake --build "$work/lib" -j"$jobs" >"$work/build.log" 2>&1; then
  tail -40 "$work/configure.log" "$work/build.log" 2>/dev/null
  echo "=== fuzz: library build FAILED"
  exit 1
fi
lib=$(find "$work/lib" -maxdepth 1 -name 'libresnet.a' | head -1)

failed=()
for t in $targets; do
  src="$top/tests/fuzz/fuzz_$t.c"
  [ -f "$src" ] || { echo "=== fuzz: no harness $src"; failed+=("$t"); continue; }
  bin="$work/fuzz_$t"
  if ! "$cc" -std=c99 -g -O1 -Wall -Wextra -pedantic -Werror \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
      -I"$top/include" -I"$top/src" "$src" "$lib" -lm -o "$bin"; then
    echo "=== fuzz: $t: harness build FAILED"
    failed+=("$t")
    continue
  fi
  corpus="$work/corpus-$t"
  mkdir -p "$corpus"
  if [ -d "$top/tests/fuzz/corpus/$t" ]; then cp -n "$top/tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null; fi
  if grep -q RN_FUZZ_SEED_MAIN "$src"; then
    # the same source as a plain program that writes one valid file
    if ! "$cc" -std=c99 -g -O1 -Wall -Wextra -pedantic -Werror -DRN_FUZZ_SEED_MAIN \
        -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
        -I"$top/include" -I"$top/src" "$src" "$lib" -lm -o "$bin-seed" ||
       ! ASAN_OPTIONS=detect_leaks=0 "$bin-seed" "$corpus/generated.seed"; then
      echo "=== fuzz: $t: seed generation FAILED"
      failed+=("$t")
      continue
    fi
  fi
  echo "=== fuzz: $t for ${seconds}s"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb bounds what a
  # hostile header can make the readers allocate.
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$bin" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-" \
      >"$work/$t.log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|cov: ' "$work/$t.log" |
      tail -3 | sed 's/^/    /'
  else
    tail -60 "$work/$t.log"
    echo "=== fuzz: $t FAILED (input saved under $work/artifacts/)"
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "=== fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "=== fuzz: all harnesses ran ${seconds}s without a finding: $targets"
