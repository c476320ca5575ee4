"""Synthetic datasets: small, seeded, and each shaped to teach one thing.

Every generator takes a NumPy Generator and its settings (declared, with defaults and checks,
once, in nnctl.data.builtin) and returns (X float64 [n, d], y): int64 class codes for
classification, float64 targets for regression. Classes get sizes as equal as possible (they
differ by at most one), and rows are shuffled so the classes are interleaved. The same rng
state always gives the same data.
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import UsageError

CENTER_BOX = 10.0  # blob centers are drawn uniformly from [-10, 10]^d


def moons(rng: np.random.Generator, *, n_samples: int, noise: float):
    """Two interleaving half circles, classes 0 and 1.

        t ~ U(0, pi)
        class 0:  x = (cos t, sin t)                      (upper moon)
        class 1:  x = (1 - cos t, 1/2 - sin t)            (lower moon, shifted)
        x <- x + noise * N(0, I)

    Not linearly separable: a linear model stays under 90% accuracy (noise 0.1), an MLP nears 100%.
    """
    y = _labels(rng, n_samples, 2)
    t = rng.uniform(0.0, np.pi, n_samples)
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    X = np.where((y == 0)[:, None], upper, lower)
    return X + noise * rng.standard_normal(X.shape), y


def circles(rng: np.random.Generator, *, n_samples: int, noise: float, factor: float):
    """Two concentric circles: class 0 of radius 1, class 1 of radius `factor` (< 1).

        phi ~ U(0, 2 pi),  r = 1 (class 0) or factor (class 1)
        x = r (cos phi, sin phi) + noise * N(0, I)

    Separable only by a non-linear boundary (or by the feature x1^2 + x2^2).
    """
    y = _labels(rng, n_samples, 2)
    phi = rng.uniform(0.0, 2.0 * np.pi, n_samples)
    radius = np.where(y == 0, 1.0, factor)
    X = radius[:, None] * np.column_stack([np.cos(phi), np.sin(phi)])
    return X + noise * rng.standard_normal(X.shape), y


def spirals(
    rng: np.random.Generator, *, n_samples: int, noise: float, n_classes: int, turns: float
):
    """`n_classes` interleaved spiral arms, one per class.

        t ~ U(0, 1)                                   (position along the arm)
        r = t,  theta = 2 pi turns t + 2 pi k / n_classes   (arm k)
        x = r (cos theta, sin theta) + noise * N(0, I)

    Neighbouring arms are 1 / (turns * n_classes) apart radially, so more turns or classes
    make it harder; the classic test that a deeper or wider MLP is needed.
    """
    _need_samples(n_samples, n_classes, "n_classes")
    y = _labels(rng, n_samples, n_classes)
    t = rng.uniform(0.0, 1.0, n_samples)
    theta = 2.0 * np.pi * turns * t + 2.0 * np.pi * y / n_classes
    X = t[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    return X + noise * rng.standard_normal(X.shape), y


def blobs(
    rng: np.random.Generator, *, n_samples: int, n_features: int, centers: int, cluster_std: float
):
    """Gaussian clusters, one class per cluster.

        c_k ~ U(-10, 10)^n_features     for k = 0..centers-1
        x = c_y + cluster_std * N(0, I)

    Usually linearly separable: softmax regression is enough.
    """
    _need_samples(n_samples, centers, "centers")
    centres = rng.uniform(-CENTER_BOX, CENTER_BOX, (centers, n_features))
    y = _labels(rng, n_samples, centers)
    return centres[y] + cluster_std * rng.standard_normal((n_samples, n_features)), y


def xor(rng: np.random.Generator, *, n_samples: int, noise: float):
    """The XOR problem: the label is 1 when the two coordinates have opposite signs.

        quadrant signs s in {(+,+), (+,-), (-,-), (-,+)}, equally many points each
        u ~ U(0, 1)^2,  x = s * u + noise * N(0, I)
        y = 1 if s1 != s2 else 0

    No linear model can separate it; one hidden layer of 2+ units can.
    """
    quadrant = _labels(rng, n_samples, 4)
    signs = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])[quadrant]
    X = signs * rng.uniform(0.0, 1.0, (n_samples, 2))
    y = (quadrant % 2).astype(np.int64)  # quadrants 1 and 3 have opposite signs
    return X + noise * rng.standard_normal(X.shape), y


def linear(
    rng: np.random.Generator, *, n_samples: int, n_features: int, noise: float, n_targets: int
):
    """A linear regression problem with known weights.

        W ~ N(0, 1)^(n_features x n_targets),  b ~ N(0, 1)^n_targets
        X ~ N(0, I),  y = X W + b + noise * N(0, I)

    Least squares recovers W and b up to the noise; y is [n] for one target, else [n, k].
    """
    weights = rng.standard_normal((n_features, n_targets))
    bias = rng.standard_normal(n_targets)
    X = rng.standard_normal((n_samples, n_features))
    y = X @ weights + bias + noise * rng.standard_normal((n_samples, n_targets))
    return X, (y[:, 0] if n_targets == 1 else y)


def class_sizes(n_samples: int, n_classes: int) -> np.ndarray:
    """Sizes as equal as possible: the first n % k classes get one extra sample."""
    sizes = np.full(n_classes, n_samples // n_classes, dtype=np.int64)
    sizes[: n_samples % n_classes] += 1
    return sizes


def _labels(rng: np.random.Generator, n_samples: int, n_classes: int) -> np.ndarray:
    """Balanced class codes in a random order (so the classes are interleaved)."""
    return rng.permutation(
        np.repeat(np.arange(n_classes, dtype=np.int64), class_sizes(n_samples, n_classes))
    )


def _need_samples(n_samples: int, n_classes: int, setting: str) -> None:
    if n_samples < n_classes:
        raise UsageError(
            f"data.params.n_samples: expected at least {setting} ({n_classes}) samples so "
            f"every class has one, found {n_samples}"
        )
