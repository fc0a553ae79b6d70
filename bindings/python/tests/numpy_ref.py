"""An independent float64 numpy implementation of the paper's networks,
written from the definitions (He et al. 2015; PyTorch's BatchNorm2d,
Conv2d, F.pad-based option-A shortcut, cross_entropy), used as the expected
values of the binding tests. It reads a state dict with torchvision names
and infers the structure from them."""
import re

import numpy as np

EPS = 1e-5
MOMENTUM = 0.1


def conv2d(x, w, stride, pad):
    """x (N, C, H, W), w (O, C, KH, KW): zero padding, no bias."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for a in range(kh):
        for b in range(kw):
            patch = xp[:, :, a:a + stride * (oh - 1) + 1:stride, b:b + stride * (ow - 1) + 1:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, a, b])
    return out


def batchnorm(x, sd, prefix, train, stats):
    g, b = sd[prefix + ".weight"], sd[prefix + ".bias"]
    if train:
        mean = x.mean(axis=(0, 2, 3))
        var = x.var(axis=(0, 2, 3))  # biased: what normalises in training
        m = x.shape[0] * x.shape[2] * x.shape[3]
        stats[prefix] = (mean, var * m / (m - 1))  # unbiased: what running_var tracks
    else:
        mean, var = sd[prefix + ".running_mean"], sd[prefix + ".running_var"]
    inv = 1.0 / np.sqrt(var + EPS)
    return (x - mean[None, :, None, None]) * (inv * g)[None, :, None, None] + b[None, :, None, None]


def relu(x):
    return np.maximum(x, 0.0)


def maxpool3x3s2(x):
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    oh, ow = (x.shape[2] - 1) // 2 + 1, (x.shape[3] - 1) // 2 + 1
    out = np.full(x.shape[:2] + (oh, ow), -np.inf)
    for a in range(3):
        for b in range(3):
            out = np.maximum(out, xp[:, :, a:a + 2 * (oh - 1) + 1:2, b:b + 2 * (ow - 1) + 1:2])
    return out


def shortcut_a(x, stride, out_channels):
    """Option A: subsample, then zero channels split before and after."""
    y = x[:, :, ::stride, ::stride]
    extra = out_channels - x.shape[1]
    return np.pad(y, ((0, 0), (extra // 2, extra - extra // 2), (0, 0), (0, 0)))


def _blocks(sd):
    found = set()
    for k in sd:
        m = re.match(r"^(layer(\d+)\.(\d+))\.", k)
        if m:
            found.add((int(m.group(2)), int(m.group(3)), m.group(1)))
    return [name for _, _, name in sorted(found)]


def forward(sd, x, train=False, stride_on_1x1=False, features_only=False):
    """Logits (float64) for x (N, C, H, W); with train=True BN uses batch
    statistics and returns (logits, {bn prefix: (batch mean, unbiased var)})."""
    sd = {k: np.asarray(v, np.float64) for k, v in sd.items()}
    stats = {}
    x = np.asarray(x, np.float64)
    k = sd["conv1.weight"].shape[2]
    if k == 7:  # ImageNet stem
        x = relu(batchnorm(conv2d(x, sd["conv1.weight"], 2, 3), sd, "bn1", train, stats))
        x = maxpool3x3s2(x)
    else:  # CIFAR stem
        x = relu(batchnorm(conv2d(x, sd["conv1.weight"], 1, k // 2), sd, "bn1", train, stats))
    for blk in _blocks(sd):
        stage, index = (int(v) for v in re.match(r"layer(\d+)\.(\d+)", blk).groups())
        stride = 2 if stage > 1 and index == 0 else 1
        bottleneck = blk + ".conv3.weight" in sd
        if bottleneck:
            s1, s2 = (stride, 1) if stride_on_1x1 else (1, stride)
            y = relu(batchnorm(conv2d(x, sd[blk + ".conv1.weight"], s1, 0), sd, blk + ".bn1",
                               train, stats))
            y = relu(batchnorm(conv2d(y, sd[blk + ".conv2.weight"], s2, 1), sd, blk + ".bn2",
                               train, stats))
            y = batchnorm(conv2d(y, sd[blk + ".conv3.weight"], 1, 0), sd, blk + ".bn3", train,
                          stats)
        else:
            y = relu(batchnorm(conv2d(x, sd[blk + ".conv1.weight"], stride, 1), sd, blk + ".bn1",
                               train, stats))
            y = batchnorm(conv2d(y, sd[blk + ".conv2.weight"], 1, 1), sd, blk + ".bn2", train,
                          stats)
        if blk + ".downsample.0.weight" in sd:  # option B/C projection
            short = batchnorm(conv2d(x, sd[blk + ".downsample.0.weight"], stride, 0), sd,
                              blk + ".downsample.1", train, stats)
        elif y.shape[1] != x.shape[1] or stride != 1:
            short = shortcut_a(x, stride, y.shape[1])
        else:
            short = x
        x = relu(y + short)
    pooled = x.mean(axis=(2, 3))
    if features_only:
        return pooled
    logits = pooled @ sd["fc.weight"].T + sd["fc.bias"]
    return (logits, stats) if train else logits


def cross_entropy(logits, labels):
    """Mean over the batch, log-sum-exp stabilised."""
    z = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(lse - z[np.arange(len(labels)), labels]))


def train_loss(sd, x, labels):
    logits, _ = forward(sd, x, train=True)
    return cross_entropy(logits, labels)


def numeric_grad(sd, x, labels, name, indices, h=1e-5):
    """Central differences of the train-mode loss w.r.t. sd[name] at flat indices."""
    base = {k: np.asarray(v, np.float64).copy() for k, v in sd.items()}
    out = []
    for i in indices:
        flat = base[name].reshape(-1)
        old = flat[i]
        flat[i] = old + h
        up = train_loss(base, x, labels)
        flat[i] = old - h
        down = train_loss(base, x, labels)
        flat[i] = old
        out.append((up - down) / (2 * h))
    return np.array(out)
