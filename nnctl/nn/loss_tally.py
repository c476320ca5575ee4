"""A model's mean data loss over rows that arrive in consecutive blocks, summed exactly as
Model.loss sums it in memory:

    loss = (1/n) sum_k n_k * mean loss of piece k     (eval mode, no penalty)

where the pieces are EVAL_CHUNK_ROWS rows counted from the first row, added in order. The pieces
do not depend on how the rows were blocked (a piece that straddles two blocks is put together
from both), so any pass that reads the rows in order - a full-batch objective's pass, a
validation pass, a pass with blocks of any size - gives Model.loss's value bit for bit. That is
what lets the full-batch objective on memory-mapped data hand the epoch's train_loss over
without a pass of its own.
"""

from __future__ import annotations

import numpy as np

from nnctl.nn.model import EVAL_CHUNK_ROWS


class LossTally:
    """Model.loss over rows given block by block with `add`; `result()` once all n arrived."""

    def __init__(self, model, targets: np.ndarray):
        """`targets`: all n rows' targets as the loss takes them (model._targets(y, n))."""
        self.model = model
        self.targets = targets
        self.n_rows = len(targets)
        self.total = 0.0
        self.rows_done = 0  # rows whose piece has been added to total
        self._piece = None  # a piece being put together from blocks (allocated when needed)
        self._filled = 0  # its rows so far

    def add(self, block: np.ndarray) -> None:
        """The next rows, in order, as model inputs (the model's dtype, C-contiguous)."""
        if self._filled:
            block = self._fill(block)
            if self._filled:  # the piece still wants rows of a later block
                return
        whole = len(block) - len(block) % EVAL_CHUNK_ROWS
        for start in range(0, whole, EVAL_CHUNK_ROWS):
            self._add_piece(block[start : start + EVAL_CHUNK_ROWS])
        rest = block[whole:]
        if len(rest) and self.rows_done + len(rest) == self.n_rows:
            self._add_piece(rest)  # the last, shorter piece
        elif len(rest):
            self._fill(rest)  # copied: the caller may reuse the block's memory

    def _fill(self, block: np.ndarray) -> np.ndarray:
        """Copies the rows the piece being put together still needs from the head of block,
        adds the piece when it is complete; returns the rest of block."""
        if self._piece is None:
            self._piece = np.empty((EVAL_CHUNK_ROWS,) + block.shape[1:], dtype=block.dtype)
        wanted = min(EVAL_CHUNK_ROWS, self.n_rows - self.rows_done) - self._filled
        taken = min(wanted, len(block))
        self._piece[self._filled : self._filled + taken] = block[:taken]
        self._filled += taken
        if taken == wanted:
            self._add_piece(self._piece[: self._filled])
            self._filled = 0
        return block[taken:]

    def result(self) -> float:
        """The mean loss of the n rows (all must have been added)."""
        if self.rows_done != self.n_rows:
            added = self.rows_done + self._filled
            raise ValueError(f"loss tally: {added} of {self.n_rows} rows added")
        return self.total / self.n_rows

    def _add_piece(self, piece: np.ndarray) -> None:
        start, stop = self.rows_done, self.rows_done + len(piece)
        logits = self.model._forward(piece, False)
        self.total += self.model.loss_fn.value(logits, self.targets[start:stop]) * (stop - start)
        self.rows_done = stop
