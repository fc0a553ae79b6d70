#!/usr/bin/env python3
"""Write the reference files the training tests read (tests/data/train/).

Every value comes from an independent source, never from libresnet:
  sgd_*.safetensors   torch.optim.SGD run for 3 steps on the parameters of a
                      tiny model (names and PyTorch shapes of the model built
                      in tests/test_train_sgd.c), from fixed gradients
  schedules.npy       learning rates of torch.optim.lr_scheduler.MultiStepLR
                      and CosineAnnealingLR
  rng.txt             xoshiro256** / splitmix64 outputs from a plain Python
                      transcription of the authors' reference C code
  model_counts.txt    parameter counts and conv+fc multiply-accumulates of
                      torchvision's ResNets and of a PyTorch CIFAR ResNet
                      written here from the paper (section 4.2, option A)

safetensors files are written from the format's specification (8-byte
little-endian header length, JSON header padded with spaces to a multiple of
8, then the data): the `safetensors` Python package is not a Debian package.

usage: /usr/bin/python3 tests/gen/gen_train_fixtures.py [outdir]
Made with Debian's python3-torch 1.13.1 and python3-torchvision 0.14.1.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "data", "train")
MASK = (1 << 64) - 1


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype="<f4")
        raw = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# ---- SGD ----------------------------------------------------------------------
# The trainable tensors of the tiny model of tests/test_train_sgd.c: a 1-channel
# 3x3 stem of 2 filters, one basic block of width 2, a 3-class head.
TINY_PARAMS = [
    ("conv1.weight", (2, 1, 3, 3)), ("bn1.weight", (2,)), ("bn1.bias", (2,)),
    ("layer1.0.conv1.weight", (2, 2, 3, 3)), ("layer1.0.bn1.weight", (2,)),
    ("layer1.0.bn1.bias", (2,)),
    ("layer1.0.conv2.weight", (2, 2, 3, 3)), ("layer1.0.bn2.weight", (2,)),
    ("layer1.0.bn2.bias", (2,)),
    ("fc.weight", (3, 2)), ("fc.bias", (3,)),
]
STEPS = 3

SGD_CONFIGS = {
    # name: (lr, momentum, dampening, weight_decay, nesterov, decay_all)
    "paper": (0.1, 0.9, 0.0, 1e-4, False, True),
    "nesterov": (0.05, 0.9, 0.0, 5e-4, True, True),
    "dampening": (0.1, 0.8, 0.3, 1e-3, False, True),
    "plain": (0.2, 0.0, 0.0, 1e-2, False, True),
    "skip1d": (0.1, 0.9, 0.0, 1e-1, False, False),
}


def gen_sgd():
    for cfg, (lr, mom, damp, wd, nest, decay_all) in SGD_CONFIGS.items():
        g = torch.Generator().manual_seed(1234)
        params = [torch.empty(shape).uniform_(-1, 1, generator=g).requires_grad_()
                  for _, shape in TINY_PARAMS]
        grads = [[torch.empty(shape).uniform_(-2, 2, generator=g) for _, shape in TINY_PARAMS]
                 for _ in range(STEPS)]
        tensors = [(name, p.detach().numpy().copy()) for (name, _), p in zip(TINY_PARAMS, params)]
        if decay_all:
            groups = [{"params": params, "weight_decay": wd}]
        else:  # the common "no decay on BN and biases" variant: 1-D tensors undecayed
            groups = [{"params": [p for p in params if p.dim() > 1], "weight_decay": wd},
                      {"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0}]
        opt = torch.optim.SGD(groups, lr=lr, momentum=mom, dampening=damp, nesterov=nest)
        for s in range(STEPS):
            for p, gr in zip(params, grads[s]):
                p.grad = gr.clone()
            opt.step()
        for s in range(STEPS):
            tensors += [(f"{name}.grad{s}", gr.numpy()) for (name, _), gr in zip(TINY_PARAMS, grads[s])]
        tensors += [(f"{name}.final", p.detach().numpy()) for (name, _), p in zip(TINY_PARAMS, params)]
        if mom != 0:
            tensors += [(f"{name}.buf", opt.state[p]["momentum_buffer"].numpy())
                        for (name, _), p in zip(TINY_PARAMS, params)]
        meta = {"lr": repr(lr), "momentum": repr(mom), "dampening": repr(damp),
                "weight_decay": repr(wd), "nesterov": str(int(nest)),
                "decay_all": str(int(decay_all)), "steps": str(STEPS),
                "torch": torch.__version__}
        write_safetensors(os.path.join(OUT, f"sgd_{cfg}.safetensors"), tensors, meta)


# ---- schedules ----------------------------------------------------------------
def gen_schedules():
    rows = []
    # MultiStepLR, the paper's /10 twice (epochs 3 and 5 of 8 here)
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1)
    sch = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[3, 5], gamma=0.1)
    step = []
    for _ in range(8):
        step.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    rows.append(step + [0.0] * 3)
    # CosineAnnealingLR over 10 epochs down to 0.001 (t = 0..10)
    opt = torch.optim.SGD([p], lr=0.1)
    sch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    cos = []
    for _ in range(11):
        cos.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    rows.append(cos)
    np.save(os.path.join(OUT, "schedules.npy"), np.array(rows, dtype="<f4"))


# ---- random numbers -------------------------------------------------------------
def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return x, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def xoshiro_next(s):
    result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
    t = (s[1] << 17) & MASK
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
    return result


def gen_rng():
    lines = ["# xoshiro256** outputs; 'state a b c d' sets the state, 'seed n' seeds via splitmix64",
             "# (four consecutive splitmix64 outputs from counter n), then one output per line"]
    s = [1, 2, 3, 4]
    lines.append("state 1 2 3 4")
    lines += ["%d" % xoshiro_next(s) for _ in range(6)]
    for seed in (0, 42, 2**64 - 1):
        x, s = seed, []
        for _ in range(4):
            x, v = splitmix64(x)
            s.append(v)
        lines.append("seed %d" % seed)
        lines += ["%d" % xoshiro_next(s) for _ in range(6)]
    with open(os.path.join(OUT, "rng.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


# ---- parameter counts and MACs ----------------------------------------------------
class CifarBlock(nn.Module):
    """Basic block with the paper's option-A shortcut (section 4.2)."""

    def __init__(self, cin, cout, stride, plain):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.plain, self.stride, self.pad = plain, stride, cout - cin

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.plain:
            return F.relu(y)
        sc = x[:, :, ::self.stride, ::self.stride]
        lo = self.pad // 2
        sc = F.pad(sc, (0, 0, 0, 0, lo, self.pad - lo))
        return F.relu(y + sc)


class CifarResNet(nn.Module):
    def __init__(self, n, plain=False, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, cin = [], 16
        for i, w in enumerate((16, 32, 64)):
            blocks = []
            for b in range(n):
                blocks.append(CifarBlock(cin, w, 2 if (i > 0 and b == 0) else 1, plain))
                cin = w
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def macs_of(model, size):
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            total[0] += out.numel() * k
        elif isinstance(mod, nn.Linear):
            total[0] += out.numel() * mod.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules()
          if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for h in hs:
        h.remove()
    return total[0]


def gen_counts():
    import torchvision.models as tvm
    rows = ["# arch H W parameters MACs (conv + fc multiply-accumulates, one image)"]
    for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"):
        m = getattr(tvm, name)()
        rows.append("%s 224 224 %d %d" % (name, sum(p.numel() for p in m.parameters()),
                                          macs_of(m, 224)))
    for depth in (20, 32, 44, 56, 110):
        for plain in (False, True):
            m = CifarResNet((depth - 2) // 6, plain)
            rows.append("%s%d 32 32 %d %d" % ("plain" if plain else "resnet", depth,
                                              sum(p.numel() for p in m.parameters()),
                                              macs_of(m, 32)))
    with open(os.path.join(OUT, "model_counts.txt"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    gen_sgd()
    gen_schedules()
    gen_rng()
    gen_counts()
