#!/usr/bin/env python3
"""PyTorch reference values for every layer's forward and backward:
tests/data/layers/<case>/<array>.npy, read by tests/test_layers_parity.c.

Run from the repository root:  /usr/bin/python3 tests/gen/gen_layer_fixtures.py
(see tests/gen/README.md for the torch version used).

Each case directory holds the inputs (float32, PyTorch layouts: NCHW
activations, OIHW conv weights, (OUT, IN) linear weights), a fixed random
upstream gradient dy, and what torch.nn.functional and torch.autograd give
for them. The references are computed in float64 from the float32 inputs and
stored as float32, so they carry no float32 accumulation error of their own;
the script also checks that float32 PyTorch agrees with them within the C
test's tolerances. Scalar settings (stride, padding, kernel, momentum...) are
in config.npy (int64) or config_f.npy (float32), so the C test reads every
number from the fixture. Inputs come from weights_rng (no dependence on
torch's or numpy's random generators).
"""
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import weights_rng  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "layers")
SEED = 20151210  # arXiv 1512.03385, submitted 10 Dec 2015
FWD_TOL, GRAD_TOL = 1e-5, 1e-4  # as in tests/test_layers_parity.c

_stream = [0]


def rand(shape, lo=-1.0, hi=1.0):
    """Float32 array from the next stream of weights_rng."""
    _stream[0] += 1
    n = int(np.prod(shape))
    return weights_rng.uniform(SEED, _stream[0], n, lo, hi).reshape(shape)


def save(case, arrays):
    d = os.path.join(OUT, case)
    os.makedirs(d, exist_ok=True)
    for name, a in arrays.items():
        if isinstance(a, torch.Tensor):
            a = a.detach().numpy()
        a = np.ascontiguousarray(a)
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        assert a.dtype in (np.float32, np.int64), (case, name, a.dtype)
        np.save(os.path.join(d, name + ".npy"), a)


def check_f32(case, fn, inputs, refs, grad_names):
    """Run fn on float32 copies of inputs; report the largest error against
    the float64 references, relative to each tensor's largest magnitude."""
    t32 = {k: torch.tensor(v, requires_grad=v.dtype == np.float32 and k in grad_names)
           for k, v in inputs.items()}
    outs = fn(t32)
    worst = 0.0
    for name, (ref, got, tol) in outs_vs_refs(outs, t32, refs).items():
        scale = max(float(np.abs(ref).max()), 1e-30)
        err = float(np.abs(got - ref).max()) / scale
        worst = max(worst, err / tol)
        if err > tol:
            raise SystemExit("%s/%s: float32 PyTorch differs by %g (tol %g): tolerance too tight"
                             % (case, name, err, tol))
    return worst


def outs_vs_refs(outs, t32, refs):
    res = {}
    for name, ref in refs.items():
        if name in outs:
            res[name] = (ref, outs[name].detach().numpy(), FWD_TOL)
        elif name.startswith("d") and name[1:] in t32 and t32[name[1:]].grad is not None:
            res[name] = (ref, t32[name[1:]].grad.numpy(), GRAD_TOL)
    return res


def run_case(case, fn, inputs, dy_from, grad_names, extra=None):
    """fn(tensors) -> dict of outputs; the loss is sum(out[dy_from] * dy)
    (or out itself when it is the scalar loss). Saves inputs, outputs and
    gradients of grad_names."""
    t64 = {k: torch.tensor(v.astype(np.float64) if v.dtype == np.float32 else v,
                           requires_grad=v.dtype == np.float32 and k in grad_names)
           for k, v in inputs.items()}
    outs = fn(t64)
    refs = {k: v.detach().numpy() for k, v in outs.items()}
    if dy_from is not None:
        y = outs[dy_from]
        loss = (y * t64["dy"]).sum() if "dy" in t64 else y.sum()
        loss.backward()
        for k in grad_names:
            refs["d" + k] = t64[k].grad.numpy()

    def fn32(t):
        o = fn(t)
        if dy_from is not None:
            yy = o[dy_from]
            ll = (yy * t["dy"]).sum() if "dy" in t else yy.sum()
            ll.backward()
        return o

    worst = check_f32(case, fn32, inputs, refs, grad_names)
    arrays = dict(inputs)
    arrays.update(refs)
    if extra:
        arrays.update(extra)
    save(case, arrays)
    print("%-26s float32 torch within %.3f of the tolerance" % (case, worst))


# ---- conv2d ----------------------------------------------------------------------
def conv_case(case, n, c, h, w, oc, k, stride, pad, bias):
    sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
    ph, pw = pad if isinstance(pad, tuple) else (pad, pad)
    kh, kw = k if isinstance(k, tuple) else (k, k)
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    a = (3.0 / (c * kh * kw)) ** 0.5
    inputs = {"x": rand((n, c, h, w)), "w": rand((oc, c, kh, kw), -a, a)}
    if bias:
        inputs["b"] = rand((oc,), -0.5, 0.5)
    inputs["dy"] = rand((n, oc, oh, ow))
    grads = ["x", "w"] + (["b"] if bias else [])

    def fn(t):
        return {"y": F.conv2d(t["x"], t["w"], t.get("b"), stride=(sh, sw), padding=(ph, pw))}

    run_case(case, fn, inputs, "y", grads,
             {"config": np.array([sh, sw, ph, pw], dtype=np.int64)})


# ---- batch norm ------------------------------------------------------------------
def bn_train_case(case, n, c, h, w, momentum=0.1, eps=1e-5):
    inputs = {"x": rand((n, c, h, w), -2.0, 3.0), "gamma": rand((c,), 0.5, 1.5),
              "beta": rand((c,), -0.5, 0.5), "running_mean": rand((c,), -0.2, 0.2),
              "running_var": rand((c,), 0.5, 2.0), "dy": rand((n, c, h, w))}

    def fn(t):
        rm, rv = t["running_mean"].clone(), t["running_var"].clone()
        y = F.batch_norm(t["x"], rm, rv, t["gamma"], t["beta"], training=True,
                         momentum=momentum, eps=eps)
        x = t["x"].detach()
        mean = x.mean(dim=(0, 2, 3))
        invstd = 1.0 / torch.sqrt(x.var(dim=(0, 2, 3), unbiased=False) + eps)
        return {"y": y, "running_mean_out": rm, "running_var_out": rv, "save_mean": mean,
                "save_invstd": invstd}

    run_case(case, fn, inputs, "y", ["x", "gamma", "beta"],
             {"config_f": np.array([momentum, eps], dtype=np.float32)})


def bn_eval_case(case, n, c, h, w, eps=1e-5):
    inputs = {"x": rand((n, c, h, w), -2.0, 3.0), "gamma": rand((c,), 0.5, 1.5),
              "beta": rand((c,), -0.5, 0.5), "running_mean": rand((c,), -0.2, 0.2),
              "running_var": rand((c,), 0.5, 2.0)}

    def fn(t):
        return {"y": F.batch_norm(t["x"], t["running_mean"], t["running_var"], t["gamma"],
                                  t["beta"], training=False, eps=eps)}

    run_case(case, fn, inputs, None, [], {"config_f": np.array([0.1, eps], dtype=np.float32)})


# ---- pointwise, pooling, linear --------------------------------------------------
def relu_case(case, shape):
    x = rand(shape)
    x[x.__abs__() < 0.05] = 0.0  # exact zeros: the gradient there is 0 in both
    inputs = {"x": x, "dy": rand(shape)}
    run_case(case, lambda t: {"y": F.relu(t["x"])}, inputs, "y", ["x"])


def maxpool_case(case, n, c, h, w, k, stride, pad, relu_first=False):
    x = rand((n, c, h, w))
    if relu_first:  # ties: a ReLU output (zeros) on values quantised to {0, 0.5, 1}
        x = np.maximum(np.round(x * 2.0) / 2.0, 0.0).astype(np.float32)
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    inputs = {"x": x, "dy": rand((n, c, oh, ow))}

    def fn(t):
        return {"y": F.max_pool2d(t["x"], k, stride, pad)}

    run_case(case, fn, inputs, "y", ["x"],
             {"config": np.array([k, k, stride, stride, pad, pad], dtype=np.int64)})


def gap_case(case, n, c, h, w):
    inputs = {"x": rand((n, c, h, w)), "dy": rand((n, c, 1, 1))}
    run_case(case, lambda t: {"y": F.adaptive_avg_pool2d(t["x"], 1)}, inputs, "y", ["x"])


def linear_case(case, n, fin, fout):
    a = (1.0 / fin) ** 0.5
    inputs = {"x": rand((n, fin)), "w": rand((fout, fin), -a, a), "b": rand((fout,), -a, a),
              "dy": rand((n, fout))}
    run_case(case, lambda t: {"y": F.linear(t["x"], t["w"], t["b"])}, inputs, "y",
             ["x", "w", "b"])


def add_case(case, shape):
    inputs = {"a": rand(shape), "b": rand(shape), "dy": rand(shape)}
    run_case(case, lambda t: {"y": t["a"] + t["b"]}, inputs, "y", ["a", "b"])


def shortcut_a_case(case, n, c, h, w, oc, stride):
    lo = (oc - c) // 2
    oh, ow = -(-h // stride), -(-w // stride)
    inputs = {"x": rand((n, c, h, w)), "dy": rand((n, oc, oh, ow))}

    def fn(t):
        s = t["x"][:, :, ::stride, ::stride]
        return {"y": F.pad(s, (0, 0, 0, 0, lo, oc - c - lo))}

    run_case(case, fn, inputs, "y", ["x"], {"config": np.array([stride, oc], dtype=np.int64)})


def xent_case(case, n, k, scale):
    _stream[0] += 1
    labels = (weights_rng.uniform(SEED, _stream[0], n, 0, k).astype(np.int64)).clip(0, k - 1)
    inputs = {"logits": rand((n, k), -scale, scale), "labels": labels}

    def fn(t):
        return {"loss": F.cross_entropy(t["logits"], t["labels"], reduction="mean").reshape(1)}

    run_case(case, fn, inputs, "loss", ["logits"])


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    torch.set_num_threads(1)
    conv_case("conv_k3_s1_p1_bias", 2, 3, 7, 9, 4, 3, 1, 1, True)
    conv_case("conv_k3_s2_p1", 2, 5, 9, 7, 6, 3, 2, 1, False)
    conv_case("conv_k3_s2_p0_bias", 1, 4, 8, 8, 3, 3, 2, 0, True)
    conv_case("conv_k3_s1x2_p1x0", 1, 2, 6, 9, 3, 3, (1, 2), (1, 0), False)
    conv_case("conv_k1_s1_p0_bias", 2, 8, 5, 6, 4, 1, 1, 0, True)
    conv_case("conv_k1_s2_p0", 2, 6, 7, 9, 8, 1, 2, 0, False)
    conv_case("conv_k7_s2_p3", 1, 3, 13, 11, 4, 7, 2, 3, False)
    conv_case("conv_k7_s1_p3_bias", 1, 2, 7, 9, 3, 7, 1, 3, True)
    bn_train_case("bn_train_2x5x7x9", 2, 5, 7, 9)
    bn_train_case("bn_train_4x3x1x1", 4, 3, 1, 1)
    bn_train_case("bn_train_3x16x5x4", 3, 16, 5, 4)
    bn_eval_case("bn_eval_2x5x7x9", 2, 5, 7, 9)
    relu_case("relu_2x3x5x7", (2, 3, 5, 7))
    maxpool_case("maxpool_k3_s2_p1", 2, 3, 9, 7, 3, 2, 1)
    maxpool_case("maxpool_k3_s2_p1_ties", 1, 4, 8, 8, 3, 2, 1, relu_first=True)
    maxpool_case("maxpool_k2_s2_p0", 2, 3, 8, 7, 2, 2, 0)
    maxpool_case("maxpool_k3_s1_p0", 1, 3, 7, 5, 3, 1, 0)
    gap_case("gap_2x6x7x9", 2, 6, 7, 9)
    gap_case("gap_3x4x1x1", 3, 4, 1, 1)
    linear_case("linear_3x20to7", 3, 20, 7)
    linear_case("linear_2x64to10", 2, 64, 10)
    add_case("add_2x3x5x4", (2, 3, 5, 4))
    shortcut_a_case("shortcut_a_s2_3to8", 2, 3, 7, 9, 8, 2)
    shortcut_a_case("shortcut_a_s2_16to32", 2, 16, 8, 8, 32, 2)
    shortcut_a_case("shortcut_a_s1_4to6", 1, 4, 5, 5, 6, 1)
    xent_case("xent_5x10", 5, 10, 3.0)
    xent_case("xent_3x1000_large", 3, 1000, 30.0)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print("%s: %d bytes" % (os.path.relpath(OUT), total))


if __name__ == "__main__":
    main()
