"""Runs the tasks of a plan, one after the other or in `jobs` worker processes.

A run's numbers depend only on its config (seeded streams, no shared state), so running it in a
worker process gives the same numbers as running it here: `--jobs N` changes wall time only.
Workers are started with `spawn` (a clean interpreter: no inherited threads, locks or BLAS state)
and train quietly; the parent prints one line per finished run.

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
    from nnctl import run_folder
    from nnctl.report.progress import QuietReporter
    from nnctl.train import train

    if task.cfg is None:
        return {"index": task.index, "status": "skipped", "message": task.skip_reason,
                "summary": None, "rows": []}
    run_dir = run_folder.create(Path(out_dir) / task.folder, unique=False)
    try:
        summary = train(task.cfg, run_dir, QuietReporter(), base_dir=Path(task.base_dir))
    except TrainingFailed as exc:
        summary = _read_summary(run_dir)
        return {"index": task.index, "status": "diverged", "message": str(exc), "summary": summary,
                "rows": run_folder.read_metrics(run_dir)}
    except UsageError as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        return {"index": task.index, "status": "skipped", "message": str(exc), "summary": None,
                "rows": []}
    return {"index": task.index, "status": summary["status"], "message": summary.get("message"),
            "summary": summary, "rows": run_folder.read_metrics(run_dir)}


def _read_summary(run_dir: Path) -> dict | None:
    import json

    path = run_dir / "summary.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def run_tasks(tasks: list[RunTask], out_dir: Path, jobs: int = 1,
              on_done: Callable[[RunTask, dict], None] | None = None) -> list[dict]:
    """Every task's result, in task order (whatever order they finish in)."""
    results: list[dict | None] = [None] * len(tasks)

    def done(task, result):
        results[task.index] = result
        if on_done is not None:
            on_done(task, result)

    runnable = [t for t in tasks if t.cfg is not None]
    for task in tasks:
        if task.cfg is None:
            done(task, execute(task, str(out_dir)))
    workers = min(jobs, len(runnable))
    if workers <= 1:
        for task in runnable:
            done(task, execute(task, str(out_dir)))
        return results

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from nnctl.report.console import route_warnings  # worker warnings read like the parent's

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=route_warnings)
    try:
        futures = {pool.submit(execute, task, str(out_dir)): task for task in runnable}
        for future in as_completed(futures):
            done(futures[future], future.result())  # an error in a worker re-raises here
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results

