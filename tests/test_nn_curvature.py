"""The full-batch objective: exact Hessians and Hessian-vector products against finite
differences, gradient descent against a Newton solve written here, the least-squares view."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn import build_model


def problem(task, n=60, d=3, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(d, k))
    if task == "regression":
        return X, X @ W + 0.3 * rng.normal(size=(n, k))
    scores = X @ W + rng.gumbel(size=(n, k))  # noisy labels: not separable, a finite optimum
    if task == "binary":
        return X, (scores[:, 0] > scores[:, 1]).astype(np.int64)
    return X, np.argmax(scores, axis=1)


def model_for(kind, task, d=3, k=3, l2=0.1, seed=1, **kw):
    n_outputs = 2 if task == "binary" else k
    return build_model(
        kind,
        d,
        n_outputs,
        task,
        l2=l2,
        init="normal",
        init_params={"std": 0.5},
        bias_init=0.2,
        init_rng=np.random.default_rng(seed),
        dropout_rng=np.random.default_rng(seed + 1),
        **kw,
    )


def fd_jacobian_of_gradient(objective, theta, eps=1e-5):
    """Column i: (g(theta + eps e_i) - g(theta - eps e_i)) / (2 eps)."""
    columns = []
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        columns.append(
            (objective.value_and_grad(theta + step)[1] - objective.value_and_grad(theta - step)[1])
            / (2 * eps)
        )
    return np.stack(columns, axis=1)


LINEAR_CASES = [
    ("linreg", "regression", 2),
    ("logreg", "binary", 2),
    ("softmax", "multiclass", 3),
    ("softmax", "binary", 2),
]


@pytest.mark.parametrize("kind,task,k", LINEAR_CASES)
def test_hessian_matches_finite_differences_of_the_gradient(kind, task, k):
    X, y = problem(task, k=k)
    model = model_for(kind, task, k=k)
    objective = model.objective(X, y)
    theta = model.theta.copy()
    H = objective.hessian(theta)
    assert H.shape == (objective.size, objective.size) == (model.n_params, model.n_params)
    np.testing.assert_allclose(H, H.T, atol=1e-14)
    np.testing.assert_allclose(H, fd_jacobian_of_gradient(objective, theta), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind,task,k", LINEAR_CASES)
def test_hvp_equals_hessian_times_v(kind, task, k):
    X, y = problem(task, k=k)
    model = model_for(kind, task, k=k)
    objective = model.objective(X, y)
    rng = np.random.default_rng(4)
    theta = model.theta + 0.1 * rng.normal(size=model.n_params)
    H = objective.hessian(theta)
    for _ in range(3):
        v = rng.normal(size=model.n_params)
        np.testing.assert_allclose(objective.hvp(theta, v), H @ v, rtol=1e-12, atol=1e-13)


def test_linreg_hessian_is_the_documented_closed_form():
    X, Y = problem("regression", k=2)
    model = model_for("linreg", "regression", k=2, l2=0.3)
    H = model.objective(X, Y).hessian(model.theta)
    X1 = np.hstack([X, np.ones((len(X), 1))])
    expected = np.kron(2 * X1.T @ X1 / (len(X) * 2), np.eye(2))  # theta = [W (row-major); b]
    expected[np.arange(6), np.arange(6)] += 0.3
    np.testing.assert_allclose(H, expected, rtol=1e-12)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_mlp_hvp_by_differences_and_no_dense_hessian(batch_norm):
    X, y = problem("multiclass")
    model = model_for("mlp", "multiclass", hidden=[5], activation="tanh", batch_norm=batch_norm)
    objective = model.objective(X, y)
    theta = model.theta.copy()
    with pytest.raises(NotImplementedError, match="hvp"):
        objective.hessian(theta)
    H = fd_jacobian_of_gradient(objective, theta, eps=1e-4)  # the test's own differences
    rng = np.random.default_rng(0)
    for _ in range(3):
        v = rng.normal(size=theta.size)
        np.testing.assert_allclose(objective.hvp(theta, v), H @ v, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(objective.hvp(theta, np.zeros_like(theta)), 0.0)
    np.testing.assert_array_equal(model.theta, theta)


def test_objective_values_gradients_and_copies():
    X, y = problem("multiclass")
    model = model_for("mlp", "multiclass", hidden=[4], batch_norm=True)
    objective = model.objective(X, y)
    theta = np.random.default_rng(0).normal(size=objective.size)
    f, g = objective.value_and_grad(theta)
    assert objective.value(theta) == f  # the same number both ways (line searches compare them)
    np.testing.assert_array_equal(model.theta, theta)
    assert g.dtype == np.float64 and not np.shares_memory(g, model.grad)
    g[:] = 0.0
    np.testing.assert_array_equal(objective.value_and_grad(theta)[1], model.grad)
    assert f == pytest.approx(model.loss(X, y, train=True) + model.penalty(), rel=1e-14)


def test_objective_batch_norm_uses_full_batch_statistics():
    X, y = problem("multiclass")
    model = model_for("mlp", "multiclass", hidden=[4], batch_norm=True)
    objective = model.objective(X, y)
    theta = model.theta.copy()
    before = {k: v.copy() for k, v in model.buffers().items()}
    objective.value(theta)
    objective.hvp(theta, np.ones_like(theta))
    for k, v in model.buffers().items():
        np.testing.assert_array_equal(v, before[k])  # probing leaves the running stats alone
    objective.value_and_grad(theta)  # an accepted point: running stats = its full-batch stats
    pre_activation = X @ model.named_parameters()["linear0.weight"]
    np.testing.assert_allclose(model.buffers()["batchnorm0.running_mean"], pre_activation.mean(0))
    np.testing.assert_allclose(
        model.buffers()["batchnorm0.running_var"], pre_activation.var(0, ddof=1)
    )


def test_objective_refuses_dropout():
    X, y = problem("multiclass")
    model = model_for("mlp", "multiclass", hidden=[4], dropout=0.2)
    # the config layer refuses full-batch methods with dropout; the engine asserts it plainly
    with pytest.raises(ValueError, match="must be deterministic: the model has dropout"):
        model.objective(X, y)


def test_linear_problem_is_the_documented_least_squares():
    X, Y = problem("regression", k=2)
    model = model_for("linreg", "regression", k=2, l2=0.5)
    objective = model.objective(X, Y)
    Xp, Yp, l2 = objective.linear_problem()
    assert Yp.shape == (60, 2) and l2 == 0.5
    n, k = Yp.shape
    X1 = np.hstack([Xp, np.ones((n, 1))])
    ridge = np.diag([n * k * l2 / 2] * 3 + [0.0])
    Theta = np.linalg.solve(X1.T @ X1 + ridge, X1.T @ Yp)
    _, g = objective.value_and_grad(Theta.ravel())
    assert np.abs(g).max() < 1e-12
    with pytest.raises(NotImplementedError):
        model_for("logreg", "binary").objective(*problem("binary")).linear_problem()


# ------------------------------------------------------------------------------------------
# Gradient descent on the model vs Newton's method written here


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def newton_logreg(X, y, l2, iters=30):
    """theta = [w, b]; H = X~^T diag(p(1-p)) X~ / n + l2 on w."""
    n, d = X.shape
    X1 = np.hstack([X, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    reg = np.diag([l2] * d + [0.0])
    for _ in range(iters):
        p = _sigmoid(X1 @ theta)
        g = X1.T @ (p - y) / n + reg @ theta
        H = X1.T @ (X1 * (p * (1 - p))[:, None]) / n + reg
        theta -= np.linalg.solve(H, g)
    p = _sigmoid(X1 @ theta)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + 0.5 * l2 * theta[:d] @ theta[:d]


def newton_softmax(X, y, k, l2, iters=30):
    """Theta = [W; b] ([(d+1), k], row-major); H = (1/n) sum_i kron(x~ x~^T, diag(p) - p p^T)."""
    n, d = X.shape
    X1 = np.hstack([X, np.ones((n, 1))])
    Y = np.eye(k)[y]
    theta = np.zeros((d + 1) * k)
    reg = np.diag([l2] * (d * k) + [0.0] * k)

    def probs(theta):
        z = X1 @ theta.reshape(d + 1, k)
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    for _ in range(iters):
        P = probs(theta)
        g = (X1.T @ (P - Y) / n).ravel() + reg @ theta
        H = (
            sum(
                np.kron(np.outer(X1[i], X1[i]), np.diag(P[i]) - np.outer(P[i], P[i]))
                for i in range(n)
            )
            / n
        )
        # the biases have a flat direction (adding c to all of them): least squares step
        theta -= np.linalg.lstsq(H + reg, g, rcond=None)[0]
    P = probs(theta)
    W = theta.reshape(d + 1, k)[:d]
    return -np.mean(np.log(P[np.arange(n), y])) + 0.5 * l2 * np.sum(W**2)


def _gradient_descent(model, X, y, lr, steps):
    for _ in range(steps):
        model.loss_and_grad(X, y)
        model.theta[:] -= lr * model.grad
    return model.loss_and_grad(X, y)


def test_logistic_regression_by_gradient_descent_reaches_the_newton_optimum():
    X, y = problem("binary")
    l2 = 0.05
    model = build_model("logreg", 3, 2, "binary", l2=l2, init_rng=np.random.default_rng(0))
    assert model.init_scheme == "zeros"
    final = _gradient_descent(model, X, y, lr=1.0, steps=600)
    assert final == pytest.approx(newton_logreg(X, y, l2), abs=1e-6)
    assert np.abs(model.grad).max() < 1e-6


def test_softmax_regression_by_gradient_descent_reaches_the_newton_optimum():
    X, y = problem("multiclass")
    l2 = 0.05
    model = build_model("softmax", 3, 3, "multiclass", l2=l2, init_rng=np.random.default_rng(0))
    final = _gradient_descent(model, X, y, lr=1.0, steps=800)
    assert final == pytest.approx(newton_softmax(X, y, 3, l2), abs=1e-6)
    # and one Newton step of the model's own Hessian from there changes nothing
    objective = model.objective(X, y)
    theta = model.theta.copy()
    step = np.linalg.lstsq(
        objective.hessian(theta), objective.value_and_grad(theta)[1], rcond=None
    )[0]
    assert objective.value(theta - step) == pytest.approx(final, abs=1e-10)
