"""From a resolved config to ready inputs: the data (loaded, split, scaled) and the model.

Shared by `train`, `eval`, `predict`, `gradcheck` and `compare-optimizers`, so every command
derives the split and the scaling the same way from the same seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.errors import UsageError

# Also re-exported: callers import absolute_paths and LOSS_UNITS_SCALED from here.
from nnctl.training.data_files import absolute_paths, locate_files  # noqa: F401
from nnctl.training.prepared_data import LOSS_UNITS_SCALED, PreparedData  # noqa: F401


def load_dataset(
    data_cfg: dict,
    streams,
    *,
    which: str = "path",
    classes=None,
    require_target: bool = True,
    base_dir: Path | None = None,
    pipeline=None,
    fit_columns: bool = True,
):
    """The Dataset a data section names: a built-in (generated from the 'data' stream) or a file.

    which: "path" for the main data, "val_path" for the separate validation file.
    """
    from nnctl.data import load_builtin, load_file

    if which == "path" and data_cfg["name"] is not None:
        return load_builtin(
            data_cfg["name"], data_cfg["params"] or {}, streams["data"], task=data_cfg["task"]
        )
    path, labels = locate_files(data_cfg, which, base_dir)
    return load_file(
        path,
        target=data_cfg["target"],
        labels_path=labels,
        format=data_cfg["format"],
        task=data_cfg["task"],
        classes=classes,
        require_target=require_target,
        columns=data_cfg,
        pipeline=pipeline,
        fit_columns=fit_columns,
    )


def prepare_data(
    cfg: dict, streams, base_dir: Path | None = None, recorded_split=None
) -> PreparedData:
    """The config's data, split, scaled. recorded_split: (train_rows, val_rows) of a run's
    split.npz, used instead of drawing the split from the seed (nnctl.training.prepare_split).

    One path for every source: rows in memory (a loaded file or a built-in dataset) and
    memory-mapped rows (.npy, shards: nnctl.data.row_source) are split, checked and scaled by
    the same steps."""
    from nnctl.data import Standardizer
    from nnctl.data.columns import fit_on_rows
    from nnctl.data.ondisk import is_on_disk
    from nnctl.data.row_source import check_values, scale_rows, select_rows
    from nnctl.data.scaling import fit_target_scaler, scale_target
    from nnctl.training.prepare_split import split_positions

    data_cfg = cfg["data"]
    full = open_rows(data_cfg, streams, "path", base_dir)
    columns = full.columns  # a bundled dataset's or a converted folder's; a CSV's is fitted below
    if full.X is None and data_cfg["val_path"] is not None:
        # A CSV: its column pipeline is fitted on the training file, then binds the val file.
        rows = np.arange(full.table.n_rows)
        columns, full.X, _ = fit_on_rows(full.table, data_cfg, rows, rows[:0])
        full.feature_names = columns.output_names
    if data_cfg["val_path"] is not None:
        val = open_rows(
            data_cfg,
            streams,
            "val_path",
            base_dir,
            classes=full.classes,
            pipeline=columns,
            mapped_with=full if is_on_disk(full.X) else None,
        )
        if val.X.shape[1] != full.X.shape[1]:
            raise UsageError(
                f"{data_cfg['val_path']}: data.val_path has {val.X.shape[1]} features, "
                f"the training data has {full.X.shape[1]}"
            )
        X_train, y_train, X_val, y_val = full.X, full.y, val.X, val.y
        train_rows, val_rows = np.arange(len(y_train)), np.arange(len(y_val))
    else:
        train_idx, val_idx, train_rows, val_rows = split_positions(
            full, data_cfg, streams, recorded_split
        )
        if full.X is None:  # a CSV: the column pipeline learns from the training rows only
            columns, X_train, X_val = fit_on_rows(full.table, data_cfg, train_idx, val_idx)
            full.feature_names = columns.output_names
        else:
            X_train, X_val = select_rows(full.X, train_idx), select_rows(full.X, val_idx)
        y_train, y_val = full.y[train_idx], full.y[val_idx]
    if len(X_train) == 0:
        raise UsageError(f"{full.source}: no training rows left after the validation split")
    scaler = None
    if data_cfg["standardize"]:
        scaler = Standardizer().fit(X_train)  # one pass in blocks, which checks every value too
        X_train, X_val = scale_rows(X_train, scaler), scale_rows(X_val, scaler)
    else:
        check_values(X_train, "checking features")
    check_values(X_val, "checking validation features")
    target_scaler = fit_target_scaler(full.task, data_cfg["standardize_target"], y_train)
    y_train, y_val = scale_target(target_scaler, y_train), scale_target(target_scaler, y_val)
    return PreparedData(
        X_train,
        y_train,
        X_val,
        y_val,
        full.task,
        full.classes,
        full.feature_names,
        scaler,
        full.source,
        columns,
        target_scaler,
        np.asarray(train_rows, dtype=np.int64),
        np.asarray(val_rows, dtype=np.int64),
        data_cfg["val_path"] is not None,
    )


def open_rows(
    data_cfg: dict,
    streams,
    which: str,
    base_dir: Path | None,
    *,
    classes=None,
    pipeline=None,
    mapped_with=None,
):
    """The Dataset that `data.<which>` names for training: a built-in dataset, or the file
    located (data_files) and opened as nnctl.data.sources.open_rows opens it: memory-mapped,
    streamed or loaded (a CSV's columns not fitted yet)."""
    from nnctl.data.sources import open_rows as open_file_rows

    if which == "path" and (data_cfg["name"] is not None or data_cfg["path"] in (None, "-")):
        return load_dataset(data_cfg, streams, base_dir=base_dir, fit_columns=False)
    path, labels = locate_files(data_cfg, which, base_dir)
    return open_file_rows(
        path,
        labels,
        data_cfg,
        which=which,
        classes=classes,
        pipeline=pipeline,
        mapped_with=mapped_with,
    )


def resolve_dtype(cfg: dict) -> type:
    """auto: float32 for mini-batch first-order training, float64 for full-batch methods."""
    from nnctl.optim import OPTIMIZERS, is_full_batch

    choice = cfg["train"]["dtype"]
    if choice != "auto":
        return np.dtype(choice).type
    return np.float64 if is_full_batch(OPTIMIZERS.get(cfg["optimizer"]["name"])) else np.float32


def model_for_data(cfg: dict, data: PreparedData, streams, dtype):
    """The config's model for prepared data (its feature count, outputs, task and source)."""
    return model_from_config(
        cfg,
        data.X_train.shape[1],
        data.n_outputs,
        data.task,
        streams,
        dtype,
        data_source=data.source,
    )


def model_from_config(
    cfg: dict,
    n_features: int,
    n_outputs: int,
    task: str,
    streams,
    dtype,
    data_source: str | None = None,
):
    """The config's model for this data. data_source (a file path or built-in name): named in
    the message when the model, loss or task does not fit the data."""
    from nnctl import nn

    model_cfg, init_cfg = cfg["model"], cfg["init"]
    activation = model_cfg["activation"]
    act_name, act_params = (
        (activation, {})
        if isinstance(activation, str)
        else (activation["name"], {k: v for k, v in activation.items() if k != "name"})
    )
    init_params = {k: v for k, v in init_cfg.items() if k not in ("scheme", "bias")}
    loss = cfg["loss"]["name"]
    try:
        check_model_fits_data(cfg, n_features, n_outputs, task)
        model = nn.build_model(
            model_cfg["kind"],
            n_features,
            n_outputs,
            task,
            hidden=tuple(model_cfg["hidden"]),
            activation=act_name,
            activation_params=act_params,
            dropout=model_cfg["dropout"],
            batch_norm=model_cfg["batch_norm"],
            loss=None if loss == "auto" else loss,
            l2=cfg["loss"]["l2"],
            init=init_cfg["scheme"],
            init_params=init_params,
            bias_init=init_cfg["bias"],
            dtype=dtype,
            init_rng=streams["init"],
            dropout_rng=streams["dropout"],
        )
    except UsageError as exc:
        if data_source is None:
            raise
        raise UsageError(f"{data_source}: {exc}") from None
    if model_cfg["init_from"]:
        warm_start(model, model_cfg["init_from"])
    return model


def check_model_fits_data(cfg: dict, n_features, n_outputs, task) -> None:
    """The config rules that need the data: its task, features and outputs against the model
    kind and the loss. Checked once, here, before the model is built."""
    from nnctl.nn import LOSSES
    from nnctl.nn.kinds import describe_target, kinds, model_kind, or_list
    from nnctl.util.tasks import TASKS

    if task not in TASKS:
        raise UsageError(f"data.task: expected one of {', '.join(TASKS)}, found {task!r}")
    if not isinstance(n_features, (int, np.integer)) or n_features < 1:
        raise UsageError(f"data: expected at least one feature column, found {n_features!r}")
    least = {
        "regression": (1, "a regression target needs at least 1 column"),
        "binary": (2, "a binary target has 2 classes"),
        "multiclass": (2, "a multiclass target needs at least 2 classes"),
    }[task]
    if (
        not isinstance(n_outputs, (int, np.integer))
        or n_outputs < least[0]
        or (task == "binary" and n_outputs != 2)
    ):
        raise UsageError(f"data: {least[1]}, found {n_outputs!r}")
    kind = model_kind(cfg["model"]["kind"])
    if task not in kind.tasks:
        others = [k.name for k in kinds() if task in k.tasks and k is not kind]
        raise UsageError(
            f"model.kind: {kind.name} needs {kind.target} target, found "
            f"{describe_target(task, n_outputs)}; use {or_list(others)}"
        )
    if cfg["loss"]["name"] == "auto":
        return
    loss, n_logits = LOSSES.get(cfg["loss"]["name"]), kind.n_logits(task, n_outputs)
    if n_logits == 1 and "on_one_logit" in loss.info:
        return  # the builder reads it as its one-logit form (cross-entropy: binary)
    if task not in loss.info["tasks"]:
        raise UsageError(
            f"loss.name: {loss.name} does not fit {describe_target(task, n_outputs)}; "
            f"use {kind.default_loss(task)} (or loss.name: auto)"
        )
    if loss.info.get("one_logit") and n_logits != 1:
        wide = [e.name for e in LOSSES.entries() if task in e.info["tasks"] and e is not loss]
        narrow = [k.name for k in kinds() if task in k.tasks and k.n_logits(task, n_outputs) == 1]
        raise UsageError(
            f"loss.name: {loss.name} needs one logit per sample, but "
            f"model.kind {kind.name} has {n_logits} (one per class); use "
            f"{or_list(wide)}, or model.kind {or_list(narrow)}"
        )


def optimizer_from_config(cfg: dict, n_params: int, dtype):
    """The config's optimizer for a model of n_params parameters. An entry whose memory grows
    with the model declares `check_size(settings, n_params, where)`: asked here, where the
    model size is first known."""
    from nnctl.optim import OPTIMIZERS

    settings = dict(cfg["optimizer"])
    entry = OPTIMIZERS.get(settings.pop("name"))
    if "check_size" in entry.info:
        entry.info["check_size"](settings, n_params, "optimizer")
    return entry.build(n_params, dtype, **settings)


def warm_start(model, path: str) -> None:
    """Start from another model's parameters: every parameter by its checkpoint name, with its
    shape (the messages name model.init_from); buffers too when present and of the same shape
    (a plain .npz of weights has none)."""
    from nnctl.runs.checkpoint import load_parameter_arrays

    arrays = load_parameter_arrays(path)
    params = model.named_parameters()
    missing = [name for name in params if name not in arrays]
    if missing:
        raise UsageError(
            f"{path}: model.init_from lacks {', '.join(missing)}; "
            f"it holds {', '.join(sorted(arrays)) or 'no arrays'}"
        )
    for name, view in params.items():
        if arrays[name].shape != view.shape:
            raise UsageError(
                f"{path}: model.init_from: {name} has shape {list(arrays[name].shape)}, "
                f"the model expects {list(view.shape)}"
            )
    state = model.state_dict()
    state.update(
        {
            name: value
            for name, value in arrays.items()
            if name in state and value.shape == state[name].shape
        }
    )
    model.load_state_dict(state, f"{path}: model.init_from")
