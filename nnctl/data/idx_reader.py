"""IDX files, the format of MNIST and Fashion-MNIST (gzipped or not).

Layout (all integers big-endian):
    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64
    byte  3     number of dimensions D
    then D uint32 sizes, then the elements in C order.
An images file [n, rows, cols] becomes X float64 [n, rows*cols] with the raw values (0..255 for
MNIST, no scaling); its labels file [n] gives the targets.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from nnctl.data.files import RawTable, read_bytes
from nnctl.errors import UsageError

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def looks_like_idx(head: bytes) -> bool:
    return len(head) >= 4 and head[:2] == b"\x00\x00" and head[2] in IDX_TYPES and head[3] >= 1


def read_idx_array(path: Path, max_bytes: int) -> np.ndarray:
    data = read_bytes(path, max_bytes)
    if len(data) < 4 or data[:2] != b"\x00\x00":
        raise UsageError(
            f"{path}: bad magic number 0x{data[:4].hex() or 'empty'}; an IDX file starts "
            "with two zero bytes, a type code and the number of dimensions"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise UsageError(
            f"{path}: unsupported IDX element type code 0x{code:02X}; expected one of {known}"
        )
    if ndim == 0:
        raise UsageError(f"{path}: IDX header declares 0 dimensions")
    header_bytes = 4 + 4 * ndim
    if len(data) < header_bytes:
        raise UsageError(
            f"{path}: truncated IDX header: {ndim} dimensions need {header_bytes} bytes, "
            f"the file has {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_bytes])
    dtype = np.dtype(IDX_TYPES[code])
    if 0 in shape:
        dims = " x ".join(map(str, shape))
        raise UsageError(f"{path}: IDX header declares {dims} elements: no data (a dimension is 0)")
    count = math.prod(shape)  # Python integers: four declared sizes near 2**32 overflow int64
    expected = count * dtype.itemsize
    found = len(data) - header_bytes
    if found != expected:
        dims = " x ".join(map(str, shape))
        raise UsageError(
            f"{path}: holds {found} bytes of data, but its header ({dims} elements of "
            f"{dtype.itemsize} bytes) says {expected}; the file is truncated or not IDX"
        )
    return np.frombuffer(data, dtype=dtype, count=count, offset=header_bytes).reshape(shape)


def read_idx(
    path: Path, labels_path: Path | None, *, require_target: bool, max_bytes: int
) -> RawTable:
    images = read_idx_array(path, max_bytes)
    if images.ndim < 2:
        raise UsageError(
            f"{path}: a 1-D IDX array of {images.shape[0]} values (a labels file?); expected "
            "images [n, rows, cols] as data.path and the labels as data.labels_path"
        )
    n = images.shape[0]
    X = images.reshape(n, -1).astype(np.float64)
    if images.ndim == 3:
        names = [f"pixel_{r}_{c}" for r in range(images.shape[1]) for c in range(images.shape[2])]
    else:
        names = [f"x{j}" for j in range(X.shape[1])]

    y = None
    if labels_path is None:
        if require_target:
            raise UsageError(
                f"{path}: IDX images need their labels file as data.labels_path "
                "(e.g. train-labels-idx1-ubyte.gz)"
            )
    else:
        labels = read_idx_array(labels_path, max_bytes)
        if labels.ndim != 1:
            raise UsageError(
                f"{labels_path}: expected a 1-D IDX labels array, found shape {labels.shape}"
            )
        if labels.shape[0] != n:
            raise UsageError(
                f"{labels_path}: has {labels.shape[0]} labels, but {path} has {n} images"
            )
        y = labels.astype(np.int64) if labels.dtype.kind in "iu" else labels.astype(np.float64)
    return RawTable(
        X,
        y,
        names,
        None,
        lambda i: f"index {i}",
        f"{labels_path}: labels",
        lambda i: f"{labels_path}: label {i}",
    )
