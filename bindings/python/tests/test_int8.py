"""int8 from Python (docs/int8.md): quantize a float model, save, load
(copying and in place), and the logits against int8_reference below, a
numpy implementation of the documented arithmetic that reads the int8 file
with safetensors_ref (both written from the documents, not from the
library): the logits must be equal to the bit."""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if os.environ.get("RESNET_LIBRARY"):
    sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import resnet  # noqa: E402
import safetensors_ref  # noqa: E402
from test_bindings import images, small_model  # noqa: E402

f32 = np.float32


def q8(f, lo):
    return np.rint(np.clip(f, f32(lo), f32(127))).astype(np.int8)


def qconv(t, name, x, s_x, stride, pad, residual=None):
    """conv NAME of the int8 NHWC x (scale s_x), bias, optional residual
    (array, scale), ReLU; returns (y, s_y)."""
    w = t[name + ".weight"].astype(np.int64)  # OHWI
    b = t[name + ".bias"].astype(np.int64)
    sw = t[name + ".weight_scale"]
    s_y = t[name + ".output_scale"][0]
    n, h, wd, c = x.shape
    o, k = w.shape[0], w.shape[1]
    xp = np.zeros((n, h + 2 * pad, wd + 2 * pad, c), np.int64)
    xp[:, pad:pad + h, pad:pad + wd] = x
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    acc = np.zeros((n, oh, ow, o), np.int64) + b
    for ky in range(k):
        for kx in range(k):
            patch = xp[:, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride]
            acc += patch @ w[:, ky, kx, :].T
    m = (np.float64(s_x) * sw.astype(np.float64) / np.float64(s_y)).astype(f32)
    f = acc.astype(f32) * m
    if residual is not None:
        r, s_r = residual
        f = f + r.astype(f32) * f32(np.float64(s_r) / np.float64(s_y))
    return q8(f, 0), s_y


def int8_reference(path, x_nchw, blocks):
    t, meta = safetensors_ref.read(path)
    assert meta["format"] == "libresnet-int8"
    s = t["input_scale"][0]
    inv = f32(1.0 / np.float64(s))
    x = q8(np.transpose(x_nchw, (0, 2, 3, 1)) * inv, -127)
    x, s = qconv(t, "conv1", x, s, 1, 1)
    for stage, nblocks in enumerate(blocks):
        for i in range(nblocks):
            base = "layer%d.%d" % (stage + 1, i)
            stride = 2 if stage > 0 and i == 0 else 1
            c1, s1 = qconv(t, base + ".conv1", x, s, stride, 1)
            out = t[base + ".conv2.weight"].shape[0]
            sc = x[:, ::stride, ::stride]
            if sc.shape[3] != out:  # option A: zero channels, half before, half after
                lo = (out - sc.shape[3]) // 2
                pad = np.zeros(sc.shape[:3] + (out,), np.int8)
                pad[..., lo:lo + sc.shape[3]] = sc
                sc = pad
            x, s = qconv(t, base + ".conv2", c1, s1, 1, 1, (sc, s))
    n, h, w, c = x.shape
    feat = x.reshape(n, h * w, c).astype(np.int64).sum(axis=1).astype(f32) * \
        f32(np.float64(s) / (h * w))
    fw, fb = t["fc.weight"], t["fc.bias"]
    logits = np.zeros((n, fw.shape[0]), f32)
    for o in range(fw.shape[0]):
        acc = np.zeros(n, f32)
        for k in range(c):
            acc = acc + feat[:, k] * fw[o, k]
        logits[:, o] = acc + fb[o]
    return logits


def test_quantize_save_load_and_the_numpy_reference(tmp_path):
    ctx = resnet.Context()
    model, _ = small_model(ctx)
    rng = np.random.default_rng(4)
    batches = [rng.standard_normal((4, 3, 8, 8)).astype(np.float32) for _ in range(3)]
    q = model.quantize(batches, method="percentile", percentile=99.9)
    assert q.precision == "int8" and model.precision == "float32"
    path = str(tmp_path / "q.safetensors")
    q.save(path)
    tensors, meta = safetensors_ref.read(path)
    assert tensors["layer2.0.conv1.weight"].dtype == np.int8
    assert tensors["layer2.0.conv1.weight"].shape == (8, 3, 3, 4)  # OHWI
    assert tensors["layer2.0.conv1.bias"].dtype == np.int32
    assert "over 12 images" in meta["calibration"]
    x = images(3, seed=5)
    want = int8_reference(path, x, [3, 3, 3])
    got = q.predict(x)
    assert np.array_equal(got, want), (got, want)
    with open(path, "rb") as f:
        blob = f.read()
    for loaded in (resnet.Model.load_int8(ctx, path), resnet.Model.load_int8(ctx, blob),
                   resnet.Model.load_int8(ctx, blob, in_place=True)):
        assert loaded.precision == "int8"
        assert np.array_equal(loaded.predict(x), want)
    # close to the float model: the same top class for most images
    xs = images(32, seed=6)
    agree = np.mean(np.argmax(model.predict(xs), 1) == np.argmax(q.predict(xs), 1))
    assert agree >= 0.75, agree


def test_int8_errors_raise(tmp_path):
    ctx = resnet.Context()
    model, _ = small_model(ctx)
    try:
        model.quantize([images(2)], method="median")
        raise AssertionError("median accepted")
    except ValueError:
        pass
    try:
        resnet.Model.load_int8(ctx, b"not a safetensors file")
        raise AssertionError("garbage accepted")
    except resnet.ResnetError as e:
        assert "rn_model_load_int8_mem" in str(e)
    q = model.quantize([images(2)], method="max")
    try:
        q.set("fc.bias", np.zeros(10, np.float32))
        raise AssertionError("an int8 model changed")
    except resnet.ResnetError as e:
        assert "read-only" in str(e)
