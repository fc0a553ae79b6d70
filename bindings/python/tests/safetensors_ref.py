"""A minimal safetensors reader and writer written from the format's
description (8-byte little-endian header length, JSON header of
{name: {dtype, shape, data_offsets}} plus an optional "__metadata__" map,
then the raw little-endian data), so tests can check libresnet's files
without trusting libresnet."""
import json
import struct

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1",
          "I8": "i1"}


def write(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        code = {("f", 4): "F32", ("f", 8): "F64", ("f", 2): "F16", ("i", 8): "I64",
                ("i", 4): "I32", ("u", 1): "U8"}[(arr.dtype.kind, arr.dtype.itemsize)]
        raw = arr.astype(DTYPES[code]).tobytes()
        header[name] = {"dtype": code, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = dict(metadata)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header with spaces
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read(path):
    """({name: array}, metadata) from a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode())
    body = data[8 + n:]
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        arr = np.frombuffer(body[begin:end], dtype=DTYPES[info["dtype"]])
        out[name] = arr.reshape(info["shape"])
    return out, meta
