"""Opening data files safely, and the table every file reader returns.

A data file is checked before it is read (exists, is a file, is readable, no larger than
`max_bytes`); gzip is recognised by its magic bytes (1f 8b), not by the name, and decompressed
with the same size bound so a small archive cannot expand without limit.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.errors import UsageError
from nnctl.util.input_files import stat_regular_file

MAX_FILE_BYTES = 1 << 30  # 1 GiB: far beyond any dataset this tool trains on in memory
GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class RawTable:
    """What a reader found, before task inference and label mapping.

    y: the target as parsed values (float64, integers, or strings), or None.
    locate(i): how messages name sample i ("line 7" in a CSV, "index 6" in an array file).
    target_where: how messages name the target ("train.csv: column 'species'").
    target_at(i): how messages name target entry i ("train.csv: line 7, column 'species'").
    """

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list[str]
    target_name: str | None
    locate: Callable[[int], str]
    target_where: str
    target_at: Callable[[int], str]
    table: object | None = None  # nnctl.data.table.ColumnTable: a CSV's named columns, X None


def size_text(n_bytes: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n_bytes >= 1 << shift:
            return f"{n_bytes / (1 << shift):.1f} {unit}"
    return f"{n_bytes} bytes"


def check_file(path: Path, max_bytes: int, role: str = "data file") -> None:
    """UsageError unless `path` is an existing, readable regular file of at most `max_bytes`
    (a device such as /dev/zero or a FIFO is refused by kind: its size says nothing)."""
    size = stat_regular_file(path, role).st_size
    if not os.access(path, os.R_OK):
        raise UsageError(f"{path}: {role} is not readable (permission denied)")
    if size > max_bytes:
        raise UsageError(
            f"{path}: {role} is {size_text(size)}, larger than the {size_text(max_bytes)} "
            "limit of files read into memory; refused (training memory-maps .npy files "
            "and the shards `nnctl data convert` writes)"
        )


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


class _Bounded(io.RawIOBase):
    """A read-only stream that refuses to yield more than `limit` bytes: the bound counts the
    bytes actually read, so neither a gzip bomb nor a file that grows after the size check
    can exceed it."""

    def __init__(self, inner, limit: int, path: Path, what: str = "decompresses to"):
        self._inner, self._limit, self._path, self._count = inner, limit, path, 0
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._inner.readinto(buffer)
        self._count += n
        if self._count > self._limit:
            limit = size_text(self._limit)
            raise UsageError(f"{self._path}: {self._what} more than {limit}; refused")
        return n


@contextmanager
def open_binary(path: Path, max_bytes: int) -> Iterator[io.BufferedIOBase]:
    """The file's bytes, gunzipped when it starts with the gzip magic; errors of a corrupt or
    truncated gzip stream become UsageError."""
    try:
        if is_gzip(path):
            with gzip.GzipFile(path, "rb") as archive:
                yield io.BufferedReader(_Bounded(archive, max_bytes, path))
        else:
            with open(path, "rb", buffering=0) as handle:
                yield io.BufferedReader(_Bounded(handle, max_bytes, path, "holds"))
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise UsageError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    except PermissionError:
        raise UsageError(f"{path}: not readable (permission denied)") from None


def read_bytes(path: Path, max_bytes: int) -> bytes:
    with open_binary(path, max_bytes) as handle:
        return handle.read()


def head_bytes(path: Path, n: int = 8) -> bytes:
    """The first `n` bytes of the (gunzipped) content, for format sniffing."""
    try:
        with open_binary(path, 1 << 20) as handle:
            return handle.read(n)
    except UsageError:
        return b""


STDIN_NAME = "<stdin>"


def is_stream(path: Path) -> bool:
    """`-`, or a name of this process's own standard input when that is a pipe or a terminal
    (/dev/stdin, /dev/fd/0): readable once, no size. Any other pipe or device (a FIFO with no
    writer, /dev/zero) is not a stream but a refused data file (check_file)."""
    if str(path) == "-":
        return True
    try:
        info, stdin = os.stat(path), os.fstat(0)
    except (OSError, ValueError):
        return False
    return os.path.samestat(info, stdin) and not stat.S_ISREG(info.st_mode)


@contextmanager
def spooled(path: Path, max_bytes: int) -> Iterator[Path]:
    """A regular file holding the bytes of stream `path` (read once, at most max_bytes), so the
    readers can sniff and re-open it; removed afterwards."""
    import shutil
    import sys
    import tempfile

    source = sys.stdin.buffer if str(path) == "-" else open(path, "rb")
    with tempfile.TemporaryDirectory(prefix="nnctl-stdin-") as folder:
        spool = Path(folder) / "stdin"
        try:
            with open(spool, "wb") as out:
                shutil.copyfileobj(_Bounded(source, max_bytes, path), out)
        finally:
            if source is not sys.stdin.buffer:
                source.close()
        yield spool
