"""summary.json: how a run ended, its counts, its best epoch and its final scores.

`final` holds the scores of the weights the run delivers (checkpoints/last.npz: what eval,
predict and the API use by default): the last epoch's, or with early_stopping.restore_best the
best epoch's; `delivered_epoch` says which epoch they come from (null after a divergence: last.npz
then holds the last finite state saved)."""

from __future__ import annotations

import numpy as np

from nnctl.nn.metrics import PRIMARY
from nnctl.runs import run_folder
from nnctl.training.callbacks.evaluation import training_scores, validation_scores
from nnctl.training.prepare import LOSS_UNITS_SCALED


def write_summary(state, status: str, message: str | None = None) -> dict:
    """Write summary.json for `status` (completed, early_stopped, converged, interrupted,
    diverged) and return its content."""
    c, d, model = state.counters, state.data, state.model
    rows = run_folder.read_metrics(state.run_dir)
    best_row = next((r for r in rows if r["epoch"] == state.best.epoch), None)
    final = training_scores(state)  # the same definitions as metrics.jsonl's columns
    if state.has_val and status != "diverged":
        final.update({f"val_{k}": v for k, v in validation_scores(state).items()})
    summary = {
        "status": status,
        "message": message,
        "stop_reason": c.stop_reason,
        "run_dir": str(state.run_dir),
        "model": state.cfg["model"]["kind"],
        "optimizer": state.optimizer_name,
        "task": d.task,
        "classes": d.classes,
        "n_params": int(model.n_params),
        "n_train": int(len(d.X_train)),
        "n_val": int(len(d.X_val)),
        "dtype": np.dtype(state.dtype).name,
        "epochs": c.epoch,
        "steps": c.step,
        "sample_grads": c.sample_grads,
        "skipped_batches": c.skipped_batches,  # non-finite batches (train.on_nonfinite: skip_batch)
        "monitor": state.best.monitor,
        "primary_metric": f"val_{PRIMARY[d.task]}",
        "loss_units": LOSS_UNITS_SCALED if d.target_scaler is not None else "target",
        "best_epoch": state.best.epoch,
        "best": best_row,
        "delivered_epoch": _delivered_epoch(state, status),
        "final": final,
        "elapsed_s": round(state.elapsed(), 4),
    }
    run_folder.write_summary(state.run_dir, summary)
    return summary


def _delivered_epoch(state, status: str) -> int | None:
    if status == "diverged":
        return None
    stopping = state.cfg["train"]["early_stopping"]
    restored = stopping and stopping["restore_best"] and status != "interrupted"
    return state.best.epoch if restored else state.counters.epoch
