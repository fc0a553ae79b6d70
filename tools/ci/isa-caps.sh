#!/usr/bin/env bash
# The x86 kernels under every ISA cap: runs the tests that reach the kernels
# (kernel tests, Winograd, op drivers, layers, models) with RN_MAX_ISA=scalar,
# avx2 and avx512, so that each table runs the whole driver stack and not only
# its own kernel tests. Then checks that the caps did what they say: the
# kernel tests of every ISA the CPU has at or below the cap passed (not
# skipped), and those above the cap skipped. On a CPU with AVX-512 this is
# what proves the AVX-512 tests ran. Reuses build-ci/gcc when tools/test.sh
# built it, else builds build-ci/isa-caps. Not x86-64: nothing to do.
#
#   bash tools/ci/isa-caps.sh
#   ISA_CAPS="avx2" bash tools/ci/isa-caps.sh
#   ISA_CAPS_BUILD=build bash tools/ci/isa-caps.sh   # an existing build with the tests
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
jobs=${RN_JOBS:-2}
caps=${ISA_CAPS:-"scalar avx2 avx512"}
tests='^test_(kernels_|winograd|ops_speedpaths|layers_|nn_|model_parity|concurrent_infer)'

case $(uname -m) in x86_64|amd64) ;; *) echo "=== isa-caps: not x86-64, nothing to do"; exit 0 ;; esac

dir=${ISA_CAPS_BUILD:-$top/build-ci/gcc}
if [ ! -f "$dir/CTestTestfile.cmake" ]; then
  dir=$top/build-ci/isa-caps
  echo "=== isa-caps: configure and build in $dir"
  mkdir -p "$dir"
  cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DRESNET_WERROR=ON >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; exit 1; }
  cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1 || { tail -40 "$dir.build.log"; exit 1; }
fi

# What the CPU offers, read from the kernel's flags (not from the library).
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
cpu_has() {
  case $1 in
    scalar) return 0 ;;
    avx2) has avx2 fma ;;
    avx512) has avx2 fma avx512f avx512bw avx512dq avx512vl ;;
  esac
}
rank() { case $1 in scalar) echo 0 ;; avx2) echo 1 ;; avx512) echo 2 ;; esac; }

fail=0
for cap in $caps; do
  echo "=== isa-caps: RN_MAX_ISA=$cap"
  log=$dir/isa-caps-$cap.log
  # A cap at or above the CPU's best ISA changes nothing for the driver tests,
  # which tools/test.sh's suites ran already: only the kernel tests then.
  pattern=$tests
  best=scalar
  for isa in avx2 avx512; do cpu_has "$isa" && best=$isa; done
  [ "$(rank "$cap")" -lt "$(rank "$best")" ] || pattern='^test_kernels_'
  if ! (cd "$dir" && RN_MAX_ISA=$cap ctest -j"$jobs" -R "$pattern" --output-on-failure) >"$log" 2>&1; then
    tail -60 "$log"
    echo "=== isa-caps: RN_MAX_ISA=$cap: tests FAILED"
    fail=1
    continue
  fi
  grep -E 'tests passed|Total Test time' "$log" | sed 's/^/    /'
  for isa in scalar avx2 avx512; do
    lines=$(grep -E "test_kernels_[a-z]+_$isa \.+" "$log" || true)
    [ -n "$lines" ] || { echo "    no kernel tests for $isa ran"; fail=1; continue; }
    skipped=$(echo "$lines" | grep -c 'Skipped' || true)
    total=$(echo "$lines" | wc -l)
    if [ "$(rank "$isa")" -le "$(rank "$cap")" ] && cpu_has "$isa"; then
      if [ "$skipped" -ne 0 ]; then
        echo "    $isa: the CPU has it and the cap allows it, but $skipped of $total kernel tests skipped"
        fail=1
      else
        echo "    $isa: $total kernel tests ran"
      fi
    elif [ "$skipped" -ne "$total" ]; then
      echo "    $isa: above the cap or missing on this CPU, yet $((total - skipped)) of $total kernel tests ran"
      fail=1
    else
      echo "    $isa: skipped ($( [ "$(rank "$isa")" -gt "$(rank "$cap")" ] && echo "above the cap" || echo "not on this CPU"))"
    fi
  done
done
[ "$fail" = 0 ] || { echo "=== isa-caps: FAILED"; exit 1; }
echo "=== isa-caps: every cap passed: $caps"
