"""Fine-tuning end to end on Fashion-MNIST (Debian's dataset-fashion-mnist;
tools/ci/python.sh installs it, and the test reports itself skipped without
it): a ResNet-20 (width 4) with a 10-class head is trained on 3000 images of
all ten classes; a 5-class network then loads those weights (the head, of
another shape, is skipped and keeps its fresh initialisation), freezes
stages 1-2 and is fine-tuned on 400 images of classes 5-9. It must beat the
same network trained from scratch on the same small budget (3 epochs),
measured on 2000 test images of classes 5-9, by 5 points.

Why this task: pretraining on classes 0-4 and fine-tuning on 5-9 (an
earlier version of this test) transfers too little at this size for a
verdict that holds. Over seeds 0-3 and the scalar, AVX2 and AVX-512 paths
that gap ranged from -3 to +30 points, so the verdict flipped with rounding.
With pretraining on all ten classes it ranged from +17 to +46 points, and
the 5-point margin fails only when the loaded features do not help. About
10 s on 2 cores."""
import gzip
import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if os.environ.get("RESNET_LIBRARY"):
    sys.path.insert(0, os.path.join(HERE, ".."))

import resnet  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = [0.286], [0.353]  # Fashion-MNIST's pixel statistics on the [0, 1] scale


def idx(path):
    """An IDX file read with Python's gzip, not the library's reader."""
    d = gzip.open(path).read()
    nd = d[3]
    dims = [int.from_bytes(d[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(d, np.uint8, offset=4 + 4 * nd).reshape(dims)


def subset(x, y, classes, n, seed):
    pick = np.flatnonzero(np.isin(y, classes))
    np.random.default_rng(seed).shuffle(pick)
    pick = pick[:n]
    return np.ascontiguousarray(x[pick][..., None]), (y[pick] - classes[0]).astype(np.int32)


def dataset(ctx, x, y, classes=5):
    ds = resnet.Dataset(ctx, x, y, classes=classes)
    ds.set_normalization("channel", MEAN, STD)
    return ds


def train(ctx, model, x, y, epochs, lr, seed, classes=5):
    ds = dataset(ctx, x, y, classes)
    opt = resnet.SGD(model, lr=lr, momentum=0.9, weight_decay=5e-4)
    sched = resnet.LRSchedule(ctx, lr).cosine(epochs)
    tr = resnet.Trainer(model, opt, sched, ds, batch=64, seed=seed, aug_pad=2, aug_flip=1)
    for _ in range(epochs):
        tr.epoch()


def accuracy(ctx, model, x, y):
    return 1 - resnet.evaluate(model, dataset(ctx, x, y))[1]


def test_finetuning_with_frozen_stages_beats_training_from_scratch(tmp_path):
    if not os.path.exists(os.path.join(DATA, "train-images-idx3-ubyte.gz")):
        raise unittest.SkipTest("dataset-fashion-mnist is not installed")
    xtr, ytr = idx(DATA + "/train-images-idx3-ubyte.gz"), idx(DATA + "/train-labels-idx1-ubyte.gz")
    xte, yte = idx(DATA + "/t10k-images-idx3-ubyte.gz"), idx(DATA + "/t10k-labels-idx1-ubyte.gz")
    ctx = resnet.Context(threads=2)
    everything, second = list(range(10)), [5, 6, 7, 8, 9]

    def net(seed, classes):
        return resnet.Model(ctx, "resnet20", classes=classes, in_channels=1,
                            base_width=4).init(seed)

    pre = net(0, 10)
    xa, ya = subset(xtr, ytr, everything, 3000, 1)
    train(ctx, pre, xa, ya, 2, 0.1, 0, classes=10)
    path = tmp_path / "pretrained.safetensors"
    pre.save(path)

    xb, yb = subset(xtr, ytr, second, 400, 2)
    xt, yt = subset(xte, yte, second, 2000, 4)
    tuned = net(1, 5)
    head = {k: tuned.get(k) for k in ("fc.weight", "fc.bias")}
    rep = tuned.load(path, strict=False)
    # everything but the head (10 classes there, 5 here) comes from the file
    assert rep["loaded"] == len(tuned.names()) - 2 and rep["skipped"] == 2, rep
    assert "fc.weight" in rep["report"] and "fc.bias" in rep["report"], rep["report"]
    for k, v in head.items():  # the skipped head keeps its fresh initialisation
        assert np.array_equal(tuned.get(k), v), k
    assert np.array_equal(tuned.get("layer3.0.conv1.weight"), pre.get("layer3.0.conv1.weight"))
    tuned.freeze_stages(2)
    frozen_before = tuned.get("layer2.2.conv2.weight")
    trained_before = tuned.get("layer3.2.conv2.weight")
    train(ctx, tuned, xb, yb, 3, 0.05, 5)
    assert np.array_equal(tuned.get("layer2.2.conv2.weight"), frozen_before)
    assert not np.array_equal(tuned.get("layer3.2.conv2.weight"), trained_before)

    scratch = net(1, 5)
    train(ctx, scratch, xb, yb, 3, 0.05, 5)
    a_tuned, a_scratch = accuracy(ctx, tuned, xt, yt), accuracy(ctx, scratch, xt, yt)
    print("    classes 5-9 after 3 epochs of 400 images: fine-tuned %.3f, from scratch %.3f"
          % (a_tuned, a_scratch))
    assert a_tuned > a_scratch + 0.05, (a_tuned, a_scratch)
