#!/usr/bin/env bash
# Build libresnet and run the whole test suite, from a fresh machine.
#
#   bash tools/test.sh            # every stage
#   RN_STAGES="gcc clang" bash tools/test.sh   # a subset
#
# Stages: format   every tracked C file formatted as .clang-format says (tools/format.sh --all)
#         gcc      Release build with gcc, -Werror, all tests
#         clang    Release build with clang, -Werror, all tests
#         sanitize ASan + UBSan (clang) over the whole suite
#         extra    tools/ci/*.sh: build variants, aarch64 under qemu, fuzzing...
# Installs the Debian packages it needs (needs root or sudo for apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
stages=${RN_STAGES:-"format gcc clang sanitize extra"}
jobs=${RN_JOBS:-$(nproc 2>/dev/null || echo 2)}

need_pkgs=()
for p in cmake gcc clang libomp-14-dev make pkg-config zlib1g-dev python3; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_pkgs[@]}"
fi

summary=()
run_suite() { # name, build dir, cmake args...
  local name=$1 dir=$2; shift 2
  echo "=== $name: configure and build"
  cmake -S "$top" -B "$dir" -DRESNET_WERROR=ON "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  if ! cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1; then
    grep -E 'error|Error' "$dir.build.log" | head -40
    tail -20 "$dir.build.log"
    return 1
  fi
  echo "=== $name: ctest"
  (cd "$dir" && ctest --output-on-failure -j"$jobs")
}

mkdir -p "$top/build-ci"
for s in $stages; do
  case $s in
    format)
      echo "=== format: tools/format.sh --all"
      # .clang-format is written for clang-format 14; another version lays out some lines otherwise
      if ! command -v clang-format-14 >/dev/null; then
        sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
        DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq clang-format-14 ||
          { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq clang-format-14; }
      fi
      bash "$top/tools/format.sh" --all ;;
    gcc) run_suite gcc "$top/build-ci/gcc" -DCMAKE_C_COMPILER=gcc ;;
    clang) run_suite clang "$top/build-ci/clang" -DCMAKE_C_COMPILER=clang ;;
    sanitize)
      ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        run_suite sanitize "$top/build-ci/sanitize" -DCMAKE_C_COMPILER=clang \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRESNET_SANITIZE=address,undefined \
        -DRESNET_BUILD_SHARED=OFF -DRESNET_OPENMP=OFF ;;
    extra)
      for script in "$top"/tools/ci/*.sh; do
        [ -e "$script" ] || continue
        echo "=== extra: $(basename "$script")"
        bash "$script"
      done ;;
    *) echo "unknown stage $s"; exit 2 ;;
  esac
  summary+=("$s")
done
echo "=== stages passed: ${summary[*]}"
