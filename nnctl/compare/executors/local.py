"""The embedded executor: runs here, one after the other, or here and in `jobs - 1` worker
processes at once.

With `--jobs N` this process is one of the N: it trains runs itself while N - 1 workers train
others. A worker needs 0.2-0.4 s to start Python and import the engine, and this process has
all of that loaded already, so it starts on the first run at once, and no core is left to a
parent that only waits. Workers start when the executor is made (`__init__`: one per other
core; any more when runs are handed to them), and the commands make it before they resolve and
plan the configs, so that start-up overlaps that work. One pool serves every run() until
close() (a tuned comparison's trials and final runs).

Workers are started with `spawn` (a clean interpreter: no inherited threads, locks or BLAS
state) and train quietly into the comparison folder (this machine's file system). Every run,
here or in a worker, is the same function (`one_run.execute`) on the same resolved config, with
the config's BLAS thread count: the numbers do not depend on where a run went. No dependency
beyond the standard library.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections import deque
from pathlib import Path

from nnctl.compare.executors.base import Done
from nnctl.compare.plan import RunTask
from nnctl.errors import UsageError


def _warm_worker(parent_pid: int) -> None:
    """Worker start: ends with its parent (parent_watch.py); warnings read like the parent's;
    the engine imported before any run."""
    from nnctl.compare.executors.parent_watch import watch_parent
    from nnctl.report.console import route_warnings

    watch_parent(parent_pid)
    # A hang-up of the terminal reaches the whole process group: the parent saves and stops
    # (as on SIGTERM) and its workers end with it, rather than dying first under it.
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    route_warnings()
    import nnctl.compare.one_run  # noqa: F401
    import nnctl.training.trainer  # noqa: F401


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

        workers = self.jobs - 1  # this process is the other one
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm_worker,
            initargs=(os.getpid(),),
        )
        # No-ops, to start workers now: with spawn, a submit that finds no idle worker starts
        # one more. Only as many as there are other cores: the pool starts the rest when runs
        # are handed out, so --jobs 64 on a 3-run plan starts a few processes, not 63.
        for _ in range(min(workers, max(1, (os.cpu_count() or 2) - 1))):
            pool.submit(int)
        return pool

    def describe(self) -> str:
        if self.jobs == 1:
            return "here"
        return f"this process and {self.jobs - 1} worker process{'es' * (self.jobs > 2)}"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def run(self, tasks: list[RunTask], out_dir: Path, done: Done) -> None:
        from nnctl.compare.one_run import execute

        if self.jobs == 1 or len(tasks) <= 1:
            for task in tasks:
                done(task, execute(task, str(out_dir)))
            return
        if self._pool is None:  # closed by an earlier run's caller: start again
            self._pool = self._start_pool()
        queue = _SharedQueue(tasks)
        feeders = [
            threading.Thread(target=queue.feed, args=(self._pool, str(out_dir)), daemon=True)
            for _ in range(min(self.jobs - 1, len(tasks)))  # no idle threads on a small plan
        ]
        try:
            for feeder in feeders:
                feeder.start()
            while (task := queue.take()) is not None:
                queue.report_finished(done)
                done(task, execute(task, str(out_dir)))  # this process's own share
            queue.report_finished(done, until_all_reported=True)
        except BaseException:
            queue.stop()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            # Runs a worker had finished count as finished (an interrupted comparison says how
            # many are kept); what fails in reporting them must not hide the first error.
            with contextlib.suppress(Exception):
                queue.report_finished(done, raise_errors=False)
            raise


class _SharedQueue:
    """The tasks of one run(), taken in plan order by this process and by one feeder thread per
    worker (which hands its task to the pool and waits for it); results are reported on the
    calling thread, as `done` expects."""

    def __init__(self, tasks: list[RunTask]):
        self._pending = deque(tasks)
        self._lock = threading.Condition()
        self._finished: deque = deque()  # (task, result, error) from the workers
        self._in_workers = 0  # tasks the feeders took that are not reported yet

    def take(self, for_a_worker: bool = False) -> RunTask | None:
        with self._lock:
            if not self._pending:
                return None
            self._in_workers += for_a_worker  # counted under the same lock as the take
            return self._pending.popleft()

    def stop(self) -> None:
        with self._lock:
            self._pending.clear()

    def feed(self, pool, out_dir: str) -> None:
        from nnctl.compare.one_run import execute

        while (task := self.take(for_a_worker=True)) is not None:
            try:
                outcome = (task, pool.submit(execute, task, out_dir).result(), None)
            except BaseException as exc:  # a bug in a run, or the pool shut down
                outcome = (task, None, exc)
            with self._lock:
                self._finished.append(outcome)
                self._lock.notify_all()
            if outcome[2] is not None:
                return

    def report_finished(
        self, done: Done, until_all_reported: bool = False, raise_errors: bool = True
    ) -> None:
        """done(task, result) for each run a worker finished; with until_all_reported, wait
        for the rest first. An error of a worker's run is raised here (or left out)."""
        while True:
            with self._lock:
                if until_all_reported:
                    while not self._finished and self._in_workers > 0:
                        self._lock.wait()
                if not self._finished:
                    return
                task, result, error = self._finished.popleft()
                self._in_workers -= 1
            if error is None:
                done(task, result)
            elif raise_errors:
                raise error
