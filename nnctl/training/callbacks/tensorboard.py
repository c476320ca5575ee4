"""TensorBoard event files in the run folder's `tb/` (the optional extra `nnctl[tensorboard]`,
tensorboardX: no torch, no TensorFlow). Imported only when a run asks for it.

Per epoch (step = epoch), every number of the metrics.jsonl row under a stable tag (TAGS, and
"metric/val_<name>" for the validation metrics); the resolved config as text at the start;
at the end the hyper-parameters with the final scores (the HParams tab), once per run.

Resume: the callback's state (in the checkpoint) holds the last epoch it logged. A resumed run
writes a new event file that starts with a `purge_step` marker at that epoch + 1, so TensorBoard's
reader hides whatever a killed process wrote after its last checkpoint and each epoch shows
once. tensorboardX writes from a background thread and the file is complete once the writer is
closed (at the end, and when training stops on an exception or a signal); a process killed
hard (kill -9) may leave a gap of its last events, never a duplicate. Every session's file has
its own name (tensorboardX names files by the second; two sessions in one second would
otherwise share, and truncate, one).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from nnctl.errors import UsageError, write_failed
from nnctl.training.callbacks.base import Callback
from nnctl.training.state import checked

INSTALL_HINT = (
    'TensorBoard logging needs tensorboardX, the optional extra: pip install "nnctl[tensorboard]"'
)
TB_FOLDER = "tb"
TAGS = {
    "train_loss": "loss/train",
    "objective": "loss/objective",
    "val_loss": "loss/val",
    "lr": "lr",
    "grad_norm": "grad_norm",
    "step_size": "step_size",
    "step": "progress/step",
    "sample_grads": "progress/sample_grads",
    "n_fev": "progress/n_fev",
    "n_gev": "progress/n_gev",
    "elapsed_s": "time/elapsed_s",
}
NOT_LOGGED = ("epoch",)  # the step of every event
HPARAM_SECTIONS = ("model", "loss", "optimizer", "schedule", "train")


def tag_for(key: str) -> str:
    """The TensorBoard tag of a metrics.jsonl column."""
    if key in TAGS:
        return TAGS[key]
    if key.startswith("val_"):
        return f"metric/{key}"
    return f"other/{key}"


def logged_numbers(row: dict) -> dict[str, float]:
    """{tag: value} of the numbers of one metrics.jsonl row that go to TensorBoard."""
    return {
        tag_for(key): float(value)
        for key, value in row.items()
        if key not in NOT_LOGGED and isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def require_tensorboardx() -> None:
    """UsageError with the install hint when tensorboardX cannot be imported (config time)."""
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None


class TensorBoardLog(Callback):
    """Writes `run_dir/tb/` event files (see the module docstring). Place it after MetricsLog
    (the row is complete, elapsed_s included) and before Checkpointing (a checkpoint saved at
    an epoch end then records that epoch as logged)."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.last_epoch = 0  # the last epoch written to the event files
        self.config_logged = False
        self.hparams_logged = False
        self._writer = None
        self._session_start = 0

    def on_train_start(self, state) -> None:
        require_tensorboardx()
        from tensorboardX import SummaryWriter

        resumed = self.last_epoch > 0
        self._session_start = self.last_epoch
        folder = self.run_dir / TB_FOLDER
        try:
            self._writer = SummaryWriter(
                logdir=str(folder),
                purge_step=self.last_epoch + 1 if resumed else None,
                filename_suffix=f".{time.time_ns()}",
            )
        except OSError as exc:  # a file named tb, a read-only run folder
            raise write_failed(folder, exc) from None
        config_file = self.run_dir / "config.yaml"
        if not self.config_logged and config_file.exists():
            config = config_file.read_text(encoding="utf-8")
            # Markdown: an indented block keeps the YAML as it is.
            text = "\n".join("    " + line for line in config.splitlines())
            self._writer.add_text("config", text, global_step=0)
            self.config_logged = True

    def on_epoch_end(self, state, row: dict) -> None:
        epoch = row["epoch"]
        if epoch <= self.last_epoch:
            return  # already in the event files (never happens with the state restored)
        for tag, value in logged_numbers(row).items():
            self._writer.add_scalar(tag, value, global_step=epoch)
        self.last_epoch = epoch

    def on_exception(self, state, exc) -> None:
        self._close()

    def on_train_end(self, state) -> None:
        # hparams_logged may not have reached the checkpoint (saved before this hook, at the
        # last epoch's end): a session that trained no epoch (a finished run resumed) adds none.
        trained = self.last_epoch > self._session_start
        if not self.hparams_logged and trained and self._writer is not None:
            self._log_hparams(state)
            self.hparams_logged = True
        self._close()

    def _log_hparams(self, state) -> None:
        """The HParams session of this run, with the final scores as its metrics, in this
        session's event file (SummaryWriter.add_hparams would open a second writer on the
        folder, whose file could take this one's name and truncate it)."""
        from tensorboardX.summary import hparams

        scores = self._final_scores(state)
        for summary in hparams(hyper_parameters(state.cfg), scores):
            self._writer.file_writer.add_summary(summary)
        for tag, value in scores.items():
            self._writer.add_scalar(tag, value, global_step=self.last_epoch)

    def _final_scores(self, state) -> dict[str, float]:
        from nnctl.runs import run_folder

        rows = run_folder.read_metrics(self.run_dir)
        scores = {}
        if rows:
            scores = {
                f"final/{tag}": value
                for tag, value in logged_numbers(rows[-1]).items()
                if tag.startswith(("loss/", "metric/"))
            }
        best = state.best
        if best.value is not None and math.isfinite(best.value):
            scores[f"best/{best.monitor}"] = float(best.value)
        return scores

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def state_dict(self) -> dict:
        return {
            "tensorboard_epoch": self.last_epoch,
            "tensorboard_config": self.config_logged,
            "tensorboard_hparams": self.hparams_logged,
        }

    def load_state_dict(self, progress: dict) -> None:
        self.last_epoch = checked(progress, "tensorboard_epoch", "count", 0)
        self.config_logged = bool(progress.get("tensorboard_config", False))
        self.hparams_logged = bool(progress.get("tensorboard_hparams", False))


def hyper_parameters(cfg: dict) -> dict:
    """The resolved config's training settings, flat ("optimizer.lr": 0.01), as the HParams
    tab takes them: numbers, strings and booleans (lists as JSON text, None as "none")."""
    flat = {"seed": cfg.get("seed")}

    def add(prefix: str, value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                add(f"{prefix}.{key}", item)
        elif value is None:
            flat[prefix] = "none"
        elif isinstance(value, (bool, int, float, str)):
            flat[prefix] = value
        else:
            flat[prefix] = json.dumps(value, default=str)

    for section in HPARAM_SECTIONS:
        if section in cfg:
            add(section, cfg[section])
    if flat["seed"] is None:
        flat["seed"] = "none"
    return flat
