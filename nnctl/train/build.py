"""From a resolved config to a fresh TrainState: data, model, optimizer, schedule, batches."""

from __future__ import annotations

from pathlib import Path

from nnctl.errors import UsageError
from nnctl.rng import make_streams
from nnctl.train.state import BestSnapshot, TrainState


def build_state(cfg: dict, run_dir: Path, base_dir: Path | None = None) -> TrainState:
    from nnctl.optim import OPTIMIZERS, SCHEDULES, is_full_batch
    from nnctl.prepare import model_from_config, prepare_data, resolve_dtype

    streams = make_streams(cfg["seed"])
    data = prepare_data(cfg, streams, base_dir)
    dtype = resolve_dtype(cfg)
    model = model_from_config(cfg, data.X_train.shape[1], data.n_outputs, data.task, streams,
                              dtype, data_source=data.source)
    opt_cfg = dict(cfg["optimizer"])
    entry = OPTIMIZERS.get(opt_cfg.pop("name"))
    full_batch = is_full_batch(entry)
    optimizer = entry.build(model.n_params, dtype, **opt_cfg)
    sched_cfg = dict(cfg["schedule"])
    schedule = SCHEDULES.get(sched_cfg.pop("name")).build(
        opt_cfg.get("lr", 1.0), cfg["train"]["epochs"], **sched_cfg)
    has_val = len(data.X_val) > 0
    stopping = cfg["train"]["early_stopping"]
    if stopping is not None and not has_val:
        raise UsageError("train.early_stopping: needs validation data; set data.val_fraction > 0 "
                         "or data.val_path")
    monitor = stopping["metric"] if stopping else ("val_loss" if has_val else "train_loss")
    max_iter = opt_cfg.get("max_iter") if full_batch else None
    return TrainState(
        cfg=cfg, run_dir=Path(run_dir),
        base_dir=None if base_dir is None else Path(base_dir).resolve(),
        data=data, X_val=data.X_val.astype(dtype, copy=False), dtype=dtype, model=model,
        optimizer_name=entry.name, optimizer=optimizer, full_batch=full_batch,
        total_epochs=max_iter or cfg["train"]["epochs"], configured_lr=cfg["optimizer"].get("lr"),
        clip_grad_norm=cfg["train"]["clip_grad_norm"], schedule=schedule, streams=streams,
        batches=None if full_batch else _batches(cfg, data, streams, dtype),
        best=BestSnapshot(monitor))


def _batches(cfg: dict, data, streams, dtype):
    from nnctl.data import BatchIterator
    from nnctl.data.ondisk import is_on_disk
    from nnctl.data.ondisk_batches import GatheringBatchIterator

    kind = GatheringBatchIterator if is_on_disk(data.X_train) else BatchIterator
    return kind(data.X_train, data.y_train, cfg["train"]["batch_size"],
                cfg["train"]["shuffle"], streams["shuffle"], dtype)
