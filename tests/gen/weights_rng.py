"""Deterministic weights for the whole-network parity fixtures.

Weights cannot be committed (resnet50 alone is 100 MB), so the Python
fixture script and the C test (tests/parity_weights.h, which must stay
identical to this file) both regenerate them from a seed:

  stream key   k = mix(seed + G * (index + 1))            (mod 2^64)
  element i    z = mix(k + G * (i + 1))                   (splitmix64's i-th output)
  value        lo + (hi - lo) * ((z >> 40) / 2^24)        in double, then rounded to float32

with G = 0x9E3779B97F4A7C15 and mix the splitmix64 finaliser. `index` is the
tensor's position in the state_dict with num_batches_tracked left out
(= rn_model_tensor_info order); inputs use INPUT_STREAM.

Ranges (tensor_range) are chosen so that eval-mode activations stay O(1)
through resnet50 even though eval batch norm does not normalise: conv
weights U(+-sqrt(3/fan_in)) (variance 1/fan_in) halve the second moment
after a ReLU, which roughly cancels the doubling of each residual add, and
BN uses non-trivial statistics: running_mean U(-0.2, 0.2), running_var
U(0.5, 2), weight U(0.5, 1.5), bias U(-0.2, 0.2).
"""
import math

import numpy as np

GOLDEN = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1
INPUT_STREAM = 1000000  # stream index of generated inputs (no tensor has it)


def _mix_int(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def _mix_array(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def uniform(seed, index, count, lo, hi):
    """count float32 values of stream (seed, index), uniform in [lo, hi)."""
    key = _mix_int((seed + GOLDEN * (index + 1)) & MASK)
    i = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = _mix_array(np.uint64(key) + np.uint64(GOLDEN) * i)
    u = (z >> np.uint64(40)).astype(np.float64) * (1.0 / 16777216.0)
    span = float(hi) - float(lo)
    return (float(lo) + span * u).astype(np.float32)


def tensor_range(name, shape):
    """(lo, hi) of a state_dict tensor, by name and shape."""
    if name.endswith("running_mean"):
        return -0.2, 0.2
    if name.endswith("running_var"):
        return 0.5, 2.0
    if len(shape) == 1 and name.endswith(".weight"):  # batch norm scale
        return 0.5, 1.5
    if name.endswith(".bias"):  # batch norm shift and fc bias
        return -0.2, 0.2
    fan_in = 1
    for d in shape[1:]:
        fan_in *= int(d)
    a = math.sqrt(3.0 / fan_in)
    return -a, a


def fill_state_dict(model, seed):
    """Overwrite every tensor of model's state_dict (num_batches_tracked
    excepted) in state_dict order. Returns the number of tensors filled."""
    import torch

    sd = model.state_dict()
    index = 0
    with torch.no_grad():
        for name, t in sd.items():
            if name.endswith("num_batches_tracked"):
                continue
            lo, hi = tensor_range(name, tuple(t.shape))
            v = uniform(seed, index, t.numel(), lo, hi).reshape(tuple(t.shape))
            t.copy_(torch.from_numpy(v))
            index += 1
    return index
