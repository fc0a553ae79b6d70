#!/usr/bin/env bash
# The build-variant matrix: every way libresnet is meant to be built and
# consumed, each checked end to end. Self-contained (installs missing Debian
# packages), exits non-zero if any step fails, and takes a few minutes.
#
#   bash tools/ci/builds.sh                  # every step
#   RN_BUILDS_STEPS="header package" bash tools/ci/builds.sh
#   RN_BUILDS_DIR=/tmp/variants RN_JOBS=4 bash tools/ci/builds.sh
#   RN_BUILDS_WERROR=OFF bash tools/ci/builds.sh   # warnings do not fail the builds
#
# Steps:
#   header        include/resnet.h (and each layer header alone) compiles as
#                 C99, C11, C++11 and C++17 with gcc/g++ and clang/clang++, -Werror;
#                 so do the consumer programs
#   install       default build (OpenMP), cmake --install into a prefix; checks
#                 the installed files and the SONAME
#   package       tests/consumer via find_package(resnet), static and shared
#   pkgconfig     tests/consumer via pkg-config, shared and static
#   subdirectory  tests/consumer via add_subdirectory of the source tree
#   make          tests/consumer via a plain Makefile over lib/sources.mk
#   openmp-off    RESNET_OPENMP=OFF: the test suite passes and the consumer's
#                 logits are bit-identical to the OpenMP build's (2 threads)
#   io-off        RESNET_WITH_IO=OFF + RN_NO_STDIO: nm shows no file or stdio
#                 imports; the consumer still runs
#   inference-only RESNET_INFERENCE_ONLY=ON: no training code linked in; the
#                 consumer still runs
#   cortex-m      arm-none-eabi static library (Cortex-M7, hard float), size
#                 of the library and of a firmware image linking it; the
#                 firmware runs under QEMU (mps2-an500) and its logits match
#                 the same program's on the host
#   cortex-m-flash resnet8 with its weights in flash: `resnet export --c-array`
#                 writes the blob as a const C array, firmware-blob.c creates
#                 the model over it (rn_model_create_from_blob) and classifies
#                 4 test images under QEMU on a Cortex-M4 (mps2-an386, single-
#                 precision FPU only) and a Cortex-M7 (mps2-an500); logits match
#                 the host's and PyTorch's float64 ones; then the int8
#                 Fashion-MNIST resnet8: logits bit-identical to the host's,
#                 weights within 128 KiB of flash, and all its RAM (data +
#                 bss with an arena of the measured size + stack) within
#                 64 KiB, else the step fails; sizes in
#                 $RN_BUILDS_DIR/cortex-m-flash/sizes.txt
#   amalgamation  tools/amalgamate.py's resnet.c + resnet.h build the consumer
#   cpp           examples/cpp (C++11, -Werror) against the installed package
#   python        bindings/python tests against the installed libresnet.so
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
work=${RN_BUILDS_DIR:-$top/build-ci/variants}
jobs=${RN_JOBS:-2}
steps=${RN_BUILDS_STEPS:-"header install package pkgconfig subdirectory make openmp-off io-off inference-only cortex-m cortex-m-flash amalgamation cpp python"}
prefix=$work/prefix
logits=$work/logits
py=/usr/bin/python3; [ -x "$py" ] || py=python3

# ---- packages ------------------------------------------------------------------
need=()
for p in cmake make gcc g++ clang pkg-config binutils gcc-arm-none-eabi \
         libnewlib-arm-none-eabi qemu-system-arm python3 python3-numpy python3-pytest \
         dataset-fashion-mnist; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "=== installing ${need[*]}"
  $sudo_cmd apt-get update -qq
  # one by one if the batch fails, so that a missing optional package
  # (qemu-system-arm, python3-pytest) costs only the check that needs it
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 ||
    for p in "${need[@]}"; do
      DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$p" >/dev/null 2>&1 ||
        echo "    could not install $p"
    done
fi

mkdir -p "$work" "$logits"
log() { echo "    $*"; }
# run a command, showing its output only when it fails
quiet() {
  local out; out=$("$@" 2>&1); local rc=$?
  [ $rc = 0 ] || { echo "$out" | tail -40; echo "    FAILED ($rc): $*"; }
  return $rc
}
configure_build() { # build dir, cmake args...
  local dir=$1; shift
  rm -rf "$dir"  # a stale cache would keep flags from an earlier run
  quiet cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DRESNET_WERROR="${RN_BUILDS_WERROR:-ON}" "$@" &&
    quiet cmake --build "$dir" -j"$jobs"
}
# same bits, or (for builds with other flags) the same values to 1e-5
compare_logits() { # reference, candidate, mode (exact|close)
  if cmp -s "$1" "$2"; then log "logits identical: $(basename "$2") = $(basename "$1")"; return 0; fi
  [ "$3" = exact ] && { log "logits differ: $2 vs $1"; return 1; }
  "$py" - "$1" "$2" <<'PY'
import struct, sys
a, b = (open(p, "rb").read() for p in sys.argv[1:3])
x, y = (struct.unpack("<%df" % (len(s) // 4), s) for s in (a, b))
err = max(abs(u - v) / max(1.0, abs(u)) for u, v in zip(x, y)) if len(x) == len(y) else 1e9
print("    logits close: max rel diff %.3g (%s vs %s)" % (err, sys.argv[2], sys.argv[1]))
sys.exit(0 if err <= 1e-5 else 1)
PY
}
forbidden_imports() { # archive: undefined symbols naming files or stdio
  nm -u "$1" 2>/dev/null | awk '{print $2}' | sed 's/@.*//' | sort -u |
    grep -E '^(_IO_|f?open(64)?|fdopen|fclose|fread|fwrite|fseeko?|ftello?|fflush|fsync|rename|remove|unlink|mkstemp|fileno|v?s?n?printf|v?f?printf|__.*printf_chk|puts|fputs|fputc|putchar|perror|stdout|stderr|stdin)$'
}

# ---- steps ------------------------------------------------------------------------
step_header() {
  local hdrs=(resnet.h resnet/core.h resnet/tensor.h resnet/layers.h resnet/block.h
              resnet/model.h resnet/train.h resnet/io.h) h cc std ok=0
  for h in "${hdrs[@]}"; do
    printf '#include <%s>\nint main(void) { return 0; }\n' "$h" > "$work/hdr.c"
    cp "$work/hdr.c" "$work/hdr.cpp"
    for cc in gcc clang; do
      for std in c99 c11; do
        quiet $cc -std=$std -Wall -Wextra -pedantic -Werror -I"$top/include" -c "$work/hdr.c" \
          -o "$work/hdr.o" || { log "$h as $std with $cc"; ok=1; }
      done
    done
    for cc in g++ clang++; do
      for std in c++11 c++17; do
        quiet $cc -std=$std -Wall -Wextra -pedantic -Werror -I"$top/include" -c "$work/hdr.cpp" \
          -o "$work/hdr.o" || { log "$h as $std with $cc"; ok=1; }
      done
    done
  done
  [ $ok = 0 ] && log "${#hdrs[@]} headers x {c99,c11} x {gcc,clang} + {c++11,c++17} x {g++,clang++}: clean"
  # the consumer programs themselves, with both compilers
  for cc in gcc clang; do
    quiet $cc -std=c99 -Wall -Wextra -pedantic -Werror -I"$top/include" -c \
      "$top/tests/consumer/main.c" -o "$work/hdr.o" &&
      quiet $cc -std=c99 -Wall -Wextra -pedantic -Werror -DRN_FIRMWARE_HOST_REPORT \
        -I"$top/include" -c "$top/tests/consumer/cortex-m/firmware.c" -o "$work/hdr.o" || ok=1
  done
  return $ok
}

step_install() {
  rm -rf "$prefix"
  configure_build "$work/default" -DRESNET_BUILD_TESTS=OFF -DRESNET_BUILD_TOOLS=OFF -DRESNET_BUILD_BENCH=OFF -DCMAKE_INSTALL_PREFIX="$prefix" &&
    quiet cmake --install "$work/default" || return 1
  local f missing=0
  for f in include/resnet.h include/resnet/core.h include/resnet/model.h lib/libresnet.a \
           lib/libresnet.so lib/libresnet.so.0 lib/libresnet.so.0.1.0 \
           lib/cmake/resnet/resnetConfig.cmake lib/cmake/resnet/resnetConfigVersion.cmake \
           lib/cmake/resnet/resnetTargets.cmake lib/pkgconfig/resnet.pc; do
    [ -e "$prefix/$f" ] || { log "not installed: $f"; missing=1; }
  done
  local soname; soname=$(readelf -d "$prefix/lib/libresnet.so.0.1.0" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
  [ "$soname" = libresnet.so.0 ] || { log "SONAME is '$soname', expected libresnet.so.0"; missing=1; }
  [ $missing = 0 ] && log "installed into $prefix (SONAME $soname)"
  return $missing
}

# Steps that need the installed default build or its reference logits make
# them first when run on their own (RN_BUILDS_STEPS="python").
need_install() { [ -e "$prefix/lib/libresnet.so" ] || step_install; }
need_reference() { [ -e "$logits/package-static.bin" ] || step_package; }

run_consumer() { # binary, logits name
  local out; out=$("$1" "$logits/$2.bin" 2>&1) || { echo "$out"; log "FAILED: $1"; return 1; }
  log "$2: $(echo "$out" | head -1)"
}

step_package() {
  need_install || return 1
  local ok=0 kind
  for kind in static shared; do
    local b="$work/package-$kind" use=OFF; [ $kind = shared ] && use=ON
    rm -rf "$b"
    quiet cmake -S "$top/tests/consumer/cmake-package" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" \
      -DRESNET_USE_SHARED=$use &&
      quiet cmake --build "$b" && run_consumer "$b/consumer" "package-$kind" || ok=1
  done
  if [ $ok = 0 ]; then
    readelf -d "$work/package-shared/consumer" | grep 'NEEDED.*libresnet.so.0' >/dev/null ||
      { log "shared consumer does not need libresnet.so.0"; ok=1; }
    readelf -d "$work/package-static/consumer" | grep 'NEEDED.*libresnet' >/dev/null &&
      { log "static consumer needs libresnet.so"; ok=1; }
    compare_logits "$logits/package-static.bin" "$logits/package-shared.bin" exact || ok=1
  fi
  return $ok
}

step_pkgconfig() {
  need_reference || return 1
  local b="$work/pkgconfig"
  rm -rf "$b"
  log "pkg-config --static --libs resnet: $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --static --libs resnet)"
  PKG_CONFIG_PATH="$prefix/lib/pkgconfig" quiet make -C "$top/tests/consumer/pkg-config" O="$b" &&
    run_consumer "$b/consumer-shared" pkgconfig-shared &&
    run_consumer "$b/consumer-static" pkgconfig-static || return 1
  readelf -d "$b/consumer-static" | grep 'NEEDED.*libresnet' >/dev/null && { log "static link used the .so"; return 1; }
  compare_logits "$logits/package-static.bin" "$logits/pkgconfig-static.bin" exact
}

step_subdirectory() {
  need_reference || return 1
  local b="$work/subdirectory"
  rm -rf "$b"
  quiet cmake -S "$top/tests/consumer/cmake-subdirectory" -B "$b" -DCMAKE_BUILD_TYPE=Release \
    -DRESNET_SOURCE_DIR="$top" && quiet cmake --build "$b" -j"$jobs" &&
    run_consumer "$b/consumer" subdirectory || return 1
  compare_logits "$logits/package-static.bin" "$logits/subdirectory.bin" exact
}

step_make() {
  need_reference || return 1
  local b="$work/make"
  rm -rf "$b"
  quiet make -C "$top/tests/consumer/make" -j"$jobs" O="$b" RESNET_OPENMP=1 &&
    run_consumer "$b/consumer" make || return 1
  compare_logits "$logits/package-static.bin" "$logits/make.bin" close
}

step_openmp_off() {
  need_reference || return 1
  local b="$work/openmp-off"
  configure_build "$b" -DRESNET_OPENMP=OFF -DRESNET_BUILD_BENCH=OFF -DRESNET_BUILD_SHARED=OFF \
    -DCMAKE_INSTALL_PREFIX="$work/prefix-openmp-off" || return 1
  local out; out=$(cd "$b" && ctest -j"$jobs" 2>&1) || { echo "$out" | tail -30; return 1; }
  log "ctest: $(echo "$out" | grep 'tests passed')"
  quiet cmake --install "$b" || return 1
  nm -u "$b/libresnet.a" | grep -E 'GOMP_|omp_' >/dev/null && { log "OpenMP symbols in an OpenMP=OFF build"; return 1; }
  local c="$work/package-openmp-off"
  rm -rf "$c"
  quiet cmake -S "$top/tests/consumer/cmake-package" -B "$c" -DCMAKE_PREFIX_PATH="$work/prefix-openmp-off" &&
    quiet cmake --build "$c" && run_consumer "$c/consumer" openmp-off || return 1
  compare_logits "$logits/package-static.bin" "$logits/openmp-off.bin" exact
}

step_io_off() {
  need_reference || return 1
  local b="$work/io-off"
  configure_build "$b" -DRESNET_WITH_IO=OFF -DRESNET_OPENMP=OFF -DRESNET_BUILD_TESTS=OFF \
    -DRESNET_BUILD_TOOLS=OFF -DRESNET_BUILD_BENCH=OFF -DRESNET_BUILD_SHARED=OFF -DCMAKE_C_FLAGS=-DRN_NO_STDIO \
    -DCMAKE_INSTALL_PREFIX="$work/prefix-io-off" || return 1
  local bad; bad=$(forbidden_imports "$b/libresnet.a")
  [ -n "$bad" ] && { log "file/stdio symbols imported: $(echo $bad)"; return 1; }
  log "no file or stdio imports; undefined libc symbols: $(nm -u "$b/libresnet.a" | awk '{print $2}' | grep -v '^rn_' | sort -u | tr '\n' ' ')"
  quiet cmake --install "$b" || return 1
  local c="$work/package-io-off"
  rm -rf "$c"
  quiet cmake -S "$top/tests/consumer/cmake-package" -B "$c" -DCMAKE_PREFIX_PATH="$work/prefix-io-off" &&
    quiet cmake --build "$c" && run_consumer "$c/consumer" io-off || return 1
  compare_logits "$logits/package-static.bin" "$logits/io-off.bin" exact
}

step_inference_only() {
  need_reference || return 1
  local b="$work/inference-only"
  configure_build "$b" -DRESNET_INFERENCE_ONLY=ON -DRESNET_OPENMP=OFF -DRESNET_BUILD_TESTS=OFF \
    -DRESNET_BUILD_TOOLS=OFF -DRESNET_BUILD_BENCH=OFF -DRESNET_BUILD_SHARED=OFF \
    -DCMAKE_INSTALL_PREFIX="$work/prefix-inference-only" || return 1
  local train; train=$(nm --defined-only "$b/libresnet.a" | awk '{print $3}' |
    grep -E '^rn_?_?(sgd|optimizer|lr_|schedule|augment|checkpoint)' | sort -u)
  [ -n "$train" ] && { log "training code in an inference-only build: $(echo $train)"; return 1; }
  log "objects: $(ar t "$b/libresnet.a" | wc -l) (default build: $(ar t "$work/default/libresnet.a" 2>/dev/null | wc -l)); no optimiser symbols"
  quiet cmake --install "$b" || return 1
  local c="$work/package-inference-only"
  rm -rf "$c"
  quiet cmake -S "$top/tests/consumer/cmake-package" -B "$c" -DCMAKE_PREFIX_PATH="$work/prefix-inference-only" &&
    quiet cmake --build "$c" && run_consumer "$c/consumer" inference-only || return 1
  compare_logits "$logits/package-static.bin" "$logits/inference-only.bin" exact
}

step_cortex_m() {
  local b="$work/cortex-m"
  configure_build "$b" -DCMAKE_TOOLCHAIN_FILE="$top/cmake/arm-none-eabi.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DRESNET_INFERENCE_ONLY=ON -DRESNET_WITH_IO=OFF \
    -DRESNET_OPENMP=OFF -DRESNET_BUILD_SHARED=OFF -DRESNET_BUILD_TESTS=OFF \
    -DRESNET_BUILD_TOOLS=OFF -DRESNET_BUILD_BENCH=OFF -DRESNET_INSTALL=OFF \
    -DRESNET_ARM_EXTRA_FLAGS=-DRN_NO_STDIO || return 1
  # every object must carry the hard-float Cortex-M7 attributes
  local attrs arch; attrs=$(arm-none-eabi-readelf -A "$b/libresnet.a")
  arch=$(echo "$attrs" | sed -n 's/^ *Tag_CPU_arch: //p' | sort -u)
  [ "$arch" = v7E-M ] || { log "libresnet.a objects are built for '$arch', not v7E-M"; return 1; }
  [ "$(echo "$attrs" | grep -c 'Tag_CPU_arch:')" = "$(echo "$attrs" | grep -c 'Tag_ABI_VFP_args: VFP registers')" ] ||
    { log "not every object of libresnet.a uses the hard-float ABI"; return 1; }
  local bad; bad=$(forbidden_imports "$b/libresnet.a")
  [ -n "$bad" ] && { log "file/stdio symbols imported: $(echo $bad)"; return 1; }
  local cpu="-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16"
  # shellcheck disable=SC2086
  quiet arm-none-eabi-gcc $cpu -std=c99 -Os -Wall -Wextra -pedantic -Werror -ffunction-sections \
    -fdata-sections -I"$top/include" "$top/tests/consumer/cortex-m/firmware.c" "$b/libresnet.a" \
    -lm --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections -Wl,-Map="$b/firmware.map" \
    -o "$b/firmware.elf" || return 1
  # The same firmware on the host: its logits and how much arena it used.
  local h="$work/cortex-m-host"
  rm -rf "$h"
  quiet cmake -S "$top" -B "$h" -DCMAKE_BUILD_TYPE=MinSizeRel -DRESNET_INFERENCE_ONLY=ON \
    -DRESNET_WITH_IO=OFF -DRESNET_OPENMP=OFF -DRESNET_BUILD_SHARED=OFF -DRESNET_BUILD_TESTS=OFF \
    -DRESNET_BUILD_TOOLS=OFF -DRESNET_BUILD_BENCH=OFF -DRESNET_INSTALL=OFF \
    -DCMAKE_C_FLAGS=-DRN_NO_STDIO &&
    quiet cmake --build "$h" -j"$jobs" &&
    quiet gcc -std=c99 -O2 -DRN_FIRMWARE_HOST_REPORT -I"$top/include" \
      "$top/tests/consumer/cortex-m/firmware.c" "$h/libresnet.a" -lm -o "$h/firmware-host" || return 1
  local report; report=$("$h/firmware-host") || { log "host run of firmware.c failed: $report"; return 1; }
  local emulated="QEMU not available: the firmware was built but not run"
  if command -v qemu-system-arm >/dev/null; then
    # shellcheck disable=SC2086
    quiet arm-none-eabi-gcc $cpu -std=c99 -Os -Wall -Wextra -pedantic -Werror -ffunction-sections \
      -fdata-sections -DRN_FIRMWARE_SEMIHOSTING -I"$top/include" \
      "$top/tests/consumer/cortex-m/firmware.c" "$top/tests/consumer/cortex-m/startup-mps2.c" \
      "$b/libresnet.a" -lm --specs=nano.specs --specs=nosys.specs -nostartfiles \
      -T "$top/tests/consumer/cortex-m/mps2-an500.ld" -Wl,--gc-sections -o "$b/firmware-qemu.elf" ||
      return 1
    local target
    target=$(timeout 300 qemu-system-arm -M mps2-an500 -nographic -monitor none -serial none \
      -semihosting -kernel "$b/firmware-qemu.elf" 2>&1) ||
      { log "firmware failed under QEMU: $target"; return 1; }
    "$py" - "$(echo "$report" | grep '^logits')" "$(echo "$target" | grep '^logits')" <<'PY' || return 1
import struct, sys
host, target = ([struct.unpack("<f", bytes.fromhex(w)[::-1])[0] for w in s.split()[1:]]
                for s in sys.argv[1:3])
if not host or len(host) != len(target):
    sys.exit("    no comparable logits: host %r, Cortex-M %r" % tuple(sys.argv[1:3]))
err = max(abs(a - b) / max(1.0, abs(a)) for a, b in zip(host, target))
print("    Cortex-M7 (QEMU mps2-an500) logits vs host: max rel diff %.3g" % err)
sys.exit(0 if err <= 1e-5 else 1)
PY
    emulated="ran under QEMU mps2-an500, logits match the host's to 1e-5; on the target: $(echo "$target" | grep '^arena')"
  fi
  {
    echo "libresnet.a (Cortex-M7, -Os, inference only, no I/O, no stdio):"
    arm-none-eabi-size -t "$b/libresnet.a" | tail -1 | awk '{printf "  text %s  data %s  bss %s\n", $1, $2, $3}'
    echo "firmware.elf (ResNet-20 at width 8, newlib-nano, --gc-sections; bss holds the 1 MiB arena):"
    arm-none-eabi-size "$b/firmware.elf" | tail -1 | awk '{printf "  text %s  data %s  bss %s\n", $1, $2, $3}'
    echo "arena use measured on the host (64-bit pointers): $(echo "$report" | grep '^arena')"
    echo "$emulated"
  } | tee "$work/cortex-m-size.txt" | sed 's/^/    /'
}

# A Cortex-M static library with the blob reader: src/io built with RN_NO_IO
# (no file functions) and RN_NO_STDIO, inference only. dir, CPU flags.
arm_library_with_blobs() {
  configure_build "$1" -DCMAKE_TOOLCHAIN_FILE="$top/cmake/arm-none-eabi.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DRESNET_INFERENCE_ONLY=ON -DRESNET_WITH_IO=ON \
    -DRESNET_OPENMP=OFF -DRESNET_BUILD_SHARED=OFF -DRESNET_BUILD_TESTS=OFF \
    -DRESNET_BUILD_TOOLS=OFF -DRESNET_BUILD_BENCH=OFF -DRESNET_INSTALL=OFF \
    -DRESNET_ARM_CPU_FLAGS="$2" "-DRESNET_ARM_EXTRA_FLAGS=-DRN_NO_IO -DRN_NO_STDIO" || return 1
  local bad; bad=$(forbidden_imports "$1/libresnet.a")
  [ -n "$bad" ] && { log "file/stdio symbols imported: $(echo $bad)"; return 1; }
  return 0
}

# max |a - b| relative to max |b| over the "logits N" lines of two outputs,
# and against the float64 reference when given: <= 1e-5 each.
compare_firmware_logits() { # label, reference output, target output, [reference .npy]
  "$py" - "$@" <<'PY'
import struct, sys
label, ref_out, tgt_out = sys.argv[1:4]
def logits(text):
    rows = [l.split()[2:] for l in text.splitlines() if l.startswith("logits ")]
    return [[struct.unpack(">f", bytes.fromhex(w))[0] for w in r] for r in rows]
a, b = logits(ref_out), logits(tgt_out)
if not a or len(a) != len(b):
    sys.exit("    %s: no comparable logits:\n%s\n---\n%s" % (label, ref_out, tgt_out))
flat = lambda m: [x for r in m for x in r]
def rel(x, y):
    return max(abs(u - v) for u, v in zip(x, y)) / max(abs(v) for v in y)
err = rel(flat(b), flat(a))
msg = "    %s: max |target - host| = %.3g of max |host logit|" % (label, err)
ok = err <= 1e-5
if len(sys.argv) > 4:
    import numpy as np
    ref = np.load(sys.argv[4]).astype(float).ravel().tolist()
    e64 = rel(flat(b), ref)
    msg += ", %.3g of PyTorch float64's" % e64
    ok = ok and e64 <= 1e-5
print(msg)
sys.exit(0 if ok else 1)
PY
}

step_cortex_m_flash() {
  local b="$work/cortex-m-flash" fx="$top/tests/data/firmware" fw="$top/tests/consumer/cortex-m"
  rm -rf "$b"; mkdir -p "$b"
  # the host: the resnet program writes the C array; the same firmware source
  # linked against the host library gives the reference logits
  local h="$b/host"
  configure_build "$h" -DRESNET_OPENMP=OFF -DRESNET_BUILD_SHARED=OFF -DRESNET_BUILD_TESTS=OFF \
    -DRESNET_BUILD_BENCH=OFF -DRESNET_INSTALL=OFF || return 1
  quiet "$h/resnet" export resnet8 --weights "$fx/resnet8.safetensors" --c-array \
    -o "$b/resnet_blob.c" || return 1
  quiet gcc -std=c99 -O2 -Wall -Wextra -pedantic -Werror -DRN_FIRMWARE_HOST_REPORT \
    -I"$top/include" "$fw/firmware-blob.c" "$b/resnet_blob.c" "$h/libresnet.a" -lm -lpthread \
    -o "$b/firmware-host" || return 1
  local host; host=$("$b/firmware-host") || { log "host run failed: $host"; return 1; }
  compare_firmware_logits "host vs PyTorch float64" "$host" "$host" "$fx/resnet8_logits.npy" || return 1
  if ! command -v qemu-system-arm >/dev/null; then
    log "skipped: qemu-system-arm not available (the firmware cannot run)"; return 0
  fi
  local sizes="$b/sizes.txt" t name cpu machine attrs
  : > "$sizes"
  for t in "cortex-m4|-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16|mps2-an386" \
           "cortex-m7|-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16|mps2-an500"; do
    IFS='|' read -r name cpu machine <<<"$t"
    arm_library_with_blobs "$b/$name" "$cpu" || return 1
    attrs=$(arm-none-eabi-readelf -A "$b/$name/libresnet.a")
    if [ "$name" = cortex-m4 ]; then
      # no double-precision FPU: every object may use single precision only
      [ "$(echo "$attrs" | grep -c 'Tag_CPU_arch:')" -gt 0 ] &&
      [ "$(echo "$attrs" | grep -c 'Tag_CPU_arch:')" = \
        "$(echo "$attrs" | grep -c 'Tag_ABI_HardFP_use: SP only')" ] ||
        { log "not every Cortex-M4 object is single-precision only"; return 1; }
    fi
    # shellcheck disable=SC2086
    quiet arm-none-eabi-gcc $cpu -std=c99 -Os -Wall -Wextra -pedantic -Werror -ffunction-sections \
      -fdata-sections -I"$top/include" -c "$b/resnet_blob.c" -o "$b/$name/resnet_blob.o" &&
    quiet arm-none-eabi-gcc $cpu -std=c99 -Os -Wall -Wextra -pedantic -Werror -ffunction-sections \
      -fdata-sections -I"$top/include" "$fw/firmware-blob.c" "$b/$name/resnet_blob.o" \
      "$b/$name/libresnet.a" -lm --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections \
      -o "$b/$name/firmware.elf" &&
    quiet arm-none-eabi-gcc $cpu -std=c99 -Os -Wall -Wextra -pedantic -Werror -ffunction-sections \
      -fdata-sections -DRN_FIRMWARE_SEMIHOSTING -I"$top/include" "$fw/firmware-blob.c" \
      "$b/$name/resnet_blob.o" "$fw/startup-mps2.c" "$b/$name/libresnet.a" -lm --specs=nano.specs \
      --specs=nosys.specs -nostartfiles -T "$fw/mps2-an500.ld" -Wl,--gc-sections \
      -o "$b/$name/firmware-qemu.elf" || return 1
    local target
    target=$(timeout 600 qemu-system-arm -M "$machine" -nographic -monitor none -serial none \
      -semihosting -kernel "$b/$name/firmware-qemu.elf" 2>&1) ||
      { log "$name firmware failed under QEMU $machine: $target"; return 1; }
    compare_firmware_logits "$name (QEMU $machine) vs host" "$host" "$target" \
      "$fx/resnet8_logits.npy" || return 1
    {
      echo "$name ($cpu), fp32 resnet8, weights in flash:"
      arm-none-eabi-size "$b/$name/resnet_blob.o" | tail -1 |
        awk '{printf "  weights (resnet_blob.o): text %s\n", $1}'
      arm-none-eabi-size "$b/$name/firmware.elf" | tail -1 |
        awk '{printf "  firmware.elf: text %s  data %s  bss %s (the bss is the static arena)\n", $1, $2, $3}'
      echo "  on the target: $(echo "$target" | grep '^arena')"
    } >> "$sizes"
  done
  cortex_m_flash_int8 "$b" "$h" || return 1
  sed 's/^/    /' "$sizes"
}

# int8: the trained Fashion-MNIST resnet8 (tests/gen/gen_resnet8_fmnist.py)
# quantized on the host, its int8 file put into the C array as it is and run
# from a static arena; the logits of every target must equal the host int8
# path's bit for bit, and the weights must fit 128 KiB of flash. RAM: a
# first run in a 1 MiB arena measures what the library needs (the `ram`
# line: context + the arena's peak); the firmware is then linked again with
# a static arena of exactly that size and run again (same logits), and its
# whole RAM, .data + .bss (the arena, the image and logit buffers, the C
# library's data) + the deepest stack the run reached, must fit 64 KiB
# (docs/embedding.md records the breakdown).
cortex_m_flash_int8() { # work dir, host build dir
  local b="$1/int8" h="$2" fx="$top/tests/data/firmware" fw="$top/tests/consumer/cortex-m"
  local hdr='"../../data/firmware/resnet8_fmnist_images.h"' arena=1048576 t name cpu machine
  mkdir -p "$b"
  if ! "$h/resnet" quantize --help >/dev/null 2>&1; then
    log "int8 firmware skipped: this tree has no int8 models (resnet quantize)"; return 0
  fi
  [ -d /usr/share/datasets/fashion-mnist ] ||
    { log "int8 firmware: /usr/share/datasets/fashion-mnist missing (dataset-fashion-mnist)"; return 1; }
  quiet "$h/resnet" quantize resnet8 --weights "$fx/fmnist/weights.safetensors" \
    --data fashion-mnist --calib 1000 --threads 2 -o "$b/resnet8_int8.safetensors" || return 1
  local out; out=$("$h/resnet" export resnet8 --weights "$b/resnet8_int8.safetensors" --c-array \
    -o "$b/resnet_blob.c" 2>&1) || { echo "$out"; return 1; }
  echo "$out" | grep -q "as it is" ||
    { log "the int8 file was not taken as it is by rn_model_create_from_blob: $out"; return 1; }
  quiet gcc -std=c99 -O2 -Wall -Wextra -pedantic -Werror -DRN_FIRMWARE_HOST_REPORT \
    -DRN_FIXTURE_HEADER="$hdr" -DRN_FIRMWARE_ARENA_BYTES=$arena -I"$top/include" \
    "$fw/firmware-blob.c" "$b/resnet_blob.c" "$h/libresnet.a" -lm -lpthread \
    -o "$b/firmware-host" || return 1
  local host; host=$("$b/firmware-host") || { log "int8 host run failed: $host"; return 1; }
  for t in "cortex-m4|-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16|mps2-an386" \
           "cortex-m7|-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16|mps2-an500"; do
    IFS='|' read -r name cpu machine <<<"$t"
    # shellcheck disable=SC2086
    quiet arm-none-eabi-gcc $cpu -std=c99 -Os -Wall -Wextra -pedantic -Werror -ffunction-sections \
      -fdata-sections -I"$top/include" -c "$b/resnet_blob.c" -o "$b/$name-blob.o" &&
    quiet arm-none-eabi-gcc $cpu -std=c99 -Os -Wall -Wextra -pedantic -Werror -ffunction-sections \
      -fdata-sections -DRN_FIXTURE_HEADER="$hdr" -DRN_FIRMWARE_ARENA_BYTES=$arena \
      -I"$top/include" "$fw/firmware-blob.c" "$b/$name-blob.o" "$1/$name/libresnet.a" -lm \
      --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections -o "$b/$name-firmware.elf" &&
    quiet arm-none-eabi-gcc $cpu -std=c99 -Os -Wall -Wextra -pedantic -Werror -ffunction-sections \
      -fdata-sections -DRN_FIRMWARE_SEMIHOSTING -DRN_FIXTURE_HEADER="$hdr" \
      -DRN_FIRMWARE_ARENA_BYTES=$arena -I"$top/include" "$fw/firmware-blob.c" "$b/$name-blob.o" \
      "$fw/startup-mps2.c" "$1/$name/libresnet.a" -lm --specs=nano.specs --specs=nosys.specs \
      -nostartfiles -T "$fw/mps2-an500.ld" -Wl,--gc-sections -o "$b/$name-firmware-qemu.elf" ||
      return 1
    local target
    target=$(timeout 600 qemu-system-arm -M "$machine" -nographic -monitor none -serial none \
      -semihosting -kernel "$b/$name-firmware-qemu.elf" 2>&1) ||
      { log "$name int8 firmware failed under QEMU $machine: $target"; return 1; }
    if [ "$(echo "$host" | grep '^logits')" != "$(echo "$target" | grep '^logits')" ]; then
      log "$name int8 logits differ from the host's:"; echo "$host"; echo "$target"; return 1
    fi
    log "$name (QEMU $machine) int8: logits of $(echo "$target" | grep -c '^logits') images bit-identical to the host's"
    # both cores are Armv7E-M: the int8 convolution must have run its DSP path (SMLAD)
    local smlad; smlad=$(arm-none-eabi-objdump -d "$1/$name/libresnet.a" | grep -c 'smlad')
    [ "${smlad:-0}" -gt 0 ] ||
      { log "$name: libresnet.a has no SMLAD: the int8 convolution's DSP path was not built"; return 1; }
    local weights; weights=$(arm-none-eabi-size "$b/$name-blob.o" | tail -1 | awk '{print $1}')
    [ "$weights" -le 131072 ] || { log "int8 weights take $weights bytes of flash, over 128 KiB"; return 1; }
    # the same firmware with a static arena of exactly what the library needed
    local need fit
    need=$(echo "$target" | sed -n 's/^ram arena \([0-9]*\):.*/\1/p')
    [ -n "$need" ] || { log "$name: no 'ram arena' line in the firmware's output"; return 1; }
    need=$(( (need + 7) / 8 * 8 ))
    # shellcheck disable=SC2086
    quiet arm-none-eabi-gcc $cpu -std=c99 -Os -Wall -Wextra -pedantic -Werror -ffunction-sections \
      -fdata-sections -DRN_FIRMWARE_SEMIHOSTING -DRN_FIXTURE_HEADER="$hdr" \
      -DRN_FIRMWARE_ARENA_BYTES="$need" -I"$top/include" "$fw/firmware-blob.c" "$b/$name-blob.o" \
      "$fw/startup-mps2.c" "$1/$name/libresnet.a" -lm --specs=nano.specs --specs=nosys.specs \
      -nostartfiles -T "$fw/mps2-an500.ld" -Wl,--gc-sections -o "$b/$name-firmware-fit.elf" ||
      return 1
    fit=$(timeout 600 qemu-system-arm -M "$machine" -nographic -monitor none -serial none \
      -semihosting -kernel "$b/$name-firmware-fit.elf" 2>&1) ||
      { log "$name int8 firmware failed in a $need-byte arena: $fit"; return 1; }
    [ "$(echo "$host" | grep '^logits')" = "$(echo "$fit" | grep '^logits')" ] ||
      { log "$name int8 logits in a $need-byte arena differ from the host's"; return 1; }
    local data bss stack ram
    read -r data bss < <(arm-none-eabi-size "$b/$name-firmware-fit.elf" | tail -1 | awk '{print $2, $3}')
    stack=$(echo "$fit" | sed -n 's/^stack \([0-9]*\) bytes/\1/p')
    [ -n "$stack" ] || { log "$name: no 'stack' line in the firmware's output"; return 1; }
    ram=$((data + bss + stack))
    {
      echo "$name ($cpu), int8 resnet8 (Fashion-MNIST, 28x28), weights in flash:"
      echo "  weights (resnet_blob.o): text $weights (goal: 131072)"
      arm-none-eabi-size "$b/$name-firmware.elf" | tail -1 |
        awk '{printf "  firmware.elf: text %s (code and weights)\n", $1}'
      echo "  RAM $ram bytes (goal: 65536) = data $data + bss $bss + stack $stack"
      echo "    bss: the library's arena $need bytes ($(echo "$fit" | sed -n 's/^ram arena [0-9]*: //p')) + the image, logits and C library $((bss - need))"
    } >> "$1/sizes.txt"
    log "$name int8 RAM: $ram bytes (data $data + bss $bss with a $need-byte arena + stack $stack)"
    [ "$ram" -le 65536 ] || { log "$name: int8 resnet8 needs $ram bytes of RAM, over 64 KiB"; return 1; }
  done
}

step_amalgamation() {
  need_reference || return 1
  [ -f "$top/tools/amalgamate.py" ] || { log "skipped: no tools/amalgamate.py"; return 0; }
  local b="$work/amalgamation"
  rm -rf "$b"; mkdir -p "$b"
  quiet "$py" "$top/tools/amalgamate.py" -o "$b" &&
    quiet gcc -std=c99 -ffp-contract=off -O2 -Wall -Wextra -pedantic -Werror -I"$b" -c "$b/resnet.c" -o "$b/resnet.o" &&
    quiet clang -std=c99 -O2 -Wall -Wextra -pedantic -Werror -I"$b" -c "$b/resnet.c" -o "$b/resnet-clang.o" &&
    quiet gcc -std=c99 -O2 -Wall -Wextra -pedantic -Werror -I"$b" "$top/tests/consumer/main.c" \
      "$b/resnet.o" -lm -o "$b/consumer" &&
    run_consumer "$b/consumer" amalgamation || return 1
  log "resnet.c: $(wc -l < "$b/resnet.c") lines, resnet.h: $(wc -l < "$b/resnet.h") lines"
  compare_logits "$logits/package-static.bin" "$logits/amalgamation.bin" close
}

step_cpp() {
  need_install || return 1
  local b="$work/cpp" ok=0
  rm -rf "$b"
  quiet cmake -S "$top/examples/cpp" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" &&
    quiet cmake --build "$b" || return 1
  local out; out=$("$b/resnet_cpp_example" 2) || { echo "$out"; return 1; }
  echo "$out" | sed 's/^/    | /'
  local cxx
  for cxx in g++ clang++; do
    quiet $cxx -std=c++11 -Wall -Wextra -pedantic -Werror -I"$prefix/include" \
      -c "$top/examples/cpp/main.cpp" -o "$b/main-$cxx.o" || ok=1
  done
  return $ok
}

step_python() {
  need_install || return 1
  "$py" -c 'import numpy' 2>/dev/null || { log "python3 with numpy missing"; return 1; }
  local out runner=("$top/bindings/python/tests/run.py")
  if "$py" -c 'import pytest' 2>/dev/null; then
    runner=(-m pytest -q -p no:cacheprovider "$top/bindings/python/tests")
  fi
  out=$(RESNET_LIBRARY="$prefix/lib/libresnet.so" "$py" "${runner[@]}" 2>&1) ||
    { echo "$out" | tail -40; return 1; }
  log "${runner[*]}: $(echo "$out" | tail -1)"
}

# ---- driver -------------------------------------------------------------------------
failed=() passed=()
for s in $steps; do
  echo "=== $s"
  start=$(date +%s)
  if "step_${s//-/_}"; then passed+=("$s"); else failed+=("$s"); echo "    -> $s FAILED"; fi
  log "($(( $(date +%s) - start ))s)"
done
echo "=== builds.sh: ${#passed[@]} passed (${passed[*]}), ${#failed[@]} failed (${failed[*]:-})"
[ ${#failed[@]} = 0 ]
