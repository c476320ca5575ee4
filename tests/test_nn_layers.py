"""Activations, losses and layers: analytic gradients against finite differences written here,
numerical stability, the flat-parameter views, dropout and batch norm (also against torch)."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.errors import UsageError
from nnctl.nn import (
    ACTIVATIONS,
    LOSSES,
    BatchNorm,
    Dropout,
    Linear,
    allocate,
    build_model,
    make_loss,
)

EPS = 1e-6


def numeric_grad(f, x, eps=EPS):
    """Central differences of the scalar f() with respect to every entry of x (in place)."""
    g = np.zeros_like(x)
    flat, gflat = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * eps)
    return g


def rel_error(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-12))


def away_from_zero(rng, shape, margin=0.05):
    """Random values at least `margin` from 0 (kinks of relu-like functions)."""
    x = rng.normal(size=shape)
    return np.sign(x) * (margin + np.abs(x))


# ------------------------------------------------------------------------------------------
# Activations

ACTIVATION_CASES = [
    ("sigmoid", {}),
    ("tanh", {}),
    ("relu", {}),
    ("leaky_relu", {"slope": 0.1}),
    ("elu", {"alpha": 1.5}),
    ("softplus", {}),
    ("identity", {}),
]


@pytest.mark.parametrize("name,params", ACTIVATION_CASES)
@pytest.mark.parametrize("shape", [(3, 4), (7, 2), (1, 5)])
def test_activation_gradient_matches_finite_differences(name, params, shape):
    rng = np.random.default_rng(hash((name, shape)) % 2**32)
    act = ACTIVATIONS.get(name).build(**params)
    x = away_from_zero(rng, shape) * 2
    r = rng.normal(size=shape)
    act.forward(x, True)
    analytic = act.backward(r.copy())
    numeric = numeric_grad(lambda: float(np.sum(act.forward(x, True) * r)), x)
    assert rel_error(analytic, numeric) < 1e-6


def test_activation_values_follow_their_formulas():
    x = np.array([[-2.0, -0.5, 0.5, 3.0]])
    build = lambda n, **p: ACTIVATIONS.get(n).build(**p)  # noqa: E731
    np.testing.assert_allclose(build("sigmoid").forward(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(build("relu").forward(x), [[0, 0, 0.5, 3.0]])
    np.testing.assert_allclose(build("leaky_relu", slope=0.2).forward(x), [[-0.4, -0.1, 0.5, 3.0]])
    np.testing.assert_allclose(
        build("elu", alpha=2.0).forward(x),
        [[2 * (np.exp(-2) - 1), 2 * (np.exp(-0.5) - 1), 0.5, 3.0]],
    )
    np.testing.assert_allclose(build("softplus").forward(x), np.log(1 + np.exp(x)), rtol=1e-14)
    np.testing.assert_allclose(build("tanh").forward(x), np.tanh(x))


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "elu", "tanh"])
def test_activations_are_finite_for_huge_inputs(name):
    x = np.array([[-1e4, -800.0, 800.0, 1e4]])
    act = ACTIVATIONS.get(name).build()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = act.forward(x, True)
        d = act.backward(np.ones_like(x))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(d))
    if name == "sigmoid":
        np.testing.assert_array_equal(y, [[0.0, 0.0, 1.0, 1.0]])
    if name == "softplus":
        np.testing.assert_allclose(y, [[0.0, 0.0, 800.0, 1e4]])


def test_activation_hyperparameters_are_validated():
    with pytest.raises(UsageError, match=r"model.activation.alpha: expected a number > 0"):
        ACTIVATIONS.resolve("elu", {"alpha": -1}, "model.activation")
    assert ACTIVATIONS.resolve("leaky_relu", None, "model.activation") == {"slope": 0.01}


# ------------------------------------------------------------------------------------------
# Losses


def _loss_case(name, rng, n, k):
    logits = rng.normal(size=(n, k)) * 2
    if name == "mse":
        y = rng.normal(size=(n, k))
    elif name == "binary_cross_entropy":
        y = rng.integers(0, 2, n).astype(float)
    else:
        y = rng.integers(0, k, n)
    return logits, y


@pytest.mark.parametrize(
    "name,k",
    [
        ("mse", 1),
        ("mse", 3),
        ("binary_cross_entropy", 1),
        ("cross_entropy", 2),
        ("cross_entropy", 5),
    ],
)
@pytest.mark.parametrize("n", [1, 6, 13])
def test_loss_gradient_matches_finite_differences(name, k, n):
    rng = np.random.default_rng(n * 10 + k)
    loss = make_loss(name)
    logits, y = _loss_case(name, rng, n, k)
    y = loss.targets(y, k, np.float64)
    value, grad = loss.value_and_grad(logits.copy(), y)
    assert value == pytest.approx(loss.value(logits, y), rel=1e-15)
    numeric = numeric_grad(lambda: loss.value(logits, y), logits)
    assert rel_error(grad, numeric) < 1e-6


def test_loss_values_follow_their_formulas():
    z = np.array([[0.3, -1.0, 2.0], [1.5, 0.0, -0.5]])
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    ce = make_loss("cross_entropy")
    assert ce.value(z, np.array([2, 0])) == pytest.approx(-(np.log(p[0, 2]) + np.log(p[1, 0])) / 2)
    zb = np.array([[0.3], [-2.0]])
    s = 1 / (1 + np.exp(-zb[:, 0]))
    bce = make_loss("bce")
    assert bce.value(zb, np.array([1.0, 0.0])) == pytest.approx(
        -(np.log(s[0]) + np.log(1 - s[1])) / 2
    )
    mse = make_loss("mse")
    assert mse.value(z, np.zeros_like(z)) == pytest.approx(np.mean(z**2))


def test_loss_aliases_and_registry():
    assert LOSSES.get("bce").name == "binary_cross_entropy"
    assert LOSSES.get("softmax_cross_entropy").name == "cross_entropy"
    with pytest.raises(UsageError, match="unknown loss"):
        LOSSES.get("hinge", "loss.name")


def test_losses_are_stable_for_huge_logits():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        bce = make_loss("binary_cross_entropy")
        z = np.array([[1e4], [1e4], [-1e4], [-1e4]])
        y = np.array([1.0, 0.0, 1.0, 0.0])
        per_sample = [bce.value(z[i : i + 1], y[i : i + 1]) for i in range(4)]
        np.testing.assert_allclose(per_sample, [0.0, 1e4, 1e4, 0.0])
        _, g = bce.value_and_grad(z.copy(), y)
        np.testing.assert_allclose(g[:, 0], np.array([0.0, 1.0, -1.0, 0.0]) / 4)

        ce = make_loss("cross_entropy")
        z = np.array([[1e4, 0.0, -1e4]] * 3)
        labels = np.array([0, 1, 2])
        per_sample = [ce.value(z[i : i + 1], labels[i : i + 1]) for i in range(3)]
        np.testing.assert_allclose(per_sample, [0.0, 1e4, 2e4])
        _, g = ce.value_and_grad(z.copy(), labels)
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g * 3, [[0, 0, 0], [1, -1, 0], [1, 0, -1]], atol=1e-300)


def test_loss_targets_are_validated():
    with pytest.raises(UsageError, match="class codes in 0..2"):
        make_loss("cross_entropy").targets(np.array([0, 3]), 3, np.float64)
    with pytest.raises(UsageError, match=r"targets in \{0, 1\}"):
        make_loss("bce").targets(np.array([0, 2]), 1, np.float64)
    with pytest.raises(UsageError, match=r"shape \[n, 2\]"):
        make_loss("mse").targets(np.zeros(4), 2, np.float64)


def test_losses_match_torch():
    torch = pytest.importorskip("torch", reason="torch is the reference implementation")
    rng = np.random.default_rng(3)
    z = rng.normal(size=(9, 4)) * 3
    labels = rng.integers(0, 4, 9)
    ref = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(labels)).item()
    assert make_loss("cross_entropy").value(z, labels) == pytest.approx(ref, rel=1e-12)
    yb = rng.integers(0, 2, 9).astype(float)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(z[:, 0]), torch.tensor(yb)
    ).item()
    assert make_loss("bce").value(z[:, :1], yb) == pytest.approx(ref, rel=1e-12)
    yr = rng.normal(size=(9, 4))
    ref = torch.nn.functional.mse_loss(torch.tensor(z), torch.tensor(yr)).item()
    assert make_loss("mse").value(z, yr) == pytest.approx(ref, rel=1e-12)


# ------------------------------------------------------------------------------------------
# Layers


def _check_layer(layer, x, rng):
    """dx and every parameter gradient of sum(forward(x) * r) against finite differences."""
    params = allocate([layer], np.float64)
    params.theta[:] = rng.normal(size=params.size)
    r = rng.normal(size=layer.forward(x, True).shape)
    f = lambda: float(np.sum(layer.forward(x, True) * r))  # noqa: E731
    f()
    dx = layer.backward(r)
    analytic_params = params.grad.copy()
    if dx is not None:
        assert rel_error(dx, numeric_grad(f, x)) < 1e-6
    numeric_params = numeric_grad(f, params.theta)
    assert rel_error(analytic_params, numeric_params) < 1e-6
    return params


@pytest.mark.parametrize("n,d,k", [(1, 3, 2), (5, 4, 3), (8, 1, 6)])
def test_linear_gradients(n, d, k):
    rng = np.random.default_rng(n + d + k)
    layer = Linear(d, k, "lin")
    params = _check_layer(layer, rng.normal(size=(n, d)), rng)
    assert set(params.values) == {"lin.weight", "lin.bias"}


def test_linear_computes_x_w_plus_b_and_writes_not_accumulates():
    rng = np.random.default_rng(0)
    layer = Linear(3, 2, "lin")
    params = allocate([layer])
    params.theta[:] = rng.normal(size=params.size)
    x = rng.normal(size=(4, 3))
    W, b = params.values["lin.weight"], params.values["lin.bias"]
    np.testing.assert_allclose(layer.forward(x), x @ W + b)
    dout = rng.normal(size=(4, 2))
    layer.forward(x, True)
    layer.backward(dout)
    layer.backward(dout)  # a second backward must overwrite, not add
    np.testing.assert_allclose(params.grads["lin.weight"], x.T @ dout)
    np.testing.assert_allclose(params.grads["lin.bias"], dout.sum(0))


@pytest.mark.parametrize("n,features", [(3, 3), (6, 4), (11, 1)])  # n=2: xhat = +-1, flat
def test_batch_norm_gradients_train_mode(n, features):
    rng = np.random.default_rng(n * features)
    layer = BatchNorm(features, "bn")
    layer.track_running = False
    _check_layer(layer, rng.normal(size=(n, features)) * 3 + 1, rng)


def test_batch_norm_gradients_eval_mode():
    rng = np.random.default_rng(5)
    layer = BatchNorm(3, "bn")
    params = allocate([layer])
    params.theta[:] = rng.normal(size=params.size)
    layer.running_mean[:] = rng.normal(size=3)
    layer.running_var[:] = rng.uniform(0.5, 2, size=3)
    x = rng.normal(size=(5, 3))
    r = rng.normal(size=(5, 3))
    f = lambda: float(np.sum(layer.forward(x, False) * r))  # noqa: E731
    f()
    dx = layer.backward(r)
    assert rel_error(dx, numeric_grad(f, x)) < 1e-6
    assert rel_error(params.grad.copy(), numeric_grad(f, params.theta)) < 1e-6


def test_batch_norm_matches_torch_statistics_and_gradients():
    torch = pytest.importorskip("torch", reason="torch's BatchNorm1d is the reference")
    rng = np.random.default_rng(7)
    ours = BatchNorm(4, "bn")
    params = allocate([ours])
    ref = torch.nn.BatchNorm1d(4, momentum=0.1, eps=1e-5).double()
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    params.values["bn.gamma"][:] = gamma
    params.values["bn.beta"][:] = beta
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    for step in range(3):
        x = rng.normal(size=(6, 4)) * (step + 1) + step
        dout = rng.normal(size=(6, 4))
        xt = torch.tensor(x, requires_grad=True)
        out_ref = ref(xt)
        out_ref.backward(torch.tensor(dout))
        np.testing.assert_allclose(
            ours.forward(x, True), out_ref.detach().numpy(), rtol=1e-10, atol=1e-12
        )
        np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(params.grads["bn.gamma"], ref.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(params.grads["bn.beta"], ref.bias.grad.numpy(), rtol=1e-10)
        ref.weight.grad = None
        ref.bias.grad = None
        np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-12)
    ref.eval()
    x = rng.normal(size=(3, 4))
    np.testing.assert_allclose(
        ours.forward(x, False), ref(torch.tensor(x)).detach().numpy(), rtol=1e-10
    )


def test_batch_norm_gamma_beta_start_at_one_and_zero():
    layer = BatchNorm(3, "bn")
    params = allocate([layer])
    np.testing.assert_array_equal(params.values["bn.gamma"], 1.0)
    np.testing.assert_array_equal(params.values["bn.beta"], 0.0)
    np.testing.assert_array_equal(layer.running_var, 1.0)


def test_dropout_inverted_scaling_eval_identity_and_own_stream():
    x = np.ones((200, 50))
    drop = Dropout(0.25, np.random.default_rng(42))
    y = drop.forward(x, True).copy()  # the output buffer is reused by the next forward
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.02
    assert drop.forward(x, False) is x  # eval: identity
    again = Dropout(0.25, np.random.default_rng(42)).forward(x, True)
    np.testing.assert_array_equal(again, y)  # the mask is a function of its generator only
    assert not np.array_equal(drop.forward(x, True), y)  # a fresh mask each step


def test_dropout_gradient_with_frozen_mask():
    rng = np.random.default_rng(1)
    drop = Dropout(0.4, np.random.default_rng(9))
    x = rng.normal(size=(6, 5))
    r = rng.normal(size=(6, 5))
    drop.forward(x, True)
    drop.freeze = True
    f = lambda: float(np.sum(drop.forward(x, True) * r))  # noqa: E731
    first = drop.forward(x, True).copy()
    dx = drop.backward(r)
    np.testing.assert_array_equal(drop.forward(x, True), first)  # frozen: same mask
    assert rel_error(dx, numeric_grad(f, x)) < 1e-6
    np.testing.assert_allclose(dx, r * (first != 0) / 0.6)


# ------------------------------------------------------------------------------------------
# Flat parameters and views


def _mlp(**kw):
    args = dict(
        hidden=[5, 4],
        batch_norm=True,
        init_rng=np.random.default_rng(0),
        dropout_rng=np.random.default_rng(1),
    )
    args.update(kw)
    return build_model("mlp", 3, 3, "multiclass", **args)


def test_parameters_are_views_into_theta_and_grad():
    model = _mlp()
    params, grads = model.named_parameters(), model.named_gradients()
    assert list(params) == [
        "linear0.weight",
        "batchnorm0.gamma",
        "batchnorm0.beta",
        "linear1.weight",
        "batchnorm1.gamma",
        "batchnorm1.beta",
        "linear2.weight",
        "linear2.bias",
    ]
    assert (
        sum(p.size for p in params.values())
        == model.n_params
        == model.theta.size
        == model.grad.size
    )
    for name, p in params.items():
        assert np.shares_memory(p, model.theta) and p.base is not None
        assert np.shares_memory(grads[name], model.grad)
    W = params["linear0.weight"]
    assert W.shape == (3, 5)
    model.theta[:] = np.arange(model.n_params)  # theta -> layers
    layer = model.layers[0]
    np.testing.assert_array_equal(layer.weight, W)
    assert layer.weight[0, 0] == model.theta[model.parameter_slices()["linear0.weight"].start]
    layer.weight[1, 2] = -7.0  # layer -> theta
    assert model.theta[model.parameter_slices()["linear0.weight"].start + 1 * 5 + 2] == -7.0
    rng = np.random.default_rng(0)
    model.loss_and_grad(rng.normal(size=(8, 3)), rng.integers(0, 3, 8))
    np.testing.assert_array_equal(layer.weight_grad, grads["linear0.weight"])
    assert np.shares_memory(layer.weight_grad, model.grad)
    with pytest.raises(AttributeError):
        model.theta = np.zeros(model.n_params)  # rebinding would silently detach the layers


def test_weights_come_first_and_linreg_layout_is_w_ravel_then_b():
    model = _mlp(batch_norm=False)
    n_weights = sum(p.size for n, p in model.named_parameters().items() if n.endswith(".weight"))
    assert model.n_penalised == n_weights
    assert model.weight_mask.sum() == n_weights and model.weight_mask[:n_weights].all()
    lin = build_model(
        "linreg",
        3,
        2,
        "regression",
        init="normal",
        init_params={"std": 1.0},
        bias_init=0.5,
        init_rng=np.random.default_rng(0),
    )
    p = lin.named_parameters()
    np.testing.assert_array_equal(
        lin.theta, np.concatenate([p["linear0.weight"].ravel(), p["linear0.bias"]])
    )


def test_grad_is_written_not_accumulated_and_l2_only_on_weights():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(10, 3)), rng.integers(0, 3, 10)
    plain = _mlp(batch_norm=False, init="normal", init_params={"std": 0.5})
    penalised = _mlp(batch_norm=False, init="normal", init_params={"std": 0.5}, l2=0.3)
    np.testing.assert_array_equal(plain.theta, penalised.theta)
    f0 = plain.loss_and_grad(X, y)
    g0 = plain.grad.copy()
    assert plain.loss_and_grad(X, y) == f0
    np.testing.assert_array_equal(plain.grad, g0)
    f1 = penalised.loss_and_grad(X, y)
    weights = {n: w for n, w in penalised.named_parameters().items() if n.endswith(".weight")}
    expected_penalty = 0.5 * 0.3 * sum(float(np.sum(w**2)) for w in weights.values())
    assert penalised.penalty() == pytest.approx(expected_penalty, rel=1e-14)
    assert f1 == pytest.approx(f0 + expected_penalty, rel=1e-14)
    for name, g in penalised.named_gradients().items():
        extra = 0.3 * penalised.named_parameters()[name] if name.endswith(".weight") else 0.0
        np.testing.assert_allclose(g, plain.named_gradients()[name] + extra, rtol=1e-12, atol=1e-15)
