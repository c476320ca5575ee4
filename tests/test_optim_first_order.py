"""First-order update rules against the written formulas (computed here, step by step) and
against torch.optim; dtype, state round trips, validation; gradient clipping."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from nnctl.errors import UsageError
from nnctl.optim.base import OPTIMIZERS
from nnctl.optim.clip import clip_grad_norm
from nnctl.optim.first_order import first_order_names

SIZE = 7
STEPS = 6


def fixed_gradients(steps=STEPS, size=SIZE, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=size), rng.normal(size=(steps, size))


# ---------------------------------------------------------------------------------------------
# Reference rules: plain NumPy, one formula per line, written from the algorithm boxes of the
# torch.optim documentation (no in-place tricks, no code shared with nnctl).
def settings_of(name, given):
    return OPTIMIZERS.resolve(name, given, "optimizer")


def reference_trajectory(name, given, theta0, grad_fn, lrs):
    """theta after each step; grad_fn(theta, k) gives the k-th gradient."""
    s = settings_of(name, given)
    w = np.array(theta0, dtype=np.float64)
    state = {}
    out = []
    for t, lr in enumerate(lrs, start=1):
        g = np.asarray(grad_fn(w, t - 1), dtype=np.float64)
        if name == "adamw":
            w = w * (1 - lr * s["weight_decay"])
        elif s["weight_decay"]:
            g = g + s["weight_decay"] * w
        if name in ("sgd", "momentum", "nesterov"):
            mu = s["momentum"]
            if mu:
                b = g.copy() if t == 1 else mu * state["b"] + (1 - s["dampening"]) * g
                state["b"] = b
                d = g + mu * b if s["nesterov"] else b
            else:
                d = g
            w = w - lr * d
        elif name == "adagrad":
            G = state.get("G", np.full_like(w, s["initial_accumulator_value"])) + g * g
            state["G"] = G
            clr = lr / (1 + (t - 1) * s["lr_decay"])
            w = w - clr * g / (np.sqrt(G) + s["eps"])
        elif name == "rmsprop":
            a = s["alpha"]
            v = a * state.get("v", 0.0) + (1 - a) * g * g
            state["v"] = v
            if s["centered"]:
                m = a * state.get("m", 0.0) + (1 - a) * g
                state["m"] = m
                r = np.sqrt(v - m * m) + s["eps"]
            else:
                r = np.sqrt(v) + s["eps"]
            if s["momentum"]:
                b = s["momentum"] * state.get("b", 0.0) + g / r
                state["b"] = b
                w = w - lr * b
            else:
                w = w - lr * g / r
        elif name == "adadelta":
            rho, eps = s["rho"], s["eps"]
            v = rho * state.get("v", 0.0) + (1 - rho) * g * g
            u = state.get("u", np.zeros_like(w))
            delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
            state["v"], state["u"] = v, rho * u + (1 - rho) * delta * delta
            w = w - lr * delta
        elif name in ("adam", "adamw"):
            b1, b2 = s["betas"]
            m = b1 * state.get("m", 0.0) + (1 - b1) * g
            v = b2 * state.get("v", 0.0) + (1 - b2) * g * g
            state["m"], state["v"] = m, v
            if s["amsgrad"]:
                v = np.maximum(state.get("vmax", 0.0), v)
                state["vmax"] = v
            m_hat = m / (1 - b1**t)
            v_hat = v / (1 - b2**t)
            w = w - lr * m_hat / (np.sqrt(v_hat) + s["eps"])
        else:
            raise AssertionError(name)
        out.append(w)
    return out


def run_rule(name, given, theta0, grad_fn, lrs, dtype=np.float64):
    rule = OPTIMIZERS.get(name).build(SIZE, dtype, **given)
    w = np.array(theta0, dtype=dtype)
    out = []
    for k, lr in enumerate(lrs):
        rule.step(w, np.asarray(grad_fn(w, k), dtype=dtype), lr)
        out.append(w.copy())
    return out


CASES = [
    ("sgd", {}),
    ("sgd", {"weight_decay": 0.1}),
    ("sgd", {"momentum": 0.8}),
    ("sgd", {"momentum": 0.8, "dampening": 0.3}),
    ("sgd", {"momentum": 0.7, "nesterov": True, "weight_decay": 0.05}),
    ("momentum", {}),
    ("nesterov", {}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.3, "initial_accumulator_value": 0.5, "weight_decay": 0.1}),
    ("rmsprop", {}),
    ("rmsprop", {"centered": True, "momentum": 0.9}),
    ("rmsprop", {"alpha": 0.9, "momentum": 0.5, "weight_decay": 0.2, "eps": 1e-3}),
    ("adadelta", {}),
    ("adadelta", {"rho": 0.5, "eps": 1e-3, "weight_decay": 0.1, "lr": 0.5}),
    ("adam", {}),
    ("adam", {"betas": [0.5, 0.9], "weight_decay": 0.1}),
    ("adam", {"amsgrad": True}),
    ("adamw", {}),
    ("adamw", {"weight_decay": 0.3, "amsgrad": True, "betas": (0.8, 0.99)}),
]
CASE_IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in s.items()) or 'defaults'}" for n, s in CASES]
VARYING = [1.0, 0.5, 0.5, 0.25, 0.1, 0.05]  # multipliers of the base lr, as a schedule would


def lrs_for(name, given, varying=False):
    lr = settings_of(name, given)["lr"]
    return [lr * c for c in VARYING] if varying else [lr] * STEPS


@pytest.mark.parametrize(("name", "given"), CASES, ids=CASE_IDS)
def test_rule_matches_written_formula_on_fixed_gradients(name, given):
    theta0, grads = fixed_gradients()
    for varying in (False, True):
        lrs = lrs_for(name, given, varying)
        expected = reference_trajectory(name, given, theta0, lambda w, k: grads[k], lrs)
        got = run_rule(name, given, theta0, lambda w, k: grads[k], lrs)
        for step, (e, g) in enumerate(zip(expected, got), start=1):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14, err_msg=f"step {step}")
        assert not np.allclose(got[-1], theta0)


@pytest.mark.parametrize(("name", "given"), CASES, ids=CASE_IDS)
def test_rule_matches_written_formula_on_a_quadratic(name, given):
    rng = np.random.default_rng(1)
    Q = rng.normal(size=(SIZE, SIZE))
    A = Q @ Q.T / SIZE + np.eye(SIZE)
    b = rng.normal(size=SIZE)

    def grad(w, k):  # gradient of 0.5 w'Aw - b'w: depends on theta
        return A @ w - b

    theta0 = rng.normal(size=SIZE)
    lrs = lrs_for(name, given) * 2
    expected = reference_trajectory(name, given, theta0, grad, lrs)
    got = run_rule(name, given, theta0, grad, lrs)
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=1e-11, atol=1e-13)


def test_hand_values_first_steps():
    g1, g2 = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    # SGD momentum: the first buffer is the gradient itself, undamped; then mu*b + (1-d)*g.
    rule = OPTIMIZERS.get("sgd").build(2, np.float64, momentum=0.5, dampening=0.5)
    w = np.zeros(2)
    rule.step(w, g1, 0.1)
    np.testing.assert_allclose(w, [-0.1, 0.2])
    rule.step(w, g2, 0.1)  # b = 0.5*[1,-2] + 0.5*[3,0.5] = [2, -0.75]
    np.testing.assert_allclose(w, [-0.3, 0.275])
    # Nesterov: step along g + mu*b; first b = g, so d = 1.5 g.
    rule = OPTIMIZERS.get("nesterov").build(2, np.float64, momentum=0.5)
    w = np.zeros(2)
    rule.step(w, g1, 0.1)
    np.testing.assert_allclose(w, [-0.15, 0.3])
    # Adam's bias correction makes the first step lr * g / (|g| + eps): about lr * sign(g).
    rule = OPTIMIZERS.get("adam").build(2, np.float64)
    w = np.zeros(2)
    rule.step(w, g1, 0.01)
    np.testing.assert_allclose(w, [-0.01 * 1 / (1 + 1e-8), 0.01 * 2 / (2 + 1e-8)], rtol=1e-14)
    # AdamW decays w first: w*(1 - lr*wd), independent of the gradient.
    rule = OPTIMIZERS.get("adamw").build(2, np.float64, weight_decay=0.5)
    w = np.array([2.0, 2.0])
    rule.step(w, np.zeros(2), 0.1)
    np.testing.assert_allclose(w, [1.9, 1.9])
    # Adagrad: G = 4 + g^2 = [5, 8]; step lr * g / sqrt(G).
    rule = OPTIMIZERS.get("adagrad").build(2, np.float64, initial_accumulator_value=4.0, eps=1e-300)
    w = np.zeros(2)
    rule.step(w, g1, 1.0)
    np.testing.assert_allclose(w, [-1 / math.sqrt(5), 2 / math.sqrt(8)])
    # Adadelta's first step: sqrt(eps) / sqrt((1-rho) g^2 + eps) * g.
    rule = OPTIMIZERS.get("adadelta").build(2, np.float64, rho=0.75, eps=0.01)
    w = np.zeros(2)
    rule.step(w, g1, 1.0)
    np.testing.assert_allclose(w, -0.1 / np.sqrt(0.25 * g1**2 + 0.01) * g1)


def test_lecture_momentum_form_equals_momentum_optimizer():
    """v <- a*g + mu*v; w <- w - v (lecture) is torch's momentum at a constant rate a."""
    theta0, grads = fixed_gradients(steps=10)
    a, mu = 0.05, 0.9
    w_lecture, v = theta0.copy(), np.zeros(SIZE)
    rule = OPTIMIZERS.get("momentum").build(SIZE, np.float64, lr=a)
    w = theta0.copy()
    for g in grads:
        v = a * g + mu * v
        w_lecture = w_lecture - v
        rule.step(w, g, a)
        np.testing.assert_allclose(w, w_lecture, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rule.state_dict()["momentum_buffer"] * a, v, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# torch.optim
def torch_optimizer(torch, name, s, param):
    if name in ("sgd", "momentum", "nesterov"):
        return torch.optim.SGD(
            [param],
            lr=s["lr"],
            momentum=s["momentum"],
            dampening=s["dampening"],
            nesterov=s["nesterov"],
            weight_decay=s["weight_decay"],
        )
    if name == "adagrad":
        return torch.optim.Adagrad(
            [param],
            lr=s["lr"],
            lr_decay=s["lr_decay"],
            eps=s["eps"],
            weight_decay=s["weight_decay"],
            initial_accumulator_value=s["initial_accumulator_value"],
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(
            [param],
            lr=s["lr"],
            alpha=s["alpha"],
            eps=s["eps"],
            weight_decay=s["weight_decay"],
            momentum=s["momentum"],
            centered=s["centered"],
        )
    if name == "adadelta":
        return torch.optim.Adadelta(
            [param], lr=s["lr"], rho=s["rho"], eps=s["eps"], weight_decay=s["weight_decay"]
        )
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    return cls(
        [param],
        lr=s["lr"],
        betas=tuple(s["betas"]),
        eps=s["eps"],
        weight_decay=s["weight_decay"],
        amsgrad=s["amsgrad"],
    )


@pytest.mark.parametrize(("name", "given"), CASES, ids=CASE_IDS)
def test_rule_matches_torch(name, given):
    torch = pytest.importorskip("torch", reason="comparison with torch.optim needs torch")
    s = settings_of(name, given)
    theta0, grads = fixed_gradients(steps=8)
    lrs = [s["lr"] * c for c in (1.0, 1.0, 0.5, 0.5, 0.3, 0.2, 0.1, 0.1)]
    param = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    opt = torch_optimizer(torch, name, s, param)
    rule = OPTIMIZERS.get(name).build(SIZE, np.float64, **given)
    w = theta0.copy()
    for k, lr in enumerate(lrs):
        for group in opt.param_groups:
            group["lr"] = lr
        param.grad = torch.tensor(grads[k], dtype=torch.float64)
        opt.step()
        rule.step(w, grads[k], lr)
        np.testing.assert_allclose(
            w, param.detach().numpy(), rtol=1e-6, atol=1e-9, err_msg=f"step {k + 1}"
        )
        # Far tighter in practice: same operations, same order.
        np.testing.assert_allclose(w, param.detach().numpy(), rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# dtype, grad untouched, state
@pytest.mark.parametrize(("name", "given"), CASES, ids=CASE_IDS)
def test_float32_in_float32_out(name, given):
    theta0, grads = fixed_gradients()
    rule = OPTIMIZERS.get(name).build(SIZE, np.float32, **given)
    w = theta0.astype(np.float32)
    for g in grads:
        rule.step(w, g.astype(np.float32), settings_of(name, given)["lr"])
    assert w.dtype == np.float32
    state = rule.state_dict()
    assert state["step"].dtype == np.int64 and int(state["step"]) == STEPS
    for key, value in state.items():
        if key != "step":
            assert value.dtype == np.float32 and value.shape == (SIZE,), key
    lrs = lrs_for(name, given)
    expected = reference_trajectory(
        name, given, theta0.astype(np.float32), lambda _, k: grads[k].astype(np.float32), lrs
    )
    np.testing.assert_allclose(w, expected[-1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("name", "given"), CASES, ids=CASE_IDS)
def test_grad_is_not_modified(name, given):
    theta0, grads = fixed_gradients()
    rule = OPTIMIZERS.get(name).build(SIZE, np.float64, **given)
    w = theta0.copy()
    for g in grads:
        before = g.copy()
        rule.step(w, g, 0.1)
        assert np.array_equal(g, before)


def npz_round_trip(state):
    """Through an .npz, as a checkpoint stores it."""
    buffer = io.BytesIO()
    np.savez(buffer, **{f"optim.{k}": v for k, v in state.items()})
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return {k[len("optim.") :]: data[k] for k in data.files}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "given"), CASES, ids=CASE_IDS)
def test_state_dict_round_trip_continues_bit_for_bit(name, given, dtype):
    theta0, grads = fixed_gradients()
    grads = grads.astype(dtype)
    lrs = [0.1, 0.1, 0.05, 0.05, 0.02, 0.01]
    whole = OPTIMIZERS.get(name).build(SIZE, dtype, **given)
    w_whole = theta0.astype(dtype)
    for g, lr in zip(grads, lrs):
        whole.step(w_whole, g, lr)

    first = OPTIMIZERS.get(name).build(SIZE, dtype, **given)
    w = theta0.astype(dtype)
    for g, lr in zip(grads[:3], lrs[:3]):
        first.step(w, g, lr)
    saved = npz_round_trip(first.state_dict())
    for g in grads[3:]:  # the saved state must be a copy, unaffected by later steps
        first.step(w.copy(), g, 0.5)
    second = OPTIMIZERS.get(name).build(SIZE, dtype, **given)
    second.load_state_dict(saved)
    for g, lr in zip(grads[3:], lrs[3:]):
        second.step(w, g, lr)
    assert np.array_equal(w, w_whole)
    for key, value in whole.state_dict().items():
        assert np.array_equal(second.state_dict()[key], value), key


def test_load_state_dict_rejects_mismatches():
    adam = OPTIMIZERS.get("adam").build(SIZE, np.float64)
    state = adam.state_dict()
    with pytest.raises(UsageError, match="exp_avg_sq"):
        adam.load_state_dict({k: v for k, v in state.items() if k != "exp_avg_sq"})
    with pytest.raises(UsageError, match="max_exp_avg_sq"):
        OPTIMIZERS.get("adam").build(SIZE, np.float64, amsgrad=True).load_state_dict(state)
    with pytest.raises(UsageError, match="shape"):
        OPTIMIZERS.get("adam").build(SIZE + 1, np.float64).load_state_dict(state)
    with pytest.raises(UsageError, match="momentum_buffer"):
        OPTIMIZERS.get("sgd").build(SIZE, np.float64).load_state_dict(
            OPTIMIZERS.get("momentum").build(SIZE, np.float64).state_dict()
        )


# ---------------------------------------------------------------------------------------------
# registry and validation
def test_every_first_order_optimizer_is_registered_with_lr():
    names = first_order_names()
    assert names == [
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adadelta",
        "adam",
        "adamw",
    ]
    for name in names:
        entry = OPTIMIZERS.get(name)
        assert entry.info["family"] == "first_order"
        assert entry.defaults()["lr"] > 0  # declared (KeyError otherwise), a usable default
        assert all(h.doc for h in entry.hypers)
    assert OPTIMIZERS.get("momentum").defaults()["momentum"] == 0.9
    assert OPTIMIZERS.get("nesterov").defaults()["nesterov"] is True
    assert OPTIMIZERS.get("adamw").defaults()["weight_decay"] == 0.01
    assert OPTIMIZERS.get("adam").defaults()["weight_decay"] == 0.0


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("sgd", "lr", 0),
        ("adam", "lr", -0.1),
        ("adamw", "lr", "fast"),
        ("momentum", "momentum", 1.0),
        ("sgd", "momentum", -0.1),
        ("adam", "betas", [0.9, 1.0]),
        ("adam", "betas", [0.9]),
        ("adamw", "betas", 0.9),
        ("adam", "eps", 0.0),
        ("adadelta", "rho", 1.5),
        ("rmsprop", "alpha", 1.0),
        ("rmsprop", "momentum", 1.0),
        ("adagrad", "weight_decay", -0.1),
        ("adagrad", "lr_decay", -1),
        ("sgd", "nesterov", "yes"),
        ("adam", "beta1", 0.9),  # unknown setting
    ],
)
def test_invalid_hyperparameter_is_named(name, key, value):
    with pytest.raises(UsageError, match=rf"optimizer\.{key}\b"):
        OPTIMIZERS.resolve(name, {key: value}, "optimizer")
    with pytest.raises(UsageError, match=rf"optimizer\.{key}\b"):
        OPTIMIZERS.get(name).build(SIZE, np.float64, **{key: value})


@pytest.mark.parametrize(
    ("name", "given"),
    [
        ("sgd", {"nesterov": True}),
        ("nesterov", {"momentum": 0.0}),
        ("nesterov", {"dampening": 0.5}),
    ],
)
def test_nesterov_needs_undamped_momentum(name, given):
    entry = OPTIMIZERS.get(name)
    with pytest.raises(UsageError, match=r"optimizer\.nesterov"):
        entry.build(SIZE, np.float64, **given)
    with pytest.raises(UsageError, match=r"optimizer\.nesterov"):
        entry.info["validate"](OPTIMIZERS.resolve(name, given, "optimizer"), "optimizer")


# ---------------------------------------------------------------------------------------------
# clip_grad_norm
def test_clip_scales_large_gradients_to_max_norm():
    g = np.array([3.0, 4.0, 0.0, -12.0])  # norm 13
    norm = clip_grad_norm(g, 2.0)
    assert norm == 13.0
    np.testing.assert_allclose(
        g, np.array([3.0, 4.0, 0.0, -12.0]) * 2.0 / (13.0 + 1e-6), rtol=1e-15
    )


def test_clip_leaves_small_zero_and_nonfinite_gradients_alone():
    g = np.array([0.3, 0.4])
    assert clip_grad_norm(g, 1.0) == pytest.approx(0.5)
    assert np.array_equal(g, [0.3, 0.4])
    z = np.zeros(3)
    assert clip_grad_norm(z, 1.0) == 0.0 and np.array_equal(z, np.zeros(3))
    bad = np.array([1.0, np.inf])
    assert clip_grad_norm(bad, 1.0) == math.inf and bad[0] == 1.0
    nan = np.array([1.0, np.nan])
    assert math.isnan(clip_grad_norm(nan, 1.0)) and nan[0] == 1.0


def test_clip_keeps_float32():
    g = np.full(10, 2.0, dtype=np.float32)
    norm = clip_grad_norm(g, 1.0)
    assert g.dtype == np.float32 and isinstance(norm, float)
    assert norm == pytest.approx(math.sqrt(40), rel=1e-6)
    assert float(np.linalg.norm(g.astype(np.float64))) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 100.0])
def test_clip_matches_torch(max_norm):
    torch = pytest.importorskip("torch", reason="comparison with torch.nn.utils needs torch")
    g = np.random.default_rng(3).normal(size=50)
    p = torch.zeros(50, dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor(g)
    torch_norm = float(torch.nn.utils.clip_grad_norm_([p], max_norm))
    norm = clip_grad_norm(g, max_norm)
    assert norm == pytest.approx(torch_norm, rel=1e-12)
    np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-12)
