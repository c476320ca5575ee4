"""The hot path allocates nothing big: once warmed up (buffers allocated for this batch size),
a training step's loss and gradient, every optimizer's update and a shuffled epoch's batches
allocate no array anywhere near the size of theta or of a batch. NumPy reports its array
memory to tracemalloc, so the peak of traced memory during the call bounds every temporary."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from nnctl.data import BatchIterator
from nnctl.nn import build_model
from nnctl.optim import OPTIMIZERS, is_full_batch

# Settings that switch on every buffer a rule has (weight decay adds its own scratch).
SETTINGS = {
    "sgd": {"lr": 0.01, "weight_decay": 0.01},
    "momentum": {"lr": 0.01, "dampening": 0.1, "weight_decay": 0.01},
    "nesterov": {"lr": 0.01, "weight_decay": 0.01},
    "adagrad": {"lr": 0.01, "lr_decay": 0.01, "weight_decay": 0.01},
    "rmsprop": {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
    "adadelta": {"weight_decay": 0.01},
    "adam": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01},
    "adamw": {"lr": 0.01, "amsgrad": True},
}


def peak_bytes(call) -> int:
    """The most memory `call()` held at once beyond what existed before it (traced)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_the_measure_sees_a_temporary():
    x = np.ones(100_000, np.float32)
    assert peak_bytes(lambda: x * 2.0) >= x.nbytes
    assert peak_bytes(lambda: np.multiply(x, 2.0, out=x)) < 1000


def test_every_first_order_optimizer_is_measured():
    assert sorted(SETTINGS) == sorted(e.name for e in OPTIMIZERS.entries() if not is_full_batch(e))


@pytest.mark.parametrize("name", sorted(SETTINGS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_optimizer_step_allocates_nothing_the_size_of_theta(name, dtype):
    size = 200_000
    rng = np.random.default_rng(0)
    theta, grad = rng.standard_normal((2, size)).astype(dtype)
    optimizer = OPTIMIZERS.get(name).build(size, dtype, **SETTINGS[name])
    for _ in range(2):  # the first step of momentum copies g into its buffer: take both kinds
        optimizer.step(theta, grad, 0.01)
    assert peak_bytes(lambda: optimizer.step(theta, grad, 0.01)) < 0.01 * theta.nbytes


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "elu", "leaky_relu", "softplus"])
def test_a_training_step_allocates_nothing_the_size_of_a_batch(activation):
    # Wide enough that NumPy's own fixed casting buffer (8192 elements: relu multiplies by its
    # boolean mask) stays under the bound, while any [batch, width] temporary would not.
    batch, width = 128, 1024
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, 64)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    model = build_model(
        "mlp",
        64,
        10,
        "multiclass",
        hidden=(width, width),
        activation=activation,
        l2=0.01,
        dtype=np.float32,
        init_rng=np.random.default_rng(1),
    )
    model.loss_and_grad(X, y)  # warm-up: the layers allocate their buffers
    activation_bytes = batch * width * 4
    assert peak_bytes(lambda: model.loss_and_grad(X, y)) < 0.1 * activation_bytes


def test_a_shuffled_epoch_gathers_into_its_buffer():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 100)).astype(np.float32)
    y = rng.integers(0, 3, 5000)
    batches = BatchIterator(X, y, 64, True, np.random.default_rng(1), np.float32)

    def one_epoch():
        for _ in batches.epoch():
            pass

    one_epoch()
    # the epoch's permutation (one int64 per row) is all it allocates, not a copy of X
    assert peak_bytes(one_epoch) < 2 * 8 * len(X) < X.nbytes / 5
