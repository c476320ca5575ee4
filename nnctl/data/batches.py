"""Minibatches as views, with an exactly resumable order.

Each shuffled epoch draws one permutation from the rng and gathers X and y through it once into
buffers allocated at construction (`np.take(..., out=...)`); the batches are then slices of
those buffers: no copy and no Python work per sample. Without shuffling the batches are slices
of the (cast once) arrays themselves.

A batch is valid until the next epoch starts (the buffers are reused): copy it to keep it.

Resuming: `state_dict()` holds the epoch's permutation and how many of its batches were
consumed; after `load_state_dict` the next `epoch()` continues that epoch with the same order
from that batch on, and the epochs after it draw from the rng (whose state the caller restores
with the other random streams), so an interrupted run sees exactly the batches it would have.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from nnctl.errors import UsageError


class BatchIterator:
    """Batches of `batch_size` rows (the last one may be smaller), one epoch per `epoch()`.

    X is cast to `dtype` once (None: keep float64). A floating y is cast to `dtype` too; integer
    class codes stay int64. y may be None.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray | None,
        batch_size: int,
        shuffle: bool = True,
        rng: np.random.Generator | None = None,
        dtype=None,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, found {batch_size}")
        if shuffle and rng is None:
            raise ValueError("shuffle=True needs an rng")
        dtype = np.dtype(dtype or np.float64)
        self.X = self._hold_features(X, dtype)
        self.y = (
            None
            if y is None
            else np.ascontiguousarray(
                y, dtype=dtype if np.asarray(y).dtype.kind == "f" else np.int64
            )
        )
        if self.y is not None and len(self.y) != len(self.X):
            raise ValueError(f"X has {len(self.X)} rows but y has {len(self.y)}")
        self.n_samples = int(self.X.shape[0])
        self.batch_size = int(batch_size)
        self.n_batches = -(-self.n_samples // self.batch_size)
        self.shuffle = shuffle
        self.rng = rng
        self.permutation: np.ndarray | None = None  # this epoch's order (shuffled runs)
        self.position = 0  # batches of this epoch handed out
        self._open = False  # an epoch is under way (resume continues it)
        self._gathered = False  # the buffers hold X and y in `permutation` order
        self._allocate_buffers(dtype)

    def _hold_features(self, X, dtype) -> np.ndarray:
        """The features as this iterator keeps them: one contiguous array in `dtype`."""
        return np.ascontiguousarray(X, dtype=dtype)

    def _allocate_buffers(self, dtype) -> None:
        """The epoch-order copies that shuffled batches are sliced from."""
        if self.shuffle:
            self._X_buffer = np.empty_like(self.X)
            self._y_buffer = None if self.y is None else np.empty_like(self.y)

    def __len__(self) -> int:
        return self.n_batches

    def epoch(
        self, start: int | None = None
    ) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
        """Yield (batch_index, Xb, yb) for one epoch.

        Continues the current epoch if one is under way (after load_state_dict, or a previous
        epoch() that was not run to the end), else starts a new one (a new permutation).
        start: begin at this batch instead (skipping the ones before).
        """
        if not self._open:
            self._begin()
        elif self.shuffle and not self._gathered:
            self._gather()  # resuming a loaded state
        if start is not None:
            if not 0 <= start <= self.n_batches:
                raise ValueError(f"start must be in [0, {self.n_batches}], found {start}")
            self.position = start
        X, y = (self._X_buffer, self._y_buffer) if self.shuffle else (self.X, self.y)
        b = self.batch_size
        for index in range(self.position, self.n_batches):
            self.position = index + 1
            yield (
                index,
                X[index * b : (index + 1) * b],
                None if y is None else y[index * b : (index + 1) * b],
            )
        # Closed only when the consumer runs the loop to its end: one that stops after the last
        # batch (an interrupt) still has this epoch open, and a resume finishes it, empty.
        self._open = False

    def _begin(self) -> None:
        self.position = 0
        self._open = True
        if self.shuffle:
            self.permutation = self.rng.permutation(self.n_samples)
            self._gather()

    def _gather(self) -> None:
        # mode="clip" keeps np.take from buffering `out` (the indices are valid anyway).
        np.take(self.X, self.permutation, axis=0, out=self._X_buffer, mode="clip")
        if self.y is not None:
            np.take(self.y, self.permutation, axis=0, out=self._y_buffer, mode="clip")
        self._gathered = True

    def state_dict(self, position: int | None = None) -> dict:
        """{"permutation": int64 array (empty when not shuffling), "position": int,
        "in_epoch": bool, "batch_size": int, "n_samples": int}.

        in_epoch: an epoch is under way (its loop has not run to the end): resume continues it.

        position: batches of the current epoch already consumed; default: all handed out so far
        (right when the state is saved between steps). Pass the index of a batch whose step
        did not complete to have it served again on resume.
        """
        consumed = self.position if position is None else int(position)
        permutation = self.permutation if self.permutation is not None else np.empty(0, np.int64)
        return {
            "permutation": np.asarray(permutation, dtype=np.int64),
            "position": consumed,
            "in_epoch": bool(self._open),
            "batch_size": self.batch_size,
            "n_samples": self.n_samples,
        }

    def load_state_dict(self, state: dict, where: str = "checkpoint") -> None:
        """Restore a state_dict; UsageError naming `where` if it does not fit this data."""
        if int(state["n_samples"]) != self.n_samples or int(state["batch_size"]) != self.batch_size:
            raise UsageError(
                f"{where}: the saved batch order is for {state['n_samples']} samples in "
                f"batches of {state['batch_size']}; this run has {self.n_samples} in "
                f"batches of {self.batch_size}"
            )
        position = int(state["position"])
        if not 0 <= position <= self.n_batches:
            raise UsageError(
                f"{where}: saved batch position {position} is outside [0, {self.n_batches}]"
            )
        in_epoch = bool(state.get("in_epoch", position < self.n_batches))
        permutation = np.asarray(state["permutation"], dtype=np.int64)
        if not in_epoch:
            # Between epochs: the next epoch() starts afresh (its permutation from the rng).
            self.permutation = permutation if permutation.size else None
            self.position, self._open, self._gathered = position, False, False
            return
        if self.shuffle and permutation.size == 0 and position == 0:
            # Saved before the first epoch began: start afresh.
            self.permutation, self.position, self._open, self._gathered = None, 0, False, False
            return
        if self.shuffle:
            if permutation.shape != (self.n_samples,) or not np.array_equal(
                np.sort(permutation), np.arange(self.n_samples)
            ):
                raise UsageError(
                    f"{where}: the saved batch order is not a permutation of "
                    f"{self.n_samples} samples"
                )
            self.permutation = permutation
            self._gathered = False
        self.position = position
        self._open = True
