"""Read the RN_API declarations of libresnet's public headers and turn them
into ctypes signatures.

The package's resnet/_signatures.py is written by this module (at install
time by setup.py, and in the source tree by `python3 -m resnet._cdecl
include/`); a test regenerates it from the headers and compares, so the
Python declarations and the C ones cannot drift apart.
"""
import os
import re
import sys

_HANDLE = re.compile(r"^(const\s+)?rn_[a-z_]+\s*\*$")
_SCALARS = {
    "int32_t": "c_int32", "rn_status": "c_int32", "int64_t": "c_int64",
    "uint32_t": "c_uint32", "uint64_t": "c_uint64", "size_t": "c_size_t",
    "float": "c_float", "double": "c_double", "uint8_t": "c_uint8",
}
# Callbacks cross as plain pointers (a ctypes CFUNCTYPE object converts).
_CALLBACKS = ("rn_alloc_fn", "rn_free_fn", "rn_log_fn", "rn_reduce_start_fn", "rn_reduce_wait_fn",
              "rn_parallel_for_fn")


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def declarations(include_dir):
    """[(name, return type, [(param type, param name)])] in header order."""
    files = [os.path.join(include_dir, "resnet.h")]
    sub = os.path.join(include_dir, "resnet")
    files += [os.path.join(sub, f) for f in sorted(os.listdir(sub)) if f.endswith(".h")]
    out = []
    for path in files:
        with open(path) as f:
            text = _strip_comments(f.read())
        for m in re.finditer(r"^RN_API\s+([^;]*?)\s*;", text, flags=re.M | re.S):
            decl = " ".join(m.group(1).split())
            head, params = re.match(r"(.*?)\(\s*(.*)\)$", decl).groups()
            hm = re.match(r"(.*?)\b(rn_[A-Za-z0-9_]+)\s*$", head)
            ret, name = hm.group(1).strip(), hm.group(2)
            plist = []
            if params and params != "void":
                for p in params.split(","):
                    p = p.strip()
                    pm = re.match(r"(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*(\[\s*\d*\s*\])?$", p)
                    ptype, pname, arr = pm.group(1).strip(), pm.group(2), pm.group(3)
                    if arr:
                        ptype += " *"
                    plist.append((" ".join(ptype.replace("*", " * ").split()), pname))
            out.append((name, " ".join(ret.replace("*", " * ").split()), plist))
    return out


def ctype(c, where):
    """The ctypes expression (as source text) for a C type string."""
    t = c.replace("const ", "").strip()
    if c in ("void",):
        return "None"
    if t in _CALLBACKS:
        return "c_void_p"
    if t in _SCALARS:
        return _SCALARS[t]
    if t == "char *":
        # const char * is a string in; a plain char * is a caller buffer
        return "c_char_p" if c.startswith("const") else "c_void_p"
    if t in ("void *",):
        return "c_void_p"
    if t == "char * *":
        return "P(c_char_p)"
    if _HANDLE.match(c) or re.match(r"^rn_[a-z_]+ \*$", t):
        return "c_void_p"
    if re.match(r"^rn_[a-z_]+ \* \*$", t):
        return "P(c_void_p)"
    m = re.match(r"^([a-z0-9_]+) \*$", t)
    if m and m.group(1) in _SCALARS:
        return "P(%s)" % _SCALARS[m.group(1)]
    raise ValueError("%s: no ctypes mapping for C type %r" % (where, c))


def signatures(include_dir):
    """{name: (restype source, [argtype sources], [param names])}."""
    sigs = {}
    for name, ret, params in declarations(include_dir):
        sigs[name] = (ctype(ret, name), [ctype(t, name) for t, _ in params],
                      [n for _, n in params])
    return sigs


def constants(include_dir):
    """{name: int} of every integer #define RN_* of the public headers."""
    out = {}
    sub = os.path.join(include_dir, "resnet")
    for f in sorted(os.listdir(sub)):
        if not f.endswith(".h"):
            continue
        with open(os.path.join(sub, f)) as fh:
            for m in re.finditer(r"^#define\s+(RN_[A-Z0-9_]+)\s+(-?\d+)u?\b", fh.read(), re.M):
                out[m.group(1)] = int(m.group(2))
    return out


def render(include_dir):
    lines = ['"""ctypes signatures of every RN_API function, generated from the public',
             'headers by resnet._cdecl (do not edit: a test compares this file with',
             'the headers)."""',
             "from ctypes import (POINTER as P, c_char_p, c_double, c_float, c_int32, "
             "c_int64,",
             "                    c_size_t, c_uint8, c_uint32, c_uint64, c_void_p)",
             "",
             "# name: (restype, argtypes, parameter names)",
             "SIGNATURES = {"]
    for name, (ret, args, names) in sorted(signatures(include_dir).items()):
        lines.append("    %r: (%s, [%s],\n        %r)," % (name, ret, ", ".join(args), names))
    lines.append("}")
    lines.append("")
    lines.append("# the integer #define RN_* constants")
    lines.append("CONSTANTS = {")
    for name, value in sorted(constants(include_dir).items()):
        lines.append("    %r: %d," % (name, value))
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    inc = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "include")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "_signatures.py")
    text = render(inc)
    with open(out, "w") as f:
        f.write(text)
    print("%s: %d functions" % (out, text.count("': (")))
