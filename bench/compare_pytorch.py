#!/usr/bin/python3
"""Side-by-side speed of libresnet and PyTorch on the workloads of the "Speed" issue.

Each workload runs through libresnet (`resnet bench ...` as a subprocess) and through
PyTorch (in this process: best of NCHW and channels_last, torch.set_num_threads(T), eval
mode and no autograd for inference, a real SGD step for training: forward, cross-entropy,
backward, optimizer step), alternating the two for several rounds, so that both see the same
state of the machine. It prints the median of each side, the speed-up (libresnet over
PyTorch, > 1 = libresnet faster) and each target of the issue as met or missed, and by how
much; then the thread scaling of ResNet-50 inference and its peak memory above the weights.
The "-fold" rows run batch-1 inference with every batch norm folded into its convolution on
both sides (`resnet bench --fold`; fuse_conv_bn_eval in PyTorch), the form a deployment uses.

Usage:
  bench/compare_pytorch.py [--resnet build/resnet] [--rounds 3] [--seconds 2] [--threads 2]
                           [--only NAME[,NAME...]] [--quick] [--markdown] [--json FILE] [--bf16]
  --threads T  the thread count of the multi-threaded workloads (default 2; the "1t" ones
               keep 1 thread). --only takes workload names or substrings ("resnet50").
  --bf16       libresnet's training workloads run `resnet bench --train --bf16`
               (RN_OPT_TRAIN_BF16: bf16 products, fp32 sums); PyTorch's stay fp32.
  --quick      one round of short runs: checks that everything works, not the numbers.
The default run takes about 6-10 minutes on a 2-core machine. Speed is never asserted in tests.
PyTorch's CIFAR ResNets come from bench/torch_resnet_cifar.py (one definition of the model).
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class Workload:
    def __init__(self, name, arch, batch, size, train, one_thread, target, rel, issue_torch,
                 fold=False):
        self.name, self.arch, self.batch, self.size = name, arch, batch, size
        self.train, self.one_thread = train, one_thread
        self.fold = fold            # both sides with every batch norm folded into its conv
        self.target = target        # ("ms", max ms per batch) or ("ips", min images/s) or None
        self.rel = rel              # minimum speed-up over PyTorch, or None
        self.issue_torch = issue_torch  # the issue's PyTorch figure, in the target's unit


# The issue's targets ("Speed"): inference at batch 1, 224x224, at most 8.8 ms (ResNet-18)
# and 21 ms (ResNet-50) on 2 threads, about 1.5x PyTorch; ResNet-18 on 1 thread at most
# 16 ms; training at least 1.5x PyTorch: ResNet-20 1760 images/s, ResNet-56 600,
# ResNet-50 at batch 16 12 images/s. The PyTorch figures are those the issue quotes.
WORKLOADS = [
    Workload("resnet18-infer-b1", "resnet18", 1, 224, False, False, ("ms", 8.8), 1.5, 12.8),
    Workload("resnet18-infer-b1-1t", "resnet18", 1, 224, False, True, ("ms", 16.0), None, None),
    Workload("resnet50-infer-b1", "resnet50", 1, 224, False, False, ("ms", 21.0), 1.5, 32.1),
    Workload("resnet50-infer-b1-1t", "resnet50", 1, 224, False, True, None, None, None),
    Workload("resnet50-infer-b16", "resnet50", 16, 224, False, False, None, None, 30.6),
    # deployment form, no target of its own: libresnet `resnet bench --fold`, PyTorch with
    # torch.nn.utils.fusion.fuse_conv_bn_eval on every conv + BN pair (the issue's ncnn
    # figures are with BN folded too)
    Workload("resnet18-infer-b1-fold", "resnet18", 1, 224, False, False, None, None, None, True),
    Workload("resnet50-infer-b1-fold", "resnet50", 1, 224, False, False, None, None, None, True),
    Workload("resnet20-train-b128", "resnet20", 128, 32, True, False, ("ips", 1760.0), 1.5, 1172.0),
    Workload("resnet56-train-b128", "resnet56", 128, 32, True, False, ("ips", 600.0), 1.5, 401.0),
    Workload("resnet50-train-b16", "resnet50", 16, 224, True, False, ("ips", 12.0), 1.5, 7.9),
]
SCALING_TARGET = 1.8   # 2 threads >= 1.8x one thread, ResNet-50 batch-1 inference
MEMORY_TARGET_MB = 40  # peak RSS of ResNet-50 batch-1 inference <= weights + 40 MB


def fail(msg, code=1):
    sys.stderr.write(f"compare_pytorch.py: {msg}\n")
    sys.exit(code)


def import_torch():
    try:
        import torch
        import torchvision
    except ImportError as e:
        fail(f"PyTorch is not available to {sys.executable} ({e}). Install it (Debian: "
             "apt-get install python3-torch python3-torchvision) and run again; "
             "no comparison is made without it.", 2)
    sys.path.insert(0, HERE)
    import torch_resnet_cifar
    return torch, torchvision, torch_resnet_cifar


# ---- libresnet ---------------------------------------------------------------------------

def run_resnet(binary, w, threads, seconds, bf16=False):
    cmd = [binary, "bench", w.arch, "--batch", str(w.batch), "--threads", str(threads),
           "--size", f"{w.size}x{w.size}", "--seconds", str(seconds)]
    if w.train:
        cmd.append("--train")
        if bf16:
            cmd.append("--bf16")
    if w.fold:
        cmd.append("--fold")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        fail(f"{' '.join(cmd)} failed (exit {p.returncode}):\n{p.stdout}{p.stderr}")
    out = {"command": " ".join(["resnet"] + cmd[1:])}
    patterns = {
        "ips": r"^images/s: ([0-9.]+)",
        "ms": r"^ms per batch \(median\): ([0-9.]+)",
        "gflops": r"^GFLOP/s: ([0-9.]+)",
        "peak_pct": r"([0-9.]+)% of peak",
        "rss_mib": r"^peak RSS: ([0-9.]+) MiB",
        "weights_mib": r"^weights: ([0-9.]+) MiB",
        "isa": r"kernels (\w+)",
    }
    for key, pat in patterns.items():
        m = re.search(pat, p.stdout, re.M)
        if m and m.group(1) is not None:
            out[key] = m.group(1) if key == "isa" else float(m.group(1))
    for key in ("ips", "ms"):
        if key not in out:
            fail(f"cannot read '{key}' from the output of {' '.join(cmd)}:\n{p.stdout}")
    return out


# ---- PyTorch -------------------------------------------------------------------------------

def fold_batchnorm(torch, net):
    """Folds every (conv, BN) pair of a torchvision ResNet in eval mode into the conv
    (a bias), leaving an identity where the BN was."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    def fuse(parent, conv_name, bn_name):
        conv, bn = getattr(parent, conv_name), getattr(parent, bn_name)
        setattr(parent, conv_name, fuse_conv_bn_eval(conv, bn))
        setattr(parent, bn_name, torch.nn.Identity())

    fuse(net, "conv1", "bn1")
    for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
        for block in layer:
            for i in (1, 2, 3):
                if hasattr(block, f"conv{i}"):
                    fuse(block, f"conv{i}", f"bn{i}")
            if block.downsample is not None:
                fuse(block.downsample, "0", "1")


class TorchSide:
    """One workload's PyTorch models, NCHW and channels_last, built once."""

    def __init__(self, torch, torchvision, cifar, w):
        self.torch, self.w = torch, w
        torch.manual_seed(0)
        self.variants = {}
        for fmt in ("nchw", "channels_last"):
            if w.arch.startswith("resnet") and w.size == 32:
                net = cifar.cifar_resnet(int(w.arch[len("resnet"):]))
                classes = 10
            else:
                net = getattr(torchvision.models, w.arch)()
                classes = 1000
            x = torch.randn(w.batch, 3, w.size, w.size)
            y = torch.randint(0, classes, (w.batch,))
            if fmt == "channels_last":
                net = net.to(memory_format=torch.channels_last)
                x = x.contiguous(memory_format=torch.channels_last)
            opt = None
            if w.train:
                net.train()
                # lr 0: the update's full cost without drifting (as `resnet bench --train`)
                opt = torch.optim.SGD(net.parameters(), lr=0.0, momentum=0.9)
            else:
                net.eval()
                if w.fold:
                    fold_batchnorm(torch, net)
            self.variants[fmt] = (net, x, y, opt)

    def step(self, fmt):
        torch = self.torch
        net, x, y, opt = self.variants[fmt]
        if self.w.train:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
        else:
            with torch.inference_mode():
                net(x)

    def time(self, fmt, threads, seconds, warmup):
        """Median seconds per batch, as `resnet bench` takes it: warm-up steps, then at
        least 3 timed steps and `seconds` of them."""
        self.torch.set_num_threads(threads)
        for _ in range(warmup):
            self.step(fmt)
        times, total = [], 0.0
        while len(times) < 3 or total < seconds:
            t0 = time.perf_counter()
            self.step(fmt)
            dt = time.perf_counter() - t0
            times.append(dt)
            total += dt
        return statistics.median(times)


# ---- report --------------------------------------------------------------------------------

def judge_target(target, ms, ips):
    if target is None:
        return "-", "-"
    kind, value = target
    if kind == "ms":
        text = f"<= {value:g} ms"
        if ms <= value:
            return text, f"met, {value - ms:.1f} ms under"
        return text, f"missed by {ms - value:.1f} ms ({ms / value:.2f}x the target time)"
    text = f">= {value:g} img/s"
    if ips >= value:
        return text, f"met, {ips - value:.1f} img/s over"
    return text, f"missed by {value - ips:.1f} img/s (needs {value / ips:.2f}x)"


def judge_rel(rel, speedup):
    if rel is None:
        return "-", "-"
    if speedup >= rel:
        return f">= {rel:g}x", "met"
    return f">= {rel:g}x", f"missed by {rel / speedup:.2f}x"


def machine_description():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--resnet", default=os.path.join(ROOT, "build", "resnet"),
                    help="the resnet program (default: build/resnet)")
    ap.add_argument("--rounds", type=int, default=None, help="alternating rounds (default 3)")
    ap.add_argument("--seconds", type=float, default=None,
                    help="seconds timed per side and round (default 2)")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads of the multi-threaded workloads (default 2)")
    ap.add_argument("--only", default=None, help="comma-separated workload names or substrings")
    ap.add_argument("--quick", action="store_true", help="one short round: a smoke test")
    ap.add_argument("--markdown", action="store_true", help="print the summary as Markdown")
    ap.add_argument("--bf16", action="store_true",
                    help="libresnet's training rows with --bf16 (RN_OPT_TRAIN_BF16; PyTorch stays fp32)")
    ap.add_argument("--json", default=None, help="write every sample to this file")
    args = ap.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (0.3 if args.quick else 2.0)
    warmup = 1 if args.quick else 2
    if rounds < 1 or seconds <= 0 or args.threads < 1:
        fail("--rounds, --seconds and --threads must be positive", 2)

    torch, torchvision, cifar = import_torch()
    binary = args.resnet
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        fail(f"no resnet program at '{binary}': build it (cmake --build build) or pass --resnet PATH", 2)
    version = subprocess.run([binary, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()

    chosen = WORKLOADS
    if args.only:
        keys = [k for k in args.only.split(",") if k]
        chosen = [w for w in WORKLOADS if any(k == w.name or k in w.name for k in keys)]
        if not chosen:
            fail(f"--only {args.only}: no workload matches; the names are "
                 + ", ".join(w.name for w in WORKLOADS), 2)

    onednn = re.search(r"(?:oneDNN|MKL-DNN) v([0-9.]+)", torch.__config__.show())
    started = datetime.datetime.now(datetime.timezone.utc)
    print(f"date: {started:%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine_description()}")
    print(f"libresnet: {version} ({binary})")
    print(f"PyTorch: {torch.__version__}, oneDNN {onednn.group(1) if onednn else '?'}, "
          f"torchvision {torchvision.__version__}")
    print(f"command: {' '.join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:])}")
    print(f"{rounds} alternating rounds, {seconds:g} s timed per side and round, medians; "
          f"multi-threaded workloads on {args.threads} threads")
    sys.stdout.flush()

    results = []
    for w in chosen:
        threads = 1 if w.one_thread else args.threads
        side = TorchSide(torch, torchvision, cifar, w)
        lib_ms, lib_runs = [], []
        torch_s = {"nchw": [], "channels_last": []}
        for r in range(rounds):
            # alternate which side goes first, so neither always follows the other
            order = ("lib", "torch") if r % 2 == 0 else ("torch", "lib")
            for who in order:
                if who == "lib":
                    out = run_resnet(binary, w, threads, seconds, args.bf16)
                    lib_ms.append(out["ms"])
                    lib_runs.append(out)
                else:
                    for fmt in torch_s:
                        torch_s[fmt].append(side.time(fmt, threads, seconds, warmup))
                time.sleep(0.2)  # let the other side's idle worker threads stop spinning
        del side
        lms = statistics.median(lib_ms)
        tmed = {fmt: 1e3 * statistics.median(v) for fmt, v in torch_s.items()}
        best_fmt = min(tmed, key=tmed.get)
        tms = tmed[best_fmt]
        lips, tips = 1e3 * w.batch / lms, 1e3 * w.batch / tms
        res = {
            "name": w.name, "arch": w.arch, "batch": w.batch, "size": w.size,
            "mode": "train" if w.train else "infer", "threads": threads,
            "lib_ms": lms, "lib_ips": lips, "lib_ms_rounds": lib_ms,
            "torch_ms": tms, "torch_ips": tips, "torch_format": best_fmt,
            "torch_ms_rounds": {f: [1e3 * t for t in v] for f, v in torch_s.items()},
            "speedup": lips / tips,
            "rss_mib": max(o.get("rss_mib", 0.0) for o in lib_runs),
            "weights_mib": lib_runs[0].get("weights_mib"),
            "isa": lib_runs[0].get("isa", "?"),
            "lib_command": lib_runs[0]["command"],
        }
        res["target"], res["target_result"] = judge_target(w.target, lms, lips)
        res["rel_target"], res["rel_result"] = judge_rel(w.rel, res["speedup"])
        results.append((w, res))
        print(f"{w.name}: libresnet {lms:.2f} ms ({lips:.1f} img/s) rounds "
              f"[{', '.join(f'{v:.2f}' for v in lib_ms)}]; PyTorch {tms:.2f} ms "
              f"({tips:.1f} img/s, {best_fmt}) nchw {tmed['nchw']:.2f} ms, channels_last "
              f"{tmed['channels_last']:.2f} ms; speed-up {res['speedup']:.2f}x")
        sys.stdout.flush()

    by_name = {w.name: res for w, res in results}
    extra = []
    two, one = by_name.get("resnet50-infer-b1"), by_name.get("resnet50-infer-b1-1t")
    if two and one:
        lib_scale = one["lib_ms"] / two["lib_ms"]
        torch_scale = one["torch_ms"] / two["torch_ms"]
        verdict = "met" if lib_scale >= SCALING_TARGET else \
            f"missed by {SCALING_TARGET - lib_scale:.2f} ({lib_scale / SCALING_TARGET:.0%} of the target)"
        extra.append(f"thread scaling, ResNet-50 batch-1 inference: 1 thread {one['lib_ms']:.2f} ms, "
                     f"{args.threads} threads {two['lib_ms']:.2f} ms: {lib_scale:.2f}x "
                     f"(target >= {SCALING_TARGET}x: {verdict}); PyTorch {torch_scale:.2f}x")
    for name in ("resnet50-infer-b1", "resnet50-infer-b1-1t"):
        r = by_name.get(name)
        if r and r.get("weights_mib") is not None and r["rss_mib"]:
            above_mb = (r["rss_mib"] - r["weights_mib"]) * 1.048576
            verdict = "met" if above_mb <= MEMORY_TARGET_MB else \
                f"missed by {above_mb - MEMORY_TARGET_MB:.1f} MB"
            extra.append(f"peak memory, ResNet-50 batch-1 inference, {r['threads']} thread(s): "
                         f"peak RSS {r['rss_mib']:.1f} MiB, weights {r['weights_mib']:.1f} MiB, "
                         f"above the weights {above_mb:.1f} MB (target <= {MEMORY_TARGET_MB} MB: "
                         f"{verdict})")

    header = ["workload", "thr", "libresnet", "PyTorch (best layout)", "speed-up",
              "target", "result", "vs PyTorch", "result", "PyTorch in the issue"]
    rows = []
    for w, r in results:
        unit_ms = not w.train and w.batch == 1  # latency: ms; throughput: images/s
        lib = f"{r['lib_ms']:.2f} ms" if unit_ms else f"{r['lib_ips']:.1f} img/s"
        tor = (f"{r['torch_ms']:.2f} ms" if unit_ms else f"{r['torch_ips']:.1f} img/s") + \
            f" ({r['torch_format']})"
        issue = "-" if w.issue_torch is None else \
            (f"{w.issue_torch:g} ms" if unit_ms else f"{w.issue_torch:g} img/s")
        rows.append([w.name, str(r["threads"]), lib, tor, f"{r['speedup']:.2f}x", r["target"],
                     r["target_result"], r["rel_target"], r["rel_result"], issue])
    print()
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" if i in (0, 5, 6, 7, 8) else "---:" for i in range(len(header))) + "|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print()
        for line in extra:
            print(f"- {line}")
    else:
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        print("  ".join(h.ljust(widths[i]) for i, h in enumerate(header)))
        for row in rows:
            print("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)))
        print()
        for line in extra:
            print(line)
    ended = datetime.datetime.now(datetime.timezone.utc)
    print(f"\nlibresnet kernels: {results[0][1]['isa'] if results else '?'}; speed-up = PyTorch time / "
          f"libresnet time (> 1: libresnet faster); run {started:%H:%M}-{ended:%H:%M} UTC")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": f"{started:%Y-%m-%d %H:%M} UTC", "machine": machine_description(),
                       "libresnet": version, "torch": torch.__version__,
                       "rounds": rounds, "seconds": seconds, "threads": args.threads,
                       "results": [r for _, r in results], "extra": extra}, f, indent=1)


if __name__ == "__main__":
    main()
