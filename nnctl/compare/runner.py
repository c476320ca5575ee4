"""Runs the tasks of a plan through an executor (nnctl.compare.executors): here, in `jobs`
worker processes, or on a Dask cluster.

A run's numbers depend only on its config (seeded streams, BLAS threads, no shared state), so
running it in a worker process or on another machine gives the same numbers as running it here:
the executor changes wall time only. Runs train quietly; the caller reports each finished run.

Outcome of a run: the trainer's status (completed, early_stopped, converged), or "diverged"
(TrainingFailed: a non-finite loss; the comparison goes on), or "skipped" (the model refuses the
optimizer, e.g. bfgs's matrix would be too big; the reason is kept).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from nnctl.compare.plan import RunTask
from nnctl.errors import TrainingFailed, UsageError


def execute(task: RunTask, out_dir: str) -> dict:
    """Train one task into out_dir/task.folder; returns {status, message, summary, rows}."""
    from nnctl.report.progress import QuietReporter
    from nnctl.runs import run_folder
    from nnctl.train import train

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


def run_tasks(
    tasks: list[RunTask],
    out_dir: Path,
    jobs: int = 1,
    on_done: Callable[[RunTask, dict], None] | None = None,
    executor=None,
) -> list[dict]:
    """Every task's result, in task order (whatever order they finish in). `executor`
    (nnctl.compare.executors) says where the runs go; the default runs them here, `jobs` at once."""
    results: dict[int, dict] = {}

    def done(task, result):
        results[task.index] = result
        if on_done is not None:
            on_done(task, result)

    own = executor is None
    if own:
        from nnctl.compare.executors.local import LocalExecutor

        executor = LocalExecutor(jobs)
    try:
        for task in tasks:
            if task.cfg is None:
                done(task, execute(task, str(out_dir)))
        runnable = [t for t in tasks if t.cfg is not None]
        if runnable:
            executor.run(runnable, Path(out_dir), done)
    finally:
        if own:
            executor.close()
    return [results[t.index] for t in tasks]
