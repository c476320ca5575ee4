"""The embedded executor: runs one after the other here, or in `jobs` worker processes.

Worker processes are started with `spawn` (a clean interpreter: no inherited threads, locks or
BLAS state), train quietly into the comparison folder (a shared file system: this machine's),
and the parent reports each run as it finishes. No dependency beyond the standard library.
"""

from __future__ import annotations

from pathlib import Path

from nnctl.compare.executors.base import Done
from nnctl.compare.plan import RunTask
from nnctl.errors import UsageError


class LocalExecutor:
    name = "local"

    def __init__(self, jobs: int = 1):
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
            raise UsageError(f"--jobs: expected an integer >= 1, found {jobs}")
        self.jobs = jobs

    def describe(self) -> str:
        return "here" if self.jobs == 1 else f"{self.jobs} worker processes"

    def close(self) -> None:
        pass  # the process pool lives only inside run()

    def run(self, tasks: list[RunTask], out_dir: Path, done: Done) -> None:
        from nnctl.compare.runner import execute

        workers = min(self.jobs, len(tasks))
        if workers <= 1:
            for task in tasks:
                done(task, execute(task, str(out_dir)))
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        from nnctl.report.console import route_warnings

        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=route_warnings,
        )  # worker warnings read like the parent's
        try:
            futures = {pool.submit(execute, task, str(out_dir)): task for task in tasks}
            for future in as_completed(futures):
                done(futures[future], future.result())  # an error in a worker re-raises here
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
