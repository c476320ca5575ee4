"""Mini-batches gathered from memory-mapped data, one batch at a time.

The in-memory BatchIterator copies the whole training set into its epoch's order; on-disk data
cannot be copied, so each batch's rows are read when it is served: the batch's indices (from the
same seeded permutation) are read in sorted order for locality and put back into the permuted
order, then scaled and cast. The batches hold exactly the numbers the in-memory iterator gives,
and the resumable state (permutation, position) is the same, so a run on an .npy file resumes
bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from nnctl.data.batches import BatchIterator


class GatheringBatchIterator(BatchIterator):
    """BatchIterator over a RowView X (nnctl.data.ondisk): y stays in memory (it is small),
    X rows are read per batch into one reused buffer (valid until the next batch)."""

    def _hold_features(self, X, dtype):
        return X.astype(dtype)  # a RowView handing out rows in dtype: nothing is read yet

    def _allocate_buffers(self, dtype) -> None:
        # One batch of rows, reused; the targets (small) in epoch order as in memory.
        self._X_batch = np.empty((min(self.batch_size, self.n_samples), self.X.shape[1]), dtype)
        self._y_buffer = None if self.y is None or not self.shuffle else np.empty_like(self.y)

    def _gather(self) -> None:
        if self.y is not None:
            np.take(self.y, self.permutation, axis=0, out=self._y_buffer, mode="clip")
        self._gathered = True

    def epoch(
        self, start: int | None = None
    ) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
        if not self._open:
            self._begin()
        elif self.shuffle and not self._gathered:
            self._gather()
        if start is not None:
            if not 0 <= start <= self.n_batches:
                raise ValueError(f"start must be in [0, {self.n_batches}], found {start}")
            self.position = start
        y = self._y_buffer if self.shuffle else self.y
        b = self.batch_size
        for index in range(self.position, self.n_batches):
            self.position = index + 1
            stop = min((index + 1) * b, self.n_samples)
            positions = (
                self.permutation[index * b : stop] if self.shuffle else np.arange(index * b, stop)
            )
            Xb = self.X.take(positions, out=self._X_batch[: stop - index * b])
            yield index, Xb, None if y is None else y[index * b : stop]
        self._open = False
