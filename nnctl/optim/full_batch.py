"""The full-batch methods: importing this module registers them in OPTIMIZERS
(family "full_batch").

    exact   closed-form least squares (linreg only)           exact.py, closed_form.py
    gd      gradient descent, fixed rate or Armijo             gd.py
    newton  Newton-Raphson, dense Cholesky or Hessian-free    newton.py, cholesky.py
    cg      nonlinear conjugate gradients (PR+ / FR)           cg.py
    bfgs    BFGS, dense inverse-Hessian estimate               bfgs.py, quasi_newton.py
    lbfgs   limited-memory BFGS                                lbfgs.py, quasi_newton.py

Shared: the stopping rules, evaluation cache and state (minimizer.py, state.py), the
quasi-Newton iteration (quasi_newton.py) and the Armijo and strong-Wolfe line searches
(line_search.py).
"""

from __future__ import annotations

from nnctl.optim import bfgs, cg, exact, gd, lbfgs, newton  # noqa: F401  (registration)
