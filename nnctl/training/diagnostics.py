"""Checks that run no training: config validation against its data, gradient checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.errors import UsageError, shown
from nnctl.util.rng import make_streams


def check_config(cfg: dict, base_dir: Path | None = None) -> str:
    """Load the data and build the model and optimizer, as `train` would (the same checks, sizes
    included); a short fact line."""
    from nnctl.training.build import prepare_run

    prepared = prepare_run(cfg, base_dir)
    data, model = prepared.data, prepared.model
    return (
        f"{data.task}, {len(data.X_train)} train / {len(data.X_val)} val rows, "
        f"{data.X_train.shape[1]} features, {model.n_params} parameters"
    )


def run_gradcheck(
    cfg: dict, samples: int, base_dir: Path | None = None, tolerance: float = 1e-6
) -> dict:
    """Max relative error per parameter block, in float64, on the first `samples` training rows."""
    from nnctl.nn import gradcheck
    from nnctl.training.prepare import model_for_data, prepare_data

    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise UsageError(
            f"--samples: expected an integer >= 1 (training rows to check on), found {shown(samples)}"
        )
    streams = make_streams(cfg["seed"])
    data = prepare_data(cfg, streams, base_dir)
    model = model_for_data(cfg, data, streams, np.float64)
    n = min(samples, len(data.X_train))  # samples >= 1 is checked above
    errors = gradcheck(model, data.X_train[:n], data.y_train[:n])
    worst = max(errors.values()) if errors else 0.0
    return {
        "blocks": errors,
        "max_relative_error": worst,
        "tolerance": tolerance,
        "passed": bool(worst < tolerance),
        "samples": n,
    }


def dataset_listing() -> list[dict]:
    from nnctl.data import DATASETS

    rows = []
    for entry in DATASETS.entries():
        rows.append(
            {
                "name": entry.name,
                **entry.info,
                "description": entry.doc,
                "params": {h.name: h.default for h in entry.hypers},
            }
        )
    return rows
