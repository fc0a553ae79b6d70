#!/usr/bin/env python3
"""Write torchvision's state_dict order (names and shapes) for the presets the
nn tests compare with: tests/data/nn/<arch>_state_dict.txt, one tensor per line,
"name dim0,dim1,...", num_batches_tracked left out (libresnet does not keep it).

Run from the repository root:  /usr/bin/python3 tests/gen/gen_state_dict_names.py
(torchvision 0.14 was used; any version with the v1.5 ResNets gives the same list.)
"""
import os

import torchvision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "nn")


def main():
    os.makedirs(OUT, exist_ok=True)
    for arch in ("resnet18", "resnet50"):
        model = getattr(torchvision.models, arch)(weights=None)  # random init, no download
        lines = []
        for name, t in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            lines.append("%s %s\n" % (name, ",".join(str(d) for d in t.shape)))
        path = os.path.join(OUT, "%s_state_dict.txt" % arch)
        with open(path, "w") as f:
            f.writelines(lines)
        print("%s: %d tensors -> %s" % (arch, len(lines), os.path.relpath(path)))


if __name__ == "__main__":
    main()
