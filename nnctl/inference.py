"""Use a trained model: rebuild it from a checkpoint, evaluate it, predict with it.

The stored scaling statistics and class labels are applied to new data, so a CSV with the
original columns and labels works as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl import checkpoint
from nnctl.errors import UsageError
from nnctl.metrics import task_metrics
from nnctl.rng import make_streams


@dataclass
class LoadedModel:
    model: object
    meta: dict
    path: Path

    @property
    def cfg(self) -> dict:
        return self.meta["config"]

    def scale(self, X: np.ndarray) -> np.ndarray:
        from nnctl.data import Standardizer

        if self.meta.get("scaler") is None:
            return X
        return Standardizer.from_dict(self.meta["scaler"]).transform(X)

    def check_features(self, X: np.ndarray, source: str) -> None:
        expected = self.meta["n_features"]
        if X.ndim != 2 or X.shape[1] != expected:
            found = X.shape[1] if X.ndim == 2 else X.shape
            raise UsageError(f"{source}: has {found} feature columns, the model at {self.path} "
                             f"was trained on {expected}"
                             + (f" ({', '.join(self.meta['feature_names'][:8])}...)"
                                if self.meta.get("feature_names") else ""))


def load_model(run_or_ckpt: str | Path, prefer: str = "best") -> LoadedModel:
    from nnctl.config import resolve
    from nnctl.prepare import model_from_config

    path = checkpoint.find_checkpoint(run_or_ckpt, prefer=prefer)
    arrays, meta = checkpoint.load(path)
    try:
        cfg = resolve(meta["config"], str(path))
    except UsageError as exc:
        raise UsageError(f"{path}: the saved config: {exc}") from None
    meta = {**meta, "config": cfg}
    _check_meta(path, meta)
    cfg = {**cfg, "model": {**cfg["model"], "init_from": None}}
    model = model_from_config(cfg, meta["n_features"], meta["n_outputs"], meta["task"],
                        make_streams(cfg["seed"]), np.dtype(meta["dtype"]).type, data_source=str(path))
    model.load_state_dict(arrays, path)
    return LoadedModel(model, meta, path)


def _check_meta(path: Path, meta: dict) -> None:
    """UsageError naming the entry when the checkpoint's meta cannot describe a model (a
    damaged or hand-edited file): everything eval and predict rely on is checked here."""
    from nnctl.data import TASKS, Standardizer

    def bad(key, expected):
        return UsageError(f"{path}: meta.{key}: expected {expected}, found {meta.get(key)!r:.60}")

    if meta["task"] not in TASKS:
        raise bad("task", f"one of {', '.join(TASKS)}")
    if meta["dtype"] not in ("float32", "float64"):
        raise bad("dtype", "float32 or float64")
    for key in ("n_features", "n_outputs"):
        if isinstance(meta[key], bool) or meta[key] < 1:
            raise bad(key, "a count >= 1")
    classes = meta.get("classes")
    if meta["task"] != "regression" and (not isinstance(classes, list) or len(classes) < 2 or not all(
            isinstance(c, (int, float, str)) and not isinstance(c, bool) for c in classes)):
        raise bad("classes", "a list of at least 2 class labels")
    if meta["task"] != "regression":
        if meta["n_outputs"] != len(classes) or (meta["task"] == "binary" and len(classes) != 2):
            raise bad("n_outputs", f"one per class for {meta['task']} classification with "
                                   f"{len(classes)} classes")
    names = meta.get("feature_names")
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise bad("feature_names", "a list of column names")
    if meta.get("scaler") is not None:
        scaler = Standardizer.from_dict(meta["scaler"], f"{path}: meta.scaler")
        if scaler.mean.shape != (meta["n_features"],):
            raise bad("scaler", f"statistics of {meta['n_features']} features")


def _eval_data(loaded: LoadedModel, data_spec: str | None, split: str, require_target: bool = True):
    """(X scaled, y, source) to evaluate on: the run's own split, or a file / built-in."""
    from nnctl.data import DATASETS, load_builtin, load_file
    from nnctl.prepare import prepare_data

    cfg, meta = loaded.cfg, loaded.meta
    if data_spec is None:
        # Relative data paths of the run are found where training found them (next to its config).
        base_dir = Path(meta["base_dir"]) if isinstance(meta.get("base_dir"), str) else None
        data = prepare_data(cfg, make_streams(cfg["seed"]), base_dir)
        parts = {"train": (data.X_train, data.y_train), "val": (data.X_val, data.y_val),
                 "all": (np.concatenate([data.X_train, data.X_val]),
                         np.concatenate([data.y_train, data.y_val]))}
        X, y = parts[split]
        if len(X) == 0:
            raise UsageError(f"--split {split}: the run has no {split} rows "
                             f"(data.val_fraction is {cfg['data']['val_fraction']}); use --split train")
        return X, y, f"{data.source} ({split} split)"
    if not Path(data_spec).exists() and data_spec in DATASETS:
        dataset = load_builtin(data_spec, {}, make_streams(cfg["seed"])["data"], task=meta["task"])
    else:
        dataset = load_file(data_spec, target=cfg["data"]["target"], classes=meta.get("classes"),
                            task=meta["task"], require_target=require_target)
    loaded.check_features(dataset.X, dataset.source)
    return loaded.scale(dataset.X), dataset.y, dataset.source


def evaluate(run_or_ckpt, data_spec: str | None = None, split: str = "val") -> dict:
    loaded = load_model(run_or_ckpt)
    X, y, source = _eval_data(loaded, data_spec, split)
    model, task = loaded.model, loaded.meta["task"]
    X = X.astype(model.dtype, copy=False)
    proba = model.predict_proba(X) if task != "regression" else None
    result = {"checkpoint": str(loaded.path), "data": source, "n": int(len(X)), "task": task,
              "loss": model.loss(X, y)}
    result.update(task_metrics(task, y, model.predict(X), proba, confusion=True))
    if loaded.meta.get("classes") is not None:
        result["classes"] = loaded.meta["classes"]
    return result


def predict_rows(run_or_ckpt, data_path: str, proba: bool = False):
    """(header, rows) of predictions with the original class labels."""
    loaded = load_model(run_or_ckpt)
    if proba and loaded.meta["task"] == "regression":
        raise UsageError(f"--proba: {loaded.path} is a regression model; it predicts values, "
                         "not class probabilities (drop --proba)")
    X, _, _ = _eval_data(loaded, data_path, "all", require_target=False)
    model, meta = loaded.model, loaded.meta
    X = X.astype(model.dtype, copy=False)
    if meta["task"] == "regression":
        values = np.asarray(model.predict(X), dtype=np.float64).reshape(len(X), -1)
        header = ["prediction"] if values.shape[1] == 1 else [f"prediction_{i}" for i in range(values.shape[1])]
        return header, [[repr(float(v)) for v in row] for row in values]
    classes = meta["classes"]
    codes = model.predict(X)
    labels = [classes[int(c)] for c in codes]
    if not proba:
        return ["prediction"], [[str(label)] for label in labels]
    probabilities = model.predict_proba(X)
    header = ["prediction"] + [f"proba_{c}" for c in classes]
    return header, [[str(label)] + [f"{p:.6g}" for p in row] for label, row in zip(labels, probabilities)]
