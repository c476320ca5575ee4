"""Line searches along a descent direction d from x0: choose a step a > 0 for x0 + a d.

With phi(a) = f(x0 + a d) and phi'(a) = g(x0 + a d) . d (phi'(0) < 0):

* sufficient decrease (Armijo):  phi(a) <= phi(0) + c1 a phi'(0)
* strong curvature:              |phi'(a)| <= c2 |phi'(0)|,   0 < c1 < c2 < 1

`strong_wolfe` finds a step meeting both (Nocedal & Wright, Numerical Optimization, 2nd ed.,
Algorithm 3.5 bracketing + Algorithm 3.6 zoom, with safeguarded cubic interpolation falling
back to quadratic then bisection); cg, bfgs and lbfgs use it. `backtracking` only asks for
sufficient decrease (N&W Algorithm 3.1 with quadratic interpolation); gd and newton use it.

`fun(x) -> (f, g)` evaluates value and gradient together: every method needs the gradient at
the accepted point, and these searches usually accept their first trial.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass
class LineSearchResult:
    step: float  # a (0.0 when no acceptable step was found)
    x: np.ndarray  # x0 + a d (x0 itself when step == 0)
    f: float  # phi(a)
    g: np.ndarray  # gradient at x
    n_evals: int  # calls of fun made by this search
    armijo: bool  # sufficient decrease holds (with step > 0)
    strong_wolfe: bool  # both strong-Wolfe conditions hold (never checked by backtracking)


class _Trial(NamedTuple):
    step: float
    f: float
    g: np.ndarray
    slope: float  # phi'(step)
    x: np.ndarray


def _cubic_minimizer(a: _Trial, b: _Trial) -> float:
    """Minimiser of the cubic through (phi, phi') at two steps (N&W eq. 3.59); nan if none."""
    try:
        d1 = a.slope + b.slope - 3.0 * (a.f - b.f) / (a.step - b.step)
        discriminant = d1 * d1 - a.slope * b.slope
        if not discriminant >= 0.0:  # also catches nan
            return math.nan
        d2 = math.copysign(math.sqrt(discriminant), b.step - a.step)
        return b.step - (b.step - a.step) * (b.slope + d2 - d1) / (b.slope - a.slope + 2.0 * d2)
    except (ZeroDivisionError, OverflowError):
        return math.nan


def _quadratic_minimizer(a: _Trial, b: _Trial) -> float:
    """Minimiser of the parabola through phi(a), phi'(a) and phi(b); nan if none."""
    try:
        width = b.step - a.step
        curvature = (b.f - a.f - a.slope * width) / (width * width)
        if not curvature > 0.0:
            return math.nan
        return a.step - a.slope / (2.0 * curvature)
    except (ZeroDivisionError, OverflowError):
        return math.nan


def _interpolate(a: _Trial, b: _Trial, low: float, high: float) -> float:
    """Cubic, else quadratic minimiser clamped to [low, high]; the midpoint if both fail."""
    for candidate in (_cubic_minimizer(a, b), _quadratic_minimizer(a, b)):
        if math.isfinite(candidate):
            return min(max(candidate, low), high)
    return 0.5 * (low + high)


def strong_wolfe(
    fun: Callable,
    x0: np.ndarray,
    d: np.ndarray,
    f0: float,
    g0: np.ndarray,
    step: float = 1.0,
    c1: float = 1e-4,
    c2: float = 0.9,
    max_evals: int = 25,
) -> LineSearchResult:
    """A step satisfying the strong-Wolfe conditions, or the best sufficient-decrease step seen
    when `max_evals` runs out (then `strong_wolfe` is False; `armijo` False if there is none)."""
    slope0 = float(g0 @ d)
    if not slope0 < 0.0:
        raise ValueError("line search: d is not a descent direction (g . d >= 0)")
    evals = 0

    def trial(a: float) -> _Trial:
        nonlocal evals
        x = x0 + a * d
        f, g = fun(x)
        evals += 1
        g = np.asarray(g, dtype=np.float64)
        return _Trial(a, float(f), g, float(g @ d), x)

    def armijo(t: _Trial) -> bool:
        return t.f <= f0 + c1 * t.step * slope0  # False for nan / inf

    def curvature(t: _Trial) -> bool:
        return abs(t.slope) <= -c2 * slope0

    def done(t: _Trial, wolfe: bool) -> LineSearchResult:
        return LineSearchResult(t.step, t.x, t.f, t.g, evals, t.step > 0, wolfe)

    def zoom(lo: _Trial, hi: _Trial) -> LineSearchResult:
        # Invariant: lo has the lowest phi among sufficient-decrease trials, and the interval
        # between lo and hi holds a strong-Wolfe step (N&W Algorithm 3.6).
        while evals < max_evals:
            width = abs(hi.step - lo.step)
            if width <= 1e-12 * max(abs(hi.step), abs(lo.step)):
                break  # no representable progress left
            left, right = min(lo.step, hi.step), max(lo.step, hi.step)
            a = _interpolate(lo, hi, left + 0.1 * width, right - 0.1 * width)
            t = trial(a)
            if not armijo(t) or t.f >= lo.f:
                hi = t
            else:
                if curvature(t):
                    return done(t, True)
                if t.slope * (hi.step - lo.step) >= 0.0:
                    hi = lo
                lo = t
        return done(lo, False)

    previous = _Trial(0.0, float(f0), np.asarray(g0, dtype=np.float64), slope0, x0)
    while evals < max_evals:
        t = trial(step)
        if not armijo(t) or (previous.step > 0 and t.f >= previous.f):
            return zoom(previous, t)
        if curvature(t):
            return done(t, True)
        if t.slope >= 0.0:
            return zoom(t, previous)
        # Still descending: extrapolate, at least doubling-ish, at most 5x (More & Thuente).
        reach = t.step - previous.step
        step = _interpolate(previous, t, t.step + 1.1 * reach, t.step + 4.0 * reach)
        previous = t
    return done(previous, False)


def backtracking(
    fun: Callable,
    x0: np.ndarray,
    d: np.ndarray,
    f0: float,
    g0: np.ndarray,
    step: float = 1.0,
    c1: float = 1e-4,
    max_evals: int = 25,
) -> LineSearchResult:
    """The first of step, then shrinking steps (quadratic interpolation, safeguarded to
    [0.1, 0.5] of the last) with sufficient decrease; step 0 and `armijo` False if none."""
    slope0 = float(g0 @ d)
    if not slope0 < 0.0:
        raise ValueError("line search: d is not a descent direction (g . d >= 0)")
    for evals in range(1, max_evals + 1):
        x = x0 + step * d
        f, g = fun(x)
        f = float(f)
        if f <= f0 + c1 * step * slope0:
            return LineSearchResult(step, x, f, np.asarray(g, dtype=np.float64), evals, True, False)
        try:
            shrunk = -slope0 * step * step / (2.0 * (f - f0 - slope0 * step))
        except ZeroDivisionError:
            shrunk = math.nan
        step = min(max(shrunk, 0.1 * step), 0.5 * step) if math.isfinite(shrunk) else 0.5 * step
    return LineSearchResult(
        0.0, x0, float(f0), np.asarray(g0, dtype=np.float64), max_evals, False, False
    )
