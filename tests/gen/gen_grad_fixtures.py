#!/usr/bin/env python3
"""Float64 gradient references for ill-conditioned training steps:
tests/data/grad/<case>.npy, read by tests/test_grad_accuracy.c.

Run from the repository root:  /usr/bin/python3 tests/gen/gen_grad_fixtures.py
(see tests/gen/README.md for the torch version used).

Each case is one train-mode forward + backward of the CIFAR ResNet-20 of
gen_model_fixtures.py (option-A shortcuts, torchvision names) on a small
batch: few images and one input channel make batch norm divide by a small
spread, which amplifies any rounding of the convolutions before it. Weights
(non-trivial BN gamma, beta and running statistics included) and inputs come
from weights_rng.py with the case's seed, labels from the input stream + 1,
so the C test regenerates them bit for bit (tests/parity_weights.h).

Stored per case (float32, one flat array), per parameter in state_dict order:

  err32        PyTorch float32's own relative L2 error on this tensor (the
               C test's bound is max(1e-3, 10 * err32))
  values       the float64 gradient rounded to float32, for tensors of up to
               FULL_MAX values; for larger ones PROJ projections
               <g, p_k>, p_k = weights_rng.uniform(PROJ_SEED, t * PROJ + k,
               count, -1, 1) (t: the tensor's state_dict index), from which
               the C test estimates relative L2 errors (Johnson-Lindenstrauss:
               within about 20% with 64 projections)

preceded by the loss. bf16_torch.npy holds, per case, PyTorch's own bf16
mixed precision (CPU autocast: bf16 convolutions, fp32 batch norm) error
against float64, the worst tensor's and all parameters' relative L2, the
yardstick of RN_OPT_TRAIN_BF16's bound. The projections keep the file small (ResNet-20 has
270k parameters, 1.1 MB per case in full).

Choice of seeds. A ReLU gate whose pre-activation lies within rounding
error of zero flips, and moves a whole element's contribution to every
gradient (1e-3..5e-2 relative L2 in these cases): any float32 path,
PyTorch's and the direct one included, does that now and then. The cases
therefore use seeds with no flip under float64 Gaussian noise of
SAFE_NOISE x max |y| added to every convolution output y (4 draws), which
the direct float32 path stays below; a forward pass that rounds about 10x
worse (Winograd F(4x4,3x3)) flips gates in most of them. List candidates:

  /usr/bin/python3 tests/gen/gen_grad_fixtures.py --screen BATCH CH SIZE FIRST LAST
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weights_rng  # noqa: E402
from gen_model_fixtures import CifarResNet  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "grad")
FULL_MAX = 2304
PROJ = 64
PROJ_SEED = 0x5EED
SAFE_NOISE = 3e-8
# (name, seed, batch, in_channels, height, width): one input channel on
# 28x28 at batch 6 (three seeds) and 2, and a normal CIFAR-sized batch;
# seeds that --screen marks usable. Keep in step with tests/test_grad_accuracy.c.
CASES = [
    ("c1_28_b6_s5", 5, 6, 1, 28, 28),
    ("c1_28_b6_s6", 6, 6, 1, 28, 28),
    ("c1_28_b6_s12", 12, 6, 1, 28, 28),
    ("c1_28_b2_s3", 3, 2, 1, 28, 28),
    ("c3_32_b16_s1", 1, 16, 3, 32, 32),
]


class Model(CifarResNet):
    def __init__(self, in_ch):
        super().__init__(3)
        self.conv1 = torch.nn.Conv2d(in_ch, 16, 3, 1, 1, bias=False)


def build(seed, in_ch):
    m = Model(in_ch)
    weights_rng.fill_state_dict(m, seed)
    return m


def grads(model, x, labels):
    model.zero_grad()
    loss = F.cross_entropy(model(x), labels)
    loss.backward()
    return loss.item(), [p.grad.detach().numpy().astype(np.float64).ravel()
                         for _, p in model.named_parameters()]


def case(name, seed, n, c, h, w):
    x = weights_rng.uniform(seed, weights_rng.INPUT_STREAM, n * c * h * w, -1.0, 1.0) \
        .reshape(n, c, h, w)
    labels = torch.from_numpy(
        weights_rng.uniform(seed, weights_rng.INPUT_STREAM + 1, n, 0, 10)
        .astype(np.int64).clip(0, 9))
    loss, g64 = grads(build(seed, c).double().train(), torch.from_numpy(x).double(), labels)
    _, g32 = grads(build(seed, c).train(), torch.from_numpy(x), labels)
    names = [k for k, _ in build(seed, c).named_parameters()]
    sd_names = [k for k in build(seed, c).state_dict() if not k.endswith("num_batches_tracked")]
    out, worst = [loss], (0.0, "")
    for k, r, g in zip(names, g64, g32):
        t = sd_names.index(k)
        e = np.linalg.norm(g - r) / max(np.linalg.norm(r), 1e-30)
        worst = max(worst, (e, k))
        out.append(e)
        if r.size <= FULL_MAX:
            out.extend(r)
        else:
            for j in range(PROJ):
                p = weights_rng.uniform(PROJ_SEED, t * PROJ + j, r.size, -1.0, 1.0)
                out.append(float(np.dot(r, p.astype(np.float64))))
    np.save(os.path.join(OUT, name + ".npy"), np.array(out, dtype=np.float32))
    print("%s: loss %.6f, float32 torch worst relative L2 error %.2g (%s)"
          % (name, loss, worst[0], worst[1]))


def bf16_case(name, seed, n, c, h, w):
    """PyTorch's own bf16 mixed precision (CPU autocast) on the case: the
    worst tensor's and all parameters' relative L2 error against float64."""
    x = torch.from_numpy(weights_rng.uniform(seed, weights_rng.INPUT_STREAM, n * c * h * w,
                                             -1.0, 1.0).reshape(n, c, h, w))
    labels = torch.from_numpy(
        weights_rng.uniform(seed, weights_rng.INPUT_STREAM + 1, n, 0, 10)
        .astype(np.int64).clip(0, 9))
    _, g64 = grads(build(seed, c).double().train(), x.double(), labels)
    model = build(seed, c).train()
    model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    F.cross_entropy(out.float(), labels).backward()
    gb = [p.grad.detach().numpy().astype(np.float64).ravel() for _, p in model.named_parameters()]
    worst = max(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30) for a, b in zip(gb, g64))
    total = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(gb, g64)) /
                    sum(np.sum(b ** 2) for b in g64))
    print("%s: bf16 autocast torch worst relative L2 error %.2g, all parameters %.2g"
          % (name, worst, total))
    return [worst, total]


def worst_under_noise(seed, n, c, h, w, eta, draws):
    """Worst relative L2 gradient error over draws, float64 with noise of
    eta x max |y| on every convolution output y."""
    x = torch.from_numpy(weights_rng.uniform(seed, weights_rng.INPUT_STREAM, n * c * h * w,
                                             -1.0, 1.0).reshape(n, c, h, w)).double()
    labels = torch.from_numpy(
        weights_rng.uniform(seed, weights_rng.INPUT_STREAM + 1, n, 0, 10)
        .astype(np.int64).clip(0, 9))
    model = build(seed, c).double().train()
    gen = torch.Generator().manual_seed(seed)

    def noisy(mod, inp, out):
        return out + eta * out.abs().max() * torch.randn(out.shape, generator=gen,
                                                         dtype=out.dtype)
    _, ref = grads(model, x, labels)
    worst = 0.0
    for _ in range(draws):
        hooks = [m.register_forward_hook(noisy) for m in model.modules()
                 if isinstance(m, torch.nn.Conv2d)]
        _, g = grads(model, x, labels)
        for hk in hooks:
            hk.remove()
        worst = max(worst, max(np.linalg.norm(a - b) / np.linalg.norm(b)
                               for a, b in zip(g, ref)))
    return worst


def screen(n, c, size, first, last):
    for seed in range(first, last + 1):
        safe = worst_under_noise(seed, n, c, size, size, SAFE_NOISE, 4)
        loud = worst_under_noise(seed, n, c, size, size, 10 * SAFE_NOISE, 2)
        print("seed %d: noise %.0e -> %.1e, %.0e -> %.1e%s"
              % (seed, SAFE_NOISE, safe, 10 * SAFE_NOISE, loud,
                 "  (usable)" if safe < 1e-4 else ""), flush=True)


def main():
    if len(sys.argv) == 7 and sys.argv[1] == "--screen":
        screen(*(int(a) for a in sys.argv[2:]))
        return
    os.makedirs(OUT, exist_ok=True)
    for c in CASES:
        case(*c)
    # RN_OPT_TRAIN_BF16's yardstick: per case, PyTorch bf16 autocast's errors
    np.save(os.path.join(OUT, "bf16_torch.npy"),
            np.array([e for c in CASES for e in bf16_case(*c)], dtype=np.float32))
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("%s: %d bytes" % (os.path.relpath(OUT), total))


if __name__ == "__main__":
    main()
