"""Linear regression's closed form from accumulated sums (data read in chunks).

Given G = X~^T X~ and B = X~^T Y (X~ = [X, 1]; G's last row and column hold the column sums
and n), the centred products are
    Xc^T Xc = G_XX - n m m^T,   Xc^T Yc = B_X - n m ybar^T,   m = G_X1 / n, ybar = B_1 / n
and the minimiser of 1/(n k) ||X W + 1 b^T - Y||^2 + l2/2 ||W||^2 is (as in closed_form.py)
    (Xc^T Xc + (n k l2 / 2) I) W = Xc^T Yc,   b = ybar - m W
by Cholesky when l2 > 0, by lstsq (minimum norm) when l2 = 0.
"""

from __future__ import annotations

import numpy as np

from nnctl.optim.cholesky import cholesky_solve


def solve_normal_equations(G: np.ndarray, B: np.ndarray, n: int, l2: float = 0.0) -> np.ndarray:
    """theta = concat(W.ravel(), b) from G [(d+1), (d+1)] and B [(d+1), k]."""
    d, k = G.shape[0] - 1, B.shape[1]
    mean_x, mean_y = G[:d, d] / n, B[d] / n
    gram = G[:d, :d] - n * np.outer(mean_x, mean_x)
    cross = B[:d] - n * np.outer(mean_x, mean_y)
    if l2 == 0.0:
        W = np.linalg.lstsq(gram, cross, rcond=None)[0]
    else:
        gram.flat[:: d + 1] += n * k * l2 / 2.0
        W = cholesky_solve(np.linalg.cholesky(gram), cross)
    b = mean_y - mean_x @ W
    return np.concatenate([W.ravel(), b])
