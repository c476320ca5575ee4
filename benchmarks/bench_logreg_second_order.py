"""Binary logistic regression, 200,000 x 100 synthetic, L2 = 1/(C n) with C = 1: time to the
optimum by nnctl's `lbfgs` and `newton` beside scikit-learn's `lbfgs` and `newton-cholesky`.

The objective is the one `nnctl train` minimises, mean log-loss + 0.5 l2 ||w||^2 (bias
unpenalised), which is scikit-learn's LogisticRegression(C=1) divided by n. The reference
optimum f* is the lowest objective any of the four solvers reaches when run tightly. "Time to
the optimum" is the wall time until a solver's iterate is within `--rtol` (1e-8) of f*
(relative):

* nnctl: what `nnctl train` runs minus data loading and run-folder writes: build the model, its
  full-batch objective, the optimizer (stopping rules off), the initial finite-objective check,
  then iterations until the loss is within the target.
* scikit-learn: a fit with the smallest `max_iter` whose result is within the target (found by
  search first, then timed), `tol` tiny so that only `max_iter` stops it.

Each time is the best of `--repeats` rounds that interleave the solvers (after a warm-up
round); all numbers come from this run, so the ratios are what to compare (absolute seconds
depend on the machine). Both libraries run on the installed OpenBLAS builds with the same thread
count (printed).

    python benchmarks/bench_logreg_second_order.py [--repeats 5] [--samples 200000]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

C = 1.0
N_FEATURES = 100


def synthetic(n: int, d: int, seed: int = 0):
    """X ~ N(0, I) with a few correlated columns, y ~ Bernoulli(sigmoid(X w + b))."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, d // 2 :] += 0.5 * X[:, : d - d // 2]  # some correlation: a less trivial Hessian
    w = rng.standard_normal(d) * (2.0 / np.sqrt(d))
    z = X @ w + 0.5
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-z))).astype(np.int64)
    return X, y


def objective(coef: np.ndarray, intercept: float, X, y, l2: float) -> float:
    """mean(log(1 + e^z) - y z) + 0.5 l2 ||w||^2, z = X w + b (the benchmark's own formula)."""
    z = X @ coef + intercept
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * coef @ coef)


# -- nnctl ------------------------------------------------------------------------------------
def nnctl_run(name: str, X, y, l2: float, target: float | None, max_iter: int = 500):
    """(seconds, iterations, final objective): until the loss <= target (None: to convergence
    by the default-free tight rules)."""
    from nnctl.nn import build_model
    from nnctl.optim import OPTIMIZERS

    start = time.perf_counter()
    model = build_model(
        "logreg",
        X.shape[1],
        2,
        "binary",
        l2=l2,
        init="zeros",
        dtype=np.float64,
        init_rng=np.random.default_rng(0),
    )
    objective_fn = model.objective(X, y)
    tight = {"tolerance_grad": 0.0 if target is not None else 1e-12, "tolerance_change": 0.0}
    hypers = OPTIMIZERS.resolve(name, tight, "optimizer")
    optimizer = OPTIMIZERS.get(name).build(model.n_params, np.float64, **hypers)
    x = model.theta.astype(np.float64, copy=True)
    if not np.isfinite(objective_fn.value(x)):  # the trainer's initial check
        raise RuntimeError("non-finite initial objective")
    loss, iterations = float("inf"), 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 (read after the loop)
        info = optimizer.step(x, objective_fn)
        model.theta[...] = x
        loss = info.loss
        if (target is not None and loss <= target) or info.stop_reason:
            break
    return time.perf_counter() - start, iterations, loss


# -- scikit-learn ----------------------------------------------------------------------------
def sklearn_fit(solver: str, X, y, max_iter: int, tol: float = 1e-14):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf = LogisticRegression(C=C, solver=solver, tol=tol, max_iter=max_iter).fit(X, y)
        return time.perf_counter() - start, clf


def sklearn_loss(clf, X, y, l2) -> float:
    return objective(clf.coef_.ravel(), float(clf.intercept_[0]), X, y, l2)


def sklearn_fewest_iterations(
    solver: str, X, y, l2: float, target: float, limit: int = 1000
) -> int:
    """The smallest max_iter whose fit reaches the target (the loss falls with max_iter)."""
    low, high = 0, 1
    while sklearn_loss(sklearn_fit(solver, X, y, high)[1], X, y, l2) > target:
        low, high = high, 2 * high
        if high > limit:
            raise RuntimeError(f"scikit-learn {solver}: target not reached in {limit} iterations")
    while high - low > 1:  # invariant: low misses the target, high reaches it
        middle = (low + high) // 2
        if sklearn_loss(sklearn_fit(solver, X, y, middle)[1], X, y, l2) <= target:
            high = middle
        else:
            low = middle
    return high


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return ", ".join(
        f"{i['internal_api']} {i.get('architecture')} x{i['num_threads']}"
        for i in threadpool_info()
        if i["user_api"] == "blas"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rtol", type=float, default=1e-8)
    args = parser.parse_args()

    X, y = synthetic(args.samples, N_FEATURES)
    l2 = 1.0 / (C * args.samples)
    try:
        import sklearn  # noqa: F401

        have_sklearn = True
    except ImportError:
        have_sklearn = False

    # The reference optimum: every solver run tightly, the lowest objective wins.
    finals = {f"nnctl {name}": nnctl_run(name, X, y, l2, None)[2] for name in ("newton", "lbfgs")}
    if have_sklearn:
        for solver in ("newton-cholesky", "lbfgs"):
            finals[f"sklearn {solver}"] = sklearn_loss(
                sklearn_fit(solver, X, y, 10_000)[1], X, y, l2
            )
    f_star = min(finals.values())
    target = f_star * (1.0 + args.rtol)

    runs = {
        f"nnctl {name}": (lambda name=name: nnctl_run(name, X, y, l2, target))
        for name in ("lbfgs", "newton")
    }
    if have_sklearn:
        for solver in ("lbfgs", "newton-cholesky"):
            k = sklearn_fewest_iterations(solver, X, y, l2, target)

            def fit(solver=solver, k=k):
                seconds, clf = sklearn_fit(solver, X, y, k)
                return seconds, int(clf.n_iter_[0]), sklearn_loss(clf, X, y, l2)

            runs[f"sklearn {solver}"] = fit
    # Rounds interleave the solvers, so a busy spell of the machine hits them alike.
    results = {name: [run()] for name, run in runs.items()}  # warm-up round, not counted
    for _ in range(args.repeats):
        for name, run in runs.items():
            results[name].append(run())
    times = {name: min(rounds[1:], key=lambda r: r[0]) for name, rounds in results.items()}

    print(
        f"logistic regression {args.samples} x {N_FEATURES}, l2 = 1/(C n), C = {C:g}; "
        f"target: within {args.rtol:g} of f* = {f_star:.15g}; best of {args.repeats}; "
        f"{os.cpu_count()} cores; BLAS: {blas_threads()}"
    )
    for name, (seconds, iterations, loss) in times.items():
        print(
            f"  {name:<24} {seconds:7.3f} s  {iterations:4d} iterations  "
            f"(f - f*)/f* = {(loss - f_star) / f_star:+.1e}"
        )
    if have_sklearn:
        for ours, theirs in (
            ("nnctl lbfgs", "sklearn lbfgs"),
            ("nnctl newton", "sklearn newton-cholesky"),
        ):
            print(f"  {ours} / {theirs} = {times[ours][0] / times[theirs][0]:.2f}x")
    else:
        print("  scikit-learn not installed: no comparison")


if __name__ == "__main__":
    main()
