"""The line searches: the conditions they report are checked here from their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.optim.line_search import backtracking, strong_wolfe

C1, C2 = 1e-4, 0.9


def quadratic(x):
    A = np.diag(np.arange(1.0, x.size + 1.0))
    return 0.5 * float(x @ A @ x), A @ x


def rosenbrock(x):
    r = x[1:] - x[:-1] ** 2
    f = float(np.sum(100.0 * r**2 + (1.0 - x[:-1]) ** 2))
    g = np.zeros_like(x)
    g[:-1] += -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * r
    return f, g


def wiggly_1d(x):
    """f(t) = -t exp(-t) + 0.05 sin(8 t): several local minima along the line."""
    t = x[0]
    f = -t * np.exp(-t) + 0.05 * np.sin(8.0 * t)
    g = -np.exp(-t) + t * np.exp(-t) + 0.4 * np.cos(8.0 * t)
    return float(f), np.array([g])


def quartic_1d(x):
    """f(t) = t^4 - 3 t: flat near 0, steep far away (needs extrapolation from tiny steps)."""
    t = x[0]
    return float(t**4 - 3.0 * t), np.array([4.0 * t**3 - 3.0])


def log_sum_exp(x):
    """f(x) = log sum exp(a_i . x) + 0.5 ||x||^2 / 10, smooth and convex."""
    A = np.array([[1.0, 2.0, -1.0], [-3.0, 0.5, 2.0], [0.0, -1.0, 1.0], [2.0, 2.0, 2.0]])
    z = A @ x
    m = z.max()
    p = np.exp(z - m)
    s = p.sum()
    return float(m + np.log(s) + 0.05 * x @ x), A.T @ (p / s) + 0.1 * x


CASES = [
    ("quadratic", quadratic, np.array([3.0, -2.0, 1.0, 0.5])),
    ("rosenbrock start", rosenbrock, np.array([-1.2, 1.0])),
    ("rosenbrock 6d", rosenbrock, np.array([0.3, -0.4, 1.5, 0.2, -1.0, 2.0])),
    ("wiggly 1d", wiggly_1d, np.array([0.2])),
    ("quartic 1d", quartic_1d, np.array([0.0])),
    ("log-sum-exp", log_sum_exp, np.array([1.0, -2.0, 0.5])),
]


@pytest.mark.parametrize("name,fun,x0", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("step0", [1e-4, 1.0, 50.0])
@pytest.mark.parametrize("c2", [0.9, 0.1])
def test_strong_wolfe_step_satisfies_the_conditions_it_reports(name, fun, x0, step0, c2):
    f0, g0 = fun(x0)
    d = -g0
    result = strong_wolfe(fun, x0, d, f0, g0, step0, C1, c2, max_evals=40)
    assert result.strong_wolfe, f"{name}: no strong-Wolfe step found"
    a = result.step
    f_a, g_a = fun(x0 + a * d)  # recomputed here, not trusted from the search
    assert a > 0
    assert f_a <= f0 + C1 * a * (g0 @ d)
    assert abs(g_a @ d) <= c2 * abs(g0 @ d)
    # what it returns is the function at the point it names
    np.testing.assert_array_equal(result.x, x0 + a * d)
    assert result.f == f_a
    np.testing.assert_array_equal(result.g, g_a)
    assert 1 <= result.n_evals <= 40


def test_strong_wolfe_counts_its_evaluations():
    calls = []

    def counted(x):
        calls.append(x.copy())
        return rosenbrock(x)

    x0 = np.array([-1.2, 1.0])
    f0, g0 = rosenbrock(x0)
    result = strong_wolfe(counted, x0, -g0, f0, g0, 1.0, C1, C2)
    assert result.n_evals == len(calls)


def test_strong_wolfe_reports_failure_when_the_budget_is_too_small():
    x0 = np.array([0.0])
    f0, g0 = quartic_1d(x0)
    # from a tiny first trial one evaluation cannot reach the curvature condition
    result = strong_wolfe(quartic_1d, x0, -g0, f0, g0, 1e-6, C1, 0.1, max_evals=1)
    assert not result.strong_wolfe
    assert result.n_evals == 1
    # the one trial decreased f enough, so it is returned as the best step seen
    assert result.armijo and result.step == 1e-6


def test_strong_wolfe_handles_overflowing_trials():
    def exploding(x):
        with np.errstate(over="ignore"):
            e = np.exp(x[0])
        return float(e - 2.0 * x[0]), np.array([e - 2.0])  # minimum at log 2

    x0 = np.array([-1.0])
    f0, g0 = exploding(x0)
    result = strong_wolfe(exploding, x0, -g0, f0, g0, 1e4, C1, C2)
    assert result.strong_wolfe and np.isfinite(result.f)


def test_line_searches_refuse_an_ascent_direction():
    x0 = np.array([1.0, 1.0, 1.0, 1.0])
    f0, g0 = quadratic(x0)
    with pytest.raises(ValueError):
        strong_wolfe(quadratic, x0, g0, f0, g0)
    with pytest.raises(ValueError):
        backtracking(quadratic, x0, g0, f0, g0)


@pytest.mark.parametrize("name,fun,x0", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("step0", [1.0, 50.0])
def test_backtracking_gives_sufficient_decrease(name, fun, x0, step0):
    f0, g0 = fun(x0)
    d = -g0
    result = backtracking(fun, x0, d, f0, g0, step0, C1, max_evals=60)
    assert result.armijo
    a = result.step
    assert 0 < a <= step0
    f_a, g_a = fun(x0 + a * d)
    assert f_a <= f0 + C1 * a * (g0 @ d)
    assert result.f == f_a
    np.testing.assert_array_equal(result.g, g_a)


def test_backtracking_takes_the_first_step_when_it_is_good_enough():
    x0 = np.array([3.0, -2.0, 1.0, 0.5])
    f0, g0 = quadratic(x0)
    d = -np.linalg.solve(np.diag(np.arange(1.0, 5.0)), g0)  # the Newton step: exact minimum
    result = backtracking(quadratic, x0, d, f0, g0, 1.0, C1)
    assert result.step == 1.0 and result.n_evals == 1
    np.testing.assert_allclose(result.x, 0.0, atol=1e-15)


def test_backtracking_shrinks_within_the_safeguards():
    x0 = np.array([1.0])

    def parabola(x):
        return float(x[0] ** 2), 2.0 * x

    f0, g0 = parabola(x0)
    trials = []

    def recorded(x):
        trials.append(float((x[0] - x0[0]) / -g0[0]))
        return parabola(x)

    result = backtracking(recorded, x0, -g0, f0, g0, 100.0, C1)
    assert result.armijo
    for before, after in zip(trials, trials[1:]):
        assert 0.1 * before <= after <= 0.5 * before


def test_backtracking_reports_failure():
    x0 = np.array([1.0])

    def cliff(x):  # the slope promises decrease that the function never delivers
        return (1.0 if x[0] == 1.0 else 2.0), np.array([1.0])

    result = backtracking(cliff, x0, np.array([-1.0]), 1.0, np.array([1.0]), 1.0, C1, 5)
    assert not result.armijo and result.step == 0.0 and result.n_evals == 5
    np.testing.assert_array_equal(result.x, x0)
