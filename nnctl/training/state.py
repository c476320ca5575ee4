"""TrainState: what a run is made of and what changes while it trains, and its checkpoint form.

A checkpoint (nnctl/runs/checkpoint.py) is arrays + meta. Arrays: the model's parameters and buffers
under their names, the optimizer's state under `optim.*`, the batch order under `data.*`, the
best weights under `best.*`. meta: the config, the data description, the RNG, schedule and
`progress`: the counters below, the best epoch's bookkeeping and every callback's state_dict.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from nnctl.errors import UsageError, shown
from nnctl.runs import checkpoint
from nnctl.util.rng import get_states, set_states

BEST_PREFIX = "best."  # last.npz holds the best weights (early-stopping state) under best.<name>


def checked(progress: dict, name: str, kind: str, default):
    """progress[name] (default when absent) if it is of `kind`: "count" (an int >= 0),
    "number", "number?" (or None), "text?" (a string or None); ValueError otherwise."""
    value = progress.get(name, default)
    if kind == "count" and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"progress.{name} is {shown(value)}, expected a count >= 0")
    if (
        kind.startswith("number")
        and not (value is None and kind == "number?")
        and (isinstance(value, bool) or not isinstance(value, (int, float)))
    ):
        raise ValueError(f"progress.{name} is {shown(value)}, expected a number")
    if kind == "text?" and value is not None and not isinstance(value, str):
        raise ValueError(f"progress.{name} is {shown(value)}, expected a string")
    return value


def _entries(arrays: dict, prefix: str) -> dict:
    """The arrays named prefix + name, by name."""
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


@dataclass
class Counters:
    """What the loop advances, plus the non-finite batches the divergence guard skipped."""

    epoch: int = 0  # epochs (or full-batch iterations) completed
    step: int = 0  # optimizer steps taken (a skipped batch counts as one)
    position: int = 0  # batches of the current epoch already done (mid-epoch interrupt)
    loss_sum: float = 0.0  # running sums of the current epoch's train loss
    loss_count: int = 0
    sample_grads: int = 0  # per-sample gradient evaluations so far
    skipped_batches: int = 0  # non-finite batches not applied (train.on_nonfinite: skip_batch)
    elapsed_before: float = 0.0  # seconds spent by earlier sessions of a resumed run
    stop_reason: str | None = None  # why a full-batch method stopped itself

    KINDS = {"int": "count", "float": "number", "str | None": "text?"}

    @classmethod
    def from_progress(cls, progress: dict, n_batches: int) -> Counters:
        """The counters of a checkpoint's meta["progress"], each checked (ValueError)."""
        counters = cls(
            **{f.name: checked(progress, f.name, cls.KINDS[f.type], f.default) for f in fields(cls)}
        )
        if counters.position > n_batches:
            raise ValueError(
                f"progress.position is {counters.position}, expected at most {n_batches}"
            )
        return counters


@dataclass
class BestSnapshot:
    """The best epoch so far by the `monitor` value, and the model's state from it."""

    monitor: str  # train_loss, val_loss or val_<metric>
    value: float | None = None
    epoch: int = 0
    bad_epochs: int = 0  # epochs since the best
    weights: dict | None = None  # Model.state_dict() at the best epoch; None before any

    def progress(self) -> dict:
        return {"best_value": self.value, "best_epoch": self.epoch, "bad_epochs": self.bad_epochs}

    def load_progress(self, progress: dict) -> None:
        self.value = checked(progress, "best_value", "number?", None)
        self.epoch = checked(progress, "best_epoch", "count", 0)
        self.bad_epochs = checked(progress, "bad_epochs", "count", 0)


@dataclass
class TrainState:
    """One run: its inputs, model, optimizer, schedule, random streams, counters, best snapshot,
    and the requests that end the loop (set by callbacks and signal handlers)."""

    cfg: dict  # the resolved config
    run_dir: Path
    base_dir: Path | None  # where relative data paths of the config were found
    data: object  # nnctl.training.prepare.PreparedData
    X_val: np.ndarray  # validation inputs in the model's dtype
    dtype: type
    model: object  # nnctl.nn.Model
    optimizer_name: str
    optimizer: object
    full_batch: bool  # one iteration on the whole training set per "epoch"
    total_epochs: int  # epochs, or full-batch iterations
    configured_lr: float | None  # optimizer.lr as configured (None for methods without one)
    clip_grad_norm: float | None
    schedule: object
    streams: dict  # nnctl.util.rng streams
    batches: object | None  # nnctl.data.BatchIterator (mini-batch training only)
    best: BestSnapshot
    counters: Counters = field(default_factory=Counters)
    stop_signal: int | None = None  # a signal arrived: the loop stops after this step
    # stop_signal came from a real signal (not from code, e.g. a test's fault injection): the
    # process is on its way out, and late signals are then ignored rather than fatal.
    stop_by_signal: bool = False
    saving: bool = False  # stopping on stop_signal, the state is being saved: signals wait
    stop_training: bool = False  # a callback ended training at this epoch's end
    # Full-batch on memory-mapped rows: parameters -> the train_loss there when the objective's
    # passes already computed it (nnctl.nn.chunked), else None; saves a pass per epoch.
    train_loss_at: object = None
    # Evaluation's last scores, by kind ("train", "val"): (parameters_key of the model's point,
    # scores); summary.json's final scores of the last epoch's weights are these, with no pass.
    scores_kept: dict = field(default_factory=dict)
    status: str | None = (
        None  # how fit ended (completed, early_stopped, converged): for on_train_end
    )
    started: float = field(default_factory=time.perf_counter)

    @property
    def has_val(self) -> bool:
        return len(self.X_val) > 0

    def elapsed(self) -> float:
        return self.counters.elapsed_before + time.perf_counter() - self.started

    def progress(self) -> dict:
        """The counters and the best epoch's bookkeeping (meta["progress"] without callbacks)."""
        return {**asdict(self.counters), **self.best.progress()}

    # -- checkpoint form ---------------------------------------------------------------------
    def checkpoint(self, progress: dict) -> tuple[dict, dict]:
        """(arrays, meta) of last.npz; `progress` is meta["progress"] in full."""
        arrays = self.model.state_dict()
        arrays.update({f"optim.{k}": np.asarray(v) for k, v in self.optimizer.state_dict().items()})
        if self.batches is not None:
            arrays.update(
                {f"data.{k}": np.asarray(v) for k, v in self.batches.state_dict().items()}
            )
        if self.best.weights is not None:
            # The early-stopping state includes the best weights: kept inside last.npz too, so
            # a resume never depends on best.npz having been written at the same moment.
            arrays.update({f"{BEST_PREFIX}{k}": v for k, v in self.best.weights.items()})
        return arrays, self._meta(progress)

    def _meta(self, progress: dict) -> dict:
        c, d = self.counters, self.data
        return {
            "config": self.cfg,
            "epoch": c.epoch,
            "step": c.step,
            "progress": progress,
            "rng": get_states(self.streams),
            "scaler": d.scaler.to_dict() if d.scaler is not None else None,
            "columns": d.columns.to_dict() if d.columns is not None else None,
            "target_scaler": d.target_scaler.to_dict() if d.target_scaler is not None else None,
            "classes": d.classes,
            "task": d.task,
            "n_features": int(d.X_train.shape[1]),
            "feature_names": d.feature_names,
            "n_outputs": d.n_outputs,
            "dtype": np.dtype(self.dtype).name,
            "schedule": self.schedule.state_dict(),
            "elapsed_s": self.elapsed(),
            # Relative data paths in the config were found next to the config file: a resume
            # from another working folder looks there too.
            "base_dir": None if self.base_dir is None else str(self.base_dir),
        }

    def restore(self, arrays: dict, meta: dict, source) -> None:
        """Optimizer, batch order, schedule, RNG, counters and best bookkeeping from a last.npz
        (the model is loaded before, the best weights after). UsageError, or KeyError,
        TypeError, ValueError... from a damaged meta, for the caller to name `source` in."""
        self.optimizer.load_state_dict(_entries(arrays, "optim."))
        if self.batches is not None:
            self.batches.load_state_dict(_entries(arrays, "data."), str(source))
        self.schedule.load_state_dict(meta["schedule"])
        set_states(self.streams, meta["rng"])
        progress = dict(meta["progress"])
        progress["elapsed_before"] = float(meta["elapsed_s"])
        n_batches = self.batches.n_batches if self.batches is not None else 0
        self.counters = Counters.from_progress(progress, n_batches)
        self.best.load_progress(progress)

    def restore_best_weights(self, arrays: dict, source) -> None:
        """The best weights of a last.npz (older checkpoints: of the best.npz beside it)."""
        best = _entries(arrays, BEST_PREFIX)
        if not best:
            path = self.run_dir / "checkpoints" / "best.npz"
            if not path.exists():
                return
            best, source = checkpoint.load(path)[0], path
        if self.best.value is None:
            return
        current = self.model.state_dict()
        self.model.load_state_dict(best, source)  # checks names, shapes and dtypes
        self.best.weights = self.model.state_dict()
        self.model.load_state_dict(current, "the current weights")

    def check_features(self, meta: dict, source) -> None:
        n_features = int(self.data.X_train.shape[1])
        if meta.get("n_features") not in (None, n_features):
            raise UsageError(
                f"{self.data.source}: has {n_features} feature columns, the "
                f"checkpoint {source} was trained on {meta['n_features']} (has the "
                "data changed?)"
            )
