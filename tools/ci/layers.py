#!/usr/bin/env python3
"""The include graph of src/ against docs/architecture.md's layers.

Each folder under src/ is a layer, in the order of the architecture table:
core, kernels, ops, nn, train, io; src/mpi, the optional MPI library built on
the public API, comes last and offers nothing. A source file may include
  - any header of its own layer (subfolders belong to their layer),
  - the interface header of a layer above it in the table (INTERFACE below),
  - the public header (include/resnet/*.h) of its own layer or one above it,
  - system headers (<...>), which are not checked here.
Everything else fails: a layer including one below it in the table, or
another layer's private header (nn-internal.h, train-internal.h, a driver's
helper header...). Run by tools/test.sh (the "extra" stage, through
tools/ci/layers.sh); exits 1 and names each offending #include.
"""
import os
import re
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAYERS = ["core", "kernels", "ops", "nn", "train", "io", "mpi"]
# the one header each layer offers the layers below it
INTERFACE = {
    "core": {"src/core/internal.h", "src/core/rn_deps.h"},
    "kernels": {"src/kernels/kernels.h"},
    "ops": {"src/ops/ops.h"},
    "nn": {"src/nn/nn.h"},
    "train": {"src/train/train-state.h"},
    "io": set(),
    "mpi": set(),
}
# include/resnet/*.h by layer (resnet.h, the umbrella, is for users only)
PUBLIC = {"core.h": "core", "tensor.h": "core", "layers.h": "ops", "block.h": "nn",
          "model.h": "nn", "train.h": "train", "io.h": "io"}
# other public headers (include/*.h) by layer
PUBLIC_TOP = {"resnet-mpi.h": "mpi"}
# Known exceptions, each with its reason; the check prints them on every run.
# An entry here is a debt, not a rule: remove it when the code moves.
EXCEPTIONS = {}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(rel):
    parts = rel.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "src" and parts[1] in LAYERS else None


def check(rel, text):
    errors = []
    mine = layer_of(rel)
    rank = LAYERS.index(mine)
    for m in INCLUDE_RE.finditer(text):
        name = m.group(1)
        line = text.count("\n", 0, m.start()) + 1
        if name in PUBLIC_TOP:
            if LAYERS.index(PUBLIC_TOP[name]) > rank:
                errors.append("%s:%d: %s includes \"%s\", the public header of %s, a layer below it"
                              % (rel, line, mine, name, PUBLIC_TOP[name]))
            continue
        if name.startswith("resnet/") or name == "resnet.h":
            pub = PUBLIC.get(name[len("resnet/"):])
            if pub is None:
                errors.append("%s:%d: includes \"%s\" (the umbrella header is for users)"
                              % (rel, line, name))
            elif LAYERS.index(pub) > rank:
                errors.append("%s:%d: %s includes \"%s\", the public header of %s, a layer below it"
                              % (rel, line, mine, name, pub))
            continue
        target = os.path.normpath(os.path.join(os.path.dirname(rel), name))
        if not os.path.exists(os.path.join(TOP, target)):
            errors.append("%s:%d: \"%s\" is not a file of the tree" % (rel, line, name))
            continue
        theirs = layer_of(target)
        if theirs is None:
            errors.append("%s:%d: includes \"%s\", outside the layers" % (rel, line, name))
        elif theirs == mine:
            continue
        elif LAYERS.index(theirs) > rank:
            errors.append("%s:%d: %s includes %s, a layer below it in docs/architecture.md"
                          % (rel, line, mine, target))
        elif (rel, target) in EXCEPTIONS:
            print("%s:%d: allowed for now: %s" % (rel, line, EXCEPTIONS[(rel, target)]))
        elif target not in INTERFACE[theirs]:
            errors.append("%s:%d: %s includes %s, a private header of %s (its interface: %s)"
                          % (rel, line, mine, target, theirs,
                             ", ".join(sorted(INTERFACE[theirs])) or "none"))
    return errors


def main():
    errors, files = [], 0
    for root, _, names in os.walk(os.path.join(TOP, "src")):
        for n in sorted(names):
            if not n.endswith((".c", ".h")):
                continue
            path = os.path.join(root, n)
            rel = os.path.relpath(path, TOP).replace(os.sep, "/")
            if layer_of(rel) is None:
                errors.append("%s: not in a layer folder (%s)" % (rel, ", ".join(LAYERS)))
                continue
            with open(path, encoding="utf-8") as f:
                errors += check(rel, f.read())
            files += 1
    for e in errors:
        print(e)
    print("layers: %d files, %d include(s) against docs/architecture.md's layers"
          % (files, len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
