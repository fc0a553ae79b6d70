#!/usr/bin/env python3
"""resnet8 (the small CIFAR network for microcontrollers) written out in
PyTorch, and the fixtures the tests read about it:

  tests/data/nn/resnet8_state_dict.txt   names and shapes in state_dict order
                                         (tests/test_nn_presets.c)
  tests/data/nn/resnet8_counts.txt       "resnet8 32 32 PARAMETERS MACS", counted
                                         by PyTorch (tests/test_cli_resnet.c)
  tests/data/firmware/resnet8.safetensors
                                         float32 weights from weights_rng (seed
                                         SEED), header padded so that every
                                         tensor's data is 8-byte aligned
  tests/data/firmware/resnet8_images.h   IMAGES test images 3x32x32 as bytes b,
                                         pixel value (b - 128) / 64 (exact in
                                         float32), for C programs and firmware
  tests/data/firmware/resnet8_images.npy the same images as float32 (N, 3, 32, 32)
  tests/data/firmware/resnet8_logits.npy eval-mode logits (N, 10) computed in
                                         float64 from the float32 weights, stored
                                         as float32

resnet8 as libresnet builds it: 3x3 conv of 16 filters + BN + ReLU, one basic
block per stage at 16/32/64 filters (strides 1, 2, 2), a 1x1 stride-2
projection + BN where the shape changes (option B), global average pool and
fc, with torchvision's names. MLPerf Tiny's Keras reference has the same
layers but gives every convolution a bias and its projections no BN.

Run from the repository root:  /usr/bin/python3 tests/gen/gen_resnet8_fixtures.py
(Debian 12's python3-torch 1.13 and python3-numpy 1.24 were used.)
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weights_rng  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NN_OUT = os.path.join(HERE, "..", "data", "nn")
FW_OUT = os.path.join(HERE, "..", "data", "firmware")
SEED = 20260805
IMAGES = 4


class BasicBlockB(nn.Module):
    def __init__(self, in_ch, out_ch, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False),
                                            nn.BatchNorm2d(out_ch))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNet8(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = nn.Sequential(BasicBlockB(16, 16, 1))
        self.layer2 = nn.Sequential(BasicBlockB(16, 32, 2))
        self.layer3 = nn.Sequential(BasicBlockB(32, 64, 2))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def macs_of(model, size):
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            total[0] += out.numel() * mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels
        elif isinstance(mod, nn.Linear):
            total[0] += out.numel() * mod.in_features

    hs = [m.register_forward_hook(hook) for m in model.modules()
          if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for h in hs:
        h.remove()
    return total[0]


def write_safetensors(path, tensors):
    """A safetensors file of float32 tensors (name, array) in order, its JSON
    header padded with spaces so that the data starts at a multiple of 8."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, a in tensors:
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, a in tensors:
            f.write(a.astype("<f4").tobytes())


def main():
    os.makedirs(NN_OUT, exist_ok=True)
    os.makedirs(FW_OUT, exist_ok=True)
    model = ResNet8()
    weights_rng.fill_state_dict(model, SEED)
    model.eval()
    sd = [(k, v.numpy()) for k, v in model.state_dict().items()
          if not k.endswith("num_batches_tracked")]
    with open(os.path.join(NN_OUT, "resnet8_state_dict.txt"), "w") as f:
        f.writelines("%s %s\n" % (k, ",".join(str(d) for d in v.shape)) for k, v in sd)
    params = sum(p.numel() for p in model.parameters())
    macs = macs_of(model, 32)
    with open(os.path.join(NN_OUT, "resnet8_counts.txt"), "w") as f:
        f.write("# arch H W parameters MACs (conv + fc multiply-accumulates, one image)\n")
        f.write("resnet8 32 32 %d %d\n" % (params, macs))
    print("resnet8: %d parameters, %d MACs at 32x32, %d tensors" % (params, macs, len(sd)))

    write_safetensors(os.path.join(FW_OUT, "resnet8.safetensors"), sd)
    raw = weights_rng.uniform(SEED, weights_rng.INPUT_STREAM, IMAGES * 3 * 32 * 32, 0.0, 256.0)
    pixels = np.floor(raw).astype(np.uint8)
    images = ((pixels.astype(np.float32) - 128.0) / 64.0).reshape(IMAGES, 3, 32, 32)
    np.save(os.path.join(FW_OUT, "resnet8_images.npy"), images)
    with open(os.path.join(FW_OUT, "resnet8_images.h"), "w") as f:
        f.write("/* %d test images for resnet8, NCHW 3x32x32, written by\n"
                " * tests/gen/gen_resnet8_fixtures.py: pixel = (byte - 128) / 64.0f. */\n"
                % IMAGES)
        f.write("#define RN_FIXTURE_IMAGES %d\n#define RN_FIXTURE_CHANNELS 3\n"
                "#define RN_FIXTURE_SIZE 32\n#define RN_FIXTURE_CLASSES 10\n" % IMAGES)
        f.write("#define RN_FIXTURE_PIXEL(b) ((float)((int)(b) - 128) / 64.0f)\n")
        f.write("static const unsigned char rn_fixture_images[%d][3 * 32 * 32] = {\n" % IMAGES)
        for n in range(IMAGES):
            row = pixels[n * 3072:(n + 1) * 3072]
            f.write("    {\n")
            for i in range(0, 3072, 24):
                f.write("        " + ",".join(str(int(b)) for b in row[i:i + 24]) + ",\n")
            f.write("    },\n")
        f.write("};\n")
    with torch.no_grad():
        ref = model.double()(torch.from_numpy(images).double()).numpy()
        got32 = model.float()(torch.from_numpy(images)).numpy()
    np.save(os.path.join(FW_OUT, "resnet8_logits.npy"), ref.astype(np.float32))
    scale = np.abs(ref).max()
    print("logits: max |logit| %.3f, float32 torch off by %.3g of it; classes %s"
          % (scale, np.abs(got32 - ref).max() / scale, ref.argmax(1).tolist()))


if __name__ == "__main__":
    main()
