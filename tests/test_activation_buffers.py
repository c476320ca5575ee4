"""Activations compute into buffers they keep (a training step allocates nothing), with the
same operations as the plain formulas: the results match those formulas bit for bit, in float32
and float64, over ordinary values and the extremes (signed zeros, subnormals, overflow range,
infinities, NaN)."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn import ACTIVATIONS
from nnctl.nn.activations import sigmoid


def plain_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


# name, settings, forward f(x), backward g(x, y, dout) written the plain way
PLAIN = {
    "sigmoid": ({}, plain_sigmoid, lambda x, y, d: (1.0 - y) * y * d),
    "tanh": ({}, np.tanh, lambda x, y, d: (1.0 - y * y) * d),
    "relu": ({}, lambda x: np.maximum(x, 0), lambda x, y, d: d * (y > 0)),
    "leaky_relu": (
        {"slope": 0.1},
        lambda x: np.where(x > 0, x, 0.1 * x),
        lambda x, y, d: np.where(x > 0, d, 0.1 * d),
    ),
    "elu": (
        {"alpha": 1.5},
        lambda x: np.where(x > 0, x, 1.5 * np.expm1(np.minimum(x, 0))),
        lambda x, y, d: np.where(x > 0, d, d * (y + 1.5)),
    ),
    "softplus": (
        {},
        lambda x: np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))),
        lambda x, y, d: d * plain_sigmoid(x),
    ),
    "identity": ({}, lambda x: x, lambda x, y, d: d),
}


def inputs(dtype):
    rng = np.random.default_rng(0)
    spread = [rng.standard_normal(400) * scale for scale in (0.01, 1, 30, 300)]
    edges = np.array(
        [
            0.0,
            -0.0,
            1e-40,
            -1e-40,
            1e-310,
            88.0,
            -88.0,
            710.0,
            -710.0,
            1e4,
            -1e4,
            np.inf,
            -np.inf,
            np.nan,
        ]
    )
    with np.errstate(over="ignore", under="ignore"):
        x = np.concatenate([*spread, edges]).astype(dtype)
    return np.stack([x, -x, x[::-1]], axis=1)  # [n, 3]: a batch of rows


def test_every_activation_is_checked():
    assert sorted(PLAIN) == sorted(e.name for e in ACTIVATIONS.entries())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(PLAIN))
def test_forward_and_backward_equal_the_plain_formulas_bit_for_bit(name, dtype):
    settings, forward, backward = PLAIN[name]
    x = inputs(dtype)
    dout = np.random.default_rng(1).standard_normal(x.shape).astype(dtype)
    layer = ACTIVATIONS.get(name).build(**settings)
    with np.errstate(all="ignore"):
        y_expected = forward(x)
        dx_expected = backward(x, y_expected, dout)
        y = layer.forward(x, True)
        np.testing.assert_array_equal(y, y_expected)
        dx = layer.backward(dout.copy())
    np.testing.assert_array_equal(dx, dx_expected)
    assert y.dtype == dtype and dx.dtype == dtype


@pytest.mark.parametrize("name", sorted(set(PLAIN) - {"identity"}))
def test_a_second_step_of_the_same_shape_reuses_the_buffers(name):
    layer = ACTIVATIONS.get(name).build(**PLAIN[name][0])
    rng = np.random.default_rng(2)
    x1, x2 = rng.standard_normal((2, 6, 4)).astype(np.float32)
    y1 = layer.forward(x1, True)
    dx1 = layer.backward(np.ones_like(x1))
    y2 = layer.forward(x2, True)
    dx2 = layer.backward(np.ones_like(x2))
    assert y2 is y1
    if name != "relu":  # relu writes dL/dx over dout itself (Layer.backward allows it)
        assert dx2 is dx1
    np.testing.assert_array_equal(y2, PLAIN[name][1](x2))


def test_sigmoid_without_buffers_keeps_the_type_of_its_input():
    assert sigmoid(np.zeros(3, np.float32)).dtype == np.float32
    np.testing.assert_array_equal(
        sigmoid(np.array([0, 1, -3])), plain_sigmoid(np.array([0.0, 1.0, -3.0]))
    )
    assert float(sigmoid(np.array(0.0))) == 0.5
