#!/usr/bin/env python3
"""Write the small reference files the io tests read (tests/data/io/).

The files come from independent writers: numpy.save / numpy.lib.format for
.npy, Python's gzip and zlib modules for gzip and raw DEFLATE streams, and the
safetensors layout written here from its specification (the `safetensors`
Python package is not a Debian package; the format is an 8-byte little-endian
header length, a JSON header padded with spaces to 8 bytes, then the data).
Everything is deterministic (fixed seeds, gzip mtime 0), so re-running the
script reproduces the committed bytes.

usage: /usr/bin/python3 tests/gen/gen_io_fixtures.py [outdir]
"""
import gzip
import io
import json
import os
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "data", "io")


def put(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def npy_bytes(arr, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, arr)
    else:
        np.lib.format.write_array(buf, arr, version=version)
    return buf.getvalue()


def gen_npy():
    # The values are restated literally in tests/test_io_npy.c.
    put("npy_f4_2x3.npy", npy_bytes(np.array([[1.5, -2.0, 3.25], [0.0, 1e-3, -7e5]], "<f4")))
    put("npy_i8_5.npy", npy_bytes(np.array([0, -1, 2**31 - 1, -2**31, 42], "<i8")))
    put("npy_i8_big.npy", npy_bytes(np.array([1, 2**31, 3], "<i8")))
    put("npy_i4_scalar.npy", npy_bytes(np.array(-123456, "<i4")))
    put("npy_u1_2x2x3.npy", npy_bytes(np.arange(12, dtype="|u1").reshape(2, 2, 3) * 20))
    put("npy_f4_0x3.npy", npy_bytes(np.zeros((0, 3), "<f4")))
    # A 8-dim array whose first dim has many digits, to pin numpy's header padding.
    put("npy_f4_8d.npy", npy_bytes(np.arange(1000 * 2, dtype="<f4").reshape(1000, 1, 2, 1, 1, 1, 1, 1)))
    put("npy_v2_f4_3.npy", npy_bytes(np.array([1.0, 2.0, 3.0], "<f4"), version=(2, 0)))
    put("npy_v3_i4_2.npy", npy_bytes(np.array([7, -7], "<i4"), version=(3, 0)))
    # Valid numpy files this library refuses (RN_E_UNSUPPORTED).
    put("npy_be_f4.npy", npy_bytes(np.array([1.0, 2.0], ">f4")))
    put("npy_f8.npy", npy_bytes(np.array([1.0, 2.0], "<f8")))
    put("npy_fortran.npy", npy_bytes(np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3))))


def idx_bytes(arr, type_code):
    dims = b"".join(struct.pack(">I", d) for d in arr.shape)
    return bytes([0, 0, type_code, arr.ndim]) + dims + arr.tobytes()


def gzip_bytes(data, name=None, level=9):
    buf = io.BytesIO()
    with gzip.GzipFile(filename=name or "", mode="wb", fileobj=buf, mtime=0,
                       compresslevel=level) as f:
        f.write(data)
    return buf.getvalue()


def gen_idx():
    # images[i][r][c] = (i * 31 + r * 7 + c * 3) % 256; labels = [3, 1, 4]
    i, r, c = np.meshgrid(np.arange(3), np.arange(4), np.arange(5), indexing="ij")
    images = ((i * 31 + r * 7 + c * 3) % 256).astype(">u1")
    labels = np.array([3, 1, 4], ">u1")
    put("idx_images_3x4x5.idx", idx_bytes(images, 0x08))
    put("idx_labels_3.idx", idx_bytes(labels, 0x08))
    put("idx_images_3x4x5.idx.gz", gzip_bytes(idx_bytes(images, 0x08), name="idx_images_3x4x5.idx"))
    put("idx_labels_3.idx.gz", gzip_bytes(idx_bytes(labels, 0x08)))
    put("idx_int_2x2.idx", idx_bytes(np.array([[1, -2], [3, 4]], ">i4"), 0x0C))


def deflate_raw(data, level, strategy=zlib.Z_DEFAULT_STRATEGY):
    c = zlib.compressobj(level, zlib.DEFLATED, -15, 9, strategy)
    return c.compress(data) + c.flush()


def gen_deflate():
    # Text with long-distance repeats (distances up to ~3 KB, matches of 258)
    # and a pseudo-random tail that stays literal.
    rng = np.random.RandomState(1951)
    words = [b"residual", b"network", b"deflate", b"huffman", b"inflate", b"gzip", b"crc"]
    parts = [words[k] + b" " for k in rng.randint(0, len(words), 600)]
    text = b"".join(parts) + b"z" * 700 + rng.randint(0, 256, 1200).astype(np.uint8).tobytes()
    put("inflate_plain.bin", text)
    put("inflate_stored.deflate", deflate_raw(text, 0))
    put("inflate_fixed.deflate", deflate_raw(text, 9, zlib.Z_FIXED))
    put("inflate_dynamic.deflate", deflate_raw(text, 9))
    put("inflate_plain.gz", gzip_bytes(text, name="plain.bin"))


def gen_cifar():
    # Record k: label (k * 3) % 10, pixel p of the 3072 = (k * 11 + p * 5) % 256.
    out = bytearray()
    for k in range(3):
        out.append((k * 3) % 10)
        out += bytes((k * 11 + p * 5) % 256 for p in range(3072))
    put("cifar_3.bin", bytes(out))
    put("cifar_3.bin.gz", gzip_bytes(bytes(out)))


def safetensors_bytes(tensors, metadata=None, order=None):
    """tensors: list of (name, dtype string, shape, raw little-endian bytes)."""
    header = {}
    data = bytearray()
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    if order is not None:  # JSON key order differing from the data order
        header = {k: header[k] for k in order}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + bytes(data)


def bf16_bytes(values):
    bits = np.array(values, "<f4").view("<u4") >> 16
    return bits.astype("<u2").tobytes()


def gen_safetensors():
    # The values are restated literally in tests/test_io_safetensors.c.
    tensors = [
        ("a.f32", "F32", [2, 3], np.array([1.5, -2, 3.25, 0, 1e-3, -7e5], "<f4").tobytes()),
        ("b.f16", "F16", [4], np.array([1.0, -2.5, 2.0**-14, 65504.0], "<f2").tobytes()),
        ("c.bf16", "BF16", [2, 2], bf16_bytes([1.0, -3.0, 0.15625, 2.0**100])),
        ("d.i64", "I64", [3], np.array([-5, 0, 2**40], "<i8").tobytes()),
        ("e.i32", "I32", [], np.array([-77], "<i4").tobytes()),
        ("f.u8", "U8", [2, 2], bytes([0, 1, 128, 255])),
        ("g.empty", "F32", [0, 3], b""),
        ("h \"quoted\"\\\u00e9", "F32", [1], np.array([9.0], "<f4").tobytes()),
    ]
    meta = {"format": "pt", "note": "caf\u00e9 \"x\"\n\\"}
    order = ["__metadata__", "g.empty", "c.bf16", "a.f32", "b.f16", "d.i64", "e.i32", "f.u8",
             "h \"quoted\"\\\u00e9"]
    put("st_dtypes.safetensors", safetensors_bytes(tensors, meta, order))


def gen_fuzz_seeds(root):
    """Tiny valid inputs for each libFuzzer harness (tests/fuzz/corpus/NAME)."""
    def seed(target, name, data):
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)

    seed("npy", "f4_2x3.npy", npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3)))
    seed("npy", "i8_scalar.npy", npy_bytes(np.array(-3, "<i8")))
    seed("npy", "u1_v2.npy", npy_bytes(np.arange(4, dtype="|u1"), version=(2, 0)))
    seed("npy", "i4_v3.npy", npy_bytes(np.array([1, 2], "<i4"), version=(3, 0)))
    seed("safetensors", "two.safetensors", safetensors_bytes(
        [("conv1.weight", "F32", [1, 1, 1, 1], np.array([0.5], "<f4").tobytes()),
         ("fc.weight", "F16", [2, 1], np.array([1, -1], "<f2").tobytes()),
         ("b", "BF16", [], bf16_bytes([2.0])), ("i", "I64", [1], np.array([7], "<i8").tobytes())],
        {"format": "pt", "k\u00e9": "v\"\\"}))
    seed("safetensors", "empty.safetensors", safetensors_bytes([]))
    seed("idx", "labels.idx", idx_bytes(np.array([1, 2, 3], ">u1"), 0x08))
    seed("idx", "images.idx.gz", gzip_bytes(idx_bytes(np.arange(12, dtype=">u1").reshape(1, 3, 4), 0x08)))
    seed("idx", "int.idx", idx_bytes(np.array([[5]], ">i4"), 0x0C))
    rec = bytes([7]) + bytes((p * 3) % 256 for p in range(3072))
    seed("cifar", "one.bin", rec)
    seed("cifar", "two.bin.gz", gzip_bytes(rec + bytes([2]) + rec[1:]))
    text = b"the residual network, the residual block, the residual function " * 3
    seed("inflate", "stored.deflate", deflate_raw(text[:40], 0))
    seed("inflate", "fixed.deflate", deflate_raw(text, 9, zlib.Z_FIXED))
    # enough symbol variety for zlib to choose a dynamic Huffman block
    skewed = np.random.RandomState(7).choice(np.frombuffer(b"abcdefgh", np.uint8), 400,
                                             p=[.5, .2, .1, .1, .05, .03, .01, .01])
    seed("inflate", "dynamic.deflate", deflate_raw(skewed.astype(np.uint8).tobytes(), 9))
    seed("inflate", "text.gz", gzip_bytes(text, name="t.txt"))


def main():
    os.makedirs(OUT, exist_ok=True)
    gen_fuzz_seeds(os.path.join(HERE, "..", "fuzz", "corpus"))
    gen_npy()
    gen_idx()
    gen_deflate()
    gen_cifar()
    gen_safetensors()


if __name__ == "__main__":
    main()
