"""Losses on logits and their registry (`LOSSES`).

Every loss is the mean over the batch of a per-sample loss l(z_i, y_i) of the logits z_i (row i
of [n, k]). `value_and_grad` returns (mean loss, dmean/dlogits) in one pass; `hessian_times`
gives the per-sample logit Hessian d2 l / dz_i^2 applied to each row of Z (not divided by n),
`hessian_blocks` the same as dense [n, k, k] blocks; the exact Hessians of the one-layer models
are built from these (see curvature.py).

Each entry declares the tasks it fits (`tasks`) and its head: `one_logit` (it needs one logit
per sample), `on_one_logit` (the loss it becomes on a one-logit head). Nothing outside this
file branches on a loss's name.

`targets(y, n_logits, dtype)` validates and converts y once (float targets for mse and bce,
integer class codes for cross_entropy).

Each loss owns its link, the map from logits to what the model predicts: `link` names it
(identity for mse, sigmoid for bce, softmax for cross_entropy), `predict(logits)` gives the
predictions (values; or class codes, int64, the most probable class) and the classification
losses give `probabilities(logits)` ([n, n_classes]; binary: columns P(y=0), P(y=1)).
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import UsageError
from nnctl.nn.activations import sigmoid
from nnctl.util.registry import Registry

LOSSES = Registry("loss")


@LOSSES.register(
    "mse", "mean squared error over all outputs (like torch MSELoss)", tasks=("regression",)
)
class MeanSquaredError:
    """l_i = (1/k) sum_j (z_ij - y_ij)^2, so the batch loss is the mean over all n*k elements.
    dL/dz = 2 (z - y) / (n k);  per-sample Hessian 2/k I."""

    name = "mse"
    link = "identity"

    def predict(self, logits) -> np.ndarray:
        """The logits themselves (a copy): [n] for one output, [n, k] for several."""
        return (logits[:, 0] if logits.shape[1] == 1 else logits).copy()

    def targets(self, y, n_logits, dtype):
        y = np.asarray(y, dtype=dtype)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.ndim != 2 or y.shape[1] != n_logits:
            raise UsageError(
                f"mse: expected targets of shape [n, {n_logits}] (or [n] for one output), "
                f"found {list(np.shape(y))}"
            )
        return y

    def value(self, logits, y) -> float:
        diff = logits - y
        return float(np.vdot(diff, diff)) / diff.size

    def value_and_grad(self, logits, y, out=None):
        diff = np.subtract(logits, y, out=out)
        value = float(np.vdot(diff, diff)) / diff.size
        diff *= 2.0 / diff.size
        return value, diff

    def hessian_times(self, logits, Z):
        return (2.0 / logits.shape[1]) * Z

    def hessian_blocks(self, logits):
        n, k = logits.shape
        return np.broadcast_to((2.0 / k) * np.eye(k), (n, k, k))


def _most_probable(probabilities) -> np.ndarray:
    """Class codes (int64): the first class of highest probability."""
    return np.argmax(probabilities, axis=1).astype(np.int64)


def _one_per_sample(y, expected: str) -> np.ndarray:
    """Targets as one value per sample: a [n, 1] column is accepted as [n]."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise UsageError(f"{expected}, found shape {list(y.shape)}")
    return y


@LOSSES.register(
    "binary_cross_entropy",
    "log loss of one logit per sample, y in {0, 1} (with logits)",
    aliases=("bce",),
    tasks=("binary",),
    one_logit=True,  # needs a head of one logit per sample
)
class BinaryCrossEntropy:
    """l_i = -y log s(z) - (1-y) log(1 - s(z)) = max(z, 0) - z y + log(1 + e^-|z|)  (no overflow).
    dl/dz = s(z) - y;  d2l/dz2 = s(z) (1 - s(z)).  Logits are [n, 1]."""

    name = "binary_cross_entropy"
    link = "sigmoid"

    def probabilities(self, logits) -> np.ndarray:
        """[n, 2]: P(y=0) = 1 - s(z), P(y=1) = s(z), in the logits' dtype."""
        p = sigmoid(logits[:, 0])
        out = np.empty((logits.shape[0], 2), dtype=logits.dtype)
        out[:, 1] = p
        out[:, 0] = 1.0 - p
        return out

    def predict(self, logits) -> np.ndarray:
        return _most_probable(self.probabilities(logits))

    def targets(self, y, n_logits, dtype):
        y = _one_per_sample(y, "binary_cross_entropy: expected a 1-D target").astype(
            dtype, copy=False
        )
        if np.any((y != 0) & (y != 1)):
            raise UsageError(
                "binary_cross_entropy: expected targets in {0, 1}, found "
                f"{np.unique(y[(y != 0) & (y != 1)])[:5].tolist()}"
            )
        return y

    def _per_sample(self, z, y):
        """(l_i, e^-|z_i|): the loss and the one exponential both it and s(z) need."""
        e = np.exp(-np.abs(z))
        losses = np.log1p(e)
        losses += np.maximum(z, 0)
        losses -= z * y
        return losses, e

    def value(self, logits, y) -> float:
        return float(np.mean(self._per_sample(logits[:, 0], y)[0]))

    def value_and_grad(self, logits, y, out=None):
        z = logits[:, 0]
        losses, e = self._per_sample(z, y)
        value = float(np.mean(losses))
        # s(z) from the same e (as `sigmoid` computes it): 1/(1+e) for z >= 0, e/(1+e) below
        one_plus_e = np.add(e, 1.0, out=losses)
        grad = np.divide(
            np.where(z >= 0, 1.0, e), one_plus_e, out=None if out is None else out[:, 0]
        )
        grad -= y
        grad *= 1.0 / z.shape[0]
        return value, grad.reshape(-1, 1)

    def hessian_times(self, logits, Z):
        s = sigmoid(logits)
        return s * (1.0 - s) * Z

    def hessian_blocks(self, logits):
        s = sigmoid(logits)
        return (s * (1.0 - s))[:, :, None]


@LOSSES.register(
    "cross_entropy",
    "softmax cross-entropy on integer class labels",
    aliases=("softmax_cross_entropy",),
    tasks=("multiclass", "binary"),
    on_one_logit="binary_cross_entropy",  # softmax over {z, 0} is the sigmoid of z
)
class SoftmaxCrossEntropy:
    """p = softmax(z);  l_i = -log p_{i, y_i} = logsumexp(z_i) - z_{i, y_i}, computed after
    subtracting max_j z_ij (stable).  dl/dz = p - onehot(y);  d2l/dz2 = diag(p) - p p^T."""

    name = "cross_entropy"
    link = "softmax"

    def predict(self, logits) -> np.ndarray:
        return _most_probable(self.probabilities(logits))

    def targets(self, y, n_logits, dtype):
        y = _one_per_sample(y, "cross_entropy: expected 1-D class codes")
        if y.dtype.kind not in "iu":
            if y.dtype.kind != "f" or not np.all(np.mod(y, 1) == 0):
                raise UsageError(
                    f"cross_entropy: expected integer class codes, found dtype {y.dtype}"
                )
        y = y.astype(np.intp, copy=False)
        if y.size and (y.min() < 0 or y.max() >= n_logits):
            raise UsageError(
                f"cross_entropy: expected class codes in 0..{n_logits - 1}, "
                f"found {int(y.min())}..{int(y.max())}"
            )
        return y

    def _shifted(self, logits, out=None):
        return np.subtract(logits, logits.max(axis=1, keepdims=True), out=out)

    def _picked(self, shifted, y) -> np.ndarray:
        """Flat positions i * k + y_i of the true classes (row offsets kept for the batch size)."""
        n, k = shifted.shape
        offsets = self.__dict__.get("_offsets")
        if offsets is None or offsets.shape[0] != n or self._offset_k != k:
            offsets = self._offsets = np.arange(n) * k
            self._offset_k = k
        return offsets + y

    @staticmethod
    def _mean_loss(total, picked_logits, n) -> float:
        # mean of log(sum_j e^{z_ij - max_i}) - (z_{i,y_i} - max_i), summed in one order by
        # both value() and value_and_grad() so the two give the same number
        return (float(np.log(total).sum()) - float(picked_logits.sum())) / n

    def value(self, logits, y) -> float:
        shifted = self._shifted(logits)
        picked = shifted.ravel().take(self._picked(shifted, y))
        total = np.exp(shifted, out=shifted).sum(axis=1, keepdims=True)
        return self._mean_loss(total, picked, len(y))

    def value_and_grad(self, logits, y, out=None):
        n = logits.shape[0]
        probs = self._shifted(logits, out=out)
        if not probs.flags.c_contiguous:  # the flat view below must be a view
            probs = np.ascontiguousarray(probs)
        flat = probs.ravel()
        where = self._picked(probs, y)
        picked = flat.take(where)
        np.exp(probs, out=probs)
        total = probs.sum(axis=1, keepdims=True)
        value = self._mean_loss(total, picked, n)
        total *= n
        probs /= total  # p / n
        flat[where] -= 1.0 / n  # (p - onehot(y)) / n
        return value, probs

    def probabilities(self, logits):
        e = np.exp(self._shifted(logits))
        e /= e.sum(axis=1, keepdims=True)
        return e

    def hessian_times(self, logits, Z):
        p = self.probabilities(logits)
        pz = p * Z
        return pz - p * pz.sum(axis=1, keepdims=True)

    def hessian_blocks(self, logits):
        p = self.probabilities(logits)
        blocks = -p[:, :, None] * p[:, None, :]
        idx = np.arange(p.shape[1])
        blocks[:, idx, idx] += p
        return blocks


def make_loss(name: str):
    """A loss instance from a registered name or alias."""
    return LOSSES.get(name, "loss.name").build()
