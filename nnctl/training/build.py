"""From a resolved config to a fresh TrainState: data, model, optimizer, schedule, batches."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.errors import UsageError
from nnctl.runs import run_folder
from nnctl.training.state import BestSnapshot, TrainState
from nnctl.util.rng import make_streams


@dataclass
class PreparedRun:
    """What `train` and `config validate` build alike from a resolved config."""

    streams: dict
    data: object  # nnctl.training.prepare.PreparedData
    dtype: type
    model: object
    optimizer: object


def prepare_run(cfg: dict, base_dir: Path | None = None, available_memory=None) -> PreparedRun:
    """The data, then the sizes checked (nnctl.training.size_estimate: before anything big is
    allocated), then the model and the optimizer: exit 2 for anything that does not fit.
    available_memory: bytes, instead of the figure the system (or NNCTL_MEMORY_AVAILABLE) gives."""
    from nnctl.training.prepare import (
        model_for_data,
        optimizer_from_config,
        prepare_data,
        resolve_dtype,
    )
    from nnctl.training.size_estimate import check_sizes

    streams = make_streams(cfg["seed"])
    data = prepare_data(cfg, streams, base_dir)
    dtype = resolve_dtype(cfg)
    _check_data_fits(data, dtype)
    check_sizes(cfg, data, dtype, available_memory)
    with np.errstate(over="ignore", invalid="ignore"):  # reported just below, by name
        model = model_for_data(cfg, data, streams, dtype)
    _check_initial_parameters(model, cfg, dtype)
    optimizer = optimizer_from_config(cfg, model.n_params, dtype)
    return PreparedRun(streams, data, dtype, model, optimizer)


def build_state(cfg: dict, run_dir: Path, base_dir: Path | None = None) -> TrainState:
    from nnctl.optim import OPTIMIZERS, SCHEDULES, is_full_batch

    prepared = prepare_run(cfg, base_dir)
    streams, data, dtype, model = prepared.streams, prepared.data, prepared.dtype, prepared.model
    run_folder.write_split(run_dir, data)  # which rows trained, for other tools and eval
    opt_cfg = dict(cfg["optimizer"])
    entry = OPTIMIZERS.get(opt_cfg.pop("name"))
    full_batch = is_full_batch(entry)
    optimizer = prepared.optimizer
    sched_cfg = dict(cfg["schedule"])
    schedule = SCHEDULES.get(sched_cfg.pop("name")).build(
        opt_cfg.get("lr", 1.0), cfg["train"]["epochs"], **sched_cfg
    )
    has_val = len(data.X_val) > 0
    stopping = cfg["train"]["early_stopping"]
    if stopping is not None and not has_val:
        raise UsageError(
            "train.early_stopping: needs validation data; set data.val_fraction > 0 "
            "or data.val_path"
        )
    monitor = stopping["metric"] if stopping else ("val_loss" if has_val else "train_loss")
    max_iter = opt_cfg.get("max_iter") if full_batch else None
    return TrainState(
        cfg=cfg,
        run_dir=Path(run_dir),
        base_dir=None if base_dir is None else Path(base_dir).resolve(),
        data=data,
        X_val=data.X_val.astype(dtype, copy=False),
        dtype=dtype,
        model=model,
        optimizer_name=entry.name,
        optimizer=optimizer,
        full_batch=full_batch,
        total_epochs=max_iter or cfg["train"]["epochs"],
        configured_lr=cfg["optimizer"].get("lr"),
        clip_grad_norm=cfg["train"]["clip_grad_norm"],
        schedule=schedule,
        streams=streams,
        batches=None if full_batch else _batches(cfg, data, streams, dtype),
        best=BestSnapshot(monitor),
    )


def _check_data_fits(data, dtype) -> None:
    """Features beyond the training dtype (1e300 under float32) would become inf in the cast
    and then pass for a divergence: exit 2 naming the column, before training."""
    from nnctl.data.ondisk import is_on_disk

    largest = float(np.finfo(dtype).max)
    for X in (data.X_train, data.X_val):
        # On-disk rows are checked block by block as the statistics pass reads them.
        if is_on_disk(X) or X.size == 0 or X.dtype == dtype:
            continue
        peak = np.maximum(X.max(axis=0), -X.min(axis=0))  # |X| without a copy of the data
        if np.any(peak > largest):
            j = int(np.argmax(peak > largest))
            name = data.feature_names[j] if data.feature_names else f"x{j}"
            raise UsageError(
                f"{data.source}: column {name!r} holds {float(peak[j]):.3g}, beyond "
                f"{np.dtype(dtype).name} (largest {largest:.3g}); set "
                "data.standardize: true or train.dtype: float64"
            )


def _check_initial_parameters(model, cfg: dict, dtype) -> None:
    """Starting from a NaN or inf is bad input, not a divergence: exit 2 before training, naming
    the setting (init.bias 1e300 does not fit float32) or the model.init_from file."""
    kind, largest = np.dtype(dtype).name, float(np.finfo(dtype).max)
    for name, value in {**model.named_parameters(), **model.buffers()}.items():
        if np.all(np.isfinite(value)):
            continue
        if cfg["model"]["init_from"]:
            raise UsageError(
                f"{cfg['model']['init_from']}: model.init_from: array {name!r} holds "
                f"values that are NaN, infinite or beyond {kind}"
            )
        bias = cfg["init"].get("bias", 0.0)
        if name.endswith(".bias") and abs(bias) > largest:
            raise UsageError(
                f"init.bias: {bias:g} does not fit in {kind} (largest "
                f"{largest:.3g}); use a smaller value"
            )
        raise UsageError(
            f"init: the initial parameters {name!r} are not finite in {kind}; check "
            "the init settings (init.scheme and its scale)"
        )


def _batches(cfg: dict, data, streams, dtype):
    from nnctl.data import BatchIterator
    from nnctl.data.ondisk import is_on_disk

    kind = BatchIterator
    if is_on_disk(data.X_train):
        from nnctl.data.ondisk_batches import GatheringBatchIterator

        kind = GatheringBatchIterator
    return kind(
        data.X_train,
        data.y_train,
        cfg["train"]["batch_size"],
        cfg["train"]["shuffle"],
        streams["shuffle"],
        dtype,
    )
