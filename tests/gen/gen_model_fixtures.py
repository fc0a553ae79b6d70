#!/usr/bin/env python3
"""PyTorch reference values for whole networks: tests/data/models/*.npy, read
by tests/test_model_parity.c.

Run from the repository root:  /usr/bin/python3 tests/gen/gen_model_fixtures.py
(see tests/gen/README.md for the torch version used).

Weights and inputs are not stored: both sides regenerate them with the same
counter-based generator (tests/gen/weights_rng.py here, tests/parity_weights.h
in C), filling the state_dict in order (num_batches_tracked left out). What is
stored:

  rng_check.npy                24 values of weights_rng (3 streams of 8) that
                               the C generator must reproduce bit for bit
  <arch>_names.txt             the state_dict names in order, one per line: the
                               C test checks libresnet's order against it first
  <arch>_<H>x<W>_logits.npy    eval-mode logits (N, classes) of resnet18/34/50
                               (torchvision) for a generated N x 3 x H x W input
  resnet20_labels.npy          int64 labels of the training batch
  resnet20_loss.npy            mean cross-entropy of a train-mode forward (1,)
  resnet20_grads.npy           every parameter's gradient, flattened in
                               state_dict order and concatenated (float32)
  resnet20_running_stats.npy   every BN running_mean/running_var after that
                               forward (momentum 0.1, unbiased variance), concatenated
  resnet20_input_grad.npy      d loss / d input (N, 3, 32, 32)

Everything is computed in float64 (from the float32 weights and inputs) and
stored as float32, so the references carry no float32 accumulation error;
the script also reports how far float32 PyTorch is from them.

resnet20 is the CIFAR-10 network of the paper (section 4.2) written out here
to mirror libresnet: 3x3 conv of 16 filters + BN + ReLU, three stages of
three basic blocks of 16/32/64 filters (strides 1, 2, 2), option-A shortcuts
(x[:, :, ::2, ::2] with the new channels zero-padded half before, half after),
global average pool and fc, with torchvision's names.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weights_rng  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "models")
SEED = 1512033852015  # the same in tests/test_model_parity.c
# (arch, batch, height, width): ImageNet size and an odd one that makes every
# stride-2 layer round (97x131 -> 49x66 -> 25x33 -> 13x17 -> 7x9 -> 4x5).
INFER_CONFIGS = [(arch, n, h, w) for arch in ("resnet18", "resnet34", "resnet50")
                 for (n, h, w) in ((1, 224, 224), (2, 97, 131))]
GRAD_BATCH, GRAD_SIZE = 8, 32


# ---- the paper's CIFAR-10 ResNet, as libresnet builds it ----------------------------
class ShortcutA(nn.Module):
    def __init__(self, in_ch, out_ch, stride):
        super().__init__()
        self.stride, self.lo, self.hi = stride, (out_ch - in_ch) // 2, out_ch - in_ch - (out_ch - in_ch) // 2

    def forward(self, x):
        s = x[:, :, ::self.stride, ::self.stride]
        return F.pad(s, (0, 0, 0, 0, self.lo, self.hi))


class BasicBlockA(nn.Module):
    def __init__(self, in_ch, out_ch, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.shortcut = (ShortcutA(in_ch, out_ch, stride) if stride != 1 or in_ch != out_ch
                         else nn.Identity())

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, n, classes=10, width=16):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        in_ch = width
        for s in range(3):
            out_ch, blocks = width << s, []
            for b in range(n):
                blocks.append(BasicBlockA(in_ch, out_ch, 2 if (s > 0 and b == 0) else 1))
                in_ch = out_ch
            setattr(self, "layer%d" % (s + 1), nn.Sequential(*blocks))
        self.fc = nn.Linear(in_ch, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def build(arch):
    if arch == "resnet20":
        model = CifarResNet(3)
    else:
        model = getattr(torchvision.models, arch)(weights=None)  # no download
    weights_rng.fill_state_dict(model, SEED)
    return model


def generated_input(n, h, w):
    return weights_rng.uniform(SEED, weights_rng.INPUT_STREAM, n * 3 * h * w, -1.0, 1.0) \
        .reshape(n, 3, h, w)


def write_names(model, arch):
    names = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    with open(os.path.join(OUT, "%s_names.txt" % arch), "w") as f:
        f.writelines(k + "\n" for k in names)


def infer_fixtures():
    for arch, n, h, w in INFER_CONFIGS:
        model = build(arch).eval()
        if n == 1 and h == 224:
            write_names(model, arch)
        x = generated_input(n, h, w)
        with torch.no_grad():
            ref = model.double()(torch.from_numpy(x).double()).numpy()
            got32 = model.float()(torch.from_numpy(x)).numpy()
        scale = np.abs(ref).max()
        np.save(os.path.join(OUT, "%s_%dx%d_logits.npy" % (arch, h, w)), ref.astype(np.float32))
        print("%s %dx%dx%d: max |logit| %.3f, float32 torch off by %.2g of it"
              % (arch, n, h, w, scale, np.abs(got32 - ref).max() / scale))


def grad_fixtures():
    arch = "resnet20"
    model = build(arch).double().train()
    write_names(model, arch)
    x = torch.from_numpy(generated_input(GRAD_BATCH, GRAD_SIZE, GRAD_SIZE)).double()
    x.requires_grad_(True)
    labels = torch.from_numpy(
        weights_rng.uniform(SEED, weights_rng.INPUT_STREAM + 1, GRAD_BATCH, 0, 10)
        .astype(np.int64).clip(0, 9))
    loss = F.cross_entropy(model(x), labels)
    loss.backward()
    grads = np.concatenate([p.grad.numpy().ravel() for _, p in model.named_parameters()])
    stats = np.concatenate([t.numpy().ravel() for k, t in model.state_dict().items()
                            if k.endswith("running_mean") or k.endswith("running_var")])
    np.save(os.path.join(OUT, "resnet20_labels.npy"), labels.numpy())
    np.save(os.path.join(OUT, "resnet20_loss.npy"), np.array([loss.item()], dtype=np.float32))
    np.save(os.path.join(OUT, "resnet20_grads.npy"), grads.astype(np.float32))
    np.save(os.path.join(OUT, "resnet20_running_stats.npy"), stats.astype(np.float32))
    np.save(os.path.join(OUT, "resnet20_input_grad.npy"), x.grad.numpy().astype(np.float32))

    # the same in float32, to show how much of the C test's tolerance float32 itself uses
    m32 = build(arch).train()
    x32 = torch.from_numpy(generated_input(GRAD_BATCH, GRAD_SIZE, GRAD_SIZE))
    F.cross_entropy(m32(x32), labels).backward()
    worst = 0.0
    for (name, p32), (_, p64) in zip(m32.named_parameters(), model.named_parameters()):
        g, r = p32.grad.numpy().astype(np.float64), p64.grad.numpy()
        worst = max(worst, np.linalg.norm(g - r) / max(np.linalg.norm(r), 1e-30))
    print("resnet20 train batch %d: loss %.6f, %d gradient values, float32 torch worst "
          "relative L2 error %.2g" % (GRAD_BATCH, loss.item(), grads.size, worst))


def rng_check():
    v = np.concatenate([weights_rng.uniform(SEED, 0, 8, -1.0, 1.0),
                        weights_rng.uniform(SEED, 7, 8, 0.5, 2.0),
                        weights_rng.uniform(SEED, weights_rng.INPUT_STREAM, 8, -1.0, 1.0)])
    np.save(os.path.join(OUT, "rng_check.npy"), v)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng_check()
    grad_fixtures()
    infer_fixtures()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("%s: %d bytes" % (os.path.relpath(OUT), total))


if __name__ == "__main__":
    main()
