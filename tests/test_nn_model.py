"""Models end to end: builder rules and messages, gradient checks of every kind, the lecture's
lessons (linear collapse, the symmetry problem), determinism, init schemes, dtypes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnctl.errors import UsageError
from nnctl.nn import EVAL_CHUNK_ROWS, INITS, MODELS, build_model, gradcheck
from nnctl.util.rng import make_streams


def data(task, n=24, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if task == "regression":
        return X, rng.normal(size=(n, k))
    if task == "binary":
        return X, rng.integers(0, 2, n)
    return X, rng.integers(0, k, n)


def build(kind, task, k=3, d=4, seed=0, **kw):
    streams = make_streams(seed)
    n_outputs = 2 if task == "binary" else k
    kw.setdefault("init_rng", streams["init"])
    kw.setdefault("dropout_rng", streams["dropout"])
    return build_model(kind, d, n_outputs, task, **kw)


# ------------------------------------------------------------------------------------------
# Every kind, end to end through the gradient checker

GRADCHECK_CASES = [
    ("linreg", "regression", {}),
    ("logreg", "binary", {}),
    ("softmax", "multiclass", {}),
    ("softmax", "binary", {}),
    ("mlp", "regression", {"hidden": [6], "activation": "tanh"}),
    ("mlp", "binary", {"hidden": [5], "activation": "sigmoid"}),
    ("mlp", "binary", {"hidden": [5, 4], "activation": "tanh"}),
    ("mlp", "multiclass", {"hidden": [6, 5], "activation": "relu"}),
    ("mlp", "multiclass", {"hidden": [6], "activation": {"name": "leaky_relu", "slope": 0.2}}),
    ("mlp", "multiclass", {"hidden": [6], "activation": "elu", "batch_norm": True}),
    ("mlp", "binary", {"hidden": [7, 5], "activation": "softplus", "dropout": 0.3}),
    (
        "mlp",
        "multiclass",
        {"hidden": [8, 6], "activation": "relu", "dropout": 0.2, "batch_norm": True},
    ),
]


@pytest.mark.parametrize("kind,task,kw", GRADCHECK_CASES)
def test_gradcheck_every_kind_with_l2(kind, task, kw):
    # (Entries whose true gradient is ~1e-5, e.g. deep in a stack of sigmoids, hit the rounding
    # floor of the differences, ~1e-16 |f| / eps; these nets keep the gradients larger.)
    X, y = data(task)
    # a random non-zero start (also for the one-layer kinds), non-zero biases
    model = build(kind, task, l2=0.05, init="normal", init_params={"std": 0.5}, bias_init=0.1, **kw)
    errors = gradcheck(model, X, y)
    assert set(errors) == set(model.named_parameters())
    assert max(errors.values()) < 1e-6, errors


def test_gradcheck_detects_a_wrong_gradient_and_leaves_the_model_alone():
    X, y = data("multiclass")
    model = build("mlp", "multiclass", hidden=[5], init="normal", init_params={"std": 0.5})
    before = model.theta.copy()
    head = model.layers[-1]
    original_backward = head.backward

    def buggy_backward(dout):
        dx = original_backward(dout)
        head.weight_grad *= 1.01  # a 1% error in one block
        return dx

    head.backward = buggy_backward
    errors = gradcheck(model, X, y)
    assert errors["linear1.weight"] > 1e-3
    assert errors["linear0.weight"] < 1e-6
    np.testing.assert_array_equal(model.theta, before)


def test_gradcheck_of_a_float32_model_runs_in_float64():
    X, y = data("binary")
    model = build("mlp", "binary", hidden=[5], dtype=np.float32, l2=0.1)
    assert max(gradcheck(model, X, y).values()) < 1e-6
    assert model.theta.dtype == np.float32


def test_gradcheck_does_not_touch_the_dropout_stream_or_running_stats():
    X, y = data("multiclass")
    streams = make_streams(3)
    model = build(
        "mlp",
        "multiclass",
        hidden=[5],
        dropout=0.5,
        batch_norm=True,
        dropout_rng=streams["dropout"],
    )
    state = streams["dropout"].bit_generator.state
    running = {k: v.copy() for k, v in model.buffers().items()}
    gradcheck(model, X, y)
    assert streams["dropout"].bit_generator.state == state
    for k, v in model.buffers().items():
        np.testing.assert_array_equal(v, running[k])


# ------------------------------------------------------------------------------------------
# Builder: heads, losses, validation messages


def test_heads_and_losses_follow_kind_and_task():
    cases = {
        ("linreg", "regression"): (3, "mse"),
        ("logreg", "binary"): (1, "binary_cross_entropy"),
        ("softmax", "multiclass"): (3, "cross_entropy"),
        ("softmax", "binary"): (2, "cross_entropy"),
        ("mlp", "regression"): (3, "mse"),
        ("mlp", "binary"): (1, "binary_cross_entropy"),
        ("mlp", "multiclass"): (3, "cross_entropy"),
    }
    for (kind, task), (logits, loss) in cases.items():
        model = build(kind, task, hidden=[4])
        assert (model.n_outputs, model.loss_name, model.kind, model.task) == (
            logits,
            loss,
            kind,
            task,
        )
        assert model.forward(data(task)[0]).shape == (24, logits)
    # cross_entropy on a one-logit binary head means binary cross-entropy
    assert build("logreg", "binary", loss="cross_entropy").loss_name == "binary_cross_entropy"
    assert build("mlp", "binary", loss="softmax_cross_entropy").loss_name == "binary_cross_entropy"
    assert build("logreg", "binary", loss="bce").loss_name == "binary_cross_entropy"
    assert set(MODELS.names()) == {"linreg", "logreg", "softmax", "mlp"}


def build_through_config(kind, task, k=3, d=4, **kw):
    """The model the commands build: a config resolved (config layer), checked against the data
    and built (prepare.model_from_config). `kw` uses build_model's argument names."""
    from nnctl.config import resolve
    from nnctl.training.prepare import model_from_config

    activation = kw.pop("activation", "relu")
    init = {"scheme": kw.pop("init", "auto"), **kw.pop("init_params", {})}
    if "bias_init" in kw:
        init["bias"] = kw.pop("bias_init")
    model = {
        "kind": kind,
        **{key: kw.pop(key) for key in ("hidden", "dropout", "batch_norm") if key in kw},
    }
    model["activation"] = {"name": activation, **kw.pop("activation_params", {})}
    loss = {"name": kw.pop("loss", "auto"), **({"l2": kw.pop("l2")} if "l2" in kw else {})}
    train = {"dtype": np.dtype(kw.pop("dtype")).name} if "dtype" in kw else {}
    assert not kw, kw
    cfg = resolve(
        {"data": {"name": "iris"}, "model": model, "init": init, "loss": loss, "train": train}
    )
    n_outputs = 2 if task == "binary" else k
    return model_from_config(cfg, d, n_outputs, task, make_streams(0), np.float64)


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        (
            dict(kind="logreg", task="multiclass", k=3),
            "model.kind: logreg needs a binary target, found a multiclass target with 3 classes; use softmax or mlp",
        ),
        (
            dict(kind="linreg", task="binary"),
            "model.kind: linreg needs a regression target, found a binary target",
        ),
        (
            dict(kind="softmax", task="regression"),
            "model.kind: softmax needs a classification target",
        ),
        (dict(kind="logreg", task="regression"), "use linreg or mlp"),
        (
            dict(kind="perceptron", task="binary"),
            "model.kind: expected one of linreg, logreg, softmax, mlp, found 'perceptron'",
        ),
        (
            dict(kind="mlp", task="multiclass", hidden=[4, 0]),
            "model.hidden: expected a list of integers each >= 1, found [4, 0]",
        ),
        (
            dict(kind="mlp", task="multiclass", dropout=1.0),
            "model.dropout: expected a number in [0, 1)",
        ),
        (dict(kind="mlp", task="multiclass", dropout=-0.1), "model.dropout"),
        (
            dict(kind="logreg", task="binary", dropout=0.5),
            "model.dropout: applies to model.kind mlp only",
        ),
        (
            dict(kind="softmax", task="binary", batch_norm=True),
            "model.batch_norm: applies to model.kind mlp",
        ),
        (
            dict(kind="mlp", task="binary", activation="relux"),
            "model.activation.name: unknown activation 'relux'",
        ),
        (
            dict(kind="mlp", task="binary", activation="elu", activation_params={"alpha": 0}),
            "model.activation.alpha: expected a number > 0",
        ),
        (
            dict(kind="mlp", task="binary", activation="relu", activation_params={"slope": 0.1}),
            "model.activation.slope: unknown setting",
        ),
        (
            dict(kind="linreg", task="regression", loss="cross_entropy"),
            "loss.name: cross_entropy does not fit a regression target; use mse",
        ),
        (
            dict(kind="mlp", task="multiclass", loss="mse"),
            "loss.name: mse does not fit a multiclass target",
        ),
        (
            dict(kind="mlp", task="multiclass", loss="bce"),
            "loss.name: binary_cross_entropy does not fit",
        ),
        (
            dict(kind="softmax", task="binary", loss="bce"),
            "loss.name: binary_cross_entropy needs one logit per sample, but model.kind softmax has 2",
        ),
        (dict(kind="mlp", task="binary", loss="hinge"), "loss.name: unknown loss 'hinge'"),
        (dict(kind="mlp", task="binary", l2=-1.0), "loss.l2: expected a number >= 0"),
        (
            dict(kind="mlp", task="binary", l2=float("inf")),
            "loss.l2: expected a number >= 0 and finite",
        ),
        (
            dict(kind="mlp", task="binary", init="glorot"),
            "init.scheme: unknown init scheme 'glorot'",
        ),
        (
            dict(kind="mlp", task="binary", init="normal", init_params={"std": -1.0}),
            "init.std: expected",
        ),
        (
            dict(kind="mlp", task="binary", init="uniform", init_params={"low": 0.1, "high": 0.1}),
            "init.high: expected a number > init.low (0.1), found 0.1",
        ),
        (dict(kind="mlp", task="binary", bias_init=float("nan")), "init.bias: expected a number"),
        (
            dict(kind="mlp", task="binary", bias_init=float("inf")),
            "init.bias: expected a number that is finite, found inf",
        ),
        (
            dict(kind="mlp", task="regression", dtype=np.int32),
            "train.dtype: expected one of auto, float32, float64, found 'int32'",
        ),
    ],
)
def test_config_errors_name_the_key(kwargs, fragment):
    """Every rule on a model's settings, checked at the boundary (the config layer, and
    prepare.py where the data meets the config) with a message that names the key."""
    kwargs = dict(kwargs)
    kind, task = kwargs.pop("kind"), kwargs.pop("task")
    with pytest.raises(UsageError) as info:
        build_through_config(kind, task, **kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kind="logreg", task="multiclass"),
        dict(kind="mlp", task="multiclass", hidden=[4, 0]),
        dict(kind="mlp", task="binary", dropout=1.0),
        dict(kind="mlp", task="binary", l2=-1.0),
        dict(kind="mlp", task="regression", dtype=np.int32),
        dict(kind="mlp", task="binary", dropout=0.5, dropout_rng=None),
    ],
)
def test_build_model_trusts_the_config_layer_but_refuses_nonsense_plainly(kwargs):
    """A library caller of build_model gets a plain ValueError (no config key to name)."""
    kwargs = dict(kwargs)
    kind, task = kwargs.pop("kind"), kwargs.pop("task")
    with pytest.raises(ValueError) as info:
        build(kind, task, hidden=kwargs.pop("hidden", [4]), **kwargs)
    assert not isinstance(info.value, UsageError)


def test_one_layer_kinds_ignore_the_mlp_defaults_they_do_not_use():
    model = build("logreg", "binary", hidden=[64], activation="tanh")
    assert [type(layer).__name__ for layer in model.layers] == ["Linear"]


def test_mlp_layer_order_and_bias_dropped_before_batch_norm():
    model = build(
        "mlp", "multiclass", hidden=[5, 4], batch_norm=True, dropout=0.1, activation="tanh"
    )
    assert [type(layer).__name__ for layer in model.layers] == [
        "Linear",
        "BatchNorm",
        "Tanh",
        "Dropout",
        "Linear",
        "BatchNorm",
        "Tanh",
        "Dropout",
        "Linear",
    ]
    assert "linear0.bias" not in model.named_parameters()  # beta plays its role
    assert list(model.buffers()) == [
        "batchnorm0.running_mean",
        "batchnorm0.running_var",
        "batchnorm1.running_mean",
        "batchnorm1.running_var",
    ]


# ------------------------------------------------------------------------------------------
# Lecture lessons


@pytest.mark.parametrize(
    "task,linear_kind", [("regression", "linreg"), ("binary", "logreg"), ("multiclass", "softmax")]
)
def test_mlp_with_identity_activation_collapses_to_a_linear_model(task, linear_kind):
    X, _ = data(task)
    mlp = build("mlp", task, hidden=[5], activation="identity", bias_init=0.3)
    p = mlp.named_parameters()
    p["linear0.bias"][:] = np.random.default_rng(1).normal(size=5)
    W1, b1, W2, b2 = p["linear0.weight"], p["linear0.bias"], p["linear1.weight"], p["linear1.bias"]
    linear = build(linear_kind, task)
    q = linear.named_parameters()
    q["linear0.weight"][:] = W1 @ W2  # w' = sum_j w_j^o w_ij^h
    q["linear0.bias"][:] = b1 @ W2 + b2  # b' = sum_j w_j^o b_j^h + b^o
    np.testing.assert_allclose(mlp.forward(X), linear.forward(X), rtol=0, atol=1e-12)


def _gradient_descent(model, X, y, steps=10, lr=0.5):
    for _ in range(steps):
        model.loss_and_grad(X, y)
        model.theta[:] -= lr * model.grad


def test_zero_init_keeps_hidden_units_identical_and_warns():
    X, y = data("multiclass")
    with pytest.warns(UserWarning, match="symmetry"):
        model = build("mlp", "multiclass", hidden=[6], activation="sigmoid", init="zeros")
    _gradient_descent(model, X, y)
    W0, W1 = model.named_parameters()["linear0.weight"], model.named_parameters()["linear1.weight"]
    assert np.abs(W0).max() > 1e-4  # it did learn something...
    np.testing.assert_allclose(
        W0, W0[:, :1] * np.ones((1, 6)), rtol=1e-12, atol=1e-15
    )  # ...as one unit
    np.testing.assert_allclose(W1, W1[:1, :] * np.ones((6, 1)), rtol=1e-12, atol=1e-15)


def test_constant_init_on_mlp_warns_but_random_init_breaks_the_symmetry():
    with pytest.warns(UserWarning, match="identical"):
        build("mlp", "binary", hidden=[3], init="constant", init_params={"value": 0.1})
    X, y = data("multiclass")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for a random scheme or a one-layer model
        model = build(
            "mlp",
            "multiclass",
            hidden=[6],
            activation="sigmoid",
            init="normal",
            init_params={"std": 0.01},
        )
        build("logreg", "binary", init="zeros")
    _gradient_descent(model, X, y)
    W0 = model.named_parameters()["linear0.weight"]
    column_spread = np.abs(W0 - W0[:, :1]).max(axis=0)[1:]
    assert column_spread.min() > 1e-4  # every hidden unit differs from the first


# ------------------------------------------------------------------------------------------
# Init schemes and determinism


def _weights(scheme, params=None, fan_in=1000, fan_out=500, seed=0):
    model = build_model(
        "linreg",
        fan_in,
        fan_out,
        "regression",
        init=scheme,
        init_params=params,
        init_rng=np.random.default_rng(seed),
    )
    return model.named_parameters()["linear0.weight"], model.named_parameters()["linear0.bias"]


@pytest.mark.parametrize(
    "scheme,params,std",
    [
        ("normal", {"std": 0.03}, 0.03),
        ("xavier_normal", None, np.sqrt(2 / 1500)),
        ("he_normal", None, np.sqrt(2 / 1000)),
    ],
)
def test_normal_schemes_have_the_stated_std(scheme, params, std):
    W, b = _weights(scheme, params)
    assert abs(W.mean()) < 0.01 * std * 10
    assert W.std() == pytest.approx(std, rel=0.02)
    np.testing.assert_array_equal(b, 0.0)


@pytest.mark.parametrize(
    "scheme,params,low,high",
    [
        ("uniform", {"low": -0.2, "high": 0.1}, -0.2, 0.1),
        ("xavier_uniform", None, -np.sqrt(6 / 1500), np.sqrt(6 / 1500)),
        ("he_uniform", None, -np.sqrt(6 / 1000), np.sqrt(6 / 1000)),
    ],
)
def test_uniform_schemes_fill_their_bounds(scheme, params, low, high):
    W, _ = _weights(scheme, params)
    assert W.min() >= low and W.max() <= high
    span = high - low
    assert W.min() - low < 0.001 * span and high - W.max() < 0.001 * span
    assert W.std() == pytest.approx(span / np.sqrt(12), rel=0.02)


def test_constant_zeros_and_bias_init():
    W, _ = _weights("constant", {"value": 0.25}, fan_in=3, fan_out=2)
    np.testing.assert_array_equal(W, 0.25)
    model = build("mlp", "binary", hidden=[4], bias_init=0.7)
    for name, p in model.named_parameters().items():
        if name.endswith(".bias"):
            np.testing.assert_array_equal(p, 0.7)


def test_auto_init_choices():
    assert build("logreg", "binary").init_scheme == "zeros"
    np.testing.assert_array_equal(build("softmax", "multiclass").theta, 0.0)  # the lecture's w0 = 0
    assert build("mlp", "binary", hidden=[4], activation="relu").init_scheme == "he_normal"
    assert build("mlp", "binary", hidden=[4], activation="elu").init_scheme == "he_normal"
    assert build("mlp", "binary", hidden=[4], activation="tanh").init_scheme == "xavier_uniform"
    assert "auto" in INITS and INITS.resolve("normal", None, "init") == {"std": 0.01}


def test_init_depends_only_on_the_init_stream():
    a = build("mlp", "multiclass", hidden=[8, 8], dropout=0.3, seed=5)
    other = make_streams(5)
    other["dropout"].random(1000)  # dropout / shuffle draws do not move the init
    b = build(
        "mlp",
        "multiclass",
        hidden=[8, 8],
        dropout=0.3,
        init_rng=other["init"],
        dropout_rng=np.random.default_rng(99),
    )
    np.testing.assert_array_equal(a.theta, b.theta)
    c = build("mlp", "multiclass", hidden=[8, 8], dropout=0.3, seed=6)
    assert not np.array_equal(a.theta, c.theta)
    # float32 and float64 models start from the same numbers
    d = build("mlp", "multiclass", hidden=[8, 8], seed=5, dtype=np.float32)
    np.testing.assert_array_equal(d.theta, a.theta.astype(np.float32))


def test_same_seed_gives_identical_training():
    X, y = data("multiclass", n=40)
    runs = []
    for _ in range(2):
        model = build(
            "mlp",
            "multiclass",
            hidden=[8, 6],
            dropout=0.3,
            batch_norm=True,
            seed=11,
            dtype=np.float32,
        )
        for step in range(15):
            rows = slice((step * 8) % 40, (step * 8) % 40 + 8)
            model.loss_and_grad(X[rows], y[rows])
            model.theta[:] -= 0.1 * model.grad
        runs.append((model.theta.copy(), {k: v.copy() for k, v in model.buffers().items()}))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for key in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][key], runs[1][1][key])


# ------------------------------------------------------------------------------------------
# dtypes, predictions, eval


def test_float32_model_stays_float32():
    X, y = data("multiclass")
    model = build(
        "mlp", "multiclass", hidden=[6], batch_norm=True, dropout=0.2, dtype=np.float32, l2=0.1
    )
    assert model.theta.dtype == model.grad.dtype == np.float32
    for p in model.named_parameters().values():
        assert p.dtype == np.float32
    loss = model.loss_and_grad(X, y)  # float64 input is converted once
    assert isinstance(loss, float) and np.isfinite(loss)
    assert model.grad.dtype == np.float32
    assert model.forward(X.astype(np.float32), train=True).dtype == np.float32
    assert model.forward(X).dtype == np.float32
    for layer in model.layers:
        for buf in getattr(layer, "_buffers", {}).values():
            assert buf.dtype in (np.float32, np.bool_)
    for buf in model.buffers().values():
        assert buf.dtype == np.float32
    assert model.predict_proba(X).dtype == np.float32
    reg = build("mlp", "regression", hidden=[4], dtype=np.float32)
    reg.loss_and_grad(X, np.ones((24, 3)))
    assert reg.grad.dtype == np.float32


def test_predictions():
    X, y = data("multiclass")
    model = build("softmax", "multiclass", init="normal", init_params={"std": 1.0})
    proba = model.predict_proba(X)
    logits = (
        X @ model.named_parameters()["linear0.weight"] + model.named_parameters()["linear0.bias"]
    )
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(proba, expected, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X), np.argmax(logits, 1))
    assert model.predict(X).dtype == np.int64
    binary = build("logreg", "binary", init="normal", init_params={"std": 1.0})
    z = binary.forward(X)[:, 0]
    pb = binary.predict_proba(X)
    np.testing.assert_allclose(pb[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_allclose(pb.sum(1), 1.0)
    np.testing.assert_array_equal(binary.predict(X), (z > 0).astype(int))
    single = build("linreg", "regression", k=1, init="normal", init_params={"std": 1.0})
    assert single.predict(X).shape == (24,)
    assert single.loss(X, X[:, 0]) == pytest.approx(np.mean((single.predict(X) - X[:, 0]) ** 2))
    with pytest.raises(UsageError, match="no class probabilities"):
        single.predict_proba(X)
    with pytest.raises(UsageError, match=r"shape \[n, 4\]"):
        model.forward(X[:, :3])
    with pytest.raises(UsageError, match="expected 24 targets"):
        model.loss(X, y[:5])


def test_each_loss_turns_logits_into_predictions_through_its_link():
    from nnctl.nn import LOSSES

    z = np.array([[0.0], [2.0], [-1.0]])
    mse, bce, ce = (LOSSES.get(n).build() for n in ("mse", "bce", "cross_entropy"))
    assert (mse.link, bce.link, ce.link) == ("identity", "sigmoid", "softmax")
    single = mse.predict(z)
    np.testing.assert_array_equal(single, [0.0, 2.0, -1.0])
    assert single.shape == (3,) and not np.shares_memory(single, z)
    np.testing.assert_array_equal(mse.predict(np.hstack([z, -z])), np.hstack([z, -z]))
    s = np.array([0.5, 1 / (1 + np.exp(-2.0)), 1 / (1 + np.exp(1.0))])  # 0.5, 0.8808, 0.2689
    np.testing.assert_allclose(bce.probabilities(z), np.column_stack([1 - s, s]), rtol=1e-15)
    np.testing.assert_array_equal(bce.predict(z), [0, 1, 0])  # a tie (z = 0) is class 0
    three = np.array([[1.0, 3.0, 2.0], [0.0, 0.0, -1.0]])
    e = np.exp(three - three.max(1, keepdims=True))
    np.testing.assert_allclose(ce.probabilities(three), e / e.sum(1, keepdims=True), rtol=1e-15)
    prediction = ce.predict(three)
    np.testing.assert_array_equal(prediction, [1, 0])
    assert prediction.dtype == np.int64 and bce.predict(z).dtype == np.int64


@pytest.mark.parametrize(
    "kind,task,k,shape,dtype",
    [
        ("linreg", "regression", 1, (0,), np.float64),
        ("linreg", "regression", 3, (0, 3), np.float64),
        ("logreg", "binary", 2, (0,), np.int64),
        ("softmax", "multiclass", 3, (0,), np.int64),
        ("mlp", "binary", 2, (0,), np.int64),
    ],
)
def test_predictions_of_no_rows_keep_their_shape_and_dtype(kind, task, k, shape, dtype):
    model = build(kind, task, k=k, hidden=[3], batch_norm=kind == "mlp")
    X = np.zeros((0, 4))
    prediction = model.predict(X)
    assert prediction.shape == shape and prediction.dtype == dtype
    if task != "regression":
        assert model.predict_proba(X).shape == (0, model.n_classes)


def test_eval_loss_is_chunked_exactly_and_has_no_penalty():
    rng = np.random.default_rng(0)
    n = EVAL_CHUNK_ROWS + 123
    X, y = rng.normal(size=(n, 4)), rng.integers(0, 3, n)
    model = build("mlp", "multiclass", hidden=[5], batch_norm=True, l2=10.0)
    model.loss_and_grad(X[:50], y[:50])  # move the running statistics away from (0, 1)
    logits = model.forward(X)  # eval mode
    shifted = logits - logits.max(1, keepdims=True)
    expected = np.mean(np.log(np.exp(shifted).sum(1)) - shifted[np.arange(n), y])
    assert model.loss(X, y) == pytest.approx(expected, rel=1e-12)
    assert model.penalty() > 0


def test_astype_copies_parameters_and_buffers():
    model = build("mlp", "multiclass", hidden=[5], batch_norm=True)
    X, y = data("multiclass")
    model.loss_and_grad(X, y)
    copy = model.astype(np.float32)
    assert copy.dtype == np.float32
    np.testing.assert_array_equal(copy.theta, model.theta.astype(np.float32))
    np.testing.assert_allclose(
        copy.buffers()["batchnorm0.running_var"],
        model.buffers()["batchnorm0.running_var"],
        rtol=1e-6,
    )
    np.testing.assert_allclose(copy.forward(X), model.forward(X), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------------------
# State: state_dict / load_state_dict (checkpoints, warm starts, best-weights snapshots)


def test_state_dict_holds_copies_of_parameters_then_buffers_by_name():
    model = build("mlp", "multiclass", hidden=(5,), batch_norm=True)
    state = model.state_dict()
    assert list(state) == [
        "linear0.weight",
        "batchnorm0.gamma",
        "batchnorm0.beta",
        "linear1.weight",
        "linear1.bias",
        "batchnorm0.running_mean",
        "batchnorm0.running_var",
    ]
    assert state["linear0.weight"].shape == (4, 5) and state["batchnorm0.running_var"].shape == (5,)
    theta = model.theta.copy()
    state["linear0.weight"][...] = 7.0  # a copy: the model is untouched
    assert np.array_equal(model.theta, theta)


def test_load_state_dict_restores_parameters_and_buffers_exactly():
    source = build("mlp", "multiclass", hidden=(5,), batch_norm=True, seed=1)
    X, y = data("multiclass")
    source.loss_and_grad(X, y)  # a train-mode pass moves the running statistics
    target = build("mlp", "multiclass", hidden=(5,), batch_norm=True, seed=2)
    assert not np.array_equal(target.theta, source.theta)
    extra = {"optim.step": np.array(3)}  # other entries of a checkpoint are ignored
    target.load_state_dict({**source.state_dict(), **extra}, "ckpt")
    assert np.array_equal(target.theta, source.theta)
    for name, value in source.buffers().items():
        assert np.array_equal(target.buffers()[name], value), name
    assert np.array_equal(target.predict_proba(X), source.predict_proba(X))


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda s: s.pop("linear1.bias"),
            "ckpt: no array 'linear1.bias'; the checkpoint does not match the model of its own config",
        ),
        (
            lambda s: s.update({"linear0.weight": np.zeros((3, 5))}),
            "ckpt: array 'linear0.weight' has shape [3, 5], the model built from the config and data "
            "expects [4, 5]",
        ),
        (
            lambda s: s.update({"batchnorm0.running_mean": np.array(["a"] * 5)}),
            "ckpt: array 'batchnorm0.running_mean' holds <U1, expected numbers",
        ),
    ],
)
def test_load_state_dict_refuses_a_mismatch_by_name_and_writes_nothing(change, message):
    model = build("mlp", "multiclass", hidden=(5,), batch_norm=True)
    before = model.state_dict()
    state = {name: value + 1.0 for name, value in before.items()}
    change(state)
    with pytest.raises(UsageError) as info:
        model.load_state_dict(state, "ckpt")
    assert str(info.value).startswith(message)
    for name, value in model.state_dict().items():
        assert np.array_equal(value, before[name]), name
