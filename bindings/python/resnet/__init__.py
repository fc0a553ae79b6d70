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

__all__ = ["ResnetError", "Context", "Model", "SGD", "version", "presets",
           "NCHW", "NHWC", "INFER", "TRAIN"]

# Pinned values from include/resnet/*.h.
OK = 0
E_INVALID_ARG, E_UNSUPPORTED, E_NO_MEMORY, E_BUFFER_TOO_SMALL = -1, -2, -3, -4
E_BAD_STATE, E_BAD_FORMAT, E_VERSION, E_IO, E_NOT_FOUND = -5, -6, -7, -8, -9
E_OVERFLOW, E_NUMERIC, E_INTERNAL = -10, -11, -12
NHWC, NCHW = 0, 1
INFER, TRAIN = 0, 1
OPT_NUM_THREADS, OPT_MAX_ISA, OPT_ACTIVE_ISA = 1, 2, 3
ISA = {"scalar": 0, "avx2": 1, "avx512": 2, "neon": 3}
SHORTCUT = {None: -1, "A": 0, "B": 1, "C": 2, "none": 3}
MODEL_ZERO_INIT_RESIDUAL, MODEL_STRIDE_ON_1X1 = 1, 2
TENSOR_PARAM, TENSOR_BUFFER = 0, 1


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
        self.model, self._h = model, None
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

    def __init__(self, ctx, preset, classes=1000, in_channels=3, shortcut=None, base_width=0,
                 zero_init_residual=False, stride_on_1x1=False):
        self.ctx, self._h, self._plans = ctx, None, {}
        self._children = weakref.WeakSet()  # optimisers, closed before the model
        flags = (MODEL_ZERO_INIT_RESIDUAL if zero_init_residual else 0) | \
                (MODEL_STRIDE_ON_1X1 if stride_on_1x1 else 0)
        m = ctypes.c_void_p()
        _check(lib().rn_model_create_preset(ctx.handle, preset.encode(), classes, in_channels,
                                            SHORTCUT[shortcut], base_width, flags,
                                            ctypes.byref(m)),
               ctx.handle, "rn_model_create_preset")
        self._h = m
        self.preset = preset
        ctx._children.add(self)

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
        self._check(lib().rn_model_init(self.handle, seed), "rn_model_init")

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
    def load(self, path):
        """Load weights from a safetensors file (torchvision names)."""
        self._check(lib().rn_model_load_safetensors_file(self.handle, str(path).encode()),
                    "rn_model_load_safetensors_file")

    def save(self, path):
        self._check(lib().rn_model_save_safetensors_file(self.handle, str(path).encode()),
                    "rn_model_save_safetensors_file")

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

    def forward(self, x, layout="NCHW", train=False):
        """Logits (N, classes) of a batch; train=True uses batch statistics,
        updates the running ones and keeps what backward() needs."""
        x, code, n, h, w = self._input(x, layout)
        plan = self._plan(n, h, w, TRAIN if train else INFER)
        logits = np.empty((n, self.classes), np.float32)
        self._check(lib().rn_plan_forward(plan._h, _f32_ptr(x), x.size, code,
                                          _f32_ptr(logits), logits.size), "rn_plan_forward")
        self._last_train = plan if train else None
        return logits

    def predict(self, x, layout="NCHW"):
        """Eval-mode logits (running BN statistics)."""
        return self.forward(x, layout, train=False)

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
        if self._h is not None:
            lib().rn_optimizer_destroy(self._h)
            self._h = None

    def __del__(self):
        _quietly(self.close)
