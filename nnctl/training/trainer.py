"""A training run: build the TrainState and the callbacks, run the loop, write the summary;
and the two entry points, `train` (a fresh run folder) and `resume` (an interrupted one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.errors import TrainingFailed, UsageError
from nnctl.runs import checkpoint, run_folder
from nnctl.training import callbacks as registry
from nnctl.training.build import build_state
from nnctl.training.callbacks import CallbackList
from nnctl.training.callbacks.base import USER_STATE_PREFIX
from nnctl.training.loop import Interrupted, fit_full_batch, fit_mini_batch
from nnctl.training.summary import write_summary
from nnctl.util.threads import blas_threads

# What a damaged or hand-edited checkpoint meta raises while it is read back.
BAD_STATE = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError)


class Trainer:
    """One training run from a resolved config into a run folder."""

    def __init__(
        self, cfg: dict, run_dir: Path, reporter, base_dir: Path | None = None, callbacks=()
    ):
        from nnctl.kernels.choice import surely_compiled
        from nnctl.training.kernel_use import use_run_kernels
        from nnctl.training.thread_count import resolve_run_threads

        if surely_compiled(cfg):  # numba imports on a thread while the data loads
            from nnctl.kernels.loading import start_loading

            start_loading()
        # The build (data, split, init) runs on one BLAS thread whatever the run's count, so
        # that a replay of config.yaml (the resolved number) builds the same bits as the run.
        with blas_threads(1):
            self.state = build_state(cfg, run_dir, base_dir)
        # train.threads and train.kernels: auto becomes a choice here, where the data's shape
        # is known; the checkpoints and config.yaml record it.
        threads = resolve_run_threads(self.state)
        kernels = use_run_kernels(self.state, getattr(reporter, "note", None))
        self.state.cfg = {**cfg, "train": {**cfg["train"], "threads": threads, "kernels": kernels}}
        self.callbacks = CallbackList(registry.make_callbacks(self.state, reporter, callbacks))
        # A finished run's status when its last.npz says it ended before its epoch budget (early
        # stopping, convergence, restored best weights): a resume of it trains nothing more (see training/callbacks/checkpointing.py).
        self.finished: str | None = None

    @property
    def model(self):
        return self.state.model

    @property
    def optimizer(self):
        return self.state.optimizer

    def run(self) -> dict:
        """Train to the end; returns summary.json's content. Interrupted (exit 130) and
        TrainingFailed (exit 1) propagate after the state and the summary are written."""
        state, callbacks = self.state, self.callbacks
        fit = fit_full_batch if state.full_batch else fit_mini_batch
        try:
            # Overflow and NaN are detected and reported as divergence; NumPy's own warnings
            # about them would only add noise to that message.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                if self.finished:
                    status = self.finished
                else:
                    callbacks.on_train_start(state)
                    status = fit(state, callbacks)
        except BaseException as exc:
            callbacks.on_exception(state, exc)
            if isinstance(exc, Interrupted):
                write_summary(state, "interrupted")
            elif isinstance(exc, TrainingFailed):
                exc.summary = write_summary(state, "diverged", str(exc))
            raise
        state.status = status
        callbacks.on_train_end(state)
        return write_summary(state, status)

    def restore(self, arrays: dict, meta: dict, source: Path | str = "checkpoint") -> None:
        """Continue from a last.npz: parameters, optimizer, schedule, RNG, batch order, counters,
        best weights, callbacks. UsageError naming `source` when it does not fit this run."""
        state = self.state
        state.check_features(meta, source)
        state.model.load_state_dict(arrays, source)
        try:
            state.restore(arrays, meta, source)
            known = set(state.progress()) | set(self.callbacks.state_dict())
            unknown = sorted(set(meta["progress"]) - known)
            left_out = [k for k in unknown if k.startswith(USER_STATE_PREFIX)]
            if left_out:
                # A user callback of the first session not given again: its state stays unused.
                import warnings

                warnings.warn(
                    f"{source}: saved state of the callbacks "
                    f"{', '.join(k[len(USER_STATE_PREFIX) :] for k in left_out)} not used: "
                    "no callback of that name was given to resume",
                    stacklevel=2,
                )
                unknown = [k for k in unknown if k not in left_out]
            if unknown:
                raise ValueError(f"progress.{unknown[0]}: not a counter of this nnctl")
            self.callbacks.load_state_dict(meta["progress"])
        except UsageError as exc:
            raise UsageError(f"{source}: {exc}") from None
        except BAD_STATE as exc:
            raise UsageError(
                f"{source}: not a resumable nnctl checkpoint (bad or missing state: "
                f"{type(exc).__name__} {exc})"
            ) from None
        state.restore_best_weights(arrays, source)
        delivered = meta.get("delivered")
        if isinstance(delivered, dict) and isinstance(delivered.get("status"), str):
            self.finished = delivered["status"]


def train(cfg: dict, run_dir: Path, reporter, base_dir: Path | None = None, callbacks=()) -> dict:
    """Train a resolved config into a fresh run folder; returns summary.json's content.
    `callbacks`: the caller's objects with any of the hooks, run after the built-in ones."""
    from nnctl.training.prepare import absolute_paths

    run_dir = Path(run_dir)
    cfg = absolute_paths(cfg, base_dir)  # config.yaml replays from any folder
    trainer = Trainer(cfg, run_dir, reporter, base_dir, callbacks)
    cfg = trainer.state.cfg  # train.threads resolved
    run_folder.write_config(run_dir, cfg)
    with blas_threads(cfg["train"]["threads"]):  # part of the config: the count changes the bits
        return trainer.run()


def resume(run_dir: Path, reporter, base_dir: Path | None = None, callbacks=()) -> dict:
    """Continue an interrupted (or crashed) run from its checkpoints/last.npz. `callbacks`: as
    for train; one with load_state_dict gets back the state it saved."""
    from nnctl.config import resolve

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(
            f"{run_dir}: --resume expects a run folder (with checkpoints/last.npz), "
            + ("found a file" if run_dir.exists() else "found nothing there")
        )
    last = run_dir / "checkpoints" / "last.npz"
    if not last.exists():
        raise UsageError(
            f"{run_dir}: no checkpoints/last.npz to resume from (not an nnctl run "
            "folder, or the run was stopped before it saved anything)"
        )
    run_folder.lock(run_dir)  # a second process resuming (or --force on) this run: exit 2
    run_folder.refuse_links(run_dir)  # nothing written through a link leading elsewhere
    # Temporary files of writes a crash cut short: never read, only in the way.
    run_folder.remove_stale_temp_files(run_dir)
    arrays, meta = checkpoint.load(last)
    if not isinstance(meta.get("config"), dict):
        raise UsageError(f"{last}: not a resumable nnctl checkpoint (its meta has no config)")
    try:
        cfg = resolve(meta["config"], str(last))
    except UsageError as exc:
        raise UsageError(f"{last}: the saved config: {exc}") from None
    if base_dir is None and isinstance(meta.get("base_dir"), str):
        base_dir = Path(meta["base_dir"])
    trainer = Trainer(cfg, run_dir, reporter, base_dir, callbacks)
    with blas_threads(trainer.state.cfg["train"]["threads"]):
        trainer.restore(arrays, meta, last)
        return trainer.run()
