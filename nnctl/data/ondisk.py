"""Feature matrices that stay on disk: memory-mapped `.npy` files and folders of shards.

An `.npy` file (or a folder of `X-00000.npy`, `X-00001.npy`, ... with label shards
`y-00000.npy`, ...) is opened with `numpy.load(mmap_mode="r")`; nothing is read whole. Its pages
belong to the OS page cache (they are dropped under memory pressure and are not the process's
anonymous memory), so a table bigger than RAM can be trained on.

`DiskRows` is the whole file (or all shards, concatenated in name order). `RowView` selects rows
of it (the training or validation split, kept as indices) and applies the standardisation as rows
are gathered, so neither a copy of the split nor a scaled copy is ever made. Every consumer reads
a `RowView` through `take(positions)` (a mini-batch: the rows are read in sorted order for
locality, returned in the order asked) or `chunks()` (consecutive blocks of about
CHUNK_BYTES, for statistics and full-batch passes).

Gathered values equal the in-memory path's bit for bit: rows are cast to float64, then
(x - mean) / scale is computed in float64, then cast to the model's dtype, as the in-memory
loader, Standardizer.transform and the batch iterator do.
"""

from __future__ import annotations

import re
from pathlib import Path
from tokenize import TokenError

import numpy as np

from nnctl.data import source_guard
from nnctl.data.files import size_text
from nnctl.errors import UsageError, shown

CHUNK_BYTES = 32 << 20  # float64 bytes per block of a pass (bounds the memory of a pass)
# Making a whole on-disk split an in-memory array (a feature that needs it) is refused above this.
MAX_MATERIALISE_BYTES = 1 << 30
PROGRESS_MIN_BYTES = 256 << 20  # passes over files at least this big show progress on stderr
_progress = {"bar": None}  # how a pass shows progress: installed from the top (show_progress)
SHARD_PATTERN = re.compile(r"^X-(\d+)\.npy$")


def chunk_rows(n_features: int, budget: int | None = None) -> int:
    """Rows per block of a pass: `budget` (default CHUNK_BYTES) bytes of float64 rows."""
    return max(1, (budget or CHUNK_BYTES) // (8 * max(1, n_features)))


def is_shard_folder(path: Path) -> bool:
    return path.is_dir() and any(SHARD_PATTERN.match(p.name) for p in path.iterdir())


def shard_files(folder: Path) -> tuple[list[Path], list[Path] | None]:
    """(feature shards, label shards or None) of a shard folder, in shard-number order."""
    numbered = sorted(
        (int(m.group(1)), p) for p in folder.iterdir() if (m := SHARD_PATTERN.match(p.name))
    )
    if not numbered:
        raise UsageError(
            f"{folder}: no feature shards (X-00000.npy, X-00001.npy, ...) in the folder"
        )
    numbers = [number for number, _ in numbered]
    if numbers != list(range(len(numbers))):
        missing = sorted(set(range(numbers[-1] + 1)) - set(numbers))
        raise UsageError(
            f"{folder}: feature shards are numbered 0..{numbers[-1]} but "
            f"X-{missing[0]:05d}.npy is missing"
        )
    features = [p for _, p in numbered]
    labels = [folder / p.name.replace("X-", "y-", 1) for p in features]
    present = [p.exists() for p in labels]
    if any(present) and not all(present):
        absent = labels[present.index(False)]
        raise UsageError(
            f"{absent}: label shard missing (every X-NNNNN.npy needs its "
            "y-NNNNN.npy, or none has one)"
        )
    return features, labels if all(present) else None


def open_npy(path: Path, role: str = "features") -> np.ndarray:
    """An .npy file as a read-only memory map; UsageError naming the file when it is not one."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "object" in str(exc).lower() or "pickle" in str(exc).lower():
            raise UsageError(
                f"{path}: holds object arrays, which would need pickle to load; "
                "refused (store plain numeric or string arrays)"
            ) from None
        raise UsageError(f"{path}: not a readable .npy file of {role} ({exc})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot open ({exc.strerror or exc})") from None
    except (SyntaxError, TokenError):  # NumPy tokenizes an old-style header: a damaged one
        raise UsageError(f"{path}: not a readable .npy file of {role} (damaged header)") from None
    if not isinstance(array, np.ndarray):
        raise UsageError(f"{path}: expected a single .npy array of {role}, found an .npz archive")
    source_guard.watch(path)  # checked before every block read (read_sorted)
    return array


class DiskRows:
    """Row blocks (memory maps) that act as one [n, d] matrix, read a few rows at a time."""

    def __init__(self, blocks: list[np.ndarray], names: list[str]):
        for i, (block, name) in enumerate(zip(blocks, names)):
            if block.dtype.kind not in "fiub":
                raise UsageError(
                    f"{name}: expected numeric features, found an array of dtype {block.dtype}"
                )
            if block.ndim < 2:
                raise UsageError(
                    f"{name}: expected features of shape [n_samples, n_features], "
                    f"found shape {tuple(block.shape)} (one feature per sample? "
                    "save X.reshape(-1, 1))"
                )
            if block.ndim > 2:  # images [n, h, w]: rows of h*w (a view of the map)
                blocks[i] = block.reshape(block.shape[0], -1)
        widths = {block.shape[1] for block in blocks}
        if len(widths) > 1:
            first = blocks[0].shape[1]
            bad = next(i for i, b in enumerate(blocks) if b.shape[1] != first)
            raise UsageError(
                f"{names[bad]}: has {blocks[bad].shape[1]} feature columns, "
                f"{names[0]} has {first}; every shard needs the same columns"
            )
        self.blocks, self.names = blocks, names
        self.starts = np.cumsum([0] + [b.shape[0] for b in blocks])
        self.shape = (int(self.starts[-1]), int(blocks[0].shape[1]))
        if self.shape[0] == 0:
            raise UsageError(f"{names[0]}: no samples (features of shape {self.shape})")

    @property
    def nbytes(self) -> int:
        return int(sum(b.nbytes for b in self.blocks))

    def locate(self, row: int) -> str:
        """How messages name a row: "index 6", or "X-00001.npy: index 6" in a shard folder."""
        block = int(np.searchsorted(self.starts, row, side="right") - 1)
        local = row - int(self.starts[block])
        return f"index {local}" if len(self.blocks) == 1 else f"{self.names[block]}: index {local}"

    def read_sorted(self, rows: np.ndarray, out: np.ndarray) -> None:
        """out[i] = row rows[i] (rows ascending), cast into out's dtype; each shard is read
        once, by a slice when the rows are contiguous (a plain sequential read)."""
        cuts = np.searchsorted(rows, self.starts)
        for block, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:])):
            if lo == hi:
                continue
            source_guard.check_unchanged(self.names[block])  # a truncated map would SIGBUS
            local = rows[lo:hi] - self.starts[block]
            first, last = int(local[0]), int(local[-1])
            if last - first + 1 == hi - lo:
                out[lo:hi] = self.blocks[block][first : last + 1]
            else:
                out[lo:hi] = self.blocks[block][local]


class RowView:
    """Rows `rows` of `source` (all of them when None), scaled by `scaler` (None: as stored),
    handed out in `dtype`. It behaves enough like an array for the training code: shape,
    len(), astype(), and np.asarray() for small data (refused with the size it needs above
    MAX_MATERIALISE_BYTES)."""

    ndim = 2
    BLOCK_BYTES = CHUNK_BYTES

    def block_rows(self) -> int:
        """Rows per block of a pass over these rows (CHUNK_BYTES of float64 rows)."""
        return chunk_rows(self.shape[1])

    def __init__(
        self, source: DiskRows, rows: np.ndarray | None = None, scaler=None, dtype=np.float64
    ):
        self.source = source
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        self.scaler = scaler
        self.dtype = np.dtype(dtype)
        n = source.shape[0] if self.rows is None else len(self.rows)
        self.shape = (int(n), source.shape[1])

    def __len__(self) -> int:
        return self.shape[0]

    def _with(self, **changes) -> RowView:
        fields = {"rows": self.rows, "scaler": self.scaler, "dtype": self.dtype, **changes}
        return RowView(self.source, **fields)

    def subset(self, positions: np.ndarray) -> RowView:
        """The rows at `positions` of this view (no data is read)."""
        positions = np.asarray(positions, dtype=np.int64)
        return self._with(rows=positions if self.rows is None else self.rows[positions])

    def scaled(self, scaler) -> RowView:
        return self._with(scaler=scaler)

    def astype(self, dtype, copy: bool = True) -> RowView:
        return self._with(dtype=dtype)

    def file_rows(self, positions) -> np.ndarray:
        positions = np.asarray(positions, dtype=np.int64)
        return positions if self.rows is None else self.rows[positions]

    def take(self, positions, out: np.ndarray | None = None) -> np.ndarray:
        """Rows at `positions` (in that order), scaled, in this view's dtype."""
        wanted = self.file_rows(positions)
        raw = np.empty((len(wanted), self.shape[1]), dtype=np.float64)
        if len(wanted) and np.all(wanted[1:] >= wanted[:-1]):
            self.source.read_sorted(wanted, raw)
        elif len(wanted):
            order = np.argsort(wanted, kind="stable")
            block = np.empty_like(raw)
            self.source.read_sorted(wanted[order], block)
            raw[order] = block  # back into the order asked (a seeded batch order)
        if self.scaler is not None:
            raw = self.scaler.transform(raw)
        if out is not None:
            out[...] = raw
            return out
        return raw if self.dtype == np.float64 else raw.astype(self.dtype)

    def chunks(self, rows_per_chunk: int | None = None, label: str | None = None):
        """(start, stop, block) over the view in row order, blocks of `rows_per_chunk` rows
        (default: CHUNK_BYTES of float64). `label`: show progress on stderr for big data."""
        n = self.shape[0]
        step = rows_per_chunk or chunk_rows(self.shape[1])
        with pass_progress(label, n, n * self.shape[1] * 8) as advance:
            for start in range(0, n, step):
                stop = min(start + step, n)
                yield start, stop, self.take(np.arange(start, stop))
                advance(stop - start)

    def __getitem__(self, key) -> np.ndarray:
        """Row selection (a slice or index array) as an in-memory array (small selections)."""
        positions = np.arange(self.shape[0])[key]
        self._check_fits(len(np.atleast_1d(positions)), "selecting rows")
        return self.take(positions)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        self._check_fits(self.shape[0], "an in-memory copy")
        X = self.take(np.arange(self.shape[0]))
        return X if dtype is None else X.astype(dtype, copy=False)

    def _check_fits(self, n_rows: int, what: str) -> None:
        needed = n_rows * self.shape[1] * 8
        if needed > MAX_MATERIALISE_BYTES:
            raise UsageError(
                f"{self.source.names[0]}: {what} of {n_rows} x {self.shape[1]} rows "
                f"needs {size_text(needed)} of memory, more than the "
                f"{size_text(MAX_MATERIALISE_BYTES)} allowed for memory-mapped data; "
                "use a mini-batch or chunked full-batch optimizer"
            )


def is_on_disk(X) -> bool:
    return isinstance(X, RowView)


# ---------------------------------------------------------------------------------------------
# Column statistics in one pass (Chan et al.'s pairwise merge of per-chunk moments)


def merge_moments(a: tuple, b: tuple) -> tuple:
    """(n, mean, M2) of two parts joined; M2 = sum of squared deviations from the mean.
    delta = mean_b - mean_a; mean = mean_a + delta n_b / n; M2 = M2_a + M2_b +
    delta^2 n_a n_b / n. Stable (no big sums of squares cancel)."""
    n_a, mean_a, m2_a = a
    n_b, mean_b, m2_b = b
    if n_a == 0:
        return b
    n = n_a + n_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (n_b / n)
    m2 = m2_a + m2_b + delta * delta * (n_a * n_b / n)
    return n, mean, m2


def chunk_moments(X: np.ndarray) -> tuple:
    """(n, mean, M2) of a block, computed as X.mean and X.std compute them (so one block gives
    exactly their values)."""
    mean = X.mean(axis=0)
    deviation = X - mean
    np.multiply(deviation, deviation, out=deviation)
    return X.shape[0], mean, deviation.sum(axis=0)


def column_moments(blocks) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance) per column (population variance), float64, from float64 blocks."""
    total = (0, 0.0, 0.0)
    for block in blocks:
        total = merge_moments(total, chunk_moments(block))
    n, mean, m2 = total
    return mean, m2 / n


def array_blocks(X: np.ndarray):
    """An in-memory matrix as the blocks a RowView of the same rows would give."""
    step = chunk_rows(X.shape[1])
    for start in range(0, X.shape[0], step):
        yield X[start : start + step]


def checked_blocks(view: RowView, label: str | None = None):
    """The view's float64 blocks (unscaled), with every value checked to be finite: a
    UsageError names the first bad row (file index) and column."""
    raw = view._with(scaler=None, dtype=np.float64)
    for start, _, block in raw.chunks(label=label):
        finite = np.isfinite(block)
        if not finite.all():
            row, column = (int(i) for i in np.argwhere(~finite)[0])
            where = raw.source.locate(int(raw.file_rows([start + row])[0]))
            raise UsageError(
                f"{raw.source.names[0]}: {where}, column 'x{column}': expected a "
                f"finite number, found {shown(block[row, column])} (missing values are "
                "not supported)"
            )
        yield block


# ---------------------------------------------------------------------------------------------
# Progress of passes over big files


class _Silent:
    def __enter__(self):
        return lambda n: None

    def __exit__(self, *exc):
        return False


def show_progress(bar) -> None:
    """How passes over big files show progress: `bar(label, total_rows)` gives a context that
    yields `advance(n_rows)` (the report layer's bar, installed by the command), or None for
    no bar (the default, and quiet commands). The data layer draws nothing itself."""
    _progress["bar"] = bar


def pass_progress(label: str | None, total_rows: int | None, total_bytes: int):
    """A context giving `advance(n_rows)`: the installed bar (show_progress) for a labelled pass
    over at least PROGRESS_MIN_BYTES, else nothing. total_rows None: a count without a known
    end."""
    bar = _progress["bar"]
    if label is None or total_bytes < PROGRESS_MIN_BYTES or bar is None:
        return _Silent()
    return bar(label, total_rows)
