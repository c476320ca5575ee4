"""Use a trained model: rebuild it from a checkpoint, evaluate it, predict with it.

The stored scaling statistics and class labels are applied to new data, so a CSV with the
original columns and labels works as is.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.data.scaling import scale_target, unscale_target
from nnctl.data.table import ColumnTable
from nnctl.errors import UsageError
from nnctl.nn.metrics import task_metrics
from nnctl.runs import checkpoint as checkpoint_files
from nnctl.util.rng import make_streams


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

    @property
    def columns(self):
        """The stored column pipeline (CSV and bundled training data), else None."""
        from nnctl.data.columns import ColumnPipeline
        from nnctl.data.formats import CSV_SUFFIXES

        if self.meta.get("columns") is None:
            # A model trained on a CSV before pipelines were stored: numeric columns, by name.
            path = self.cfg["data"].get("path")
            names = self.meta.get("feature_names")
            if (
                names
                and isinstance(path, str)
                and self.cfg["data"]["format"] in ("auto", "csv")
                and path.lower().endswith(CSV_SUFFIXES)
            ):
                return ColumnPipeline.numeric(names)
            return None
        return ColumnPipeline.from_dict(self.meta["columns"], f"{self.path}: meta.columns")

    @property
    def target_scaler(self):
        from nnctl.data import Standardizer

        if self.meta.get("target_scaler") is None:
            return None
        return Standardizer.from_dict(
            self.meta["target_scaler"], f"{self.path}: meta.target_scaler"
        )

    def check_features(self, X: np.ndarray, source: str) -> None:
        expected = self.meta["n_features"]
        if X.ndim != 2 or X.shape[1] != expected:
            found = X.shape[1] if X.ndim == 2 else X.shape
            raise UsageError(
                f"{source}: has {found} feature columns, the model at {self.path} "
                f"was trained on {expected}"
                + (
                    f" ({', '.join(self.meta['feature_names'][:8])}...)"
                    if self.meta.get("feature_names")
                    else ""
                )
            )


# Which weights of a run folder to use: the ones training delivered (checkpoints/last.npz: the
# last epoch's, or the best epoch's with early_stopping.restore_best), the best epoch's by the
# validation monitor (best.npz), or the last saved state (last.npz, the same file as delivered).
CHECKPOINT_CHOICES = ("delivered", "best", "last")


def checkpoint_path(run_or_ckpt: str | Path, choice: str = "delivered") -> Path:
    """The .npz file `choice` names in a run folder; a .npz path is used as it is (with
    "delivered"). UsageError naming the folder when the file is not there."""
    if choice not in CHECKPOINT_CHOICES:
        raise UsageError(
            f"--checkpoint: expected one of {', '.join(CHECKPOINT_CHOICES)}, found {choice!r}"
        )
    path = Path(run_or_ckpt)
    if not path.is_dir():
        if choice != "delivered":
            raise UsageError(
                f"--checkpoint {choice}: picks a file of a run folder; {path} is not a folder "
                "(give the run folder, or the .npz without --checkpoint)"
            )
        return checkpoint_files.find_checkpoint(path)
    if choice == "delivered":
        return checkpoint_files.find_checkpoint(path, prefer="last")
    candidate = path / "checkpoints" / f"{choice}.npz"
    if not candidate.exists():
        raise UsageError(
            f"{path}: --checkpoint {choice}: expected checkpoints/{choice}.npz, found no such file"
        )
    return candidate


def load_model(run_or_ckpt: str | Path, checkpoint: str = "delivered") -> LoadedModel:
    """The model of a run folder's `checkpoint` (see CHECKPOINT_CHOICES) or of a .npz file."""
    path = checkpoint_path(run_or_ckpt, checkpoint)
    arrays, meta = checkpoint_files.load(path)
    if checkpoint == "delivered" and Path(run_or_ckpt).is_dir() and _delivered_best_npz(path, meta):
        path = path.with_name("best.npz")
        arrays, meta = checkpoint_files.load(path)
    return model_from_checkpoint(arrays, meta, path)


def model_from_checkpoint(arrays: dict, meta: dict, path: Path | str) -> LoadedModel:
    """The model a checkpoint's arrays and meta describe (read from a file, or held in memory
    by a fitted scikit-learn estimator); `path` names it in messages."""
    from nnctl.config import resolve
    from nnctl.training.prepare import model_from_config

    try:
        # Rebuilding the model needs none of the extras the run was trained with (tensorboard).
        cfg = resolve(meta["config"], str(path), check_extras=False)
    except UsageError as exc:
        raise UsageError(f"{path}: the saved config: {exc}") from None
    meta = {**meta, "config": cfg}
    _check_meta(path, meta)
    cfg = {**cfg, "model": {**cfg["model"], "init_from": None}}
    model = model_from_config(
        cfg,
        meta["n_features"],
        meta["n_outputs"],
        meta["task"],
        make_streams(cfg["seed"]),
        np.dtype(meta["dtype"]).type,
        data_source=str(path),
    )
    model.load_state_dict(arrays, path)
    return LoadedModel(model, meta, path)


def _delivered_best_npz(last: Path, meta: dict) -> bool:
    """True for a run folder written before last.npz held the delivered weights: a finished
    run with early_stopping.restore_best whose last.npz has no `delivered` entry delivered the
    weights of its best.npz (its summary.json's final scores are theirs)."""
    import json

    # The meta is not checked yet (a damaged one is refused later, with its own message).
    stopping = meta.get("config")
    for key in ("train", "early_stopping"):
        stopping = stopping.get(key) if isinstance(stopping, dict) else None
    if "delivered" in meta or not (isinstance(stopping, dict) and stopping.get("restore_best")):
        return False
    summary = last.parent.parent / "summary.json"
    best = last.with_name("best.npz")
    if last.name != "last.npz" or not summary.is_file() or not best.is_file():
        return False
    try:
        status = json.loads(summary.read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return False
    return status in ("completed", "early_stopped", "converged")


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
    if meta["task"] != "regression" and (
        not isinstance(classes, list)
        or len(classes) < 2
        or not all(isinstance(c, (int, float, str)) and not isinstance(c, bool) for c in classes)
    ):
        raise bad("classes", "a list of at least 2 class labels")
    if meta["task"] != "regression":
        if meta["n_outputs"] != len(classes) or (meta["task"] == "binary" and len(classes) != 2):
            raise bad(
                "n_outputs",
                f"one per class for {meta['task']} classification with {len(classes)} classes",
            )
    names = meta.get("feature_names")
    if names is not None and not (
        isinstance(names, list) and all(isinstance(n, str) for n in names)
    ):
        raise bad("feature_names", "a list of column names")
    if meta.get("scaler") is not None:
        scaler = Standardizer.from_dict(meta["scaler"], f"{path}: meta.scaler")
        if scaler.mean.shape != (meta["n_features"],):
            raise bad("scaler", f"statistics of {meta['n_features']} features")


def _eval_data(
    loaded: LoadedModel,
    data_spec: str | None,
    split: str,
    require_target: bool = True,
    data_format: str = "auto",
    keep=(),
):
    """(X scaled, y in the target's own units, source, dataset) to evaluate or predict on:
    the run's own split (dataset None), or a file / built-in bound to the model's columns."""
    from nnctl.data import DATASETS, load_builtin
    from nnctl.training.prepare import prepare_data

    cfg, meta = loaded.cfg, loaded.meta
    if data_spec is None:
        # Relative data paths of the run are found where training found them (next to its config).
        base_dir = Path(meta["base_dir"]) if isinstance(meta.get("base_dir"), str) else None
        recorded = _recorded_split(loaded.path)
        data = prepare_data(cfg, make_streams(cfg["seed"]), base_dir, recorded)
        parts = {
            "train": (data.X_train, data.y_train),
            "val": (data.X_val, data.y_val),
            "all": (
                np.concatenate([data.X_train, data.X_val]),
                np.concatenate([data.y_train, data.y_val]),
            ),
        }
        X, y = parts[split]
        if len(X) == 0:
            raise UsageError(
                f"--split {split}: the run has no {split} rows "
                f"(data.val_fraction is {cfg['data']['val_fraction']}); use --split train"
            )
        return X, unscale_target(loaded.target_scaler, y), f"{data.source} ({split} split)", None
    if data_spec != "-" and not Path(data_spec).exists() and data_spec in DATASETS:
        if keep:
            raise UsageError(f"--keep: copies columns of a data file; {data_spec} is built in")
        dataset = load_builtin(data_spec, {}, make_streams(cfg["seed"])["data"], task=meta["task"])
        dataset = _bound_builtin(loaded, dataset)
    else:
        dataset = _load_bound_file(loaded, data_spec, require_target, data_format, keep)
    loaded.check_features(dataset.X, dataset.source)
    return loaded.scale(dataset.X), dataset.y, dataset.source, dataset


def _recorded_split(checkpoint: Path):
    """The split.npz rows of the run folder a checkpoint belongs to (the rows training used,
    read rather than drawn again), or None: a lone .npz or a folder from before split.npz."""
    from nnctl.runs.run_folder import read_split

    if checkpoint.parent.name != "checkpoints":
        return None
    return read_split(checkpoint.parent.parent)


def _bound_builtin(loaded: LoadedModel, dataset):
    """A bundled dataset's columns picked by the model's names (they are CSV files too)."""
    columns = loaded.columns
    if columns is None or dataset.table is None:
        return dataset
    dataset.X = columns.transform(dataset.table, f"the model at {loaded.path}")
    return dataset


def _tables() -> str:
    """The formats of named columns ('csv or parquet'), which --keep can copy from."""
    from nnctl.data.format_registry import all_formats, format_listing

    return format_listing([f for f in all_formats() if f.columns])


def _load_bound_file(
    loaded: LoadedModel, data_spec: str, require_target: bool, data_format: str, keep
):
    """A data file for this model: a CSV's columns are found by header name (any order, extra
    columns ignored) and go through the stored column pipeline; other formats by position."""
    from nnctl.data import load_file
    from nnctl.data.format_registry import format_choices

    if data_format not in format_choices():
        raise UsageError(
            f"--format: expected one of {', '.join(format_choices())}, found {data_format!r}"
        )
    cfg, meta = loaded.cfg, loaded.meta
    settings = {k: cfg["data"][k] for k in ("na_values", "delimiter")}
    dataset = load_file(
        data_spec,
        target=cfg["data"]["target"],
        classes=meta.get("classes"),
        task=meta["task"],
        require_target=require_target,
        format=data_format,
        columns=settings,
        pipeline=loaded.columns,
        fit_columns=loaded.columns is None,
        keep=keep,
    )
    missing_keep = [k for k in keep if dataset.table is None or k not in dataset.table.raw_text]
    if missing_keep:
        raise UsageError(
            f"{dataset.source}: --keep {missing_keep[0]}: no such column"
            + ("" if dataset.table is not None else f" (--keep applies to {_tables()} input)")
        )
    return dataset


def evaluate(
    run_or_ckpt,
    data_spec: str | None = None,
    split: str = "val",
    data_format: str = "auto",
    checkpoint: str = "delivered",
) -> dict:
    """Loss and metrics of a run's model (`checkpoint`: which weights, see CHECKPOINT_CHOICES)
    on its own `split` or on other data."""
    loaded = load_model(run_or_ckpt, checkpoint)
    X, y, source, _ = _eval_data(loaded, data_spec, split, data_format=data_format)
    return scores(loaded, X, y, source)


def scores(loaded: LoadedModel, X: np.ndarray, y: np.ndarray, source: str) -> dict:
    """`nnctl eval`'s result for scaled features X and targets y (class codes, or values in the
    target's own units)."""
    model, task = loaded.model, loaded.meta["task"]
    X = X.astype(model.dtype, copy=False)
    proba = model.predict_proba(X) if task != "regression" else None
    result = {
        "checkpoint": str(loaded.path),
        "data": source,
        "n": int(len(X)),
        "task": task,
        "loss": model.loss(X, scale_target(loaded.target_scaler, y)),
    }
    if loaded.target_scaler is not None:
        result["loss_units"] = "standardized target"  # the metrics below are in its own units
    prediction = unscale_target(loaded.target_scaler, model.predict(X))
    result.update(task_metrics(task, y, prediction, proba, confusion=True))
    if loaded.meta.get("classes") is not None:
        result["classes"] = loaded.meta["classes"]
    return result


def predict_rows(
    run_or_ckpt,
    data_path: str,
    proba: bool = False,
    data_format: str = "auto",
    keep=(),
    checkpoint: str = "delivered",
):
    """(header, rows) of predictions with the original class labels (regression: in the
    target's own units); `keep` columns copied first. A row with a missing cell that the model
    does not impute (data.missing: drop_rows) gets empty prediction cells. `checkpoint`: which
    weights of a run folder (see CHECKPOINT_CHOICES)."""
    loaded = load_model(run_or_ckpt, checkpoint)
    if proba and loaded.meta["task"] == "regression":
        raise UsageError(
            f"--proba: {loaded.path} is a regression model; it predicts values, "
            "not class probabilities (drop --proba)"
        )
    X, _, _, dataset = _eval_data(
        loaded, data_path, "all", require_target=False, data_format=data_format, keep=keep
    )
    model, meta = loaded.model, loaded.meta
    complete = ~np.isnan(X).any(axis=1)
    if not complete.all():
        warnings.warn(
            f"{dataset.source}: {int((~complete).sum())} rows have a missing cell the "
            "model does not impute (data.missing: drop_rows); their predictions are "
            "empty",
            stacklevel=2,
        )
    X = X[complete].astype(model.dtype, copy=False)
    kept = [dataset.table.raw_text[k].tolist() for k in keep]
    if meta["task"] == "regression":
        values = unscale_target(loaded.target_scaler, model.predict(X)).reshape(len(X), -1)
        header = (
            ["prediction"]
            if values.shape[1] == 1
            else [f"prediction_{i}" for i in range(values.shape[1])]
        )
        rows = [[repr(float(v)) for v in row] for row in values]
    else:
        classes = meta["classes"]
        labels = [str(classes[int(c)]) for c in model.predict(X)]
        header, rows = ["prediction"], [[label] for label in labels]
        if proba:
            header += [f"proba_{c}" for c in classes]
            rows = [row + [f"{p:.6g}" for p in ps] for row, ps in zip(rows, model.predict_proba(X))]
    filled = iter(rows)
    empty = [""] * len(header)
    rows = [next(filled) if ok else empty for ok in complete]
    return list(keep) + header, [[col[i] for col in kept] + row for i, row in enumerate(rows)]


# ---------------------------------------------------------------------------------------------
# In-memory inputs (the Python API): the same binding as a file's, from arrays and columns.


def table_of_columns(columns: dict, source: str) -> InMemoryTable:
    """A ColumnTable of in-memory columns (name -> 1-D values), read as a CSV's cells would be:
    numbers as float64 (None/NaN missing), any other column as text cells converted by the CSV
    reader's rule (the data section's missing-value spellings; numbers in text written one way),
    so the stored column pipeline binds them exactly as it binds `nnctl predict`'s file."""
    from nnctl.data.table import DEFAULT_NA_VALUES, convert_cells

    names, values, n_rows = [], [], None
    for name, column in columns.items():
        array = np.asarray(column)
        if array.ndim != 1:
            raise UsageError(
                f"{source}: column {name!r}: expected one value per row (1-D), found shape "
                f"{array.shape}"
            )
        if n_rows is None:
            n_rows = len(array)
        elif len(array) != n_rows:
            raise UsageError(
                f"{source}: column {name!r} has {len(array)} rows, the first column {n_rows}"
            )
        if array.dtype.kind in "fiu":
            values.append(array.astype(np.float64))
        else:
            cells = np.array(["" if _is_absent(v) else str(v) for v in array.tolist()], dtype=str)
            values.append(convert_cells(cells, frozenset(DEFAULT_NA_VALUES)))
        names.append(str(name))
    if n_rows is None:
        raise UsageError(f"{source}: no columns")
    return InMemoryTable(names, values, np.arange(n_rows, dtype=np.int64), source)


class InMemoryTable(ColumnTable):
    """Columns given in memory: messages name rows by their index (from 0), not a file line."""

    def locate(self, row: int) -> str:
        return f"row {int(self.lines[row])}"


def _is_absent(value) -> bool:
    """None, NaN, or pandas' NA (recognised by its type's name: pandas is not imported)."""
    return (
        value is None
        or (isinstance(value, float) and np.isnan(value))
        or type(value).__name__ in ("NAType", "NaTType")
    )


def features_of(loaded: LoadedModel, X, source: str) -> np.ndarray:
    """Scaled model inputs of X: a ColumnTable is bound by column name through the stored
    pipeline (as predict binds a CSV's header); a 2-D array holds the columns in training
    order (the model's input columns; one-hot ones encoded when the data had categories)."""
    pipeline = loaded.columns
    if isinstance(X, ColumnTable):
        if pipeline is None:
            raise UsageError(
                f"{source}: the model at {loaded.path} was trained on unnamed feature columns; "
                f"pass a 2-D array of its {loaded.meta['n_features']} columns"
            )
        X = pipeline.transform(X, f"the model at {loaded.path}")
    else:
        X = np.asarray(X)
        if X.ndim == 1:
            raise UsageError(
                f"{source}: expected a 2-D array [rows, {loaded.meta['n_features']} columns], "
                f"found a 1-D array of {len(X)} values (one row: X.reshape(1, -1))"
            )
        if X.dtype.kind not in "fiub":
            raise UsageError(f"{source}: expected numbers, found an array of {X.dtype}")
        X = X.astype(np.float64)
        raw_width = len(pipeline.input_names) if pipeline is not None else None
        if (
            pipeline is not None
            and X.ndim == 2
            and X.shape[1] == raw_width
            and pipeline.output_names == pipeline.input_names
        ):
            # Numeric columns only: the array's columns are the named ones, in training order,
            # and go through the pipeline (missing-value filling) as a file's would.
            table = table_of_columns(dict(zip(pipeline.input_names, X.T)), source)
            X = pipeline.transform(table, f"the model at {loaded.path}")
    loaded.check_features(X, source)
    return loaded.scale(X)


def predict_arrays(loaded: LoadedModel, X: np.ndarray, source: str):
    """(predictions, probabilities or None) for scaled features X: class labels as the model
    stored them (regression: values in the target's units). Rows with a missing cell the model
    does not impute get no prediction (None, NaN), with a warning, as in predict_rows."""
    model, meta = loaded.model, loaded.meta
    complete = ~np.isnan(X).any(axis=1)
    if not complete.all():
        warnings.warn(
            f"{source}: {int((~complete).sum())} rows have a missing cell the model does "
            "not impute (data.missing: drop_rows); their predictions are empty",
            stacklevel=2,
        )
    rows = X[complete].astype(model.dtype, copy=False)
    if meta["task"] == "regression":
        values = unscale_target(loaded.target_scaler, model.predict(rows))
        out = np.full((len(X), *values.shape[1:]), np.nan)
        out[complete] = values
        return out, None
    classes = meta["classes"]
    codes = model.predict(rows)
    labels = np.asarray(classes)[np.asarray(codes, dtype=np.int64)]
    if complete.all():
        predictions = labels
    else:
        predictions = np.full(len(X), None, dtype=object)
        predictions[complete] = labels
    proba = np.full((len(X), len(classes)), np.nan)
    proba[complete] = model.predict_proba(rows)
    return predictions, proba


def targets_of(loaded: LoadedModel, y, source: str) -> np.ndarray:
    """y as scores() wants it: class codes (labels mapped onto the model's classes, an unknown
    label is a UsageError naming its row) or float values in the target's units."""
    from nnctl.data.dataset import encode_labels

    y = np.asarray(y)
    if loaded.meta["task"] == "regression":
        if y.dtype.kind not in "fiub":
            raise UsageError(f"{source}: expected numeric targets, found an array of {y.dtype}")
        return y.astype(np.float64)
    if y.ndim != 1:
        raise UsageError(f"{source}: expected one class label per row, found shape {y.shape}")
    codes, _ = encode_labels(y, loaded.meta["classes"], at=lambda i: f"{source}[{i}]")
    return codes
