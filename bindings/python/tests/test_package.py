"""Tests of the package as a whole: the ctypes declarations against the C
headers, the model builder, folding, the trainer over in-memory datasets,
schedules and checkpoints. Expected values come from numpy float64
(numpy_ref.py) or closed forms, never from libresnet itself."""
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if os.environ.get("RESNET_LIBRARY"):
    sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import resnet  # noqa: E402
from resnet import _cdecl, _signatures  # noqa: E402
import numpy_ref  # noqa: E402
from test_bindings import small_model, images, assert_close, WIDTH, CLASSES  # noqa: E402

TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
INCLUDE = os.path.join(TOP, "include")


def test_signatures_are_those_of_the_headers():
    # The module in use was generated from the headers; regenerating it from
    # the headers of this tree must give the same declarations.
    fresh = _cdecl.signatures(INCLUDE)
    used = _signatures.SIGNATURES
    assert set(fresh) == set(used), (set(fresh) ^ set(used))
    for name, (ret, args, names) in fresh.items():
        r, a, n = used[name]
        assert r == (None if ret == "None" else eval(ret, vars(_signatures))), name
        assert a == [eval(t, vars(_signatures)) for t in args], name
        assert n == names, name
    assert dict(_signatures.CONSTANTS) == _cdecl.constants(INCLUDE)


def test_every_exported_symbol_is_declared_and_present():
    with open(os.path.join(TOP, "lib", "resnet.symbols")) as f:
        exported = [line.strip() for line in f if line.strip()]
    L = resnet._lib.lib()
    missing = [s for s in exported if s not in _signatures.SIGNATURES]
    assert not missing, missing
    absent = [s for s in exported if not L.has(s)]
    assert not absent, absent
    # a handful of argument counts written down from the headers by hand
    for name, nargs in (("rn_plan_forward", 6), ("rn_model_create_preset", 8),
                        ("rn_trainer_create", 5), ("rn_dataset_create", 9)):
        assert len(_signatures.SIGNATURES[name][1]) == nargs, name


def test_presets_keep_their_own_class_count():
    ctx = resnet.Context()
    assert resnet.Model(ctx, "resnet20").classes == 10
    assert resnet.Model(ctx, "resnet18").classes == 1000
    assert resnet.Model(ctx, "resnet20", classes=7).classes == 7
    assert resnet.Model(ctx, "resnet20").in_channels == 3


def test_macs_of_resnet20_match_the_layer_arithmetic():
    # stem 32*32*9*3*16; stage 1: six 3x3 16->16 convs at 32x32; stages 2-3:
    # one widening conv and five at the new width; fc 64*10.
    def conv(hw, cin, cout):
        return hw * hw * 9 * cin * cout
    expected = conv(32, 3, 16) + 6 * conv(32, 16, 16) + conv(16, 16, 32) + 5 * conv(16, 32, 32) \
        + conv(8, 32, 64) + 5 * conv(8, 64, 64) + 64 * 10
    ctx = resnet.Context()
    m = resnet.Model(ctx, "resnet20")
    assert m.macs(32, 32) == expected
    layers = m.layers(32, 32)
    assert layers[0][0] == "stem" and layers[-1][0] == "fc"
    assert layers[-1][1] == (1, 10, 1, 1) and len(layers) == 1 + 9 + 1
    assert sum(l[3] for l in layers) == expected


def built_like_small_model(ctx):
    m = resnet.Model(ctx, in_channels=3)
    m.add_stem(WIDTH, kernel=3, stride=1, pad=1, max_pool=False)
    for i, stride in enumerate((1, 2, 2)):
        m.add_stage("basic", 3, WIDTH << i, stride=stride, shortcut="A")
    return m.add_head(CLASSES)


def test_builder_makes_a_custom_network_that_matches_numpy():
    ctx = resnet.Context()
    preset, state = small_model(ctx)
    m = built_like_small_model(ctx)
    assert m.names() == preset.names()
    m.load_state_dict(state)
    x = images(2, seed=21)
    assert_close(m.predict(x), numpy_ref.forward(state, x), 1e-4, 1e-4, "built model logits")


def test_builder_bottleneck_with_projection_matches_numpy():
    ctx = resnet.Context()
    m = resnet.Model(ctx, in_channels=2)
    m.add_stem(8, kernel=7, stride=2, pad=3, max_pool=True)
    m.add_stage("bottleneck", 2, 4, stride=1, shortcut="B")
    m.add_stage("bottleneck", 1, 8, stride=2, shortcut="B")
    m.add_head(5)
    rng = np.random.default_rng(3)
    state = {}
    for name, shape, _ in m.tensors():
        if name.endswith("running_var"):
            v = rng.uniform(0.5, 2.0, shape)
        elif len(shape) == 4:
            v = rng.standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))
        else:
            v = rng.standard_normal(shape) * 0.3
        state[name] = v.astype(np.float32)
    m.load_state_dict(state)
    x = np.random.default_rng(4).standard_normal((2, 2, 16, 16)).astype(np.float32)
    assert_close(m.predict(x), numpy_ref.forward(state, x), 1e-4, 1e-4, "bottleneck logits")


def test_builder_refuses_out_of_order_calls():
    ctx = resnet.Context()
    m = resnet.Model(ctx)
    try:
        m.add_stage("basic", 1, 8)
        raise AssertionError("stage before stem accepted")
    except resnet.ResnetError as e:
        assert e.status == resnet.E_BAD_STATE and "stem" in e.message.lower()


def test_forward_writes_into_a_given_output_array():
    ctx = resnet.Context()
    model, state = small_model(ctx)
    x = images(3, seed=8)
    out = np.full((3, CLASSES), np.nan, np.float32)
    got = model.predict(x, out=out)
    assert got is out
    assert_close(out, numpy_ref.forward(state, x), 1e-4, 1e-4, "logits in place")
    try:
        model.predict(x, out=np.empty((3, CLASSES), np.float64))
        raise AssertionError("float64 out accepted")
    except ValueError:
        pass


def test_folded_model_keeps_the_eval_logits():
    ctx = resnet.Context()
    model, state = small_model(ctx)
    x = images(2, seed=12)
    model.fold()
    assert_close(model.predict(x), numpy_ref.forward(state, x), 1e-4, 1e-4, "folded logits")
    try:
        model.forward(x, train=True)
        raise AssertionError("train forward of a folded model accepted")
    except resnet.ResnetError as e:
        assert e.status == resnet.E_BAD_STATE


def test_packed_model_keeps_the_eval_logits_and_refuses_training():
    ctx = resnet.Context()
    model, state = small_model(ctx)
    x = images(2, seed=14)
    model.pack_for_inference()
    assert_close(model.predict(x), numpy_ref.forward(state, x), 1e-4, 1e-4, "packed logits")
    try:
        model.forward(x, train=True)
        raise AssertionError("train forward of a packed model accepted")
    except resnet.ResnetError as e:
        assert e.status == resnet.E_BAD_STATE


def test_input_grad_matches_finite_differences():
    ctx = resnet.Context()
    model, state = small_model(ctx)
    x, labels = images(2, seed=13), np.array([3, 8])
    model.forward(x, train=True)
    model.backward(labels)
    g = model.input_grad()
    assert g.shape == x.shape
    base = x.astype(np.float64)
    for idx in [(0, 0, 0, 0), (1, 2, 5, 3), (0, 1, 7, 7)]:
        up, down = base.copy(), base.copy()
        up[idx] += 1e-5
        down[idx] -= 1e-5
        num = (numpy_ref.train_loss(state, up, labels)
               - numpy_ref.train_loss(state, down, labels)) / 2e-5
        assert abs(g[idx] - num) <= 2e-4 + 2e-3 * abs(num), (idx, g[idx], num)


def uint8_images(n, h, w, c, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, c), dtype=np.uint8)


def test_dataset_normalisation_matches_numpy():
    ctx = resnet.Context()
    imgs = uint8_images(10, 4, 5, 3, seed=1)
    labels = np.arange(10) % 3
    ds = resnet.Dataset(ctx, imgs, labels, classes=3)
    assert ds.shape == (10, 4, 5, 3) and ds.classes == 3 and len(ds) == 10
    ds.compute_normalization("channel")
    x = imgs.astype(np.float64) / 255
    mean, std = x.mean(axis=(0, 1, 2)), x.std(axis=(0, 1, 2))
    mode, m, s = ds.normalization()
    assert mode == "channel"
    assert_close(m, mean, 1e-6, 1e-7, "channel mean")
    assert_close(s, std, 1e-5, 1e-7, "channel std")
    batch, lab = ds.batch([7, 2])
    assert_close(batch, (x[[7, 2]] - mean) / std, 1e-5, 1e-5, "normalised batch")
    assert list(lab) == [labels[7], labels[2]]
    view = ds.view([9, 9, 0])
    assert len(view) == 3 and view.normalization()[0] == "channel"
    vb, vl = view.batch([0, 2])
    assert_close(vb, (x[[9, 0]] - mean) / std, 1e-5, 1e-5, "view batch")
    try:
        resnet.Dataset(ctx, imgs, np.full(10, 3), classes=3)
        raise AssertionError("label out of range accepted")
    except resnet.ResnetError as e:
        assert e.status == resnet.E_INVALID_ARG


def test_schedules_follow_the_closed_forms():
    ctx = resnet.Context()
    s = resnet.LRSchedule(ctx, 0.1).step([2, 4], gamma=0.1)
    assert [round(s.lr(0, e), 12) for e in range(6)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    c = resnet.LRSchedule(ctx, 0.2).cosine(10, min_lr=0.0, unit="iter")
    for t in (0, 3, 10, 12):
        expect = 0.2 * (1 + math.cos(math.pi * min(t, 10) / 10)) / 2
        assert abs(c.lr(t) - expect) < 1e-12, t
    w = resnet.LRSchedule(ctx, 0.1).warmup("iters", 5, 0.01)
    assert w.lr(4) == 0.01 and w.lr(5) == 0.1


def test_trainer_step_is_one_sgd_step_on_the_batch():
    # Batch = the whole (unshuffled, unaugmented) dataset, so one trainer step
    # is one SGD step on x = images / 255; its gradient comes from central
    # differences of the numpy loss.
    ctx = resnet.Context()
    model, state = small_model(ctx)
    n = 4
    imgs = uint8_images(n, 8, 8, 3, seed=5)
    labels = np.array([1, 0, 9, 4])
    ds = resnet.Dataset(ctx, imgs, labels, classes=CLASSES)
    lr, wd = 0.05, 1e-3
    opt = resnet.SGD(model, lr=lr, momentum=0.9, weight_decay=wd)
    sched = resnet.LRSchedule(ctx, lr)
    tr = resnet.Trainer(model, opt, sched, ds, batch=n, shuffle=0, aug_pad=0, aug_flip=0)
    x = (imgs.astype(np.float64) / 255).transpose(0, 3, 1, 2)
    tracked = {"fc.bias": np.arange(CLASSES), "layer2.0.conv1.weight": np.array([0, 11, 40])}
    p = {k: v.astype(np.float64) for k, v in state.items()}
    expected = {k: p[k].reshape(-1)[i] - lr * (numpy_ref.numeric_grad(p, x, labels, k, i)
                                               + wd * p[k].reshape(-1)[i])
                for k, i in tracked.items()}
    loss, end = tr.step()
    assert end and abs(loss - numpy_ref.train_loss(p, x, labels)) < 1e-4
    for k, i in tracked.items():
        assert_close(model.get(k).reshape(-1)[i], expected[k], 1e-4, 2e-5, k)
    epoch, steps, _, per_epoch = tr.progress()
    assert (epoch, steps, per_epoch) == (1, 1, 1)


def test_training_learns_a_separable_task_and_evaluate_agrees_with_numpy():
    ctx = resnet.Context(threads=2)
    model = resnet.Model(ctx, "resnet20", classes=2, base_width=4).init(0)
    rng = np.random.default_rng(0)
    n = 64
    labels = rng.integers(0, 2, n)
    imgs = rng.integers(0, 90, (n, 8, 8, 3)).astype(np.uint8)
    imgs[labels == 1] += 150  # class 1 is bright
    ds = resnet.Dataset(ctx, imgs, labels, classes=2)
    ds.compute_normalization("channel")
    opt = resnet.SGD(model, lr=0.05)
    tr = resnet.Trainer(model, opt, resnet.LRSchedule(ctx, 0.05), ds, batch=16, aug_pad=0)
    for _ in range(4):
        tr.epoch()
    loss, err, conf = resnet.evaluate(model, ds, batch=32, confusion=True)
    assert err < 0.1, err
    _, mean, std = ds.normalization()
    x = ((imgs / 255.0 - mean) / std).transpose(0, 3, 1, 2)
    ref = numpy_ref.forward(model.state_dict(), x)
    assert abs(loss - numpy_ref.cross_entropy(ref, labels)) < 1e-4
    assert conf.sum() == n and np.trace(conf) == n - round(err * n)
    assert err == np.mean(ref.argmax(axis=1) != labels)


def test_checkpoint_resumes_bit_identically(tmp_path):
    def setup(ctx):
        model = resnet.Model(ctx, "resnet20", classes=3, base_width=4).init(1)
        imgs = uint8_images(12, 8, 8, 3, seed=2)
        ds = resnet.Dataset(ctx, imgs, np.arange(12) % 3, classes=3)
        opt = resnet.SGD(model, lr=0.05)
        tr = resnet.Trainer(model, opt, resnet.LRSchedule(ctx, 0.05), ds, batch=4, seed=7)
        return model, tr, (imgs, ds, opt)
    ctx = resnet.Context()
    model, tr, keep = setup(ctx)
    for _ in range(2):
        tr.step()
    path = tmp_path / "ck.safetensors"
    tr.save_checkpoint(path)
    blob = tr.checkpoint_bytes()
    for _ in range(3):
        tr.step()
    want = model.state_dict()
    for load in ("file", "bytes"):
        ctx2 = resnet.Context()
        model2, tr2, keep2 = setup(ctx2)
        if load == "file":
            tr2.load_checkpoint(path)
        else:
            tr2.load_checkpoint_bytes(blob)
        assert tr2.progress()[1] == 2
        for _ in range(3):
            tr2.step()
        got = model2.state_dict()
        for k in want:
            assert np.array_equal(got[k], want[k]), (load, k)


def test_from_onnx_matches_pytorch_float64():
    # A graph torch.onnx.export wrote (tests/gen/gen_onnx_fixtures.py) and
    # PyTorch's float64 logits on the same input.
    base = os.path.join(TOP, "tests", "data", "onnx", "resnet50_w1_bn_op17")
    x, ref = np.load(base + "_input.npy"), np.load(base + "_logits.npy").astype(np.float64)
    ctx = resnet.Context()
    for source in (base + ".onnx", open(base + ".onnx", "rb").read()):
        m = resnet.Model.from_onnx(ctx, source)
        assert m.classes == ref.shape[1]
        err = np.abs(m.predict(x) - ref).max() / np.abs(ref).max()
        assert err < 1e-4, err
    try:
        resnet.Model.from_onnx(ctx, b"\x08\xff")
        raise AssertionError("truncated varint accepted")
    except resnet.ResnetError as e:
        assert e.status == resnet.E_BAD_FORMAT and "varint" in e.message


def test_onnx_export_reads_back_and_matches_numpy(tmp_path):
    ctx = resnet.Context()
    model, state = small_model(ctx)
    x = images(2, seed=31)
    back = resnet.Model.from_onnx(ctx, model.onnx_bytes())
    assert_close(back.predict(x), numpy_ref.forward(state, x), 1e-4, 1e-4, "exported logits")
    path = tmp_path / "m.onnx"
    model.save_onnx(path)
    again = resnet.Model.from_onnx(ctx, path)
    assert again.names() == model.names()


def test_features_are_the_pooled_activations():
    ctx = resnet.Context()
    model, state = small_model(ctx)
    x = images(3, seed=41)
    feats = model.features(x)
    assert feats.shape == (3, 4 * WIDTH)
    assert_close(feats, numpy_ref.forward(state, x, features_only=True), 1e-4, 1e-5, "features")


def test_partial_load_reports_the_other_head(tmp_path):
    ctx = resnet.Context()
    ten, state = small_model(ctx)
    path = tmp_path / "ten.safetensors"
    ten.save(path)
    five = resnet.Model(ctx, "resnet20", classes=5, base_width=WIDTH).init(3)
    fresh = five.get("fc.weight")
    try:
        five.load(path)
        raise AssertionError("strict load of another head accepted")
    except resnet.ResnetError as e:
        assert "fc.weight" in e.message
    rep = five.load(path, strict=False)
    assert (rep["loaded"], rep["skipped"], rep["kept"]) == (len(state) - 2, 2, 2)
    assert "skipped fc.weight" in rep["report"] and "kept fc.bias" in rep["report"]
    assert np.array_equal(five.get("layer2.1.conv1.weight"), state["layer2.1.conv1.weight"])
    assert np.array_equal(five.get("fc.weight"), fresh)


def test_frozen_stages_stay_put_while_the_rest_follows_sgd():
    ctx = resnet.Context()
    model, state = small_model(ctx)
    model.freeze_stages(2)
    assert model.frozen("layer1.0.conv1.weight") and model.frozen("bn1.weight")
    assert not model.frozen("layer3.0.conv1.weight") and not model.frozen("fc.bias")
    lr = 0.05
    opt = resnet.SGD(model, lr=lr, momentum=0.0, weight_decay=0.0)
    x, labels = images(4, seed=43), np.array([2, 5, 5, 9])
    p = {k: v.astype(np.float64) for k, v in state.items()}
    idx = np.arange(CLASSES)
    expected = p["fc.bias"] - lr * numpy_ref.numeric_grad(p, x, labels, "fc.bias", idx)
    model.train_step(x, labels, opt)
    for name in ("conv1.weight", "layer1.2.conv2.weight", "layer2.0.bn1.bias"):
        assert np.array_equal(model.get(name), state[name]), name
    assert_close(model.get("fc.bias"), expected, 1e-4, 2e-5, "fc.bias after the step")
    assert np.all(model.grad("layer2.0.conv1.weight") == 0)
    model.freeze("", frozen=False)
    assert not model.frozen("conv1.weight")
