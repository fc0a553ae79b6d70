"""Loading libresnet.so and declaring the C signatures for ctypes.

The signatures come from resnet/_signatures.py, which resnet._cdecl writes
from the public headers (setup.py regenerates it at install time; a test
checks the committed copy against the headers).

The shared library is looked up, in order, at:
  1. $RESNET_LIBRARY (a path to the .so file),
  2. next to this package (libresnet.so, which `pip install` bundles),
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

from ._signatures import SIGNATURES


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
            if name not in SIGNATURES:
                raise NotImplementedError("%s has no declared signature in resnet._signatures"
                                          % name)
            fn.restype, fn.argtypes = SIGNATURES[name][0], SIGNATURES[name][1]
            self._bound[name] = fn
        return fn


_library = None


def lib():
    global _library
    if _library is None:
        _library = Library()
    return _library
