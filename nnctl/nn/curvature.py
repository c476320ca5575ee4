"""The full-batch objective of a model, with its exact Hessian for the one-layer models.

f(theta) = (1/n) sum_i l(z_i, y_i) + 0.5 * l2 * ||W||^2, z = logits of the whole training set.

One-layer models (linreg, logreg, softmax): with Theta = [W; b] ([(d+1), k], row-major, which is
exactly theta's layout), x~_i = [x_i, 1] and B_i = d2 l / dz_i^2 (the loss's per-sample logit
Hessian):
    H = (1/n) sum_i kron(x~_i x~_i^T, B_i) + l2 * I on the weight entries
  - linreg:  B_i = 2/k I            -> H = kron(2/(n k) X~^T X~, I_k)  (+ l2)
  - logreg:  B_i = p_i (1 - p_i)    -> H = X~^T diag(p (1 - p)) X~ / n (+ l2)
  - softmax: B_i = diag(p_i) - p_i p_i^T (the (d+1)k x (d+1)k block form)
  and H v = (1/n) X~^T [B_i (X~ V)_i]_i + l2 v_W, computed without forming H.
MLP: no dense Hessian (NotImplementedError); `hvp` by central differences of the gradient,
(g(theta + h v) - g(theta - h v)) / (2h) with h = eps^(1/3) * max(1, ||theta||) / ||v||
(eps: the model dtype's machine epsilon). Its error is O(h^2) from the third derivatives plus
O(eps / h) rounding: about 1e-8 relative in float64 away from ReLU kinks.

Speed (the data is the big thing: every pass over X costs more than all the rest): for the
one-layer models the logits Z = X W + b of the last point evaluated are kept, so a gradient,
Hessian or Hessian-vector product asked for at that point (what Newton and the line searches
do) needs no second forward pass; f and g together cost one X W and one X^T dZ. Each Hessian
block X~^T diag(w) X~ is accumulated over row chunks that stay in cache, as (X_c * sqrt(w))^T
(X_c * sqrt(w)) (a symmetric rank-k update) when w >= 0, without ever forming [X, 1].

Batch norm is evaluated in train mode with the statistics of the full batch (deterministic);
`value_and_grad` sets the running statistics to those of the point it evaluates (so after
optimisation they describe the training set), the other evaluations leave them alone.
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import UsageError

GRAM_CHUNK_BYTES = 4 << 20  # rows of X per Hessian chunk: about this many bytes (cache-friendly)


def weighted_gram(X: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """X~^T diag(weight) X~ for X~ = [X, 1], a (d+1) x (d+1) float64 matrix, exactly symmetric.

    Row chunks of X are scaled into one reused buffer, so nothing of n rows is formed: with
    weights >= 0, B = X_c * sqrt(w_c) adds B^T B (a BLAS syrk: half the work of a general
    product) and B^T sqrt(w_c) = sum_i w_i x_i (the bias column). Weights with a negative entry
    (softmax's off-diagonal blocks) add X_c^T (X_c * w_c) instead.
    """
    n, d = X.shape
    weight = np.asarray(weight, dtype=np.float64)
    gram = np.zeros((d + 1, d + 1))
    nonnegative = bool(np.all(weight >= 0.0))
    factor = np.sqrt(weight) if nonnegative else weight
    rows = max(1, min(n, GRAM_CHUNK_BYTES // (8 * d)))
    buffer = np.empty((rows, d))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        chunk, f, B = X[start:stop], factor[start:stop], buffer[: stop - start]
        np.multiply(chunk, f[:, None], out=B)
        if nonnegative:
            gram[:d, :d] += B.T @ B  # NumPy calls syrk for a product with its own transpose
            gram[:d, d] += B.T @ f
        else:
            gram[:d, :d] += chunk.T @ B
            gram[:d, d] += B.sum(axis=0)
    if not nonnegative:
        gram[:d, :d] += gram[:d, :d].T
        gram[:d, :d] *= 0.5
    gram[d, :d] = gram[:d, d]
    gram[d, d] = weight.sum()
    return gram


class ModelObjective:
    """A model's full-batch training objective as a function of a flat theta (float64 out)."""

    def __init__(self, model, X, y):
        if model.has_dropout:  # the config layer refuses full-batch methods with dropout
            raise ValueError("a full-batch objective must be deterministic: the model has dropout")
        self.model = model
        self.X = model._inputs(X)
        self.y = model._targets(y, self.X.shape[0])
        if self.X.shape[0] == 0:
            raise UsageError("the full-batch objective needs at least one training row")
        self.size = model.n_params
        self.n_samples = self.X.shape[0]
        self.linear = model.model_kind.one_linear_layer  # the closed forms below apply
        self._X64 = None  # float64 copy of X, made once if the curvature needs it (float32 model)
        self._logits = None  # Z at _logits_theta (one-layer models), reused while theta is
        self._logits_theta = None
        self._dlogits = None

    # -- the function and its gradient -----------------------------------------------------
    def _load(self, theta) -> None:
        theta = np.asarray(theta)
        if theta.shape != (self.size,):
            raise ValueError(f"expected theta of shape ({self.size},), found {theta.shape}")
        np.copyto(self.model.theta, theta, casting="same_kind")

    def _linear_logits(self, theta) -> np.ndarray:
        """Z = X W + b at theta (loaded into the model), from the cache when theta is its point."""
        self._load(theta)
        if self._logits_theta is not None and np.array_equal(theta, self._logits_theta):
            return self._logits
        layer = self.model.layers[0]
        if self._logits is None:
            self._logits = np.empty((self.n_samples, layer.out_features), dtype=self.model.dtype)
        np.matmul(self.X, layer.weight, out=self._logits)
        self._logits += layer.bias
        self._logits_theta = np.array(theta, dtype=np.float64)
        return self._logits

    def value(self, theta) -> float:
        if self.linear:
            logits = self._linear_logits(theta)
            return float(self.model.loss_fn.value(logits, self.y) + self.model.penalty())
        self._load(theta)
        with self.model.frozen():
            logits = self.model._forward(self.X, True)
            return float(self.model.loss_fn.value(logits, self.y) + self.model.penalty())

    def _gradient(self, theta, running_momentum=None) -> tuple[float, np.ndarray]:
        if self.linear:
            return self._linear_gradient(theta)
        self._load(theta)
        with self.model.frozen(running_momentum):
            value = self.model._loss_and_grad(self.X, self.y)
        return float(value), self.model.grad.astype(np.float64)

    def _linear_gradient(self, theta) -> tuple[float, np.ndarray]:
        """dL/dW = X^T dZ, dL/db = sum of dZ over the rows (what Linear.backward computes)."""
        logits = self._linear_logits(theta)
        if self._dlogits is None:
            self._dlogits = np.empty_like(logits)
        model, layer = self.model, self.model.layers[0]
        value, dlogits = model.loss_fn.value_and_grad(logits, self.y, out=self._dlogits)
        np.matmul(self.X.T, dlogits, out=layer.weight_grad)
        np.sum(dlogits, axis=0, out=layer.bias_grad)
        value = model._add_penalty(value)
        return float(value), model.grad.astype(np.float64)

    def value_and_grad(self, theta) -> tuple[float, np.ndarray]:
        """(f, g); g is a fresh float64 array."""
        return self._gradient(theta, running_momentum=1.0)

    # -- curvature -------------------------------------------------------------------------
    def _one_layer(self, what: str):
        if not self.linear:
            raise NotImplementedError(
                f"{what}: an mlp has no closed-form Hessian; use hvp "
                "(finite differences of gradients) or a quasi-Newton method"
            )
        return self.model.layers[0]

    def _X_float64(self) -> np.ndarray:
        if self.X.dtype == np.float64:
            return self.X
        if self._X64 is None:
            self._X64 = self.X.astype(np.float64)
        return self._X64

    def _logits64(self, theta) -> np.ndarray:
        logits = self._linear_logits(np.asarray(theta, dtype=np.float64))
        return logits if logits.dtype == np.float64 else logits.astype(np.float64)

    def hessian(self, theta) -> np.ndarray:
        """Dense exact Hessian (one-layer models), including the bias and L2 terms."""
        layer = self._one_layer("hessian")
        d, k, n = layer.in_features, layer.out_features, self.n_samples
        blocks = self.model.loss_fn.hessian_blocks(self._logits64(theta))  # [n, k, k]
        X = self._X_float64()
        H = np.zeros((d + 1, k, d + 1, k))
        previous = None  # (weight, gram) of the last diagonal block: mse repeats one weight
        for j in range(k):
            for m in range(j, k):
                weight = blocks[:, j, m]
                if not weight.any():
                    continue  # mse: outputs do not interact
                if previous is not None and np.array_equal(weight, previous[0]):
                    gram = previous[1]
                else:
                    gram = weighted_gram(X, weight) / n
                    previous = (weight, gram)
                H[:, j, :, m] = gram
                H[:, m, :, j] = gram.T
        H = H.reshape((d + 1) * k, (d + 1) * k)
        weights = np.arange(d * k)
        H[weights, weights] += self.model.l2
        return H

    def hvp(self, theta, v) -> np.ndarray:
        """H(theta) @ v: exact for the one-layer models, central differences for mlp."""
        v = np.asarray(v, dtype=np.float64)
        if not self.linear:
            return self._hvp_finite_differences(theta, v)
        layer = self._one_layer("hvp")
        d, k, n = layer.in_features, layer.out_features, self.n_samples
        logits = self._logits64(theta)
        V = v.reshape(d + 1, k)  # [dW; db]
        X = self._X_float64()
        Z = X @ V[:d] + V[d]  # directional change of the logits
        S = self.model.loss_fn.hessian_times(logits, Z) / n
        out = np.empty_like(V)
        np.matmul(X.T, S, out=out[:d])
        out[d] = S.sum(axis=0)
        out = out.ravel()
        out[: d * k] += self.model.l2 * v[: d * k]
        return out

    def _hvp_finite_differences(self, theta, v) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        norm_v = float(np.linalg.norm(v))
        if norm_v == 0.0:
            return np.zeros(self.size)
        eps = np.finfo(self.model.dtype).eps
        h = np.cbrt(eps) * max(1.0, float(np.linalg.norm(theta))) / norm_v
        _, g_plus = self._gradient(theta + h * v)
        _, g_minus = self._gradient(theta - h * v)
        self._load(theta)
        return (g_plus - g_minus) / (2.0 * h)

    def linear_problem(self):
        """(X, Y, l2) for linreg: X [n, d] and Y [n, k] float64. The objective is
        f = ||X W + b - Y||^2 / (n k) + 0.5 l2 ||W||^2, whose minimiser solves the ridge normal
        equations (X~^T X~ + (n k l2 / 2) diag(1, ..., 1, 0)) [W; b] = X~^T Y with X~ = [X, 1]
        (the bias unpenalised); theta = [W.ravel(), b]."""
        if not self.model.model_kind.least_squares:
            raise NotImplementedError(
                f"linear_problem: only linreg is a least-squares problem, found {self.model.kind}"
            )
        return self.X.astype(np.float64), self.y.astype(np.float64), self.model.l2
