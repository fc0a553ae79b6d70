"""Loading libresnet.so and declaring the C signatures for ctypes.

The shared library is looked up, in order, at:
  1. $RESNET_LIBRARY (a path to the .so file),
  2. next to this package (libresnet.so or libresnet.so.0 copied in),
  3. the build directories of the source tree this package sits in
     (build/, then any build-*/, newest first),
  4. the system's library path (ctypes.util.find_library("resnet")).

Functions are bound lazily on first use, so a library built without some
layer (RESNET_WITH_IO=OFF, RESNET_INFERENCE_ONLY=ON) still loads, and calling
what it lacks raises an error that names the missing function.
"""
import ctypes
import ctypes.util
import glob
import os

c_int32 = ctypes.c_int32
c_int64 = ctypes.c_int64
c_uint32 = ctypes.c_uint32
c_uint64 = ctypes.c_uint64
c_size_t = ctypes.c_size_t
c_float = ctypes.c_float
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p
P = ctypes.POINTER

# name: (restype, argtypes); handles are void pointers.
SIGNATURES = {
    "rn_status_string": (c_char_p, [c_int32]),
    "rn_version_number": (c_uint32, []),
    "rn_version_string": (c_char_p, []),
    "rn_ctx_create": (c_int32, [P(c_void_p)]),
    "rn_ctx_destroy": (None, [c_void_p]),
    "rn_ctx_set_int": (c_int32, [c_void_p, c_int32, c_int64]),
    "rn_ctx_get_int": (c_int32, [c_void_p, c_int32, P(c_int64)]),
    "rn_isa_name": (c_char_p, [c_int32]),
    "rn_last_error": (c_char_p, [c_void_p]),
    "rn_preset_count": (c_int32, []),
    "rn_preset_name": (c_char_p, [c_int32]),
    "rn_model_create_preset": (c_int32, [c_void_p, c_char_p, c_int32, c_int32, c_int32, c_int32,
                                         c_uint32, P(c_void_p)]),
    "rn_model_destroy": (None, [c_void_p]),
    "rn_model_init": (c_int32, [c_void_p, c_uint64]),
    "rn_model_classes": (c_int32, [c_void_p, P(c_int32)]),
    "rn_model_in_channels": (c_int32, [c_void_p, P(c_int32)]),
    "rn_model_num_parameters": (c_int32, [c_void_p, P(c_int64)]),
    "rn_model_tensor_count": (c_int32, [c_void_p]),
    "rn_model_tensor_info": (c_int32, [c_void_p, c_int32, P(c_char_p), P(c_int32), P(c_int64),
                                       P(c_int32)]),
    "rn_model_tensor_find": (c_int32, [c_void_p, c_char_p, P(c_int32)]),
    "rn_model_get_tensor": (c_int32, [c_void_p, c_char_p, P(c_float), c_size_t]),
    "rn_model_set_tensor": (c_int32, [c_void_p, c_char_p, P(c_float), c_size_t]),
    "rn_model_get_grad": (c_int32, [c_void_p, c_char_p, P(c_float), c_size_t]),
    "rn_model_fold_batchnorm": (c_int32, [c_void_p]),
    "rn_plan_create": (c_int32, [c_void_p, c_int64, c_int64, c_int64, c_int32, P(c_void_p)]),
    "rn_plan_memory_size": (c_int32, [c_void_p, P(c_size_t)]),
    "rn_plan_forward": (c_int32, [c_void_p, P(c_float), c_size_t, c_int32, P(c_float), c_size_t]),
    "rn_plan_backward": (c_int32, [c_void_p, P(c_int32), c_size_t, P(c_float)]),
    "rn_plan_destroy": (None, [c_void_p]),
    "rn_plan_create_with_ctx": (c_int32, [c_void_p, c_void_p, c_int64, c_int64, c_int64, c_int32,
                                          P(c_void_p)]),
    "rn_sgd_create": (c_int32, [c_void_p, P(c_void_p)]),
    "rn_optimizer_destroy": (None, [c_void_p]),
    "rn_optimizer_set_float": (c_int32, [c_void_p, c_int32, ctypes.c_double]),
    "rn_optimizer_get_float": (c_int32, [c_void_p, c_int32, P(ctypes.c_double)]),
    "rn_optimizer_set_int": (c_int32, [c_void_p, c_int32, c_int64]),
    "rn_optimizer_get_int": (c_int32, [c_void_p, c_int32, P(c_int64)]),
    "rn_optimizer_step": (c_int32, [c_void_p]),
    "rn_optimizer_has_buffer": (c_int32, [c_void_p, c_char_p, P(c_int32)]),
    "rn_optimizer_get_buffer": (c_int32, [c_void_p, c_char_p, P(c_float), c_size_t]),
    "rn_optimizer_set_buffer": (c_int32, [c_void_p, c_char_p, P(c_float), c_size_t]),
    "rn_optimizer_reset": (c_int32, [c_void_p]),
    "rn_model_load_safetensors_file": (c_int32, [c_void_p, c_char_p]),
    "rn_model_save_safetensors_file": (c_int32, [c_void_p, c_char_p]),
    "rn_model_load_safetensors_mem": (c_int32, [c_void_p, c_void_p, c_size_t]),
    "rn_model_save_safetensors_mem": (c_int32, [c_void_p, c_void_p, c_size_t, P(c_size_t)]),
}


def _candidates():
    env = os.environ.get("RESNET_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("libresnet.so", "libresnet.so.0", "libresnet.dylib"):
        yield os.path.join(here, name)
    top = os.path.abspath(os.path.join(here, "..", "..", ".."))
    yield os.path.join(top, "build", "libresnet.so")
    others = glob.glob(os.path.join(top, "build-*", "libresnet.so"))
    others += glob.glob(os.path.join(top, "build-*", "*", "libresnet.so"))
    for path in sorted(others, key=os.path.getmtime, reverse=True):
        yield path
    found = ctypes.util.find_library("resnet")
    if found:
        yield found


class Library:
    """The loaded shared library with its functions bound on demand."""

    def __init__(self, path=None):
        tried = []
        paths = [path] if path else _candidates()
        for p in paths:
            tried.append(p)
            if os.sep in p and not os.path.exists(p):
                continue
            try:
                self.dll = ctypes.CDLL(p)
                self.path = p
                break
            except OSError:
                continue
        else:
            raise OSError("libresnet shared library not found (set RESNET_LIBRARY); tried: "
                          + ", ".join(tried))
        self._bound = {}

    def has(self, name):
        return hasattr(self.dll, name)

    def __getattr__(self, name):
        if not name.startswith("rn_"):
            raise AttributeError(name)
        fn = self._bound.get(name)
        if fn is None:
            if not hasattr(self.dll, name):
                raise NotImplementedError("%s: this libresnet build (%s) has no %s"
                                          % (name, self.path, name))
            fn = getattr(self.dll, name)
            if name in SIGNATURES:
                fn.restype, fn.argtypes = SIGNATURES[name][0], SIGNATURES[name][1]
            else:
                raise NotImplementedError("%s has no declared signature in resnet._lib" % name)
            self._bound[name] = fn
        return fn


_library = None


def lib():
    global _library
    if _library is None:
        _library = Library()
    return _library
