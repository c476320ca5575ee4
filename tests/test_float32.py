"""float32 stays float32: after training steps every floating array the engine holds (layer
caches and buffers, the loss gradient, theta and grad, optimizer state and scratch, the batch
buffers) is float32. A silent float64 upcast would double the memory traffic of the hot path
and change the numbers, so this walks every object and names the array that went wrong."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.data import BatchIterator
from nnctl.nn import ACTIVATIONS, build_model
from nnctl.optim import OPTIMIZERS, is_full_batch

F32 = np.dtype(np.float32)

# Settings that switch on every buffer a rule has (weight decay adds its own scratch).
OPTIMIZER_SETTINGS = {
    "sgd": {"lr": 0.01, "weight_decay": 0.01},
    "momentum": {"lr": 0.01, "dampening": 0.1, "weight_decay": 0.01},
    "nesterov": {"lr": 0.01, "weight_decay": 0.01},
    "adagrad": {
        "lr": 0.01,
        "lr_decay": 0.01,
        "weight_decay": 0.01,
        "initial_accumulator_value": 0.1,
    },
    "rmsprop": {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
    "adadelta": {"weight_decay": 0.01},
    "adam": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01},
    "adamw": {"lr": 0.01, "amsgrad": True},
}


def float_arrays(obj, path: str, seen: set | None = None):
    """(path, array) for every floating-point ndarray reachable from obj's attributes, through
    dicts, lists and tuples (not through other modules' objects: generators, registries)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            yield path, obj
        return
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("nnctl."):
        items = vars(obj).items()
    else:
        return
    for key, value in items:
        yield from float_arrays(value, f"{path}.{key}", seen)


def assert_all_float32(**objects):
    wrong = [
        f"{path}: {array.dtype} {array.shape}"
        for name, obj in objects.items()
        for path, array in float_arrays(obj, name)
        if array.dtype != F32
    ]
    assert not wrong, "float64 (or other) arrays in a float32 run:\n" + "\n".join(wrong)


def test_every_first_order_optimizer_is_listed_here():
    names = [e.name for e in OPTIMIZERS.entries() if not is_full_batch(e)]
    assert sorted(names) == sorted(OPTIMIZER_SETTINGS)


def train_steps(model, optimizer, X, y, batch_size=16, steps=6):
    batches = BatchIterator(X, y, batch_size, True, np.random.default_rng(3), np.float32)
    done = 0
    while done < steps:
        for _, Xb, yb in batches.epoch():
            loss = model.loss_and_grad(Xb, yb)
            assert isinstance(loss, float) and np.isfinite(loss)
            optimizer.step(model.theta, model.grad, 0.01)
            done += 1
            if done == steps:
                break
    return batches


@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZER_SETTINGS))
def test_mlp_with_every_layer_stays_float32_under_every_optimizer(optimizer_name):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))  # float64 on purpose: the iterator casts it once
    y = rng.integers(0, 3, 40)
    model = build_model(
        "mlp",
        5,
        3,
        "multiclass",
        hidden=(8, 6),
        activation="relu",
        dropout=0.2,
        batch_norm=True,
        l2=0.01,
        dtype=np.float32,
        init_rng=np.random.default_rng(1),
        dropout_rng=np.random.default_rng(2),
    )
    optimizer = OPTIMIZERS.get(optimizer_name).build(
        model.n_params, np.float32, **OPTIMIZER_SETTINGS[optimizer_name]
    )
    batches = train_steps(model, optimizer, X, y)
    assert model.theta.dtype == F32 and model.grad.dtype == F32
    assert_all_float32(model=model, optimizer=optimizer, batches=batches)
    assert model.forward(X).dtype == F32
    assert model.predict_proba(X).dtype == F32


@pytest.mark.parametrize("activation", [e.name for e in ACTIVATIONS.entries()])
@pytest.mark.parametrize("task,n_outputs", [("multiclass", 3), ("binary", 2), ("regression", 2)])
def test_every_activation_and_loss_stays_float32(activation, task, n_outputs):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = (
        rng.standard_normal((30, n_outputs))
        if task == "regression"
        else rng.integers(0, n_outputs, 30)
    )
    model = build_model(
        "mlp",
        4,
        n_outputs,
        task,
        hidden=(7,),
        activation=activation,
        dtype=np.float32,
        init_rng=np.random.default_rng(1),
    )
    optimizer = OPTIMIZERS.get("adam").build(model.n_params, np.float32)
    batches = train_steps(model, optimizer, X, y, batch_size=8)
    assert_all_float32(model=model, optimizer=optimizer, batches=batches)


@pytest.mark.parametrize(
    "kind,task,n_outputs",
    [("linreg", "regression", 1), ("logreg", "binary", 2), ("softmax", "multiclass", 4)],
)
def test_one_layer_models_stay_float32(kind, task, n_outputs):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = rng.standard_normal(30) if task == "regression" else rng.integers(0, n_outputs, 30)
    model = build_model(
        kind, 4, n_outputs, task, l2=0.1, dtype=np.float32, init_rng=np.random.default_rng(1)
    )
    optimizer = OPTIMIZERS.get("momentum").build(model.n_params, np.float32, lr=0.01)
    batches = train_steps(model, optimizer, X, y, batch_size=8)
    assert_all_float32(model=model, optimizer=optimizer, batches=batches)


def test_the_walk_finds_a_float64_array():
    """The check itself: a float64 buffer slipped into a layer is reported by its path."""
    model = build_model(
        "mlp", 3, 2, "multiclass", hidden=(4,), dtype=np.float32, init_rng=np.random.default_rng(0)
    )
    model.layers[1]._stray = np.zeros(3)
    with pytest.raises(AssertionError, match=r"model\.layers\.1\._stray: float64"):
        assert_all_float32(model=model)
