#!/usr/bin/env python3
"""Training curves in the style of the paper's Figure 6: error (%) against
iterations, thin lines for training error, bold lines for test error, one
colour per run, several runs on one figure.

usage: /usr/bin/python3 tools/plot_curves.py RUN [RUN ...] -o curves.png
       [--title TEXT] [--x epochs|iterations] [--ymax 20] [--val]

Each RUN is a log.csv written by `resnet train` or the directory holding
one; NAME=PATH sets the legend name (default: the directory's name).
Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402


def read_log(path):
    if os.path.isdir(path):
        path = os.path.join(path, "log.csv")
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            # a resumed run appends; a repeated epoch keeps its latest row
            rows[int(row["epoch"])] = row
    if not rows:
        raise ValueError(f"{path}: no rows")
    return [rows[k] for k in sorted(rows)]


def column(rows, name):
    out = []
    for r in rows:
        v = r.get(name, "")
        out.append(float(v) if v not in ("", None) else float("nan"))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", help="log.csv files or run directories (NAME=PATH to name one)")
    ap.add_argument("-o", "--output", default="curves.png")
    ap.add_argument("--title", default="")
    ap.add_argument("--x", choices=("iterations", "epochs"), default="iterations")
    ap.add_argument("--ymax", type=float, default=None, help="top of the error axis (%%)")
    ap.add_argument("--val", action="store_true", help="dashed validation error too")
    args = ap.parse_args(argv)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, spec in enumerate(args.runs):
        name, path = spec.split("=", 1) if "=" in spec and not os.path.exists(spec) else (None, spec)
        if name is None:
            base = path[:-len("log.csv")] if path.endswith("log.csv") else path
            name = os.path.basename(os.path.normpath(base)) or path
        try:
            rows = read_log(path)
        except (OSError, ValueError, KeyError) as e:
            print(f"plot_curves: {path}: {e}", file=sys.stderr)
            return 1
        if args.x == "iterations" and "iterations" in rows[0]:
            x = column(rows, "iterations")
            ax.set_xlabel("iterations")
        else:
            x = column(rows, "epoch")
            ax.set_xlabel("epochs")
        c = colours[i % len(colours)]
        ax.plot(x, column(rows, "train_error_pct"), color=c, linewidth=0.8, alpha=0.9)
        ax.plot(x, column(rows, "test_error_pct"), color=c, linewidth=2.2, label=name)
        if args.val and any(r.get("val_error_pct") for r in rows):
            ax.plot(x, column(rows, "val_error_pct"), color=c, linewidth=1.2, linestyle="--")
    ax.set_ylabel("error (%)")
    if args.ymax is not None:
        ax.set_ylim(0, args.ymax)
    else:
        ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(title="bold: test, thin: train", fontsize=9, title_fontsize=9)
    if args.title:
        ax.set_title(args.title)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
