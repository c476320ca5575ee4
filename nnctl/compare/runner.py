"""Runs the tasks of a plan through an executor (nnctl.compare.executors): here, in `jobs`
worker processes, or on a Dask cluster.

A run's numbers depend only on its config (seeded streams, BLAS threads, no shared state), so
running it in a worker process or on another machine gives the same numbers as running it here:
the executor changes wall time only. Runs train quietly; the caller reports each finished run.
One run's work is `one_run.execute` (re-exported here); the executors import it from there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nnctl.compare.one_run import execute
from nnctl.compare.plan import RunTask


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
