"""Feature standardisation, fitted on the training part only.

    mean_j  = (1/n) sum_i X_ij
    scale_j = sqrt((1/n) sum_i (X_ij - mean_j)^2)      (population std, as scikit-learn)
    X'_ij   = (X_ij - mean_j) / scale_j

A constant column (std 0, up to rounding) gets scale 1, so it maps to 0 instead of dividing by
zero. The statistics go into the checkpoint as plain lists, so eval and predict scale new data
exactly as the model saw it in training.
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import UsageError

# A std this small relative to the column's magnitude is rounding error of a constant column.
CONSTANT_RELATIVE_STD = 1e-12


class Standardizer:
    """`fit(X)` learns mean and scale per column; `transform(X)` returns a new scaled array."""

    def __init__(self, mean: np.ndarray | None = None, scale: np.ndarray | None = None):
        self.mean = mean
        self.scale = scale

    @property
    def n_features(self) -> int | None:
        return None if self.mean is None else int(self.mean.shape[0])

    def fit(self, X: np.ndarray) -> Standardizer:
        """Statistics in one pass over row blocks (merged as Chan et al.), in float64; an
        on-disk RowView is read block by block. Data of one block gives X.mean and X.std."""
        from nnctl.data.ondisk import column_moments, is_on_disk
        from nnctl.data.row_source import row_blocks

        if not is_on_disk(X):
            X = np.asarray(X, dtype=np.float64)
        blocks = row_blocks(X, "feature statistics")
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"fit needs a non-empty [n, d] array, found shape {X.shape}")
        if not is_on_disk(X) and not np.all(np.isfinite(X)):  # on disk: checked_blocks says so
            bad = int(np.flatnonzero(~np.all(np.isfinite(X), axis=0))[0])
            raise UsageError(
                f"feature column {bad}: expected finite values to scale, found "
                f"{X[~np.isfinite(X[:, bad]), bad][0]}"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            mean, variance = column_moments(blocks)
            std = np.sqrt(variance)
        # Values near the float64 limit (+-1e308) overflow the sum or the squares; those columns
        # only are computed again on X / max|X|, which cannot overflow (the bits of every other
        # column stay those of the merged formula).
        wide = ~(np.isfinite(mean) & np.isfinite(std))
        if wide.any():
            if is_on_disk(X):
                raise UsageError(
                    f"feature column {int(np.flatnonzero(wide)[0])}: values near the "
                    "float64 limit overflow its statistics; rescale that column"
                )
            mean[wide], std[wide] = _moments_of_wide_columns(X[:, wide])
        constant = std <= CONSTANT_RELATIVE_STD * np.maximum(1.0, np.abs(mean))
        self.mean = mean
        self.scale = np.where(constant, 1.0, std)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(X - mean) / scale as a new array, in X's float dtype (float32 stays float32)."""
        if self.mean is None:
            raise ValueError("Standardizer.transform called before fit")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.mean.shape[0]:
            raise UsageError(
                f"expected data with {self.mean.shape[0]} feature columns to scale, "
                f"found shape {tuple(X.shape)}"
            )
        dtype = X.dtype if X.dtype.kind == "f" else np.float64
        mean, scale = self.mean.astype(dtype), self.scale.astype(dtype)
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.subtract(X, mean, dtype=dtype)
            out /= scale
        # X - mean overflows only for values near the float limit: those columns are scaled as
        # X / scale - mean / scale instead (the same number, in a range that cannot overflow).
        wide = ~np.all(np.isfinite(out), axis=0) & np.all(np.isfinite(X), axis=0)
        if wide.any():
            out[:, wide] = (
                np.divide(X[:, wide], scale[wide], dtype=dtype) - mean[wide] / scale[wide]
            )
        return out

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        dtype = X.dtype if X.dtype.kind == "f" else np.float64
        return X * self.scale.astype(dtype) + self.mean.astype(dtype)

    def to_dict(self) -> dict:
        """JSON-serialisable statistics (Python floats; repr round-trips float64 exactly)."""
        return {"mean": [float(v) for v in self.mean], "scale": [float(v) for v in self.scale]}

    @classmethod
    def from_dict(cls, state: dict, where: str = "scaling") -> Standardizer:
        """Inverse of to_dict; a UsageError naming `where` for anything malformed."""
        if not isinstance(state, dict) or "mean" not in state or "scale" not in state:
            raise UsageError(
                f"{where}: expected a mapping with 'mean' and 'scale' lists, found {state!r:.80}"
            )
        try:
            mean = np.asarray(state["mean"], dtype=np.float64)
            scale = np.asarray(state["scale"], dtype=np.float64)
        except (TypeError, ValueError):
            raise UsageError(f"{where}: 'mean' and 'scale' must be lists of numbers") from None
        if mean.ndim != 1 or mean.shape != scale.shape:
            raise UsageError(
                f"{where}: 'mean' and 'scale' must be lists of the same length, found "
                f"{mean.shape} and {scale.shape}"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise UsageError(f"{where}: expected finite means and positive scales")
        return cls(mean, scale)


def fit_target_scaler(task: str, setting, y_train: np.ndarray) -> Standardizer | None:
    """data.standardize_target: auto or true scale a regression target (per output) to mean 0,
    std 1 on the training part, so the default learning rates suit a target in any units
    (prices around 1e5); classification targets are never scaled."""
    if task != "regression" or setting is False or len(y_train) == 0:
        return None
    return Standardizer().fit(_columns(np.asarray(y_train, dtype=np.float64)))


def _columns(y: np.ndarray) -> np.ndarray:
    """A target as [n, outputs] (a view), also when n is 0."""
    return y.reshape(-1, 1) if y.ndim == 1 else y


def scale_target(scaler: Standardizer | None, y: np.ndarray) -> np.ndarray:
    if scaler is None:
        return y
    return scaler.transform(_columns(y)).reshape(y.shape)


def unscale_target(scaler: Standardizer | None, y: np.ndarray) -> np.ndarray:
    """Model outputs (or scaled targets) back in the target's own units."""
    if scaler is None:
        return y
    y = np.asarray(y, dtype=np.float64)
    return scaler.inverse_transform(_columns(y)).reshape(y.shape)


def _moments_of_wide_columns(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std of columns whose values reach the float64 limit: computed on
    X / max|X| (every value in [-1, 1]) and scaled back, so neither overflows."""
    peak = np.max(np.abs(X), axis=0)
    unit = X / peak
    return unit.mean(axis=0) * peak, unit.std(axis=0) * peak
