"""The one state mechanism every optimizer shares (nnctl/optim/state.py): what `state_dict`
holds for each kind of field, and what `load_state_dict` refuses, for all registered optimizers."""

from __future__ import annotations

import io

import numpy as np
import pytest

from nnctl.errors import UsageError
from nnctl.optim import OPTIMIZERS, is_full_batch

SIZE = 4


class Quadratic:
    """f(x) = 0.5 ||x - 1||^2: its gradient is x - 1."""

    size = SIZE

    def value(self, x):
        return 0.5 * float(np.sum((x - 1.0) ** 2))

    def value_and_grad(self, x):
        return self.value(x), x - 1.0

    def hessian(self, x):
        return np.eye(SIZE)

    def hvp(self, x, v):
        return np.array(v, dtype=np.float64)

    def linear_problem(self):
        raise NotImplementedError


def build(name):
    return OPTIMIZERS.get(name).build(SIZE, np.float64)


def advance(name, opt, theta, steps=2):
    """A few steps towards the quadratic's minimum, so the state holds more than its start."""
    for _ in range(steps):
        if is_full_batch(OPTIMIZERS.get(name)):
            opt.step(theta, Quadratic())
        else:
            opt.step(theta, theta - 1.0, 0.1)


def npz_round_trip(state):
    buffer = io.BytesIO()
    np.savez(buffer, **{f"optim.{k}": v for k, v in state.items()})
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {k[len("optim.") :]: data[k] for k in data.files}


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_saves_numbers_as_0d_arrays_and_restores_them(name):
    opt = build(name)
    theta = np.zeros(SIZE)
    if name != "exact":
        advance(name, opt, theta)
    state = opt.state_dict()
    for key, value in state.items():
        assert isinstance(value, np.ndarray), key
        assert value.dtype.kind in "biuf", key
        if value.dtype.kind in "iu":
            assert value.dtype == np.int64 and value.shape == (), key
    fresh = build(name)
    fresh.load_state_dict(npz_round_trip(state))
    again = fresh.state_dict()
    assert list(again) == list(state)
    for key, value in state.items():
        assert again[key].dtype == value.dtype, key
        np.testing.assert_array_equal(again[key], value, err_msg=key)


def test_scalars_saved_as_one_element_arrays_still_load():
    saved = build("lbfgs").state_dict()
    state = {k: np.atleast_1d(v) if v.shape == () else v for k, v in saved.items()}
    opt = build("lbfgs")
    opt.load_state_dict(state)
    assert opt.newest == -1 and opt.count == 0 and opt.has_point is False


@pytest.mark.parametrize(
    "name,field,value,fragment",
    [
        ("lbfgs", "n_fev", np.array(-1), "'n_fev' to be a count >= 0"),
        ("lbfgs", "count", np.array(2.5), "'count' to be a count >= 0"),
        ("lbfgs", "newest", np.array(0.5), "'newest' to be an integer"),
        ("adam", "step", np.array(-3), "'step' to be a count >= 0"),
        ("adam", "exp_avg", np.zeros(SIZE, dtype=complex), "'exp_avg' to hold numbers"),
        ("bfgs", "f", np.zeros(2), "'f' to be one number"),
        ("cg", "direction", np.zeros(SIZE + 1), "'direction' of shape (4,), found (5,)"),
    ],
)
def test_a_bad_entry_is_refused_and_changes_nothing(name, field, value, fragment):
    opt = build(name)
    advance(name, opt, np.zeros(SIZE))
    before = opt.state_dict()
    broken = {**build(name).state_dict(), field: value}  # every other entry differs from opt's
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        opt.load_state_dict(broken)
    after = opt.state_dict()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)


def test_a_negative_ring_index_is_a_valid_lbfgs_state():
    state = build("lbfgs").state_dict()
    assert int(state["newest"]) == -1
    build("lbfgs").load_state_dict({**state, "newest": np.array(-1)})


def test_another_optimizers_state_names_what_is_missing_and_unknown():
    with pytest.raises(
        UsageError,
        match=r"missing: n_fev, n_gev; unknown: acc_delta, "
        r"square_avg, step",
    ):
        build("exact").load_state_dict(build("adadelta").state_dict())
    with pytest.raises(UsageError, match="missing: momentum_buffer; unknown: none"):
        build("momentum").load_state_dict(build("sgd").state_dict())


def test_weight_decay_is_applied_once_before_every_rule():
    """With a zero gradient only the decay moves theta: coupled decay gives g = wd * theta to
    the rule (sgd: theta - lr wd theta), decoupled decay shrinks theta by (1 - lr wd) and gives
    the rule g = 0 (adamw: nothing else moves)."""
    theta = np.array([1.0, -2.0, 0.5, 4.0])
    sgd = OPTIMIZERS.get("sgd").build(SIZE, np.float64, weight_decay=0.5)
    w = theta.copy()
    sgd.step(w, np.zeros(SIZE), 0.1)
    np.testing.assert_array_equal(w, theta - 0.1 * (0.5 * theta))
    adamw = OPTIMIZERS.get("adamw").build(SIZE, np.float64, weight_decay=0.5)
    w = theta.copy()
    adamw.step(w, np.zeros(SIZE), 0.1)
    np.testing.assert_array_equal(w, theta * (1.0 - 0.1 * 0.5))
    adam = OPTIMIZERS.get("adam").build(SIZE, np.float64, weight_decay=0.5)
    w = theta.copy()
    adam.step(w, np.zeros(SIZE), 0.1)  # g = wd * theta: Adam's first step is lr * sign(g)
    np.testing.assert_allclose(w, theta - 0.1 * np.sign(theta), rtol=1e-7)
