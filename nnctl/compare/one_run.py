"""One run of a plan, wherever an executor runs it (here, a worker process, a Dask worker):
`execute` trains the task's config quietly into its folder and returns its result.

Outcome of a run: the trainer's status (completed, early_stopped, converged), or "diverged"
(TrainingFailed: a non-finite loss; the comparison goes on), or "skipped" (the model refuses the
optimizer, e.g. bfgs's matrix would be too big; the reason is kept).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from nnctl.compare.plan import RunTask
from nnctl.errors import TrainingFailed, UsageError


def execute(task: RunTask, out_dir: str) -> dict:
    """Train one task into out_dir/task.folder; returns {status, message, summary, rows}."""
    from nnctl.report.progress import QuietReporter
    from nnctl.runs import run_folder
    from nnctl.training import train

    if task.cfg is None:
        return {
            "index": task.index,
            "status": "skipped",
            "message": task.skip_reason,
            "summary": None,
            "rows": [],
        }
    run_dir = run_folder.create(Path(out_dir) / task.folder, unique=False)  # locked
    try:
        summary = train(task.cfg, run_dir, QuietReporter(), base_dir=Path(task.base_dir))
    except TrainingFailed as exc:
        summary = _read_summary(run_dir)
        return {
            "index": task.index,
            "status": "diverged",
            "message": str(exc),
            "summary": summary,
            "rows": run_folder.read_metrics(run_dir),
        }
    except UsageError as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        return {
            "index": task.index,
            "status": "skipped",
            "message": str(exc),
            "summary": None,
            "rows": [],
        }
    finally:
        # One process trains many runs (a comparison, a Dask worker): a lock kept past its run
        # would hold one open descriptor per run until the process ends.
        run_folder.unlock(run_dir)
    return {
        "index": task.index,
        "status": summary["status"],
        "message": summary.get("message"),
        "summary": summary,
        "rows": run_folder.read_metrics(run_dir),
    }


def _read_summary(run_dir: Path) -> dict | None:
    import json

    path = run_dir / "summary.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
