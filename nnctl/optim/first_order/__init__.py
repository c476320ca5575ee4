"""Mini-batch update rules, one module each, all following torch.optim exactly.

Importing this package registers sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam and
adamw in `OPTIMIZERS` (family "first_order"). `rule.py` holds what they share.
"""

from __future__ import annotations

from nnctl.optim.base import OPTIMIZERS, is_full_batch

# Registration order is this import order (it is the order `nnctl` lists them in), so the
# sorter must leave it alone.
# isort: off
from nnctl.optim.first_order import sgd  # noqa: F401  (sgd, momentum, nesterov)
from nnctl.optim.first_order import adagrad, rmsprop, adadelta, adam  # noqa: F401

# isort: on
from nnctl.optim.first_order.rule import FirstOrderRule


def first_order_names() -> list[str]:
    """Names of the registered first-order optimizers, in registration order."""
    return [e.name for e in OPTIMIZERS.entries() if not is_full_batch(e)]


__all__ = ["FirstOrderRule", "first_order_names"]
