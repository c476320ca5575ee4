"""metrics.jsonl: one JSON row per epoch (full-batch: per iteration)."""

from __future__ import annotations

from pathlib import Path

from nnctl.runs import run_folder
from nnctl.training.callbacks.base import Callback
from nnctl.training.state import checked


class MetricsLog(Callback):
    """Stamps each epoch's row with elapsed_s and appends it. Its state is the number of rows
    written: a resume drops the rows written after the checkpoint (and a half-written one)."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.rows = 0

    def on_epoch_end(self, state, row: dict) -> None:
        row["elapsed_s"] = round(state.elapsed(), 4)
        run_folder.append_metrics(self.run_dir, row)
        self.rows += 1

    def state_dict(self) -> dict:
        return {"rows": self.rows}

    def load_state_dict(self, progress: dict) -> None:
        self.rows = checked(progress, "rows", "count", 0)
        run_folder.truncate_metrics(self.run_dir, self.rows)
