"""Check a model's analytic gradient against central finite differences.

For each parameter block (linear0.weight, linear0.bias, batchnorm0.gamma, ...) up to
`max_checks_per_block` entries (all of them for small blocks, a seeded sample otherwise) are
perturbed one at a time:
    numeric_i = (f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps)
where f is the training objective (mean loss + L2 penalty) in train mode with the dropout masks
frozen and the batch-norm running statistics untouched, computed in float64 (a float32 model is
checked through a float64 copy). Each block reports the largest relative error
    |analytic_i - numeric_i| / max(|analytic_i| + |numeric_i|, floor)
(`floor` = 1e-8 keeps entries whose true gradient is ~0 from dividing by ~0). Below ~1e-6 is a
correct gradient; the rounding error of the differences is about 1e-16 |f| / eps.
"""

from __future__ import annotations

import numpy as np

from nnctl.nn.layers import Dropout


def gradcheck(
    model,
    X,
    y,
    eps: float = 1e-6,
    max_checks_per_block: int = 30,
    seed: int = 0,
    floor: float = 1e-8,
) -> dict[str, float]:
    """{block name: max relative error}; the model's parameters are left as they were."""
    if model.dtype != np.float64:
        model = model.astype(np.float64)
    X = model._inputs(X)
    y = model._targets(y, X.shape[0])
    rng = np.random.default_rng(seed)
    dropouts = [layer for layer in model.layers if isinstance(layer, Dropout)]
    # Private masks: a gradient check never draws from the training run's dropout stream.
    saved = [(d.rng, d._keep) for d in dropouts]
    for d in dropouts:
        d.rng, d._keep = np.random.default_rng(seed), None
    theta = model.theta
    original = theta.copy()
    errors: dict[str, float] = {}
    try:
        with model.frozen():
            model._loss_and_grad(X, y)  # draws the masks that stay frozen below
            analytic = model.grad.copy()

            def objective() -> float:
                return model.loss_fn.value(model._forward(X, True), y) + model.penalty()

            for name, block in model.parameter_slices().items():
                indices = np.arange(block.start, block.stop)
                if len(indices) > max_checks_per_block:
                    indices = np.sort(rng.choice(indices, max_checks_per_block, replace=False))
                worst = 0.0
                for i in indices:
                    theta[i] = original[i] + eps
                    f_plus = objective()
                    theta[i] = original[i] - eps
                    f_minus = objective()
                    theta[i] = original[i]
                    numeric = (f_plus - f_minus) / (2.0 * eps)
                    a = analytic[i]
                    worst = max(worst, abs(a - numeric) / max(abs(a) + abs(numeric), floor))
                errors[name] = float(worst)
    finally:
        theta[:] = original
        for d, (rng_, keep) in zip(dropouts, saved):
            d.rng, d._keep = rng_, keep
    return errors
