"""Tests of the ctypes bindings. Expected values come from numpy_ref.py (a
float64 numpy implementation of the networks) and safetensors_ref.py (a
reader/writer written from the file format), never from libresnet itself.

Run with `python3 -m pytest bindings/python/tests` or, without pytest,
`python3 bindings/python/tests/run.py`."""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# The installed package (pip install ./bindings/python) unless
# RESNET_LIBRARY names a library for the source tree's package.
if os.environ.get("RESNET_LIBRARY"):
    sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import resnet  # noqa: E402
import numpy_ref  # noqa: E402
import safetensors_ref  # noqa: E402

# A CIFAR ResNet-20 narrowed to widths 4/8/16 on 8x8 images keeps the numpy
# reference fast while exercising every block type of the preset, including
# both option-A shortcuts.
ARCH, WIDTH, CLASSES, SIZE = "resnet20", 4, 10, 8


def small_model(ctx, seed=0):
    model = resnet.Model(ctx, ARCH, classes=CLASSES, in_channels=3, base_width=WIDTH)
    rng = np.random.default_rng(seed)
    state = {}
    for name, shape, _ in model.tensors():
        if name.endswith("running_var"):
            v = rng.uniform(0.5, 2.0, shape)
        elif name.endswith("weight") and len(shape) == 1:  # BN scale
            v = rng.uniform(0.5, 1.5, shape)
        elif len(shape) == 4:  # conv, He-scaled so activations stay O(1)
            v = rng.standard_normal(shape) * np.sqrt(2.0 / (shape[1] * shape[2] * shape[3]))
        else:
            v = rng.standard_normal(shape) * 0.3
        state[name] = v.astype(np.float32)
    model.load_state_dict(state)
    return model, state


def images(n=2, seed=1):
    return np.random.default_rng(seed).standard_normal((n, 3, SIZE, SIZE)).astype(np.float32)


def assert_close(actual, expected, rtol, atol, what):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, "%s: shape %s vs %s" % (what, actual.shape,
                                                                   expected.shape)
    err = np.abs(actual - expected) - (atol + rtol * np.abs(expected))
    assert np.all(err <= 0), "%s: max excess %g\nactual %s\nexpected %s" % (
        what, err.max(), actual.ravel()[:8], expected.ravel()[:8])


def test_version_is_major_minor_patch():
    parts = resnet.version().split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_presets_include_the_papers_networks():
    names = resnet.presets()
    for n in ("resnet18", "resnet50", "resnet20", "resnet110", "plain20"):
        assert n in names


def test_parameter_count_matches_the_paper_for_resnet20():
    # Paper, Table 6: ResNet-20 has 0.27M parameters; exact count for 10
    # classes with option A (no projection weights): convs + BN + fc.
    ctx = resnet.Context()
    m = resnet.Model(ctx, "resnet20", classes=10)
    convs = 3 * 16 * 9 + sum(9 * c * c * 6 for c in (16, 32, 64)) + 9 * (16 * 32 + 32 * 64) \
        - 9 * (32 * 32 + 64 * 64)
    bns = 2 * (16 + sum(2 * 3 * c for c in (16, 32, 64)))
    assert m.num_parameters == convs + bns + 64 * 10 + 10


def test_tensors_round_trip_in_pytorch_layout():
    ctx = resnet.Context()
    model, state = small_model(ctx)
    for name, value in state.items():
        got = model.get(name)
        assert got.shape == value.shape and got.dtype == np.float32, name
        assert np.array_equal(got, value), name
    assert model.get("conv1.weight").shape == (WIDTH, 3, 3, 3)  # OIHW
    assert model.get("fc.weight").shape == (CLASSES, 4 * WIDTH)


def test_eval_forward_nchw_matches_numpy_reference():
    ctx = resnet.Context()
    model, state = small_model(ctx)
    x = images()
    expected = numpy_ref.forward(state, x)
    assert_close(model.predict(x), expected, 1e-4, 1e-4, "logits")


def test_eval_forward_nhwc_matches_numpy_reference():
    ctx = resnet.Context()
    model, state = small_model(ctx)
    x = images(3, seed=5)
    expected = numpy_ref.forward(state, x)
    got = model.predict(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), layout="NHWC")
    assert_close(got, expected, 1e-4, 1e-4, "logits")


def test_results_do_not_depend_on_thread_count():
    x = images(4, seed=9)
    outs = []
    for threads in (1, 2):
        ctx = resnet.Context(threads=threads)
        model, _ = small_model(ctx)
        outs.append(model.predict(x))
    assert np.array_equal(outs[0], outs[1])


def test_train_forward_updates_running_stats_like_pytorch():
    ctx = resnet.Context()
    model, state = small_model(ctx)
    x = images(4, seed=2)
    _, stats = numpy_ref.forward(state, x, train=True)
    model.forward(x, train=True)
    for bn in ("bn1", "layer2.0.bn1", "layer3.2.bn2"):
        mean, unbiased_var = stats[bn]
        m = numpy_ref.MOMENTUM
        assert_close(model.get(bn + ".running_mean"),
                     (1 - m) * state[bn + ".running_mean"] + m * mean, 1e-4, 1e-5, bn + " mean")
        assert_close(model.get(bn + ".running_var"),
                     (1 - m) * state[bn + ".running_var"] + m * unbiased_var, 1e-4, 1e-5,
                     bn + " var")


def test_backward_gradients_match_finite_differences_of_numpy_loss():
    ctx = resnet.Context()
    model, state = small_model(ctx)
    x, labels = images(4, seed=3), np.array([1, 7, 3, 3])
    model.forward(x, train=True)
    loss = model.backward(labels)
    assert abs(loss - numpy_ref.train_loss(state, x, labels)) < 1e-4
    rng = np.random.default_rng(4)
    for name in ("fc.bias", "fc.weight", "conv1.weight", "layer2.0.conv1.weight",
                 "layer3.2.bn2.weight", "layer1.1.bn1.bias"):
        size = state[name].size
        idx = rng.choice(size, size=min(size, 6), replace=False)
        expected = numpy_ref.numeric_grad(state, x, labels, name, idx)
        got = model.grad(name).reshape(-1)[idx]
        assert_close(got, expected, 2e-3, 2e-4, name + " gradient")


def test_sgd_steps_follow_torch_optim_sgd():
    # torch.optim.SGD: g = grad + wd * p; buf = g on the first step, then
    # buf = momentum * buf + g; p -= lr * buf. The gradient of a few tracked
    # entries comes from finite differences of the numpy loss.
    ctx = resnet.Context()
    model, state = small_model(ctx)
    lr, mom, wd = 0.05, 0.9, 1e-3
    opt = resnet.SGD(model, lr=lr, momentum=mom, weight_decay=wd)
    x, labels = images(4, seed=6), np.array([0, 2, 4, 6])
    tracked = {"fc.bias": np.arange(CLASSES), "layer3.1.conv2.weight": np.array([0, 17, 300])}
    buf = {}
    assert opt.momentum_buffer("fc.bias") is None  # none before the first step
    for step in range(2):
        # The reference starts each step from the library's current weights,
        # so only one step's error is compared at a time.
        p = {k: model.get(k).astype(np.float64) for k in state}
        expected = {}
        for n, idx in tracked.items():
            g = numpy_ref.numeric_grad(p, x, labels, n, idx) + wd * p[n].reshape(-1)[idx]
            buf[n] = g if step == 0 else mom * buf[n] + g
            expected[n] = p[n].reshape(-1)[idx] - lr * buf[n]
        loss = model.train_step(x, labels, opt)
        assert abs(loss - numpy_ref.train_loss(p, x, labels)) < 1e-4, step
        for n, idx in tracked.items():
            assert_close(model.get(n).reshape(-1)[idx], expected[n], 1e-4, 2e-5,
                         "%s after step %d" % (n, step + 1))
            assert_close(opt.momentum_buffer(n).reshape(-1)[idx], buf[n], 2e-3, 2e-4,
                         "%s momentum buffer after step %d" % (n, step + 1))


def test_closing_a_context_releases_its_models_first():
    ctx = resnet.Context()
    model, _ = small_model(ctx)
    opt = resnet.SGD(model, lr=0.1)
    model.predict(images())
    ctx.close()
    for obj in (opt, model, ctx):
        try:
            obj.handle
            raise AssertionError("%s still open" % type(obj).__name__)
        except ValueError:
            pass


def test_save_writes_a_safetensors_file_with_torchvision_names(tmp_path):
    ctx = resnet.Context()
    model, state = small_model(ctx)
    path = str(tmp_path / "w.safetensors")
    model.save(path)
    tensors, _ = safetensors_ref.read(path)
    assert set(state) <= set(tensors)
    for name, value in state.items():
        assert tensors[name].dtype == np.float32 and np.array_equal(tensors[name], value), name


def test_load_reads_a_torchvision_style_file(tmp_path):
    ctx = resnet.Context()
    model, _ = small_model(ctx, seed=0)
    _, other = small_model(resnet.Context(), seed=11)
    # As torchvision's DataParallel checkpoints: "module." prefix and
    # num_batches_tracked counters, which the library accepts and ignores.
    tensors = {"module." + k: v for k, v in other.items()}
    tensors["module.bn1.num_batches_tracked"] = np.array(3, np.int64)
    path = str(tmp_path / "tv.safetensors")
    safetensors_ref.write(path, tensors, {"format": "pt"})
    model.load(path)
    for name, value in other.items():
        assert np.array_equal(model.get(name), value), name
    x = images()
    assert_close(model.predict(x), numpy_ref.forward(other, x), 1e-4, 1e-4, "logits")


def test_errors_raise_with_status_and_sentence(tmp_path):
    ctx = resnet.Context()
    try:
        resnet.Model(ctx, "resnet21", classes=10)
        raise AssertionError("unknown preset accepted")
    except resnet.ResnetError as e:
        assert e.status == resnet.E_NOT_FOUND and e.message
    model, _ = small_model(ctx)
    try:
        model.get("layer9.0.conv1.weight")
        raise AssertionError("unknown tensor accepted")
    except resnet.ResnetError as e:
        assert e.status == resnet.E_NOT_FOUND
    try:
        model.set("fc.bias", np.zeros(CLASSES + 1, np.float32))
        raise AssertionError("wrong shape accepted")
    except ValueError:
        pass
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":")
    before = model.get("fc.weight")
    try:
        model.load(str(bad))
        raise AssertionError("truncated file accepted")
    except resnet.ResnetError as e:
        assert e.status == resnet.E_BAD_FORMAT and e.message
    assert np.array_equal(model.get("fc.weight"), before)  # untouched on failure
