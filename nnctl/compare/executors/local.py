"""The embedded executor: runs one after the other here, or in `jobs` worker processes.

Worker processes are started with `spawn` (a clean interpreter: no inherited threads, locks or
BLAS state), train quietly into the comparison folder (a shared file system: this machine's),
and the parent reports each run as it finishes. No dependency beyond the standard library.

The workers start when the executor is made, not at the first run: each spends about 0.4 s
starting Python and importing the engine (`_warm_worker`), and the commands make the executor
before they resolve and plan the configs, so that time overlaps the parent's own. One pool
serves every run() until close() (a tuned comparison's trials and final runs share it).
"""

from __future__ import annotations

from pathlib import Path

from nnctl.compare.executors.base import Done
from nnctl.compare.plan import RunTask
from nnctl.errors import UsageError


def _warm_worker() -> None:
    """Worker start: warnings read like the parent's; the engine imported before any run."""
    from nnctl.report.console import route_warnings

    route_warnings()
    import nnctl.compare.runner  # noqa: F401
    import nnctl.train.trainer  # noqa: F401


class LocalExecutor:
    name = "local"

    def __init__(self, jobs: int = 1):
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise UsageError(f"--jobs: expected an integer >= 1, found {jobs}")
        self.jobs = jobs
        self._pool = self._start_pool() if jobs > 1 else None

    def _start_pool(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm_worker,
        )
        for _ in range(self.jobs):  # no-ops: with spawn, each submit starts one more worker
            pool.submit(int)
        return pool

    def describe(self) -> str:
        return "here" if self.jobs == 1 else f"{self.jobs} worker processes"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def run(self, tasks: list[RunTask], out_dir: Path, done: Done) -> None:
        from nnctl.compare.runner import execute

        if self.jobs == 1 or len(tasks) <= 1:
            for task in tasks:
                done(task, execute(task, str(out_dir)))
            return
        from concurrent.futures import as_completed

        if self._pool is None:  # closed by an earlier run's caller: start again
            self._pool = self._start_pool()
        try:
            futures = {self._pool.submit(execute, task, str(out_dir)): task for task in tasks}
            for future in as_completed(futures):
                done(futures[future], future.result())  # an error in a worker re-raises here
        except BaseException:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            raise
