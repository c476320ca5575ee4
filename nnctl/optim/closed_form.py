"""The closed-form minimiser of the linear-regression objective.

    f(W, b) = 1/(n k) * sum_ij (X W + 1 b^T - Y)_ij^2  +  l2/2 * ||W||^2      (bias unpenalised)

X: [n, d], Y: [n, k], W: [d, k], b: [k]; theta = concat(W.ravel(), b).

* l2 == 0: ordinary least squares on [X, 1] by `np.linalg.lstsq` (SVD; the minimum-norm
  solution when X is rank-deficient).
* l2 > 0: setting the gradient to zero,
      d/db = 0  ->  b = mean(Y) - mean(X) W
      d/dW = 0  ->  (Xc^T Xc + (n k l2 / 2) I) W = Xc^T Yc,   Xc = X - mean(X), Yc = Y - mean(Y)
  (the factor n k / 2 turns the mean-squared error's 2/(n k) into the normal equations' scale),
  solved by Cholesky: a ridge whose intercept is not shrunk.
"""

from __future__ import annotations

import numpy as np

from nnctl.optim.cholesky import cholesky_solve


def solve_least_squares(X: np.ndarray, Y: np.ndarray, l2: float = 0.0) -> np.ndarray:
    """theta = concat(W.ravel(), b) minimising f above; Y may be [n] or [n, k]."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    n, d = X.shape
    k = Y.shape[1]
    if l2 == 0.0:
        augmented = np.empty((n, d + 1))
        augmented[:, :d] = X
        augmented[:, d] = 1.0
        coef = np.linalg.lstsq(augmented, Y, rcond=None)[0]  # [d + 1, k]
        W, b = coef[:d], coef[d]
    else:
        x_mean = X.mean(axis=0)
        y_mean = Y.mean(axis=0)
        Xc = X - x_mean
        gram = Xc.T @ Xc
        gram.flat[:: d + 1] += n * k * l2 / 2.0
        W = cholesky_solve(np.linalg.cholesky(gram), Xc.T @ (Y - y_mean))
        b = y_mean - x_mean @ W
    return np.concatenate([W.ravel(), b])
