"""The 2-D test functions (gradients, minima) and nnctl's rules on them: the lecture's canyon,
where momentum beats plain SGD; the landscape mode of compare-optimizers as a real process."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import CONFIGS, assert_clean_error, run_nnctl
from nnctl.compare.landscapes import (
    LANDSCAPES,
    TOL,
    get_landscape,
    parse_start,
    run_landscape,
    steps_to_minimum,
)
from nnctl.compare.specs import parse_spec
from nnctl.errors import UsageError

KNOWN_MINIMA = {
    "rosenbrock": ([(1, 1)], 0.0),
    "beale": ([(3, 0.5)], 0.0),
    "canyon": ([(0, 0)], 0.0),
    "saddle": ([(0, 1), (0, -1)], -0.25),
}


@pytest.mark.parametrize("name", sorted(LANDSCAPES))
def test_gradient_matches_central_differences(name):
    surface = get_landscape(name)
    rng = np.random.default_rng(0)
    x0, x1, y0, y1 = surface.bounds
    h = 1e-6
    for _ in range(20):
        p = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])
        numeric = np.array(
            [
                (surface.value(p + e) - surface.value(p - e)) / (2 * h)
                for e in (np.array([h, 0.0]), np.array([0.0, h]))
            ]
        )
        np.testing.assert_allclose(surface.grad(p), numeric, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", sorted(LANDSCAPES))
def test_minima_are_stationary_with_the_known_value(name):
    surface = get_landscape(name)
    minima, value = KNOWN_MINIMA[name]
    assert [tuple(m) for m in surface.minima] == [tuple(map(float, m)) for m in minima]
    for m in minima:
        assert surface.value(np.array(m, float)) == pytest.approx(value, abs=1e-15)
        np.testing.assert_allclose(surface.grad(np.array(m, float)), 0.0, atol=1e-12)
    assert surface.f_min == pytest.approx(value)


def test_the_canyon_momentum_beats_plain_sgd():
    surface, runs = run_landscape("canyon", [parse_spec("sgd"), parse_spec("momentum")])
    sgd, momentum = runs
    assert sgd.steps_to_min is not None and momentum.steps_to_min is not None
    assert momentum.steps_to_min < sgd.steps_to_min / 2
    assert sgd.settings["lr"] == momentum.settings["lr"]  # the same rate: only momentum differs


def test_sgd_steps_on_the_canyon_follow_the_formula():
    """Plain GD on (x^2 + 100 y^2)/2 at rate a: x_t = x0 (1 - a)^t, y_t = y0 (1 - 100 a)^t."""
    a, (x0, y0), steps = 0.012, (-8.0, 1.0), 1000
    distance = [math.hypot(x0 * (1 - a) ** t, y0 * (1 - 100 * a) ** t) for t in range(steps + 1)]
    expected = max(t for t in range(steps + 1) if distance[t] > TOL) + 1
    surface, (run,) = run_landscape("canyon", [parse_spec(f"sgd:lr={a}")], (x0, y0), steps)
    assert run.steps_to_min == expected
    np.testing.assert_allclose(
        run.path[37], [x0 * (1 - a) ** 37, y0 * (1 - 100 * a) ** 37], rtol=1e-12
    )


def test_newton_solves_the_quadratic_canyon_in_one_step():
    surface, (run,) = run_landscape("canyon", [parse_spec("newton")])
    assert run.steps_to_min == 1
    np.testing.assert_allclose(run.path[1], [0.0, 0.0], atol=1e-6)


def test_too_large_a_rate_diverges_and_the_saddle_holds_plain_gd():
    # 100 * lr > 2: the steep direction grows by |1 - 100 lr| > 1 every step
    surface, (run,) = run_landscape("canyon", [parse_spec("sgd:lr=0.05")])
    assert run.diverged and run.steps_to_min is None
    # started on the saddle's stable line (y = 0) plain GD never leaves it: it ends at the saddle
    surface, (run,) = run_landscape("saddle", [parse_spec("sgd")], start=(-1.5, 0.0), steps=300)
    assert run.steps_to_min is None
    np.testing.assert_allclose(run.path[-1], [0.0, 0.0], atol=1e-9)


def test_steps_to_minimum_counts_from_the_last_time_outside():
    surface = get_landscape("canyon")
    path = np.array([[1.0, 0], [0, 0], [0.5, 0], [0, 0], [0, 0]])  # in, out again, in to stay
    assert steps_to_minimum(surface, path) == 3
    assert steps_to_minimum(surface, path[:3]) is None
    assert steps_to_minimum(surface, path[1:2]) == 0


def test_parse_start_and_bad_names():
    assert parse_start("-1.5,2") == (-1.5, 2.0)
    for text in ("1", "a,b", "1,2,3", "nan,1"):
        with pytest.raises(UsageError, match="--start"):
            parse_start(text)
    with pytest.raises(UsageError, match='did you mean "canyon"'):
        get_landscape("canyn")
    with pytest.raises(UsageError, match="exact"):
        run_landscape("canyon", [parse_spec("exact")])


def test_landscape_mode_of_the_command(tmp_path):
    proc = run_nnctl(
        "compare-optimizers",
        "--landscape",
        "canyon",
        "-o",
        "sgd",
        "-o",
        "momentum",
        "-o",
        "lbfgs",
        "--out",
        tmp_path / "land",
        "--no-plot",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data == json.loads((tmp_path / "land" / "landscape.json").read_text())
    runs = {r["label"]: r for r in data["runs"]}
    assert runs["momentum"]["steps_to_min"] < runs["sgd"]["steps_to_min"]
    assert runs["lbfgs"]["steps_to_min"] is not None and runs["lbfgs"]["final_distance"] < TOL
    assert data["start"] == [-8.0, 1.0] and data["steps"] == 1000
    # --json swaps the table for the document: the table appears only without it, on stdout
    assert "steps to minimum" not in proc.stdout + proc.stderr
    proc = run_nnctl(
        "compare-optimizers",
        "--landscape",
        "canyon",
        "-o",
        "sgd",
        "-o",
        "momentum",
        "--steps",
        "50",
        "--out",
        tmp_path / "table",
        "--no-plot",
        cwd=tmp_path,
    )
    assert "steps to minimum" in proc.stdout and "momentum" in proc.stdout
    proc = run_nnctl(
        "compare-optimizers",
        "--landscape",
        "rosenbrock",
        "--start=-1.5,2",
        "--steps",
        "50",
        "--out",
        tmp_path / "rb",
        "--no-plot",
        "-q",
        "--json",
        cwd=tmp_path,
    )
    data = json.loads(proc.stdout)
    assert data["start"] == [-1.5, 2.0] and {r["steps"] for r in data["runs"]} == {50}
    assert [r["label"] for r in data["runs"]] == [
        "sgd",
        "momentum",
        "nesterov",
        "adagrad",
        "rmsprop",
        "adadelta",
        "adam",
    ]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--landscape", "canyn"], "unknown landscape"),
        (["--landscape", "canyon", str(CONFIGS / "iris-softmax.yaml")], "drop CONFIG"),
        (["--landscape", "canyon", "--seeds", "2"], "drop --seeds"),
        (["--landscape", "canyon", "--start", "1"], "--start"),
        ([str(CONFIGS / "iris-softmax.yaml"), "--steps", "5"], "--landscape"),
    ],
)
def test_landscape_usage_errors(tmp_path, args, fragment):
    assert_clean_error(run_nnctl("compare-optimizers", *args, cwd=tmp_path), 2, fragment)
