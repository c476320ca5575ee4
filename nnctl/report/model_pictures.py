"""What a trained model learned, as numbers a picture is drawn from (report/model_plots.py).

    boundary_data([(label, run_dir), ...])  2-D inputs: each model's predicted class on one grid
        over the training points (in the data's own units, before scaling), the points, classes.
    weights_data(run_dir)                   image inputs (8x8 digits, IDX files): the first
        layer's weights, one image per unit (a hidden unit, or a class for softmax).

Both raise UsageError naming the run when its inputs are not of that kind.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nnctl.errors import UsageError

GRID = 150  # points per side of the boundary grid


def _own_data(loaded):
    """The run's training rows (in the data's units) and labels, as training saw them."""
    from nnctl.training.prepare import prepare_data
    from nnctl.util.rng import make_streams

    cfg, meta = loaded.cfg, loaded.meta
    base_dir = Path(meta["base_dir"]) if isinstance(meta.get("base_dir"), str) else None
    data = prepare_data(cfg, make_streams(cfg["seed"]), base_dir)
    X = data.X_train if data.scaler is None else data.scaler.inverse_transform(data.X_train)
    return X, data.y_train


def boundary_data(runs: list[tuple[str, Path]], grid: int = GRID) -> dict:
    """{"x": [...], "y": [...], "classes", "feature_names", "points": {x, y, label},
    "panels": [{"label", "run", "predicted": [[class code per grid cell]] (rows: y)}]}.
    The grid covers every model's training points (plus a margin), shared by the panels."""
    from nnctl.training.inference import load_model

    models = []
    for label, run_dir in runs:
        loaded = load_model(run_dir)
        meta = loaded.meta
        if meta["n_features"] != 2 or meta["task"] == "regression":
            raise UsageError(
                f"{run_dir}: --boundary needs a classifier of 2 input features; this "
                f"model has {meta['n_features']} features ({meta['task']})"
            )
        models.append((label, Path(run_dir), loaded))
    X, y = _own_data(models[0][2])
    lo, hi = X.min(axis=0), X.max(axis=0)
    margin = 0.1 * np.maximum(hi - lo, 1e-9)
    xs = np.linspace(lo[0] - margin[0], hi[0] + margin[0], grid)
    ys = np.linspace(lo[1] - margin[1], hi[1] + margin[1], grid)
    XX, YY = np.meshgrid(xs, ys)
    cells = np.column_stack([XX.ravel(), YY.ravel()])
    panels = []
    for label, run_dir, loaded in models:
        model = loaded.model
        predicted = model.predict(loaded.scale(cells).astype(model.dtype, copy=False))
        panels.append(
            {
                "label": label,
                "run": str(run_dir),
                "predicted": predicted.reshape(grid, grid).astype(int).tolist(),
            }
        )
    meta = models[0][2].meta
    return {
        "x": xs.tolist(),
        "y": ys.tolist(),
        "classes": meta["classes"],
        "feature_names": meta.get("feature_names") or ["x0", "x1"],
        "points": {
            "x": X[:, 0].tolist(),
            "y": X[:, 1].tolist(),
            "label": np.asarray(y).astype(int).tolist(),
        },
        "panels": panels,
    }


def image_side(loaded) -> int | None:
    """Side of the square images the inputs are (digits, IDX data), else None."""
    cfg, n = loaded.cfg, loaded.meta["n_features"]
    side = math.isqrt(n)
    if side * side != n or side < 4:
        return None
    data = cfg["data"]
    if data["name"] is not None:
        from nnctl.data import DATASETS

        return side if DATASETS.get(data["name"]).info.get("image_side") == side else None
    name = Path(data["path"] or "").name.lower()
    if data["path"] and (
        data["format"] == "idx"
        or (data["format"] == "auto" and ("idx" in name or "-ubyte" in name))
    ):  # the names nnctl.data.formats reads as IDX
        return side
    return None


def weights_data(run_dir: Path) -> dict:
    """{"side", "unit": "hidden unit" | "class", "images": [side x side per unit], "run"}."""
    from nnctl.training.inference import load_model

    loaded = load_model(run_dir)
    side = image_side(loaded)
    if side is None:
        raise UsageError(
            f"{run_dir}: --weights needs image inputs (digits, IDX files); this "
            f"model has {loaded.meta['n_features']} features from "
            f"{loaded.meta['config']['data']['name'] or loaded.meta['config']['data']['path']}"
        )
    parameters = loaded.model.named_parameters()
    W = np.asarray(parameters["linear0.weight"], dtype=float)  # [in, out]
    # The first Linear is the head (one column per class) unless another Linear follows it.
    hidden = "linear1.weight" in parameters
    return {
        "run": str(run_dir),
        "side": side,
        "unit": "hidden unit" if hidden else "class",
        "classes": loaded.meta.get("classes"),
        "images": [W[:, j].reshape(side, side).tolist() for j in range(W.shape[1])],
    }
