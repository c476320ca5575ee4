"""Learning-rate schedules against hand-computed sequences and torch.optim.lr_scheduler."""

from __future__ import annotations

import json
import math

import pytest

from nnctl.errors import UsageError
from nnctl.optim.base import SCHEDULES


def rates(name, epochs=10, base_lr=1.0, metrics=None, **settings):
    """The lr used for each epoch, stepping with metrics[k] at the end of epoch k."""
    schedule = SCHEDULES.get(name).build(base_lr, epochs, **settings)
    out = []
    for k in range(epochs):
        out.append(schedule.lr)
        schedule.step(None if metrics is None else metrics[k])
    return out


def test_names_and_warmup_everywhere():
    assert SCHEDULES.names() == [
        "constant",
        "step",
        "exponential",
        "inverse_time",
        "cosine",
        "reduce_on_plateau",
    ]
    for entry in SCHEDULES.entries():
        assert entry.defaults()["warmup_epochs"] == 0  # declared (KeyError otherwise), default 0
        assert all(h.doc for h in entry.hypers)


def test_constant():
    assert rates("constant", epochs=4, base_lr=0.3) == [0.3] * 4


def test_step():
    assert rates("step", epochs=8, step_size=3, gamma=0.5) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]
    assert rates("step", epochs=12)[9:] == [
        1.0,
        pytest.approx(0.1),
        pytest.approx(0.1),
    ]  # defaults 10, 0.1


def test_exponential():
    assert rates("exponential", epochs=4, base_lr=2.0, gamma=0.5) == [2.0, 1.0, 0.5, 0.25]
    assert rates("exponential", epochs=3) == pytest.approx([1.0, 0.95, 0.9025])


def test_inverse_time():
    assert rates("inverse_time", epochs=4) == pytest.approx([1, 1 / 2, 1 / 3, 1 / 4])
    assert rates("inverse_time", epochs=4, base_lr=0.6, decay=0.5) == pytest.approx(
        [0.6, 0.6 / 1.5, 0.6 / 2, 0.6 / 2.5]
    )
    assert rates("inverse_time", epochs=4, power=0.5) == pytest.approx(
        [1, 1 / math.sqrt(2), 1 / math.sqrt(3), 0.5]
    )


def test_cosine():
    half = (1 + math.cos(math.pi / 4)) / 2
    assert rates("cosine", epochs=6, T_max=4) == pytest.approx([1, half, 0.5, 1 - half, 0, 0])
    # T_max null: anneal over the run's epochs; eta_min is the floor.
    got = rates("cosine", epochs=4, base_lr=1.0, eta_min=0.2)
    assert got == pytest.approx([1, 0.2 + 0.8 * half, 0.6, 0.2 + 0.8 * (1 - half)])


def test_warmup_ramps_then_starts_the_schedule():
    assert rates("constant", epochs=5, base_lr=0.8, warmup_epochs=3) == pytest.approx(
        [0.2, 0.4, 0.6, 0.8, 0.8]
    )
    assert rates("step", epochs=6, step_size=2, gamma=0.5, warmup_epochs=1) == pytest.approx(
        [0.5, 1, 1, 0.5, 0.5, 0.25]
    )
    # The cosine's default T_max is the epochs left after warmup: it still ends the run near 0.
    got = rates("cosine", epochs=6, warmup_epochs=2)
    assert got == pytest.approx(
        [1 / 3, 2 / 3, 1, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 - math.cos(math.pi / 4)) / 2]
    )


def test_warmup_hides_metrics_from_plateau():
    # Bad metrics during warmup do not count; patience starts after it.
    got = rates(
        "reduce_on_plateau",
        epochs=5,
        warmup_epochs=2,
        patience=0,
        factor=0.5,
        metrics=[9, 9, 1, 1, 1],
    )
    assert got == pytest.approx([1 / 3, 2 / 3, 1, 1, 0.5])


def test_reduce_on_plateau_hand_trace():
    metrics = [1.0, 0.5, 0.5, 0.49999, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4]
    # best 1 -> 0.5 (epoch 2); 0.5, 0.49999 (not better by 1e-4 relative), 0.5: 3 bad > 2 -> cut
    # after epoch 5; 0.4 improves (epoch 6); then 3 more bad -> cut after epoch 9.
    got = rates("reduce_on_plateau", epochs=10, metrics=metrics, patience=2, factor=0.5)
    assert got == [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]
    # The first metric sets best; patience 0 cuts after the first bad epoch, then cooldown 2
    # leaves two epochs uncounted; min_lr floors the rate.
    got = rates(
        "reduce_on_plateau",
        epochs=9,
        metrics=[1] * 9,
        patience=0,
        factor=0.1,
        cooldown=2,
        min_lr=0.005,
    )
    assert got == pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.005])
    # mode max for accuracy-like metrics; None (no validation data) changes nothing.
    got = rates(
        "reduce_on_plateau",
        epochs=5,
        metrics=[0.5, 0.6, 0.6, None, 0.6],
        patience=0,
        mode="max",
        factor=0.5,
    )
    assert got == [1, 1, 1, 0.5, 0.5]


def test_state_dict_is_json_and_resumes():
    metrics = [3, 2, 2, 2, 1, 1, 1, 1, 1, 1]
    for name, settings in [
        ("cosine", {"warmup_epochs": 2}),
        ("step", {"step_size": 3}),
        ("reduce_on_plateau", {"patience": 1, "factor": 0.5, "cooldown": 1}),
    ]:
        whole = rates(name, epochs=10, metrics=metrics, **settings)
        first = SCHEDULES.get(name).build(1.0, 10, **settings)
        if name == "reduce_on_plateau":
            # The unset best (inf) must survive JSON too.
            fresh = SCHEDULES.get(name).build(1.0, 10, **settings)
            fresh.load_state_dict(json.loads(json.dumps(first.state_dict(), allow_nan=False)))
            assert fresh.best == math.inf
        got = []
        for k in range(4):
            got.append(first.lr)
            first.step(metrics[k])
        saved = json.loads(json.dumps(first.state_dict(), allow_nan=False))
        second = SCHEDULES.get(name).build(1.0, 10, **settings)
        second.load_state_dict(saved)
        for k in range(4, 10):
            got.append(second.lr)
            second.step(metrics[k])
        assert got == whole, name


def test_load_state_dict_rejects_another_schedules_state():
    plateau = SCHEDULES.get("reduce_on_plateau").build(1.0, 10)
    with pytest.raises(UsageError, match="schedule state"):
        plateau.load_state_dict(SCHEDULES.get("constant").build(1.0, 10).state_dict())
    with pytest.raises(UsageError, match="epoch"):
        SCHEDULES.get("constant").build(1.0, 10).load_state_dict({"epoch": -1})


@pytest.mark.parametrize(
    ("name", "key", "value"),
    [
        ("step", "step_size", 0),
        ("step", "gamma", 0.0),
        ("exponential", "gamma", -1),
        ("cosine", "T_max", 0),
        ("cosine", "eta_min", -0.1),
        ("inverse_time", "power", 0),
        ("reduce_on_plateau", "factor", 1.0),
        ("reduce_on_plateau", "mode", "minimum"),
        ("reduce_on_plateau", "patience", -1),
        ("constant", "warmup_epochs", -1),
        ("constant", "warmup_epochs", 1.5),
        ("constant", "gamma", 0.5),  # unknown setting
    ],
)
def test_invalid_settings_are_named(name, key, value):
    with pytest.raises(UsageError, match=rf"schedule\.{key}\b"):
        SCHEDULES.resolve(name, {key: value}, "schedule")
    with pytest.raises(UsageError, match=rf"schedule\.{key}\b"):
        SCHEDULES.get(name).build(1.0, 10, **{key: value})


# ---------------------------------------------------------------------------------------------
# torch.optim.lr_scheduler
def torch_rates(torch, make, epochs, base_lr, metrics=None):
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=base_lr)
    sched = make(opt)
    out = []
    for k in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(metrics[k]) if metrics is not None else sched.step()
    return out


@pytest.mark.parametrize(
    ("name", "settings", "make"),
    [
        (
            "step",
            {"step_size": 3, "gamma": 0.3},
            lambda t: lambda o: t.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.3),
        ),
        (
            "exponential",
            {"gamma": 0.8},
            lambda t: lambda o: t.optim.lr_scheduler.ExponentialLR(o, gamma=0.8),
        ),
        (
            "cosine",
            {"T_max": 7, "eta_min": 0.01},
            lambda t: lambda o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
        ),
        ("cosine", {}, lambda t: lambda o: t.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8)),
    ],
)
def test_closed_form_schedules_match_torch(name, settings, make):
    torch = pytest.importorskip(
        "torch", reason="comparison with torch.optim.lr_scheduler needs torch"
    )
    epochs = 8
    expected = torch_rates(torch, make(torch), epochs, 0.5)
    assert rates(name, epochs=epochs, base_lr=0.5, **settings) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "settings",
    [
        {"patience": 2, "factor": 0.5},
        {"patience": 1, "factor": 0.3, "threshold": 0.05, "cooldown": 2, "min_lr": 0.02},
        {"patience": 0, "factor": 0.5, "mode": "max"},
    ],
)
def test_reduce_on_plateau_matches_torch(settings):
    torch = pytest.importorskip(
        "torch", reason="comparison with torch.optim.lr_scheduler needs torch"
    )
    metrics = [
        1.0,
        0.8,
        0.79,
        0.8,
        0.81,
        0.7,
        0.7,
        0.69995,
        0.5,
        0.6,
        0.6,
        0.6,
        0.4,
        0.41,
        0.42,
        0.43,
        0.44,
        0.45,
        0.3,
        0.3,
    ]
    kwargs = {"mode": "min", **settings}
    expected = torch_rates(
        torch,
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kwargs),
        len(metrics),
        1.0,
        metrics,
    )
    assert len(set(expected)) > 2  # the sequence really exercises the cuts
    assert rates(
        "reduce_on_plateau", epochs=len(metrics), metrics=metrics, **settings
    ) == pytest.approx(expected, rel=1e-12)
