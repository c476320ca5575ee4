"""Solving symmetric positive-definite systems A x = b by Cholesky, A = L L^T (never an inverse).

NumPy has `cholesky` but no triangular solver, so `cholesky_solve` runs blocked forward and back
substitution: each diagonal block is a small dense solve, the rest is matrix products, which
keeps the cost at O(n^2 k) BLAS work instead of a second O(n^3) factorisation.

`damped_cholesky` factors H + shift I, shift >= damping raised in steps of 10x
(Levenberg-Marquardt style) until the matrix is positive definite: Newton's fallback for an
indefinite or singular Hessian.
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import TrainingFailed

_BLOCK = 128


def cholesky_solve(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x with (L L^T) x = b, for lower-triangular L; b of shape (n,) or (n, k)."""
    x = np.array(b, dtype=np.float64)  # a copy we overwrite
    column = x.ndim == 1
    if column:
        x = x[:, None]
    n = L.shape[0]
    starts = list(range(0, n, _BLOCK))
    for start in starts:  # forward: L y = b
        stop = min(start + _BLOCK, n)
        x[start:stop] = np.linalg.solve(L[start:stop, start:stop], x[start:stop])
        x[stop:] -= L[stop:, start:stop] @ x[start:stop]
    for start in reversed(starts):  # back: L^T x = y
        stop = min(start + _BLOCK, n)
        x[start:stop] = np.linalg.solve(L[start:stop, start:stop].T, x[start:stop])
        x[:start] -= L[start:stop, :start].T @ x[start:stop]
    return x[:, 0] if column else x


def damped_cholesky(H: np.ndarray, damping: float = 0.0) -> tuple[np.ndarray, float]:
    """(L, shift) with L L^T = H + shift I positive definite; H is not modified.

    shift = damping when that works. Otherwise shifts 1e-8 * scale * 10^j are tried (scale: the
    largest |diagonal entry|) and the first s that factors is doubled: H + s I being (just)
    positive semi-definite means the smallest eigenvalue of H + 2 s I is at least s, so the
    matrix is never left nearly singular.
    """
    n = H.shape[0]
    if not np.isfinite(H).all():
        raise TrainingFailed("newton: the Hessian has non-finite entries")
    scale = float(np.max(np.abs(np.diagonal(H)), initial=0.0)) or 1.0

    def factor(shift):
        if shift == 0.0:
            return np.linalg.cholesky(H)
        matrix = np.array(H, dtype=np.float64)
        matrix.flat[:: n + 1] += shift
        return np.linalg.cholesky(matrix)

    shift = float(damping)
    try:
        return factor(shift), shift
    except np.linalg.LinAlgError:
        pass
    for _ in range(40):
        shift = max(10.0 * shift, 1e-8 * scale)
        try:
            factor(shift)
        except np.linalg.LinAlgError:
            continue
        return factor(2.0 * shift), 2.0 * shift
    raise TrainingFailed("newton: no damping made the Hessian positive definite")
