"""The full-batch objective over data read in row chunks (memory-mapped data).

    f(theta) = (1/n) sum_i l_i + P = sum_c (n_c / n) [(1/n_c) sum_{i in c} l_i + P]

since the weights n_c / n sum to one. Each chunk is a ModelObjective of its own (the exact same
code as the in-memory objective), so value, gradient, Hessian and Hessian-vector product are the
n_c / n weighted sums of the chunks' (the MLP's finite-difference hvp too: its step h depends on
theta and v only). The sums differ from the in-memory ones by float rounding only.

Every pass reads all the rows, so `value_and_grad` makes the most of one: it keeps its last point
(f and g at the same theta again, as when an optimizer starts from where the initial check
evaluated, cost no pass), and while a chunk is in memory it also sums the model's eval-mode data
loss over it (nnctl.nn.loss_tally: Model.loss's value bit for bit), remembered for the last
TRAIN_LOSSES_KEPT points evaluated. The train_loss of the epoch's end, at the point the line
search accepted, is then one of those (`train_loss_at`) rather than one more pass over the
file. Neither is done for batch norm (its running statistics are set by each evaluation).

The exact linear solution accumulates X~^T X~ and X~^T Y over chunks instead (`normal_equations`).
Batch norm is refused beyond one chunk: its full-batch statistics couple every row with every
other.
"""

from __future__ import annotations

import hashlib

import numpy as np

from nnctl.errors import UsageError
from nnctl.nn.curvature import ModelObjective
from nnctl.nn.loss_tally import LossTally

TRAIN_LOSSES_KEPT = 64  # a line search makes at most max_ls (25) evaluations per attempt


class ChunkedObjective:
    """ModelObjective's interface over a RowView X (nnctl.data.ondisk) and in-memory y."""

    def __init__(self, model, X, y, rows_per_chunk: int | None = None):
        if model.has_dropout:
            raise UsageError(
                "second-order / full-batch optimizers need a deterministic objective; "
                "set model.dropout: 0"
            )
        if model.buffers():
            # Batch norm's statistics couple all rows: only data of one chunk can be used.
            block_rows = X.block_rows()
            if len(X) > block_rows:
                raise UsageError(
                    f"model.batch_norm: a full-batch pass over {len(X)} memory-mapped rows reads "
                    f"them in chunks of {block_rows} rows ({X.BLOCK_BYTES >> 20} MB), and "
                    "batch norm needs every row at once; set model.batch_norm: false or use a "
                    "mini-batch optimizer"
                )
            rows_per_chunk = len(X)
        if len(X) == 0:
            raise UsageError("the full-batch objective needs at least one training row")
        self.model = model
        self.X = X.astype(model.dtype)
        self.y = np.asarray(y)
        self.size = model.n_params
        self.n_samples = len(X)
        self.linear = model.model_kind.one_linear_layer
        self.rows_per_chunk = rows_per_chunk
        # Batch norm: every evaluation sets the running statistics, so none may be skipped and
        # the eval-mode loss depends on more than theta.
        self.reuses_passes = not model.buffers()
        self._last = None  # (theta, f, g) of the last value_and_grad
        self._train_losses = {}  # parameters_key of the model's point -> the data loss there
        self.passes = 0  # passes over the rows made so far (each reads all of them once)

    def _parts(self):
        """(weight n_c / n, ModelObjective of chunk c) for each chunk, read as they come."""
        self.passes += 1
        for start, stop, block in self.X.chunks(self.rows_per_chunk, label="full-batch pass"):
            yield (
                (stop - start) / self.n_samples,
                ModelObjective(self.model, block, self.y[start:stop]),
            )

    def value(self, theta) -> float:
        """f at theta. A pass costs its read, not its arithmetic: this one also computes g (f is
        value_and_grad's), so an optimizer then starting at theta needs no pass of its own."""
        if self.reuses_passes:
            return float(self.value_and_grad(theta)[0])
        return float(sum(w * part.value(theta) for w, part in self._parts()))

    def value_and_grad(self, theta) -> tuple[float, np.ndarray]:
        """(f, g) at theta (g a fresh array); one pass, none when theta is the last point."""
        if self._last is not None and np.array_equal(theta, self._last[0]):
            np.copyto(self.model.theta, theta, casting="same_kind")  # as an evaluation leaves it
            return self._last[1], self._last[2].copy()
        f, g = 0.0, np.zeros(self.size)
        tally = None
        for w, part in self._parts():
            fc, gc = part.value_and_grad(theta)
            f += w * fc
            g += w * gc
            if self.reuses_passes:
                if tally is None:
                    tally = LossTally(self.model, self.model._targets(self.y, self.n_samples))
                tally.add(part.X)  # the chunk is in memory: its eval-mode loss costs no read
        if self.reuses_passes:
            self._remember_train_loss(tally.result())
            self._last = (np.array(theta, dtype=np.float64), f, g.copy())
        return f, g

    def train_loss_at(self, parameters: np.ndarray) -> float | None:
        """The mean data loss over all rows (Model.loss's value) at the model parameters
        `parameters`, when one of the last passes evaluated that point; else None."""
        return self._train_losses.get(parameters_key(parameters))

    def _remember_train_loss(self, loss: float) -> None:
        # Keyed by the parameters the pass used: theta as loaded into the model (its dtype).
        self._train_losses[parameters_key(self.model.theta)] = loss
        while len(self._train_losses) > TRAIN_LOSSES_KEPT:
            del self._train_losses[next(iter(self._train_losses))]  # the oldest

    def hvp(self, theta, v) -> np.ndarray:
        out = np.zeros(self.size)
        for w, part in self._parts():
            out += w * part.hvp(theta, v)
        return out

    def hessian(self, theta) -> np.ndarray:
        H = np.zeros((self.size, self.size))
        for w, part in self._parts():
            H += w * part.hessian(theta)
        return H

    def normal_equations(self):
        """(G, B, n, l2) with G = X~^T X~ [(d+1), (d+1)], B = X~^T Y [(d+1), k] (X~ = [X, 1]),
        accumulated over chunks in float64, for linreg's exact solution."""
        if not self.model.model_kind.least_squares:
            raise NotImplementedError(
                f"normal_equations: only linreg is a least-squares problem, found {self.model.kind}"
            )
        d = self.X.shape[1]
        G, B = np.zeros((d + 1, d + 1)), None
        for start, stop, block in self.X.chunks(self.rows_per_chunk, label="normal equations"):
            block = block.astype(np.float64, copy=False)  # the model's values, as in memory
            Y = np.asarray(self.y[start:stop], dtype=np.float64)
            Y = Y[:, None] if Y.ndim == 1 else Y
            if B is None:
                B = np.zeros((d + 1, Y.shape[1]))
            G[:d, :d] += block.T @ block
            G[:d, d] += block.sum(axis=0)
            G[d, d] += stop - start
            B[:d] += block.T @ Y
            B[d] += Y.sum(axis=0)
        G[d, :d] = G[:d, d]
        return G, B, self.n_samples, self.model.l2


def parameters_key(*arrays: np.ndarray) -> tuple:
    """A key for a model's point (its parameter vector, and its buffers when they matter): each
    array's dtype and shape and a 128-bit hash of all their bytes (a copy of the point would cost
    its size per remembered value)."""
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        digest.update(np.ascontiguousarray(array).data)
    return tuple((a.dtype.str, a.shape) for a in arrays), digest.digest()
