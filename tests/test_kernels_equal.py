"""The compiled kernels (train.kernels: numba) give the same bits as the NumPy code: every
first-order rule and setting, float32 and float64, over many steps; every fused activation pass.
Compared byte for byte (`==` on the raw bytes: -0.0 and 0.0, or two NaNs, count as different
here), so a contracted a * b + c (FMA), a reassociation or a constant cast to another dtype than
NumPy's would fail. Skipped, with the reason, only when numba is not installed."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba", reason="the compiled kernels need numba (the fast extra)")

from nnctl.nn.activations import ACTIVATIONS  # noqa: E402
from nnctl.optim import OPTIMIZERS  # noqa: E402

SIZE = 1031  # not a multiple of any vector width: the loops' tails run too
STEPS = 300

# (optimizer, settings): every branch of every rule's update and of weight decay.
CASES = [
    ("sgd", {}),
    ("sgd", {"weight_decay": 0.01}),
    ("momentum", {}),
    ("momentum", {"dampening": 0.3, "weight_decay": 0.05}),
    ("nesterov", {}),
    ("nesterov", {"weight_decay": 0.02}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.01}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"momentum": 0.9, "weight_decay": 0.01}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "alpha": 0.9, "eps": 1e-6}),
    ("adadelta", {}),
    ("adadelta", {"rho": 0.95, "weight_decay": 0.01}),
    ("adam", {}),
    ("adam", {"amsgrad": True}),
    ("adam", {"weight_decay": 0.01, "betas": [0.8, 0.99]}),
    ("adam", {"amsgrad": True, "weight_decay": 0.1, "eps": 1e-5}),
    ("adamw", {}),
    ("adamw", {"amsgrad": True, "lr": 0.01}),
    ("adamw", {"weight_decay": 0.0}),
]


def same_bits(a, b) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def state_arrays(rule) -> dict:
    return {k: v for k, v in rule.state_dict().items() if isinstance(v, np.ndarray)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "settings"), CASES, ids=lambda c: str(c))
def test_every_rule_gives_numpys_bits_over_many_steps(name, settings, dtype):
    rng = np.random.default_rng(7)
    reference = OPTIMIZERS.get(name).build(SIZE, dtype, **settings)
    fused = OPTIMIZERS.get(name).build(SIZE, dtype, **settings)
    fused.use_kernels(True)
    theta_ref = rng.standard_normal(SIZE).astype(dtype)
    theta_fused = theta_ref.copy()
    for step in range(STEPS):
        # gradients of changing size (amsgrad's maximum moves), some exact zeros, and a
        # rate that changes every step as a schedule's does
        grad = (rng.standard_normal(SIZE) * (1.0 + np.sin(step / 7.0))).astype(dtype)
        grad[rng.integers(0, SIZE, 20)] = 0.0
        lr = 0.05 * (0.99**step)
        reference.step(theta_ref, grad, lr)
        fused.step(theta_fused, grad, lr)
    assert np.isfinite(theta_ref).all()
    assert not same_bits(theta_ref, theta_ref * 0)  # it moved: the comparison means something
    assert same_bits(theta_fused, theta_ref)
    ref_state, fused_state = state_arrays(reference), state_arrays(fused)
    assert ref_state.keys() == fused_state.keys()
    for key in ref_state:
        assert same_bits(fused_state[key], ref_state[key]), key


def test_the_fused_path_really_runs_the_compiled_loop(monkeypatch):
    """use_kernels(True) must route step() through the kernel (else the test above would
    compare NumPy with itself)."""
    from nnctl.kernels import loading

    calls = []
    real = loading.load().optimizer

    class Spy:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(real, name)

    monkeypatch.setattr(loading, "load", lambda: type("K", (), {"optimizer": Spy()})())
    rule = OPTIMIZERS.get("adam").build(10, np.float32)
    rule.use_kernels(True)
    rule.step(np.ones(10, np.float32), np.ones(10, np.float32), 0.1)
    assert calls == ["adam"]


def test_other_dtypes_and_layouts_fall_back_to_numpy():
    """A strided theta is not the loops' shape: NumPy runs it, with the same result."""
    reference = OPTIMIZERS.get("adam").build(5, np.float64)
    fused = OPTIMIZERS.get("adam").build(5, np.float64)
    fused.use_kernels(True)
    theta_ref, theta_fused = np.arange(10.0)[::2].copy(), np.arange(10.0)[::2]
    grad = np.linspace(-1, 1, 5)
    reference.step(theta_ref, grad, 0.1)
    fused.step(theta_fused, grad, 0.1)
    assert same_bits(theta_fused, theta_ref)


def awkward_inputs(shape, dtype, rng):
    """Values with exact zeros of both signs, tiny and large magnitudes, and a NaN."""
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    flat = x.reshape(-1)
    flat[:6] = [0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0]
    flat[6] = np.nan
    return x


ACTIVATION_CASES = [
    ("relu", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"slope": 0.2}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "hypers"), ACTIVATION_CASES, ids=lambda c: str(c))
def test_activation_passes_give_numpys_bits(name, hypers, dtype):
    rng = np.random.default_rng(3)
    reference = ACTIVATIONS.get(name).build(**hypers)
    fused = ACTIVATIONS.get(name).build(**hypers)
    fused.use_kernels(True)
    for _ in range(3):  # the layers reuse their buffers: repeat with new values
        x = awkward_inputs((64, 37), dtype, rng)
        dout = awkward_inputs((64, 37), dtype, rng)
        y_ref = reference.forward(x.copy(), train=True)
        y_fused = fused.forward(x.copy(), train=True)
        assert same_bits(y_fused, y_ref)
        dx_ref = reference.backward(dout.copy())
        dx_fused = fused.backward(dout.copy())
        assert same_bits(dx_fused, dx_ref)
        assert not same_bits(dx_ref, dout)  # the pass did something
