"""`train.threads: auto` resolved from a built run: its data's rows and its model's shapes."""

from __future__ import annotations


def step_product(state) -> int:
    """Multiply-adds of the largest matrix product of one training step of `state`.

    Mini-batch: the batch (at most the training rows) through each weight matrix. Full-batch:
    every training row through it; Newton also assembles a dense Hessian (rows x params x
    params at most) and BFGS multiplies by a dense params x params estimate."""
    from nnctl.util.threads import largest_product

    n_train = len(state.data.X_train)
    rows = n_train if state.full_batch else min(state.cfg["train"]["batch_size"], n_train)
    shapes = [w.shape for w in state.model.named_parameters().values() if w.ndim == 2]
    product = largest_product(rows, shapes)
    n_params = state.model.n_params
    if state.optimizer_name == "newton":
        product = max(product, n_train * n_params * n_params)
    elif state.optimizer_name == "bfgs":
        product = max(product, n_params * n_params)
    return product


def resolve_run_threads(state) -> int:
    """The run's BLAS threads: the config's number, or `auto` from step_product (the same
    config and data always give the same count: the machine's load plays no part)."""
    from nnctl.util.threads import AUTO, threads_for_product

    value = state.cfg["train"]["threads"]
    return threads_for_product(step_product(state)) if value == AUTO else value
