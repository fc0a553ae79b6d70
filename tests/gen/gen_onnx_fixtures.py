#!/usr/bin/env python3
"""ONNX graphs exported by torch.onnx.export, with float64 reference logits.

    /usr/bin/python3 tests/gen/gen_onnx_fixtures.py              # tests/data/onnx (small, committed)
    /usr/bin/python3 tests/gen/gen_onnx_fixtures.py --all DIR    # every depth, into DIR (CI time)
    /usr/bin/python3 tests/gen/gen_onnx_fixtures.py --seeds tests/fuzz/corpus/onnx

Each case writes NAME.onnx, NAME_input.npy (float32, NCHW) and
NAME_logits.npy (the same PyTorch model run in double precision on the same
input, stored rounded to float32). The networks are torchvision's own ResNet class and blocks
(torchvision.models.resnet: its _make_layer and forward), rebuilt at small
widths so the files stay small: ImageNet layouts (7x7 stem + max pool, four
stages) at the real depths 18/34/50/101/152, and CIFAR layouts (3x3 stem, no
max pool, three stages, 6n+2 layers) with projection (B) shortcuts and with
the paper's option-A shortcuts (strided slice + zero channel padding).
Weights come from torch's generator under a fixed seed, and the batch-norm
statistics are randomised so that no layer is an identity.

Exports cover the two forms torch writes: the default (eval mode, constant
folding: batch norms folded into convolutions with a bias) and batch norms
kept as BatchNormalization nodes (training=PRESERVE, no constant folding).
Requires Debian's python3-torch, python3-torchvision (and python3-onnx for
--check, which runs onnx.checker on every file)."""
import argparse
import io
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import resnet as tv

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "onnx")
SEED = 20151210


def imagenet_net(block, layers, base, classes):
    """torchvision's ResNet with every width divided (base instead of 64)."""
    m = tv.ResNet(block, [1, 1, 1, 1], num_classes=classes)
    m.inplanes = base
    m.conv1 = nn.Conv2d(3, base, kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = nn.BatchNorm2d(base)
    m.layer1 = m._make_layer(block, base, layers[0])
    m.layer2 = m._make_layer(block, base * 2, layers[1], stride=2)
    m.layer3 = m._make_layer(block, base * 4, layers[2], stride=2)
    m.layer4 = m._make_layer(block, base * 8, layers[3], stride=2)
    m.fc = nn.Linear(base * 8 * block.expansion, classes)
    return m


def cifar_net_b(n, base, classes):
    """The CIFAR layout (3x3 stem, stages of base, 2 base, 4 base) through
    torchvision's ResNet class, with projection shortcuts."""
    m = tv.ResNet(tv.BasicBlock, [1, 1, 1, 1], num_classes=classes)
    m.inplanes = base
    m.conv1 = nn.Conv2d(3, base, kernel_size=3, stride=1, padding=1, bias=False)
    m.bn1 = nn.BatchNorm2d(base)
    m.maxpool = nn.Identity()
    m.layer1 = m._make_layer(tv.BasicBlock, base, n)
    m.layer2 = m._make_layer(tv.BasicBlock, base * 2, n, stride=2)
    m.layer3 = m._make_layer(tv.BasicBlock, base * 4, n, stride=2)
    m.layer4 = nn.Identity()
    m.fc = nn.Linear(base * 4, classes)
    return m


class ShortcutA(nn.Module):
    """Option A: x[:, :, ::s, ::s], new channels zero, half before and half after."""

    def __init__(self, in_ch, out_ch, stride):
        super().__init__()
        self.stride, self.lo, self.hi = stride, (out_ch - in_ch) // 2, \
            out_ch - in_ch - (out_ch - in_ch) // 2

    def forward(self, x):
        return F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.lo, self.hi))


class BlockA(nn.Module):
    def __init__(self, in_ch, out_ch, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.shortcut = ShortcutA(in_ch, out_ch, stride) if stride != 1 or in_ch != out_ch \
            else nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarNetA(nn.Module):
    """The paper's CIFAR-10 ResNet (6n+2 layers, option A)."""

    def __init__(self, n, base, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, base, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        in_ch, stages = base, []
        for s in range(3):
            blocks = []
            for b in range(n):
                blocks.append(BlockA(in_ch, base << s, 2 if s and not b else 1))
                in_ch = base << s
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(in_ch, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


DEPTHS = {18: (tv.BasicBlock, [2, 2, 2, 2]), 34: (tv.BasicBlock, [3, 4, 6, 3]),
          50: (tv.Bottleneck, [3, 4, 6, 3]), 101: (tv.Bottleneck, [3, 4, 23, 3]),
          152: (tv.Bottleneck, [3, 8, 36, 3])}

# name: (builder, input (N, C, H, W), opset, batch norms kept)
SMALL = {
    "resnet18_w2_folded_op13": (lambda: imagenet_net(*DEPTHS[18], 2, 10), (2, 3, 32, 32), 13, False),
    "resnet50_w1_bn_op17": (lambda: imagenet_net(*DEPTHS[50], 1, 7), (1, 3, 40, 36), 17, True),
    "cifar20b_w2_bn_op11": (lambda: cifar_net_b(3, 2, 10), (2, 3, 16, 16), 11, True),
    "cifar20a_w2_folded_op13": (lambda: CifarNetA(3, 2, 10), (2, 3, 16, 16), 13, False),
}


# Fuzzing seeds (tests/fuzz/corpus/onnx): the same exporters at the smallest widths.
SEEDS = {
    "seed_cifar8a_w1_folded_op13": (lambda: CifarNetA(1, 1, 3), (1, 3, 8, 8), 13, False),
    "seed_cifar8b_w1_bn_op11": (lambda: cifar_net_b(1, 1, 3), (1, 3, 8, 8), 11, True),
    "seed_imagenet_basic_w1_folded_op17": (
        lambda: imagenet_net(tv.BasicBlock, [1, 1, 1, 1], 1, 3), (1, 3, 32, 32), 17, False),
    "seed_imagenet_bottleneck_w1_bn_op15": (
        lambda: imagenet_net(tv.Bottleneck, [1, 1, 1, 1], 1, 3), (1, 3, 32, 32), 15, True),
}


def every_depth():
    cases = {}
    for d in DEPTHS:
        cases["resnet%d_w4_folded_op13" % d] = (
            lambda d=d: imagenet_net(*DEPTHS[d], 4, 10), (1, 3, 64, 64), 13, False)
        cases["resnet%d_w4_bn_op15" % d] = (
            lambda d=d: imagenet_net(*DEPTHS[d], 4, 10), (1, 3, 64, 64), 15, True)
    for n in (3, 5, 9):
        cases["cifar%da_w4_folded_op12" % (6 * n + 2)] = (
            lambda n=n: CifarNetA(n, 4, 10), (2, 3, 32, 32), 12, False)
        cases["cifar%db_w4_bn_op16" % (6 * n + 2)] = (
            lambda n=n: cifar_net_b(n, 4, 10), (2, 3, 32, 32), 16, True)
    return cases


def randomise(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() == 1:  # BN scale
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
            elif p.dim() == 1:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=gen) * 0.2)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)


def export(model, x, opset, keep_bn):
    f = io.BytesIO()
    kw = dict(opset_version=opset, input_names=["input"], output_names=["logits"])
    if keep_bn:
        kw.update(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    torch.onnx.export(model, torch.from_numpy(x), f, **kw)
    return f.getvalue()


def write(cases, out, check, seeds_only=False):
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(SEED)
    for name, (make, shape, opset, keep_bn) in cases.items():
        model = make().eval()
        randomise(model, gen)
        x = (torch.rand(shape, generator=gen) * 2 - 1).numpy().astype(np.float32)
        data = export(model, x, opset, keep_bn)
        with torch.no_grad():
            ref = model.double()(torch.from_numpy(x).double()).numpy()
            f32 = model.float()(torch.from_numpy(x)).double().numpy()
        if check:
            import onnx
            onnx.checker.check_model(onnx.load_from_string(data))
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(data)
        if seeds_only:
            print("%-28s %7d bytes" % (name, len(data)))
            continue
        np.save(os.path.join(out, name + "_input.npy"), x)
        # float32 (the C tests' .npy reader takes f4): the float64 reference
        # rounded once, 6e-8 relative, far inside the 1e-4 the tests allow
        np.save(os.path.join(out, name + "_logits.npy"), ref.astype(np.float32))
        print("%-28s %7d bytes, logits %s, PyTorch fp32 error %.2e of the largest"
              % (name, len(data), ref.shape, np.abs(f32 - ref).max() / np.abs(ref).max()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--all", metavar="DIR", help="every depth into DIR instead of the "
                    "committed small set")
    ap.add_argument("--check", action="store_true", help="run onnx.checker on each file")
    ap.add_argument("--seeds", metavar="DIR", help="write the fuzzing seeds into DIR")
    args = ap.parse_args()
    if args.seeds:
        write(SEEDS, args.seeds, args.check, seeds_only=True)
    elif args.all:
        write(every_depth(), args.all, args.check)
    else:
        write(SMALL, OUT, args.check)


if __name__ == "__main__":
    sys.exit(main())
