"""NumPy files: an `.npz` holding arrays `X` and `y`, or an `.npy` pair (X file, y file).

X: numbers, shape [n, d] (higher-rank arrays such as images [n, h, w] are flattened to
[n, h*w]). y: shape [n] (numbers or strings) or [n, k] (regression). Files are loaded with
`allow_pickle=False`, so object arrays are refused rather than executed. Messages name samples
by their array index ("index 6").
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from nnctl.data.files import RawTable
from nnctl.errors import UsageError, closest

FEATURES_KEY = "X"
DEFAULT_TARGET_KEY = "y"


def read_npz(path: Path, *, target: str | None, require_target: bool) -> RawTable:
    target_key = target or DEFAULT_TARGET_KEY
    with _numpy_errors(path):
        with np.load(path, allow_pickle=False) as archive:
            if not hasattr(archive, "files"):
                raise UsageError(
                    f"{path}: expected an .npz archive of arrays, found a single .npy array"
                )
            keys = list(archive.files)
            if FEATURES_KEY not in keys:
                raise UsageError(
                    f"{path}: no array {FEATURES_KEY!r}{closest(FEATURES_KEY, keys)}; "
                    f"the arrays are: {', '.join(keys) or 'none'}"
                )
            X = archive[FEATURES_KEY]
            raw_y = archive[target_key] if target_key in keys else None
    if raw_y is None and require_target:
        raise UsageError(
            f"{path}: no target array {target_key!r}{closest(target_key, keys)}; "
            f"the arrays are: {', '.join(keys)}"
        )
    return _table(path, X, raw_y, path, target_key)


def read_npy_pair(path: Path, labels_path: Path | None, *, require_target: bool) -> RawTable:
    X = _load_npy(path)
    if labels_path is None:
        if require_target:
            raise UsageError(
                f"{path}: an .npy file holds only the features; give the targets file "
                "as data.labels_path (an .npy of shape [n])"
            )
        return _table(path, X, None, path, None)
    return _table(path, X, _load_npy(labels_path), labels_path, None)


def _load_npy(path: Path) -> np.ndarray:
    with _numpy_errors(path):
        array = np.load(path, allow_pickle=False)
    if not isinstance(array, np.ndarray):
        array.close()
        raise UsageError(
            f"{path}: expected a single .npy array, found an .npz archive (set data.format: npz)"
        )
    return array


@contextmanager
def _numpy_errors(path: Path):
    """Turns NumPy's loading errors for `path` into UsageError."""
    try:
        yield
    except UsageError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise UsageError(
                f"{path}: holds object arrays, which would need pickle to load; "
                "refused (store plain numeric or string arrays)"
            ) from None
        raise UsageError(f"{path}: not a readable NumPy file ({exc})") from None
    except MemoryError:
        raise UsageError(f"{path}: declares arrays too large to load (corrupt?); refused") from None
    except Exception as exc:  # noqa: BLE001 - a hostile file must not escape as a traceback
        # Zip-level damage of an .npz comes as whatever zipfile raises: BadZipFile, and also
        # NotImplementedError (unknown compression), RuntimeError (encrypted flag), zlib.error,
        # EOFError, OSError, struct.error, KeyError, ...
        text = str(exc).strip()
        reason = f"{type(exc).__name__}: {text:.160}" if text else type(exc).__name__
        raise UsageError(
            f"{path}: not a readable NumPy file (truncated or corrupt: {reason})"
        ) from None


def _table(
    path: Path, X: np.ndarray, raw_y: np.ndarray | None, y_path: Path, target_key
) -> RawTable:
    X = _features(path, X)
    y = None if raw_y is None else _targets(y_path, raw_y, len(X), target_key)
    where = f"{y_path}: array {target_key!r}" if target_key else f"{y_path}: targets"
    return RawTable(
        X,
        y,
        [f"x{j}" for j in range(X.shape[1])],
        target_key,
        lambda i: f"index {i}",
        where,
        lambda i: f"{y_path}: {target_key or 'targets'}[{i}]",
    )


def _features(path: Path, X: np.ndarray) -> np.ndarray:
    if X.dtype.kind not in "fiub":
        raise UsageError(f"{path}: expected numeric features, found an array of dtype {X.dtype}")
    if X.ndim < 2:
        raise UsageError(
            f"{path}: expected features of shape [n_samples, n_features], found shape "
            f"{tuple(X.shape)} (one feature per sample? save X.reshape(-1, 1))"
        )
    if X.shape[0] == 0:
        raise UsageError(f"{path}: no samples (features of shape {tuple(X.shape)})")
    return X.reshape(X.shape[0], -1).astype(np.float64)


def _targets(path: Path, y: np.ndarray, n: int, key) -> np.ndarray:
    name = f"array {key!r}" if key else "targets"
    if y.dtype.kind == "S":
        y = np.char.decode(y, "utf-8", errors="replace")
    if y.dtype.kind not in "fiubU":
        raise UsageError(
            f"{path}: {name}: expected numbers or labels, found an array of dtype {y.dtype}"
        )
    if y.ndim not in (1, 2) or y.shape[0] != n:
        raise UsageError(
            f"{path}: {name}: expected shape [{n}] (one target per sample) or "
            f"[{n}, k], found shape {tuple(y.shape)}"
        )
    if y.dtype.kind == "U":
        return np.char.strip(y)
    return y
