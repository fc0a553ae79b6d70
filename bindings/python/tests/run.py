#!/usr/bin/env python3
"""Run the binding tests without pytest: every test_* function of every
test_*.py beside this file (a `tmp_path` parameter receives a fresh
directory, as with pytest). Prints one line per test and "N passed, N
failed"; exits non-zero on any failure.

    python3 bindings/python/tests/run.py [substring]"""
import glob
import importlib
import inspect
import os
import pathlib
import sys
import tempfile
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    sys.path.insert(0, HERE)
    pattern = argv[1] if len(argv) > 1 else ""
    passed = failed = skipped = 0
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        module = importlib.import_module(os.path.splitext(os.path.basename(path))[0])
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("test_") or fn.__module__ != module.__name__:
                continue
            if pattern not in name:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                kwargs = {}
                if "tmp_path" in inspect.signature(fn).parameters:
                    kwargs["tmp_path"] = pathlib.Path(tmp)
                try:
                    fn(**kwargs)
                except unittest.SkipTest as e:  # cannot run here: say so, never "ok"
                    skipped += 1
                    print("skip %s (%s)" % (name, e))
                    continue
                except Exception:  # a failed assert or an unexpected error
                    failed += 1
                    print("FAIL %s" % name)
                    traceback.print_exc()
                else:
                    passed += 1
                    print("ok   %s" % name)
            sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
