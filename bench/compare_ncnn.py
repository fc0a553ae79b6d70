#!/usr/bin/python3
"""Side-by-side fp32 and int8 inference speed of libresnet and ncnn, as a user of each would measure it.

ncnn is not part of this repository: build it yourself in a folder of your choice, e.g.

  git clone https://github.com/Tencent/ncnn && cd ncnn && mkdir build && cd build
  cmake .. -DCMAKE_BUILD_TYPE=Release -DNCNN_VULKAN=OFF -DNCNN_BUILD_BENCHMARK=ON \\
           -DNCNN_BUILD_TOOLS=OFF -DNCNN_BUILD_EXAMPLES=OFF -DNCNN_INT8=ON
  cmake --build . -j2 --target benchncnn

and pass that build folder (the int8 rows need -DNCNN_INT8=ON; without it select the fp32 rows
with --only fp32). ncnn's side is its own benchmark program, benchncnn, on its own
benchmark models (benchmark/models/resnet18.param and resnet50.param in its source tree, found
next to the build folder or given with --models): fp32, Winograd and packed GEMM on, batch
norm folded into the convolutions by its converter, weights zero-filled (the time does not
depend on them). libresnet's side is `resnet bench ARCH --fold` (every batch norm folded into
its convolution, rn_model_fold_batchnorm), with `--packed` at batch 1 (rn_model_pack_for_inference:
the convolution weights kept only in the packed form the plan reads). ncnn's ResNet-50 strides the first 1x1 of each
bottleneck (the Caffe model, 3.86 GMAC), so it is compared with the `resnet50v1` preset; the
torchvision form (`resnet50`, v1.5, 4.09 GMAC) is printed for libresnet alone.

int8 rows: ncnn's own int8 benchmark models (resnet18_int8.param, resnet50_int8.param: every
convolution int8 with its per-channel weight scales and per-tensor input scale, zero weights),
run by the same benchncnn (its default options turn int8 inference on); against
`resnet bench ARCH --int8` (the int8 model quantized from random weights, calibrated on random
batches; docs/int8.md). Timing does not depend on the weights' values on either side.

Rows: ResNet-18 and ResNet-50 v1 at batch 1, 224x224, with 1 and 2 threads, fp32 and int8; and
ResNet-50 v1 fp32 throughput at batch 8 with 2 threads (ncnn runs one image per extraction: its images/s is 1000
over its ms per image; libresnet runs `--batch 8`). Each round runs every row on both sides,
alternating which goes first, so that both see the same state of the machine; the table holds
the medians over rounds (libresnet: its median ms per batch of each run; ncnn: benchncnn's
average of each run) and the ratio libresnet time / ncnn time (< 1: libresnet faster).

Usage:
  bench/compare_ncnn.py NCNN_BUILD [--models DIR] [--resnet build/resnet] [--rounds 5]
                        [--seconds 2] [--loops N] [--only int8,resnet18 fp32,...] [--markdown]
                        [--ncnn-env NAME=VALUE ...]
A default run takes about 10 minutes on a 2-core machine; after the table come each side's
two-thread scaling and its int8 speed-up over fp32. Speed is never asserted in tests.
"""
import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (name, libresnet arch, ncnn param, threads, batch); batch > 1 rows compare images/s;
# rows whose name has "int8" run libresnet with --int8 rather than --fold
ROWS = [
    ("resnet18 fp32 1t", "resnet18", "resnet18.param", 1, 1),
    ("resnet18 fp32 2t", "resnet18", "resnet18.param", 2, 1),
    ("resnet50v1 fp32 1t", "resnet50v1", "resnet50.param", 1, 1),
    ("resnet50v1 fp32 2t", "resnet50v1", "resnet50.param", 2, 1),
    ("resnet50v1 fp32 b8 2t", "resnet50v1", "resnet50.param", 2, 8),
    ("resnet18 int8 1t", "resnet18", "resnet18_int8.param", 1, 1),
    ("resnet18 int8 2t", "resnet18", "resnet18_int8.param", 2, 1),
    ("resnet50v1 int8 1t", "resnet50v1", "resnet50_int8.param", 1, 1),
    ("resnet50v1 int8 2t", "resnet50v1", "resnet50_int8.param", 2, 1),
]
# libresnet alone: torchvision's ResNet-50 (v1.5), which ncnn's benchmark has no model of
EXTRA = [("resnet50 (v1.5) fp32 2t", "resnet50", 2, 1)]


def find_benchncnn(build):
    for rel in ("benchmark/benchncnn", "benchncnn", "bin/benchncnn"):
        p = os.path.join(build, rel)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    sys.exit("compare_ncnn: no benchncnn under %s (build ncnn with -DNCNN_BUILD_BENCHMARK=ON)"
             % build)


def find_models(build, given):
    cands = [given] if given else [os.path.join(build, "..", "benchmark", "models"),
                                   os.path.join(build, "benchmark", "models")]
    for d in cands:
        if d and os.path.isfile(os.path.join(d, "resnet50.param")):
            return os.path.abspath(d)
    sys.exit("compare_ncnn: no resnet50.param in %s (pass --models NCNN_SRC/benchmark/models)"
             % " or ".join(c for c in cands if c))


def run_ncnn(exe, models, param, threads, loops, env=None):
    """benchncnn LOOPS THREADS POWERSAVE GPU COOLDOWN param=... shape=...: its average ms."""
    cmd = [exe, str(loops), str(threads), "0", "-1", "0",
           "param=" + os.path.join(models, param), "shape=[224,224,3]"]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=models, env=env)
    m = re.search(r"min =\s*([\d.]+)\s+max =\s*([\d.]+)\s+avg =\s*([\d.]+)", r.stderr + r.stdout)
    if r.returncode or not m:
        sys.exit("compare_ncnn: %s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    avg = float(m.group(3))
    if avg <= 0.0:
        # an ncnn built without int8 loads the int8 models and skips their layers
        sys.exit("compare_ncnn: benchncnn timed %s at %s ms: this ncnn build did not run it%s"
                 % (param, m.group(3), " (int8 rows need ncnn built with -DNCNN_INT8=ON; "
                    "--only 'fp32' skips them)" if "int8" in param else ""))
    return avg


def run_resnet(exe, arch, threads, batch, seconds, int8=False):
    """resnet bench ARCH --fold (or --int8): its median ms per batch. Batch-1 fp32 rows add
    --packed (the weights kept only in the packed form the plan reads, as an inference-only
    deployment would: no packing per call, and less memory); at batch 8 the per-call GEMM of the
    1x1 layers on large maps was as fast or faster (docs/performance.md, "Memory")."""
    cmd = [exe, "bench", arch, "--int8" if int8 else "--fold", "--threads", str(threads),
           "--batch", str(batch), "--seconds", str(seconds)]
    if not int8 and batch == 1:
        cmd.append("--packed")
    r = subprocess.run(cmd, capture_output=True, text=True)
    m = re.search(r"ms per batch \(median\):\s*([\d.]+)", r.stdout)
    if r.returncode or not m:
        sys.exit("compare_ncnn: %s failed:\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return float(m.group(1))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ncnn_build", help="an ncnn build folder holding benchmark/benchncnn")
    ap.add_argument("--models", help="ncnn's benchmark/models folder (default: next to the build)")
    ap.add_argument("--resnet", default=os.path.join(ROOT, "build", "resnet"),
                    help="the resnet program (default build/resnet)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0, help="libresnet seconds per run")
    ap.add_argument("--loops", type=int, default=0,
                    help="benchncnn loops per run (default: about --seconds worth)")
    ap.add_argument("--only", help="comma-separated substrings of row names")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    ap.add_argument("--ncnn-env", action="append", default=[], metavar="NAME=VALUE",
                    help="an environment variable for benchncnn only (repeatable), e.g. "
                         "OMP_WAIT_POLICY=passive: ncnn's OpenMP threads spin at every barrier, "
                         "which a busy machine punishes")
    a = ap.parse_args()
    ncnn_env = dict(os.environ)
    for kv in a.ncnn_env:
        k, _, v = kv.partition("=")
        ncnn_env[k] = v
    bench = find_benchncnn(a.ncnn_build)
    models = find_models(a.ncnn_build, a.models)
    if not os.access(a.resnet, os.X_OK):
        sys.exit("compare_ncnn: %s is not the resnet program (build it: cmake --build build "
                 "--target resnet_cli)" % a.resnet)
    rows = [r for r in ROWS if not a.only or any(s in r[0] for s in a.only.split(","))]
    extra = [r for r in EXTRA if not a.only or any(s in r[0] for s in a.only.split(","))]
    ncnn_ms = {r[0]: [] for r in rows}
    lib_ms = {r[0]: [] for r in rows + extra}
    print("%s UTC, %s, %d rounds (the machine may be shared: figures are medians of "
          "alternating runs)%s" % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
                                   cpu_model(), a.rounds,
                                   "; ncnn with " + " ".join(a.ncnn_env) if a.ncnn_env else ""),
          flush=True)
    for rnd in range(a.rounds):
        for name, arch, param, threads, batch in rows:
            # about --seconds of ncnn work per run, from its last time (or a guess)
            last = ncnn_ms[name][-1] if ncnn_ms[name] else 60.0
            loops = a.loops or max(4, int(a.seconds * 1000 / last))
            sides = [lambda: ncnn_ms[name].append(run_ncnn(bench, models, param, threads, loops,
                                                          ncnn_env)),
                     lambda: lib_ms[name].append(run_resnet(a.resnet, arch, threads, batch,
                                                            a.seconds, "int8" in name))]
            if rnd % 2:
                sides.reverse()
            for s in sides:
                s()
            print("round %d %-18s ncnn %8.2f ms/image  libresnet %8.2f ms/batch" %
                  (rnd + 1, name, ncnn_ms[name][-1], lib_ms[name][-1]), flush=True)
        for name, arch, threads, batch in extra:
            lib_ms[name].append(run_resnet(a.resnet, arch, threads, batch, a.seconds))
    print()
    if a.markdown:
        print("| row | ncnn | libresnet | libresnet / ncnn time |")
        print("|---|---|---|---|")
    else:
        print("%-20s %14s %14s %10s" % ("row", "ncnn", "libresnet", "lib/ncnn"))
    for name, arch, param, threads, batch in rows:
        n, l = statistics.median(ncnn_ms[name]), statistics.median(lib_ms[name])
        if batch > 1:  # throughput: images/s, and time per image for the ratio
            ns, ls, ratio = "%.1f img/s" % (1000.0 / n), "%.1f img/s" % (1000.0 * batch / l), \
                l / batch / n
        else:
            ns, ls, ratio = "%.2f ms" % n, "%.2f ms" % l, l / n
        if a.markdown:
            print("| %s | %s | %s | %.2f |" % (name, ns, ls, ratio))
        else:
            print("%-20s %14s %14s %10.2f" % (name, ns, ls, ratio))
    for name, arch, threads, batch in extra:
        l = statistics.median(lib_ms[name])
        if a.markdown:
            print("| %s | - | %.2f ms | - |" % (name, l))
        else:
            print("%-20s %14s %14s %10s" % (name, "-", "%.2f ms" % l, "-"))
    # thread scaling, batch 1: one-thread time over two-thread time, each side
    for arch in ("resnet18 fp32", "resnet50v1 fp32", "resnet18 int8", "resnet50v1 int8"):
        one, two = "%s 1t" % arch, "%s 2t" % arch
        if one in ncnn_ms and two in ncnn_ms:
            print("%s 2 threads over 1: ncnn %.2fx, libresnet %.2fx" % (
                arch, statistics.median(ncnn_ms[one]) / statistics.median(ncnn_ms[two]),
                statistics.median(lib_ms[one]) / statistics.median(lib_ms[two])))
    # int8 over fp32 on each side, where both rows ran (libresnet's target: 2x)
    for arch in ("resnet18", "resnet50v1"):
        for t in ("1t", "2t"):
            f, q = "%s fp32 %s" % (arch, t), "%s int8 %s" % (arch, t)
            if f in ncnn_ms and q in ncnn_ms:
                print("%s %s int8 speed-up over fp32: ncnn %.2fx, libresnet %.2fx" % (
                    arch, t, statistics.median(ncnn_ms[f]) / statistics.median(ncnn_ms[q]),
                    statistics.median(lib_ms[f]) / statistics.median(lib_ms[q])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
