"""Python bindings for libresnet through ctypes (no compiled extension).

    import numpy as np, resnet
    ctx = resnet.Context(threads=2)
    model = resnet.Model(ctx, "resnet20", classes=10)
    model.init(seed=0)
    logits = model.predict(np.zeros((8, 3, 32, 32), np.float32))       # NCHW
    model.set("fc.bias", np.zeros(10, np.float32))                     # PyTorch layout
    opt = resnet.SGD(model, lr=0.1, momentum=0.9, weight_decay=1e-4)
    loss = model.train_step(images, labels, opt)

Tensors cross the boundary in PyTorch's layout and names (conv weights OIHW,
"layer1.0.conv1.weight"). Every failure raises ResnetError with the status
and the library's sentence. Objects keep their parents alive (a Model holds
its Context), and release their handles when collected or on close().
"""
import ctypes
import weakref

import numpy as np

from ._lib import lib
from ._signatures import CONSTANTS

__all__ = ["ResnetError", "Context", "Model", "SGD", "Dataset", "LRSchedule", "Trainer",
           "evaluate", "version", "presets", "NCHW", "NHWC", "INFER", "TRAIN"]

# Every integer constant of include/resnet/*.h, generated from the headers
# (resnet/_signatures.py), also under its name without the RN_ prefix.
C = dict(CONSTANTS)
globals().update({k[3:]: v for k, v in C.items() if k.startswith("RN_")})
OK = C["RN_OK"]
NHWC, NCHW = C["RN_LAYOUT_NHWC"], C["RN_LAYOUT_NCHW"]
INFER, TRAIN = C["RN_MODE_INFER"], C["RN_MODE_TRAIN"]
ISA = {"scalar": C["RN_ISA_SCALAR"], "avx2": C["RN_ISA_AVX2"], "avx512": C["RN_ISA_AVX512"],
       "neon": C["RN_ISA_NEON"]}
SHORTCUT = {None: C["RN_SHORTCUT_DEFAULT"], "A": C["RN_SHORTCUT_A"], "B": C["RN_SHORTCUT_B"],
            "C": C["RN_SHORTCUT_C"], "none": C["RN_SHORTCUT_NONE"]}
BLOCK = {"basic": C["RN_BLOCK_BASIC"], "bottleneck": C["RN_BLOCK_BOTTLENECK"]}
MODEL_ZERO_INIT_RESIDUAL, MODEL_STRIDE_ON_1X1 = (C["RN_MODEL_ZERO_INIT_RESIDUAL"],
                                                 C["RN_MODEL_STRIDE_ON_1X1"])
TENSOR_PARAM, TENSOR_BUFFER = C["RN_TENSOR_PARAM"], C["RN_TENSOR_BUFFER"]
NORM = {"none": C["RN_NORM_NONE"], "pixel_mean": C["RN_NORM_PIXEL_MEAN"],
        "channel": C["RN_NORM_CHANNEL"]}
UNIT = {"epoch": C["RN_SCHED_UNIT_EPOCH"], "iter": C["RN_SCHED_UNIT_ITER"]}
WARMUP = {None: C["RN_WARMUP_NONE"], "iters": C["RN_WARMUP_ITERS"],
          "linear": C["RN_WARMUP_LINEAR"], "train_error": C["RN_WARMUP_TRAIN_ERROR"]}


class ResnetError(RuntimeError):
    """A libresnet call failed: .status is the rn_status, .message the sentence."""

    def __init__(self, function, status, message):
        self.function, self.status, self.message = function, status, message
        name = lib().rn_status_string(status).decode()
        super().__init__("%s: %s: %s" % (function, name, message) if message
                         else "%s: %s" % (function, name))


def _check(status, ctx_handle, function):
    if status != OK:
        msg = lib().rn_last_error(ctx_handle).decode(errors="replace")
        raise ResnetError(function, status, msg)


def version():
    return lib().rn_version_string().decode()


def presets():
    L = lib()
    return [L.rn_preset_name(i).decode() for i in range(L.rn_preset_count())]


def _f32_ptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def _ptr(a, ctype):
    return a.ctypes.data_as(ctypes.POINTER(ctype))


def _out_array(out, shape):
    if out is None:
        return np.empty(shape, np.float32)
    if not (isinstance(out, np.ndarray) and out.dtype == np.float32 and
            out.flags.c_contiguous and out.flags.writeable and out.shape == tuple(shape)):
        raise ValueError("out must be a writable C-contiguous float32 array of shape %s"
                         % (tuple(shape),))
    return out


class Context:
    """A libresnet context: allocator, thread count, ISA cap, last error.
    Use one context per thread."""

    def __init__(self, threads=1, max_isa=None):
        self._h = None
        self._children = weakref.WeakSet()  # closed before the context
        h = ctypes.c_void_p()
        _check(lib().rn_ctx_create(ctypes.byref(h)), None, "rn_ctx_create")
        self._h = h
        if threads != 1:
            self.set_int(OPT_NUM_THREADS, threads)
        if max_isa is not None:
            self.set_int(OPT_MAX_ISA, ISA[max_isa] if isinstance(max_isa, str) else max_isa)

    def set_int(self, key, value):
        _check(lib().rn_ctx_set_int(self._h, key, value), self._h, "rn_ctx_set_int")

    def get_int(self, key):
        v = ctypes.c_int64()
        _check(lib().rn_ctx_get_int(self._h, key, ctypes.byref(v)), self._h, "rn_ctx_get_int")
        return v.value

    @property
    def threads(self):
        return self.get_int(OPT_NUM_THREADS)

    @property
    def isa(self):
        return lib().rn_isa_name(self.get_int(OPT_ACTIVE_ISA)).decode()

    @property
    def handle(self):
        if self._h is None:
            raise ValueError("context is closed")
        return self._h

    def close(self):
        """Release the context, after every model made from it."""
        for child in list(self._children):
            child.close()
        if self._h is not None:
            lib().rn_ctx_destroy(self._h)
            self._h = None

    def __del__(self):
        _quietly(self.close)


def _quietly(close):
    # At interpreter exit module globals may already be gone; the process
    # is ending, so a failed release changes nothing.
    try:
        close()
    except Exception:
        pass


class _Plan:
    def __init__(self, model, batch, h, w, mode):
        self.model, self._h, self.shape = model, None, (batch, h, w)
        p = ctypes.c_void_p()
        _check(lib().rn_plan_create(model.handle, batch, h, w, mode, ctypes.byref(p)),
               model.ctx.handle, "rn_plan_create")
        self._h = p

    def close(self):
        if self._h is not None:
            lib().rn_plan_destroy(self._h)
            self._h = None

    def __del__(self):
        _quietly(self.close)


class Model:
    """A network: a preset of the paper, its tensors by torchvision name, and
    cached plans for forward / backward at each input shape."""

    def __init__(self, ctx, preset=None, classes=0, in_channels=0, shortcut=None, base_width=0,
                 zero_init_residual=False, stride_on_1x1=False):
        """A preset of the paper by name (resnet.presets()): classes=0 keeps the
        preset's own (1000 for ImageNet, 10 for CIFAR), in_channels=0 keeps 3,
        base_width=0 the preset's (64 / 16). With preset=None an empty model
        taking in_channels (default 3) channels: add_stem, add_stage and
        add_head build a custom network."""
        self.ctx, self._h, self._plans = ctx, None, {}
        self._children = weakref.WeakSet()  # optimisers, trainers: closed before the model
        self._last_train = None
        m = ctypes.c_void_p()
        if preset is None:
            _check(lib().rn_model_create(ctx.handle, in_channels or 3, ctypes.byref(m)),
                   ctx.handle, "rn_model_create")
            self.preset = "custom"
        else:
            flags = (MODEL_ZERO_INIT_RESIDUAL if zero_init_residual else 0) | \
                    (MODEL_STRIDE_ON_1X1 if stride_on_1x1 else 0)
            _check(lib().rn_model_create_preset(ctx.handle, preset.encode(), classes, in_channels,
                                                SHORTCUT[shortcut], base_width, flags,
                                                ctypes.byref(m)),
                   ctx.handle, "rn_model_create_preset")
            self.preset = preset
        self._h = m
        ctx._children.add(self)

    @classmethod
    def from_onnx(cls, ctx, source):
        """A model read from an ONNX graph (a path, or the file's bytes) as
        torch.onnx.export writes ResNets; see rn_model_load_onnx_mem."""
        m = ctypes.c_void_p()
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            _check(lib().rn_model_load_onnx_mem(ctx.handle, data, len(data), ctypes.byref(m)),
                   ctx.handle, "rn_model_load_onnx_mem")
        else:
            _check(lib().rn_model_load_onnx_file(ctx.handle, str(source).encode(),
                                                 ctypes.byref(m)),
                   ctx.handle, "rn_model_load_onnx_file")
        self = cls.__new__(cls)
        self.ctx, self._h, self._plans, self._last_train = ctx, m, {}, None
        self._children = weakref.WeakSet()
        self.preset = "onnx"
        ctx._children.add(self)
        return self

    @classmethod
    def load_int8(cls, ctx, source, in_place=False):
        """An int8 model (docs/int8.md) from its file: a path, or the file's
        bytes. With in_place=True (bytes only) the model reads its int8
        weights inside those bytes, which it keeps alive, instead of copying
        them; see rn_model_load_int8_mem."""
        m = ctypes.c_void_p()
        keep = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            keep = ctypes.create_string_buffer(bytes(source), len(source))
            _check(lib().rn_model_load_int8_mem(ctx.handle, keep, len(source), 1 if in_place else 0,
                                                ctypes.byref(m)),
                   ctx.handle, "rn_model_load_int8_mem")
            if not in_place:
                keep = None
        else:
            if in_place:
                raise ValueError("in_place needs the file's bytes, not a path")
            _check(lib().rn_model_load_int8_file(ctx.handle, str(source).encode(),
                                                 ctypes.byref(m)),
                   ctx.handle, "rn_model_load_int8_file")
        self = cls.__new__(cls)
        self.ctx, self._h, self._plans, self._last_train = ctx, m, {}, None
        self._children = weakref.WeakSet()
        self.preset = "int8"
        self._blob = keep
        ctx._children.add(self)
        return self

    def quantize(self, batches, method="percentile", percentile=99.99, layout="NCHW"):
        """Post-training int8 quantization (docs/int8.md): a new int8 Model
        calibrated on `batches`, an iterable of float32 arrays (N, C, H, W)
        (or NHWC with layout="NHWC") preprocessed as for this model.
        method: "max", "percentile" (with `percentile`) or "entropy". This
        model is left as it is."""
        methods = {"max": C["RN_CALIB_MAX"], "percentile": C["RN_CALIB_PERCENTILE"],
                   "entropy": C["RN_CALIB_ENTROPY"]}
        if method not in methods:
            raise ValueError("method must be max, percentile or entropy")
        cal = ctypes.c_void_p()
        self._check(lib().rn_calibrator_create(self.handle, ctypes.byref(cal)),
                    "rn_calibrator_create")
        try:
            for x in batches:
                x, code, n, h, w = self._input(x, layout)
                self._check(lib().rn_calibrator_add_batch(cal, _f32_ptr(x), x.size, n, h, w, code),
                            "rn_calibrator_add_batch")
            q = ctypes.c_void_p()
            self._check(lib().rn_calibrator_quantize(cal, methods[method], float(percentile),
                                                     ctypes.byref(q)),
                        "rn_calibrator_quantize")
        finally:
            lib().rn_calibrator_destroy(cal)
        out = Model.__new__(Model)
        out.ctx, out._h, out._plans, out._last_train = self.ctx, q, {}, None
        out._children = weakref.WeakSet()
        out.preset = "int8"
        out._blob = None
        self.ctx._children.add(out)
        return out

    @property
    def precision(self):
        """"float32" or "int8"."""
        v = self._int32("rn_model_precision")
        return "int8" if v == C["RN_PRECISION_INT8"] else "float32"

    # ---- builder (preset=None) ---------------------------------------------
    def add_stem(self, out_channels=64, kernel=7, stride=2, pad=3, max_pool=True):
        """conv1 + bn1 + ReLU (+ 3x3 stride-2 max pool). The ImageNet stem is
        the default; the CIFAR one is add_stem(16, 3, 1, 1, False)."""
        self._check(lib().rn_model_add_stem(self.handle, out_channels, kernel, stride, pad,
                                            1 if max_pool else 0), "rn_model_add_stem")
        return self

    def add_stage(self, block, num_blocks, width, stride=1, shortcut=None,
                  zero_init_residual=False, stride_on_1x1=False):
        """A stage of num_blocks 'basic' or 'bottleneck' blocks (bottleneck
        outputs 4 * width channels); the first block has the stride."""
        flags = (MODEL_ZERO_INIT_RESIDUAL if zero_init_residual else 0) | \
                (MODEL_STRIDE_ON_1X1 if stride_on_1x1 else 0)
        self._check(lib().rn_model_add_stage(self.handle, BLOCK.get(block, block), num_blocks,
                                             width, stride, SHORTCUT[shortcut], flags),
                    "rn_model_add_stage")
        return self

    def add_head(self, classes):
        """Global average pool + fc; completes the model."""
        self._check(lib().rn_model_add_head(self.handle, classes), "rn_model_add_head")
        return self

    # ---- lifetime ---------------------------------------------------------
    @property
    def handle(self):
        if self._h is None:
            raise ValueError("model is closed")
        return self._h

    def close(self):
        """Release the model, after its plans and optimisers."""
        for child in list(self._children):
            child.close()
        for p in self._plans.values():
            p.close()
        self._plans = {}
        self._last_train = None
        if self._h is not None:
            lib().rn_model_destroy(self._h)
            self._h = None

    def __del__(self):
        _quietly(self.close)

    def _check(self, status, function):
        _check(status, self.ctx.handle, function)

    # ---- queries ----------------------------------------------------------
    def _int32(self, fn):
        v = ctypes.c_int32()
        self._check(getattr(lib(), fn)(self.handle, ctypes.byref(v)), fn)
        return v.value

    @property
    def classes(self):
        return self._int32("rn_model_classes")

    @property
    def in_channels(self):
        return self._int32("rn_model_in_channels")

    @property
    def num_parameters(self):
        v = ctypes.c_int64()
        self._check(lib().rn_model_num_parameters(self.handle, ctypes.byref(v)),
                    "rn_model_num_parameters")
        return v.value

    def init(self, seed=0):
        """He initialisation (as torchvision) from a seed."""
        self._check(lib().rn_model_init(self.handle, seed), "rn_model_init")
        return self

    def macs(self, h, w):
        """Multiply-accumulates of one forward pass of one h x w image."""
        v = ctypes.c_int64()
        self._check(lib().rn_model_macs(self.handle, h, w, ctypes.byref(v)), "rn_model_macs")
        return v.value

    def layers(self, h, w):
        """[(name, output dims (1, C, H, W), parameters, MACs)] per layer for
        an h x w input: the stem, each block, the head."""
        L, out = lib(), []
        count = ctypes.c_int32()
        self._check(L.rn_model_layer_count(self.handle, ctypes.byref(count)),
                    "rn_model_layer_count")
        for i in range(count.value):
            name = ctypes.create_string_buffer(64)
            dims, params, macs = (ctypes.c_int64 * 4)(), ctypes.c_int64(), ctypes.c_int64()
            self._check(L.rn_model_layer_info(self.handle, i, h, w, name, 64, dims,
                                              ctypes.byref(params), ctypes.byref(macs)),
                        "rn_model_layer_info")
            out.append((name.value.decode(), tuple(dims), params.value, macs.value))
        return out

    def fold(self):
        """Fold every batch norm into the convolution before it (inference
        only, irreversible: train-mode runs are refused afterwards)."""
        for p in self._plans.values():
            p.close()
        self._plans = {}
        self._last_train = None
        self._check(lib().rn_model_fold_batchnorm(self.handle), "rn_model_fold_batchnorm")
        return self

    def pack_for_inference(self):
        """Keep the convolution weights only in the packed layout the
        inference kernels read (rn_model_pack_for_inference): less memory, no
        packing per run. Irreversible: the model then runs inference only, and
        training, set_tensor, loads and saves raise ResnetError (E_BAD_STATE);
        get_tensor still returns the exact weights."""
        for p in self._plans.values():
            p.close()
        self._plans = {}
        self._last_train = None
        self._check(lib().rn_model_pack_for_inference(self.handle),
                    "rn_model_pack_for_inference")
        return self

    # ---- tensors by name, PyTorch layout ------------------------------------
    def tensors(self):
        """[(name, shape, kind)] in state_dict order; kind is 'param' or 'buffer'."""
        L, out = lib(), []
        for i in range(L.rn_model_tensor_count(self.handle)):
            name, ndim, kind = ctypes.c_char_p(), ctypes.c_int32(), ctypes.c_int32()
            dims = (ctypes.c_int64 * 4)()
            self._check(L.rn_model_tensor_info(self.handle, i, ctypes.byref(name),
                                               ctypes.byref(ndim), dims, ctypes.byref(kind)),
                        "rn_model_tensor_info")
            out.append((name.value.decode(), tuple(dims[:ndim.value]),
                        "param" if kind.value == TENSOR_PARAM else "buffer"))
        return out

    def names(self):
        return [t[0] for t in self.tensors()]

    def shape(self, name):
        L = lib()
        index, ndim, kind = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32()
        self._check(L.rn_model_tensor_find(self.handle, name.encode(), ctypes.byref(index)),
                    "rn_model_tensor_find")
        stored, dims = ctypes.c_char_p(), (ctypes.c_int64 * 4)()
        self._check(L.rn_model_tensor_info(self.handle, index.value, ctypes.byref(stored),
                                           ctypes.byref(ndim), dims, ctypes.byref(kind)),
                    "rn_model_tensor_info")
        return tuple(dims[:ndim.value])

    def get(self, name):
        """A copy of a tensor as a float32 array with PyTorch's dims."""
        out = np.empty(self.shape(name), np.float32)
        self._check(lib().rn_model_get_tensor(self.handle, name.encode(), _f32_ptr(out),
                                              out.size), "rn_model_get_tensor")
        return out

    def grad(self, name):
        """The gradient of a parameter after the last backward pass."""
        out = np.empty(self.shape(name), np.float32)
        self._check(lib().rn_model_get_grad(self.handle, name.encode(), _f32_ptr(out),
                                            out.size), "rn_model_get_grad")
        return out

    def set(self, name, value):
        """Replace a tensor; value must have PyTorch's dims for that name."""
        shape = self.shape(name)
        a = np.ascontiguousarray(value, dtype=np.float32)
        if a.shape != shape:
            raise ValueError("%s: shape %s given, the model has %s" % (name, a.shape, shape))
        self._check(lib().rn_model_set_tensor(self.handle, name.encode(), _f32_ptr(a), a.size),
                    "rn_model_set_tensor")

    def state_dict(self):
        return {name: self.get(name) for name in self.names()}

    def load_state_dict(self, state, strict=True):
        """Set every tensor from a dict of arrays (a 'module.' prefix and
        'num_batches_tracked' entries are accepted, as in torchvision files)."""
        names = set(self.names())
        given = {}
        for k, v in state.items():
            k = k[len("module."):] if k.startswith("module.") else k
            if k.endswith("num_batches_tracked"):
                continue
            if k not in names:
                if strict:
                    raise KeyError("%s: no such tensor in %s" % (k, self.preset))
                continue
            given[k] = v
        if strict and names - set(given):
            raise KeyError("missing tensors: %s" % ", ".join(sorted(names - set(given))))
        for k, v in given.items():
            self.set(k, np.asarray(v))

    # ---- files ----------------------------------------------------------------
    def load(self, path, strict=True):
        """Load weights from a safetensors file (torchvision names). strict=False
        loads what matches by name and shape (fine-tuning: another head) and
        returns {"loaded", "skipped", "kept", "report"}: the counts and the
        library's report, one line per tensor skipped or left as it was."""
        if strict:
            self._check(lib().rn_model_load_safetensors_file(self.handle, str(path).encode()),
                        "rn_model_load_safetensors_file")
            return None
        counts = (ctypes.c_int32 * 3)()
        cap = 1 << 16
        report = ctypes.create_string_buffer(cap)
        self._check(lib().rn_model_load_safetensors_partial_file(
            self.handle, str(path).encode(), counts, report, cap),
            "rn_model_load_safetensors_partial_file")
        return {"loaded": counts[0], "skipped": counts[1], "kept": counts[2],
                "report": report.value.decode(errors="replace")}

    # ---- fine-tuning ------------------------------------------------------------
    def freeze(self, prefix="", frozen=True):
        """Freeze (or, frozen=False, thaw) every parameter whose name starts
        with prefix: optimisers leave it alone and training skips the weight
        gradients of frozen convolutions."""
        self._check(lib().rn_model_set_frozen(self.handle, prefix.encode(), 1 if frozen else 0),
                    "rn_model_set_frozen")
        return self

    def freeze_stages(self, stages):
        """Thaw everything, then freeze the stem and layer1..layer<stages>
        (0: the stem alone, -1: nothing)."""
        self._check(lib().rn_model_freeze_stages(self.handle, stages), "rn_model_freeze_stages")
        return self

    def frozen(self, name):
        v = ctypes.c_int32()
        self._check(lib().rn_model_tensor_frozen(self.handle, name.encode(), ctypes.byref(v)),
                    "rn_model_tensor_frozen")
        return bool(v.value)

    def features(self, x, layout="NCHW", out=None):
        """The pooled features (N, F) of a batch (eval mode): the global
        average pool's output, what the fc layer reads."""
        x, code, n, h, w = self._input(x, layout)
        plan = self._plan(n, h, w, INFER)
        width = self.shape("fc.weight")[1]
        feats = _out_array(out, (n, width))
        self._check(lib().rn_plan_features(plan._h, _f32_ptr(x), x.size, code, _f32_ptr(feats),
                                           feats.size), "rn_plan_features")
        return feats

    def save(self, path):
        self._check(lib().rn_model_save_safetensors_file(self.handle, str(path).encode()),
                    "rn_model_save_safetensors_file")

    def save_onnx(self, path):
        """The model as an ONNX graph (opset 13, batch norms kept)."""
        self._check(lib().rn_model_save_onnx_file(self.handle, str(path).encode()),
                    "rn_model_save_onnx_file")

    def onnx_bytes(self):
        n = ctypes.c_size_t()
        self._check(lib().rn_model_save_onnx_mem(self.handle, None, 0, ctypes.byref(n)),
                    "rn_model_save_onnx_mem")
        buf = ctypes.create_string_buffer(n.value)
        self._check(lib().rn_model_save_onnx_mem(self.handle, buf, n.value, ctypes.byref(n)),
                    "rn_model_save_onnx_mem")
        return buf.raw[:n.value]

    def load_bytes(self, data):
        buf = ctypes.create_string_buffer(bytes(data), len(data))
        self._check(lib().rn_model_load_safetensors_mem(self.handle, buf, len(data)),
                    "rn_model_load_safetensors_mem")

    def save_bytes(self):
        n = ctypes.c_size_t()
        self._check(lib().rn_model_save_safetensors_mem(self.handle, None, 0, ctypes.byref(n)),
                    "rn_model_save_safetensors_mem")
        buf = ctypes.create_string_buffer(n.value)
        self._check(lib().rn_model_save_safetensors_mem(self.handle, buf, n.value,
                                                        ctypes.byref(n)),
                    "rn_model_save_safetensors_mem")
        return buf.raw[:n.value]

    # ---- running --------------------------------------------------------------
    def _plan(self, batch, h, w, mode):
        key = (batch, h, w, mode)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan(self, batch, h, w, mode)
        return plan

    def _input(self, x, layout):
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4:
            raise ValueError("input must be 4-D (N, C, H, W) or (N, H, W, C), got %s"
                             % (x.shape,))
        if layout in ("NCHW", NCHW):
            n, c, h, w = x.shape
            code = NCHW
        elif layout in ("NHWC", NHWC):
            n, h, w, c = x.shape
            code = NHWC
        else:
            raise ValueError("layout must be 'NCHW' or 'NHWC'")
        if c != self.in_channels:
            raise ValueError("input has %d channels, %s takes %d"
                             % (c, self.preset, self.in_channels))
        return x, code, n, h, w

    def forward(self, x, layout="NCHW", train=False, out=None):
        """Logits (N, classes) of a batch; train=True uses batch statistics,
        updates the running ones and keeps what backward() needs. A
        C-contiguous float32 input is read in place (no copy); `out`, a
        C-contiguous float32 (N, classes) array, receives the logits in place."""
        x, code, n, h, w = self._input(x, layout)
        plan = self._plan(n, h, w, TRAIN if train else INFER)
        logits = _out_array(out, (n, self.classes))
        self._check(lib().rn_plan_forward(plan._h, _f32_ptr(x), x.size, code,
                                          _f32_ptr(logits), logits.size), "rn_plan_forward")
        self._last_train = plan if train else None
        return logits

    def predict(self, x, layout="NCHW", out=None):
        """Eval-mode logits (running BN statistics)."""
        return self.forward(x, layout, train=False, out=out)

    def backward(self, labels):
        """Mean softmax cross-entropy of the last train-mode forward against
        labels; gradients (get them with grad()) are stored in the model."""
        plan = getattr(self, "_last_train", None)
        if plan is None:
            raise ResnetError("rn_plan_backward", E_BAD_STATE,
                              "backward() needs a forward(..., train=True) first")
        y = np.ascontiguousarray(labels, dtype=np.int32).ravel()
        loss = ctypes.c_float()
        self._check(lib().rn_plan_backward(plan._h, y.ctypes.data_as(
            ctypes.POINTER(ctypes.c_int32)), y.size, ctypes.byref(loss)), "rn_plan_backward")
        return loss.value

    def input_grad(self, layout="NCHW"):
        """After backward(): the gradient of the loss with respect to the
        input batch of the last train-mode forward, in `layout`."""
        plan = self._last_train
        if plan is None:
            raise ResnetError("rn_plan_input_grad", E_BAD_STATE,
                              "input_grad() needs forward(..., train=True) and backward() first")
        n, h, w = plan.shape
        c = self.in_channels
        code = NCHW if layout in ("NCHW", NCHW) else NHWC
        out = np.empty((n, c, h, w) if code == NCHW else (n, h, w, c), np.float32)
        self._check(lib().rn_plan_input_grad(plan._h, _f32_ptr(out), out.size, code),
                    "rn_plan_input_grad")
        return out

    def train_step(self, x, labels, optimizer, layout="NCHW"):
        """One SGD step: train-mode forward, backward, optimiser update.
        Returns the loss of the batch before the update."""
        self.forward(x, layout, train=True)
        loss = self.backward(labels)
        optimizer.step()
        return loss


class SGD:
    """torch.optim.SGD over every trainable tensor of a model: weight decay
    added to the gradient, momentum buffer started from the first gradient,
    optional dampening and Nesterov. Defaults are the paper's recipe."""

    LR, MOMENTUM, DAMPENING, WEIGHT_DECAY, NESTEROV, DECAY_ALL_PARAMS = 1, 2, 3, 4, 5, 6

    def __init__(self, model, lr=0.1, momentum=0.9, weight_decay=1e-4, dampening=0.0,
                 nesterov=False, decay_all_params=True):
        self.model, self._h = model, None
        self._children = weakref.WeakSet()
        h = ctypes.c_void_p()
        model._check(lib().rn_sgd_create(model.handle, ctypes.byref(h)), "rn_sgd_create")
        self._h = h
        model._children.add(self)
        self._set_float(self.LR, lr)
        self._set_float(self.MOMENTUM, momentum)
        self._set_float(self.DAMPENING, dampening)
        self._set_float(self.WEIGHT_DECAY, weight_decay)
        self._set_int(self.NESTEROV, 1 if nesterov else 0)
        self._set_int(self.DECAY_ALL_PARAMS, 1 if decay_all_params else 0)

    def _set_float(self, key, value):
        self.model._check(lib().rn_optimizer_set_float(self.handle, key, float(value)),
                          "rn_optimizer_set_float")

    def _set_int(self, key, value):
        self.model._check(lib().rn_optimizer_set_int(self.handle, key, int(value)),
                          "rn_optimizer_set_int")

    @property
    def handle(self):
        if self._h is None:
            raise ValueError("optimizer is closed")
        return self._h

    @property
    def lr(self):
        v = ctypes.c_double()
        self.model._check(lib().rn_optimizer_get_float(self.handle, self.LR, ctypes.byref(v)),
                          "rn_optimizer_get_float")
        return v.value

    @lr.setter
    def lr(self, value):
        self._set_float(self.LR, value)

    def step(self):
        """Update every parameter from the gradients of the last backward()."""
        self.model._check(lib().rn_optimizer_step(self.handle), "rn_optimizer_step")

    def reset(self):
        """Forget the momentum buffers."""
        self.model._check(lib().rn_optimizer_reset(self.handle), "rn_optimizer_reset")

    def momentum_buffer(self, name):
        """A parameter's momentum buffer (PyTorch layout), or None before its first step."""
        has = ctypes.c_int32()
        self.model._check(lib().rn_optimizer_has_buffer(self.handle, name.encode(),
                                                        ctypes.byref(has)),
                          "rn_optimizer_has_buffer")
        if not has.value:
            return None
        out = np.empty(self.model.shape(name), np.float32)
        self.model._check(lib().rn_optimizer_get_buffer(self.handle, name.encode(),
                                                        _f32_ptr(out), out.size),
                          "rn_optimizer_get_buffer")
        return out

    def set_momentum_buffer(self, name, value):
        a = np.ascontiguousarray(value, dtype=np.float32)
        if a.shape != self.model.shape(name):
            raise ValueError("%s: shape %s given, the model has %s"
                             % (name, a.shape, self.model.shape(name)))
        self.model._check(lib().rn_optimizer_set_buffer(self.handle, name.encode(),
                                                        _f32_ptr(a), a.size),
                          "rn_optimizer_set_buffer")

    def close(self):
        for child in list(self._children):
            child.close()
        if self._h is not None:
            lib().rn_optimizer_destroy(self._h)
            self._h = None

    def __del__(self):
        _quietly(self.close)


class Dataset:
    """In-memory images for the trainer: images (N, H, W, C) uint8 (NHWC, as
    stored by most datasets) and N integer labels in [0, classes). The
    arrays are borrowed without a copy when they are already C-contiguous
    uint8 / int32 (the Dataset keeps a reference to them)."""

    def __init__(self, ctx, images, labels, classes, _parent=None, _indices=None):
        self.ctx, self._h, self.parent = ctx, None, _parent
        self._children = weakref.WeakSet()
        h = ctypes.c_void_p()
        if _parent is None:
            images = np.ascontiguousarray(images, dtype=np.uint8)
            labels = np.ascontiguousarray(labels, dtype=np.int32).ravel()
            if images.ndim == 3:  # (N, H, W): one channel
                images = images[..., None]
            if images.ndim != 4:
                raise ValueError("images must be (N, H, W, C) uint8, got %s" % (images.shape,))
            if labels.size != images.shape[0]:
                raise ValueError("%d labels for %d images" % (labels.size, images.shape[0]))
            self._images, self._labels = images, labels
            n, hh, ww, cc = images.shape
            _check(lib().rn_dataset_create(ctx.handle, _ptr(images, ctypes.c_uint8),
                                           _ptr(labels, ctypes.c_int32), n, hh, ww, cc,
                                           int(classes), ctypes.byref(h)),
                   ctx.handle, "rn_dataset_create")
        else:
            idx = np.ascontiguousarray(_indices, dtype=np.int64).ravel()
            _check(lib().rn_dataset_create_view(_parent.handle, _ptr(idx, ctypes.c_int64),
                                                idx.size, ctypes.byref(h)),
                   ctx.handle, "rn_dataset_create_view")
            _parent._children.add(self)
        self._h = h
        ctx._children.add(self)

    @property
    def handle(self):
        if self._h is None:
            raise ValueError("dataset is closed")
        return self._h

    def _check(self, status, function):
        _check(status, self.ctx.handle, function)

    def view(self, indices):
        """A dataset of the images picked by index (no image copy), with this
        one's normalisation."""
        return Dataset(self.ctx, None, None, 0, _parent=self, _indices=indices)

    @property
    def shape(self):
        """(N, H, W, C)."""
        dims = (ctypes.c_int64 * 4)()
        self._check(lib().rn_dataset_info(self.handle, dims, None), "rn_dataset_info")
        return tuple(dims)

    def __len__(self):
        return self.shape[0]

    @property
    def classes(self):
        v = ctypes.c_int32()
        self._check(lib().rn_dataset_info(self.handle, None, ctypes.byref(v)), "rn_dataset_info")
        return v.value

    def set_normalization(self, mode, mean=None, std=None):
        """mode 'none', 'pixel_mean' (mean: H*W*C values) or 'channel'
        (mean, std: C values each), on the x / 255 scale."""
        m = np.ascontiguousarray(mean if mean is not None else [], dtype=np.float32).ravel()
        s = np.ascontiguousarray(std if std is not None else [], dtype=np.float32).ravel()
        self._check(lib().rn_dataset_set_normalization(
            self.handle, NORM[mode], _f32_ptr(m) if m.size else None, m.size,
            _f32_ptr(s) if s.size else None, s.size), "rn_dataset_set_normalization")

    def compute_normalization(self, mode):
        """Compute the statistics of these images (in double) and use them."""
        self._check(lib().rn_dataset_compute_normalization(self.handle, NORM[mode]),
                    "rn_dataset_compute_normalization")

    def normalization(self):
        """(mode, mean, std) in use; mean / std None where the mode has none."""
        norm = ctypes.c_int32()
        self._check(lib().rn_dataset_get_normalization(self.handle, ctypes.byref(norm), None, 0,
                                                       None, 0), "rn_dataset_get_normalization")
        n, h, w, c = self.shape
        mode = {v: k for k, v in NORM.items()}[norm.value]
        if mode == "none":
            return mode, None, None
        mean = np.empty(h * w * c if mode == "pixel_mean" else c, np.float32)
        std = np.empty(c, np.float32) if mode == "channel" else None
        self._check(lib().rn_dataset_get_normalization(
            self.handle, ctypes.byref(norm), _f32_ptr(mean), mean.size,
            _f32_ptr(std) if std is not None else None, 0 if std is None else std.size),
            "rn_dataset_get_normalization")
        return mode, mean, std

    def batch(self, indices):
        """(images (K, H, W, C) float32 normalised, labels (K,) int32)."""
        idx = np.ascontiguousarray(indices, dtype=np.int64).ravel()
        n, h, w, c = self.shape
        out = np.empty((idx.size, h, w, c), np.float32)
        labels = np.empty(idx.size, np.int32)
        self._check(lib().rn_dataset_get_batch(self.handle, _ptr(idx, ctypes.c_int64), idx.size,
                                               _f32_ptr(out), out.size,
                                               _ptr(labels, ctypes.c_int32)),
                    "rn_dataset_get_batch")
        return out, labels

    def close(self):
        for child in list(self._children):
            child.close()
        if self._h is not None:
            lib().rn_dataset_destroy(self._h)
            self._h = None

    def __del__(self):
        _quietly(self.close)


class LRSchedule:
    """A learning-rate schedule: constant at base_lr, then optionally
    step(milestones, gamma) (MultiStepLR) or cosine(total, min_lr)
    (CosineAnnealingLR), and a warm-up."""

    def __init__(self, ctx, base_lr=0.1):
        self.ctx, self._h = ctx, None
        self._children = weakref.WeakSet()
        h = ctypes.c_void_p()
        _check(lib().rn_lr_schedule_create(ctx.handle, float(base_lr), ctypes.byref(h)),
               ctx.handle, "rn_lr_schedule_create")
        self._h = h
        ctx._children.add(self)

    @property
    def handle(self):
        if self._h is None:
            raise ValueError("schedule is closed")
        return self._h

    def _check(self, status, function):
        _check(status, self.ctx.handle, function)

    def step(self, milestones, gamma=0.1, unit="epoch"):
        m = np.ascontiguousarray(milestones, dtype=np.int64).ravel()
        self._check(lib().rn_lr_schedule_set_step(self.handle, UNIT[unit],
                                                  _ptr(m, ctypes.c_int64) if m.size else None,
                                                  m.size, float(gamma)),
                    "rn_lr_schedule_set_step")
        return self

    def cosine(self, total, min_lr=0.0, unit="epoch"):
        self._check(lib().rn_lr_schedule_set_cosine(self.handle, UNIT[unit], int(total),
                                                    float(min_lr)), "rn_lr_schedule_set_cosine")
        return self

    def constant(self):
        self._check(lib().rn_lr_schedule_set_constant(self.handle), "rn_lr_schedule_set_constant")
        return self

    def warmup(self, kind, value, lr):
        """kind 'iters', 'linear' (value: iterations) or 'train_error'
        (value: the error below which it ends); None removes it."""
        self._check(lib().rn_lr_schedule_set_warmup(self.handle, WARMUP[kind], float(value),
                                                    float(lr)), "rn_lr_schedule_set_warmup")
        return self

    def lr(self, step, epoch=0, warmup_done=False):
        v = ctypes.c_double()
        self._check(lib().rn_lr_schedule_lr(self.handle, step, epoch, 1 if warmup_done else 0,
                                            ctypes.byref(v)), "rn_lr_schedule_lr")
        return v.value

    def close(self):
        for child in list(self._children):
            child.close()
        if self._h is not None:
            lib().rn_lr_schedule_destroy(self._h)
            self._h = None

    def __del__(self):
        _quietly(self.close)


class Trainer:
    """The library's training loop over an in-memory Dataset: shuffled
    batches, normalisation, augmentation (pad + random crop + flip), a
    train-mode forward and backward, the schedule's rate, an SGD step.
    Checkpoints hold everything needed to resume bit-identically."""

    OPTIONS = {"batch": C["RN_TRAIN_BATCH"], "seed": C["RN_TRAIN_SEED"],
               "aug_pad": C["RN_TRAIN_AUG_PAD"], "aug_flip": C["RN_TRAIN_AUG_FLIP"],
               "drop_last": C["RN_TRAIN_DROP_LAST"], "shuffle": C["RN_TRAIN_SHUFFLE"]}

    def __init__(self, model, optimizer, schedule, dataset, **options):
        self.model, self.optimizer, self.schedule, self.dataset = (model, optimizer, schedule,
                                                                   dataset)
        self._h = None
        h = ctypes.c_void_p()
        model._check(lib().rn_trainer_create(model.handle, optimizer.handle, schedule.handle,
                                             dataset.handle, ctypes.byref(h)),
                     "rn_trainer_create")
        self._h = h
        for parent in (model, optimizer, schedule, dataset):
            parent._children.add(self)  # closed before anything it borrows
        for key, value in options.items():
            self.set(key, value)

    @property
    def handle(self):
        if self._h is None:
            raise ValueError("trainer is closed")
        return self._h

    def _check(self, status, function):
        self.model._check(status, function)

    def set(self, key, value):
        """batch, seed, aug_pad, aug_flip, drop_last, shuffle (before the first step)."""
        self._check(lib().rn_trainer_set_int(self.handle, self.OPTIONS[key], int(value)),
                    "rn_trainer_set_int")

    def get(self, key):
        v = ctypes.c_int64()
        self._check(lib().rn_trainer_get_int(self.handle, self.OPTIONS[key], ctypes.byref(v)),
                    "rn_trainer_get_int")
        return v.value

    def step(self):
        """One iteration: (loss of the batch, True if it ended an epoch)."""
        loss, end = ctypes.c_float(), ctypes.c_int32()
        self._check(lib().rn_trainer_step(self.handle, ctypes.byref(loss), ctypes.byref(end)),
                    "rn_trainer_step")
        return loss.value, bool(end.value)

    def epoch(self):
        """Iterations until the end of the current epoch; returns its
        (mean loss, training error rate)."""
        while not self.step()[1]:
            pass
        loss, errors, seen = self.epoch_stats()
        return loss, errors / max(seen, 1)

    def progress(self):
        """(epochs done, steps done, batches done this epoch, batches per epoch)."""
        v = [ctypes.c_int64() for _ in range(4)]
        self._check(lib().rn_trainer_progress(self.handle, *[ctypes.byref(x) for x in v]),
                    "rn_trainer_progress")
        return tuple(x.value for x in v)

    def epoch_stats(self):
        """(mean loss, wrong predictions, images seen) of the current epoch."""
        loss, errors, seen = ctypes.c_double(), ctypes.c_int64(), ctypes.c_int64()
        self._check(lib().rn_trainer_epoch_stats(self.handle, ctypes.byref(loss),
                                                 ctypes.byref(errors), ctypes.byref(seen)),
                    "rn_trainer_epoch_stats")
        return loss.value, errors.value, seen.value

    @property
    def lr(self):
        v = ctypes.c_double()
        self._check(lib().rn_trainer_lr(self.handle, ctypes.byref(v), None), "rn_trainer_lr")
        return v.value

    # ---- checkpoints ---------------------------------------------------------
    def save_checkpoint(self, path):
        self._check(lib().rn_checkpoint_save_file(self.handle, str(path).encode()),
                    "rn_checkpoint_save_file")

    def load_checkpoint(self, path):
        self._check(lib().rn_checkpoint_load_file(self.handle, str(path).encode()),
                    "rn_checkpoint_load_file")

    def checkpoint_bytes(self):
        n = ctypes.c_size_t()
        self._check(lib().rn_checkpoint_save_mem(self.handle, None, 0, ctypes.byref(n)),
                    "rn_checkpoint_save_mem")
        buf = ctypes.create_string_buffer(n.value)
        self._check(lib().rn_checkpoint_save_mem(self.handle, buf, n.value, ctypes.byref(n)),
                    "rn_checkpoint_save_mem")
        return buf.raw[:n.value]

    def load_checkpoint_bytes(self, data):
        data = bytes(data)
        self._check(lib().rn_checkpoint_load_mem(self.handle, data, len(data)),
                    "rn_checkpoint_load_mem")

    def close(self):
        if self._h is not None:
            lib().rn_trainer_destroy(self._h)
            self._h = None

    def __del__(self):
        _quietly(self.close)


def evaluate(model, dataset, batch=256, confusion=False):
    """Eval-mode pass over a Dataset (its normalisation applied): returns
    (mean cross-entropy, error rate) and, with confusion=True, the
    classes x classes confusion matrix (row = true label) as a third item."""
    loss, errors = ctypes.c_double(), ctypes.c_int64()
    k = model.classes
    conf = np.zeros((k, k), np.int64) if confusion else None
    model._check(lib().rn_evaluate(model.handle, dataset.handle, batch, ctypes.byref(loss),
                                   ctypes.byref(errors),
                                   _ptr(conf, ctypes.c_int64) if confusion else None,
                                   conf.size if confusion else 0), "rn_evaluate")
    rate = errors.value / max(len(dataset), 1)
    return (loss.value, rate, conf) if confusion else (loss.value, rate)
