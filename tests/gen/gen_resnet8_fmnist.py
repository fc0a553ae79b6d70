#!/usr/bin/env python3
"""A trained resnet8 for the int8 firmware test: Fashion-MNIST (Debian's
dataset-fashion-mnist), trained with libresnet's own `resnet train`, and
the first test images as a C header.

  tests/data/firmware/fmnist/weights.safetensors        float32 weights (1x28x28 input)
  tests/data/firmware/fmnist/normalization.safetensors  the per-channel mean and std
                                                        (`resnet quantize` finds it beside
                                                        the weights)
  tests/data/firmware/resnet8_fmnist_images.h           IMAGES test images as bytes, their
                                                        labels, and the pixel rule
                                                        ((b / 255) - mean) / std in float

The test setup (tools/ci/builds.sh, step cortex-m-flash) quantizes the weights
with `resnet quantize` and runs the int8 model on the firmware; this script
only trains.

Run from the repository root, with a built `resnet` program:
  /usr/bin/python3 tests/gen/gen_resnet8_fmnist.py build/resnet [--run DIR]
--run reuses the output directory of an earlier `resnet train resnet8 --data
fashion-mnist --norm channel --epochs 4 --out DIR`. On 2 shared cores the
training takes about 20 minutes (4 epochs, about 210 images/s).
"""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "firmware")
DATA = "/usr/share/datasets/fashion-mnist"
IMAGES = 8
EPOCHS = 4


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", (name, t["dtype"])
        b, e = t["data_offsets"]
        out[name] = list(struct.unpack("<%df" % ((e - b) // 4), data[b:e]))
    return out


def hex_float(x):
    """C99 hexadecimal float literal of a float32 value (exact)."""
    return float.hex(x).replace("0x", "0x") + "f"


def main():
    resnet = sys.argv[1] if len(sys.argv) > 1 else "build/resnet"
    run = None
    if "--run" in sys.argv:
        run = sys.argv[sys.argv.index("--run") + 1]
    if run is None:
        run = tempfile.mkdtemp()
        subprocess.check_call([resnet, "train", "resnet8", "--data", "fashion-mnist", "--norm",
                               "channel", "--epochs", str(EPOCHS), "--out", run])
    dst = os.path.join(OUT, "fmnist")
    os.makedirs(dst, exist_ok=True)
    for name in ("weights.safetensors", "normalization.safetensors"):
        shutil.copyfile(os.path.join(run, name), os.path.join(dst, name))
    norm = read_safetensors(os.path.join(dst, "normalization.safetensors"))
    mean = [v for k, v in norm.items() if "mean" in k][0]
    std = [v for k, v in norm.items() if "std" in k][0]
    assert len(mean) == 1 and len(std) == 1, (mean, std)

    with gzip.open(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")) as f:
        raw = f.read()
    with gzip.open(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = list(f.read()[8:8 + IMAGES])
    pixels = raw[16:16 + IMAGES * 784]
    with open(os.path.join(OUT, "resnet8_fmnist_images.h"), "w") as f:
        f.write("/* The first %d Fashion-MNIST test images (labels %s), 1x28x28 bytes, written by\n"
                " * tests/gen/gen_resnet8_fmnist.py: pixel = (b / 255 - mean) / std in float,\n"
                " * the normalisation of tests/data/firmware/fmnist/normalization.safetensors. */\n"
                % (IMAGES, labels))
        f.write("#define RN_FIXTURE_IMAGES %d\n#define RN_FIXTURE_CHANNELS 1\n"
                "#define RN_FIXTURE_SIZE 28\n#define RN_FIXTURE_CLASSES 10\n" % IMAGES)
        f.write("#define RN_FIXTURE_PIXEL(b) (((float)(b) / 255.0f - %s) / %s)\n"
                % (hex_float(mean[0]), hex_float(std[0])))
        f.write("static const unsigned char rn_fixture_images[%d][28 * 28] = {\n" % IMAGES)
        for n in range(IMAGES):
            row = pixels[n * 784:(n + 1) * 784]
            f.write("    {\n")
            for i in range(0, 784, 28):
                f.write("        " + ",".join(str(b) for b in row[i:i + 28]) + ",\n")
            f.write("    },\n")
        f.write("};\n")
    print("wrote %s and resnet8_fmnist_images.h (mean %r, std %r, labels %s)"
          % (dst, mean[0], std[0], labels))


if __name__ == "__main__":
    main()
