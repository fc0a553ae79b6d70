#!/usr/bin/env python3
"""Write libresnet as two files, resnet.h and resnet.c, for projects that
vendor a library by dropping in one source file (as SQLite and zstd allow).

    python3 tools/amalgamate.py -o OUTDIR [--no-io] [--inference-only]

resnet.h is the public API (include/resnet.h with its layer headers inlined).
resnet.c is every library source in layer order with the internal headers
inlined once; compile it as C99 with -ffp-contract=off and -lm, plus -pthread -DRN_WITH_POOL (or
-fopenmp -DRN_WITH_OPENMP) for
threads. It carries the portable kernels (scalar, and NEON on AArch64); the
x86 AVX2/AVX-512 kernels need per-file compiler flags and are left to the
CMake or lib/sources.mk builds.

Each source keeps its own file scope: a static function, variable, type or
tag that two files both define is renamed in one of them with a
#define/#undef pair around that file, and macros a source file defines are
#undef'd after it. #line directives point compiler messages at the original
files."""
import argparse
import glob
import os
import re
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FEATURE_MACROS = ("_POSIX_C_SOURCE", "_XOPEN_SOURCE", "_GNU_SOURCE", "_DEFAULT_SOURCE",
                  "_DARWIN_C_SOURCE", "_FILE_OFFSET_BITS", "_BSD_SOURCE")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
DEFINE_RE = re.compile(r"^\s*#\s*define\s+(\w+)")
# file-scope names a .c file defines (good enough for this code base's style)
STATIC_FN_RE = re.compile(r"^static\s+[^;=(\n]*?\b(\w+)\s*\(", re.M)
STATIC_VAR_RE = re.compile(r"^static\s+(?!inline\b)[^;=({\n]*?\b(\w+)\s*(?:\[[^\]\n]*\]\s*)*(?:=|;)",
                           re.M)
TYPEDEF_RE = re.compile(r"^typedef\b[^;{\n]*?\b(\w+)\s*;", re.M)
TYPEDEF_FNPTR_RE = re.compile(r"^typedef\b[^;{\n]*?\(\s*\*\s*(\w+)\s*\)", re.M)
TYPEDEF_BLOCK_RE = re.compile(r"^}\s*(\w+)\s*;", re.M)
TAG_RE = re.compile(r"^(?:typedef\s+)?(?:struct|union|enum)\s+(\w+)\s*\{", re.M)


def layer_sources(no_io, inference_only):
    groups = ["src/core", "src/kernels", "src/kernels/scalar", "src/ops",
              "src/nn"]
    if not inference_only:
        groups.append("src/train")
    if not no_io:
        groups.append("src/io")
    out = []
    for g in groups:
        out += sorted(glob.glob(os.path.join(TOP, g, "*.c")))
    if inference_only:
        dropped = (os.path.join("io", "checkpoint.c"), os.path.join("ops", "layers-api-backward.c"))
        out = [p for p in out if not p.endswith(dropped)]
    neon = sorted(glob.glob(os.path.join(TOP, "src/kernels/neon/*.c")))
    return out, neon


class Inliner:
    """Expands quoted #includes, each file once (a kernel template, *-template.h,
    every time: each inclusion instantiates it anew); public headers are
    replaced by the single resnet.h that resnet.c includes first."""

    def __init__(self, public_dir, drop_public):
        self.seen = set()
        self.public_dir = public_dir
        self.drop_public = drop_public

    def resolve(self, name, from_dir):
        for d in (from_dir, os.path.dirname(self.public_dir), self.public_dir):
            p = os.path.normpath(os.path.join(d, name))
            if os.path.isfile(p):
                return p
        raise SystemExit("amalgamate: cannot find \"%s\" included from %s" % (name, from_dir))

    def expand(self, path, out, defined=None):
        path = os.path.normpath(path)
        if path in self.seen and not path.endswith("-template.h"):
            return
        self.seen.add(path)
        rel = os.path.relpath(path, TOP)
        out.append('#line 1 "%s"\n' % rel)
        with open(path) as f:
            lines = f.readlines()
        for no, line in enumerate(lines, 1):
            m = INCLUDE_RE.match(line)
            if m:
                target = self.resolve(m.group(1), os.path.dirname(path))
                public = target.startswith(self.public_dir + os.sep) or \
                    target == os.path.join(os.path.dirname(self.public_dir), "resnet.h")
                if not (public and self.drop_public):
                    self.expand(target, out)
                out.append('#line %d "%s"\n' % (no + 1, rel))
                continue
            d = DEFINE_RE.match(line)
            if d and d.group(1) in FEATURE_MACROS:
                out.append("\n")  # hoisted to the top of resnet.c
                continue
            if d is not None and defined is not None:
                defined.append(d.group(1))
            out.append(line)


def file_scope_names(text):
    names = set(STATIC_FN_RE.findall(text)) | set(STATIC_VAR_RE.findall(text))
    names |= set(TYPEDEF_RE.findall(text)) | set(TYPEDEF_BLOCK_RE.findall(text))
    names |= set(TYPEDEF_FNPTR_RE.findall(text))
    names |= set(TAG_RE.findall(text))
    return names


def feature_macros(paths):
    found = {}
    for p in paths:
        with open(p) as f:
            for line in f:
                m = re.match(r"^\s*#\s*define\s+(\w+)\s*(\S*)", line)
                if m and m.group(1) in FEATURE_MACROS:
                    name, value = m.group(1), m.group(2)
                    old = found.get(name)
                    if old is None or (value.rstrip("L").isdigit() and old.rstrip("L").isdigit()
                                       and int(value.rstrip("L")) > int(old.rstrip("L"))):
                        found[name] = value
    return found


def write_header(outdir):
    out = ["/* resnet.h: libresnet's public API in one file, generated by\n"
           " * tools/amalgamate.py from include/. Do not edit. */\n"]
    Inliner(os.path.join(TOP, "include", "resnet"), False).expand(
        os.path.join(TOP, "include", "resnet.h"), out)
    text = "".join(l for l in out if not l.startswith("#line"))
    with open(os.path.join(outdir, "resnet.h"), "w") as f:
        f.write(text)


def write_source(outdir, no_io, inference_only):
    sources, neon = layer_sources(no_io, inference_only)
    names = {}
    texts = {}
    for p in sources + neon:
        with open(p) as f:
            texts[p] = f.read()
        for n in file_scope_names(texts[p]):
            names.setdefault(n, []).append(p)
    clashes = {n: ps for n, ps in names.items() if len(ps) > 1}

    out = ["/* resnet.c: all of libresnet in one file, generated by tools/amalgamate.py.\n"
           " * Do not edit; change the sources under src/ instead.\n"
           " * Build: cc -std=c99 -ffp-contract=off -O2 -c resnet.c   (threads: add -pthread\n"
           " * -DRN_WITH_POOL, or -fopenmp -DRN_WITH_OPENMP). -ffp-contract=off (no a*b+c fused\n"
           " * into an FMA by the compiler) is what the library's bit-identity promises assume;\n"
           " * compilers that honour the standard pragma below get it without the flag (gcc\n"
           " * ignores the pragma, but in -std=c99 mode does not contract anyway).\n"
           " * Variant: %s */\n" % ", ".join(
               ["full"] + (["no file I/O"] if no_io else []) +
               (["inference only"] if inference_only else []))]
    for name, value in sorted(feature_macros(sources + neon).items()):
        out.append("#define %s %s\n" % (name, value))
    out.append("#if !defined(__GNUC__) || defined(__clang__)\n#pragma STDC FP_CONTRACT OFF\n#endif\n")
    out.append("#ifndef RN_BUILDING_LIBRARY\n#define RN_BUILDING_LIBRARY 1\n#endif\n")
    if no_io:
        out.append("#ifndef RN_NO_IO\n#define RN_NO_IO 1\n#endif\n")
    if inference_only:
        out.append("#ifndef RN_INFERENCE_ONLY\n#define RN_INFERENCE_ONLY 1\n#endif\n")
    if neon:
        out.append("#if defined(__aarch64__) && !defined(RN_HAVE_NEON)\n"
                   "#define RN_HAVE_NEON 1\n#endif\n")
    out.append('#include "resnet.h"\n')
    inliner = Inliner(os.path.join(TOP, "include", "resnet"), True)
    for i, p in enumerate(sources + neon):
        rel = os.path.relpath(p, TOP)
        out.append("\n/* ==== %s ==== */\n" % rel)
        if p in neon:
            out.append("#ifdef RN_HAVE_NEON\n")
        renamed = sorted(n for n, ps in clashes.items() if p in ps and ps[0] != p)
        for n in renamed:
            out.append("#define %s rn__amalg%d_%s\n" % (n, i, n))
        defined = []
        inliner.expand(p, out, defined)
        for n in sorted(set(defined) | set(renamed)):
            out.append("#undef %s\n" % n)
        if p in neon:
            out.append("#endif /* RN_HAVE_NEON */\n")
    with open(os.path.join(outdir, "resnet.c"), "w") as f:
        f.write("".join(out))
    return len(sources + neon), clashes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--outdir", default=".")
    ap.add_argument("--no-io", action="store_true", help="leave out src/io (file access)")
    ap.add_argument("--inference-only", action="store_true",
                    help="leave out src/train and checkpoints")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    write_header(args.outdir)
    count, clashes = write_source(args.outdir, args.no_io, args.inference_only)
    print("amalgamate: %d sources -> %s/resnet.c, resnet.h (%d file-scope names renamed)"
          % (count, args.outdir, sum(len(v) - 1 for v in clashes.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
