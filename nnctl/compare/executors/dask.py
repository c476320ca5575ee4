"""The Dask executor: each run is a task on a `dask.distributed` cluster.

    dask scheduler                                  # on one machine: tcp://HOST:8786
    dask worker tcp://HOST:8786 --nthreads 1        # on each machine, one per core
    nnctl sweep ... --executor dask --scheduler tcp://HOST:8786

Only distributed's own API is used: a Client, `scatter` for the data files (once, broadcast to
the workers), `submit` per run and `as_completed`. Dask places the runs, and re-runs elsewhere
a run whose worker died (its allowed-failures setting); a run's numbers depend on its config
only, so a re-run gives the same bits. Workers need nnctl (same version) and nothing else: no
shared file system (see shipping.py). This module is imported only for `--executor dask`.
"""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path

from nnctl.compare.executors import shipping
from nnctl.compare.executors.base import Done
from nnctl.compare.plan import RunTask
from nnctl.errors import TrainingFailed, UsageError


def import_distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError(
            "--executor dask: needs the Dask extra, which is not installed: "
            'pip install "nnctl[dask]"'
        ) from None
    return distributed


class DaskExecutor:
    name = "dask"

    def __init__(self, address: str):
        self.address = address
        # Connect now: a wrong address fails before any folder is made.
        self._distributed = import_distributed()
        self._client = self._connect(self._distributed)

    def describe(self) -> str:
        return f"the Dask cluster at {self.address}"

    def _connect(self, distributed):
        # The connect timeout is Dask's own setting (distributed.comm.timeouts.connect, e.g.
        # DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s).
        try:
            return distributed.Client(self.address, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(
                f"--scheduler {self.address}: cannot reach a Dask scheduler there "
                f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
            ) from None

    def run(self, tasks: list[RunTask], out_dir: Path, done: Done) -> None:
        distributed, client = self._distributed, self._client
        futures: dict = {}
        try:
            cache: dict = {}
            scattered: dict = {}  # digest of the files -> their future on the cluster
            for task in tasks:
                files = shipping.files_to_ship(task, cache)
                data = None
                if files is not None:
                    if files.digest not in scattered:
                        # broadcast: every worker holds a copy, so losing one worker loses no data
                        [scattered[files.digest]] = client.scatter(
                            [files], broadcast=True, hash=False
                        )
                    data = scattered[files.digest]
                key = f"nnctl-run-{task.folder}-{uuid.uuid4().hex[:8]}"
                futures[client.submit(shipping.run_shipped, task, data, key=key)] = task
            cache.clear()  # the cluster has the bytes now; `scattered` keeps them there
            for future in distributed.as_completed(list(futures), loop=client.loop):
                task = futures.pop(future)
                try:
                    payload = future.result()
                except distributed.KilledWorker:
                    raise TrainingFailed(
                        f"run {task.folder}: every Dask worker that ran it died (Dask's "
                        "distributed.scheduler.allowed-failures); it may need more memory than "
                        "a worker has"
                    ) from None
                future.release()
                result = shipping.write_run_folder(out_dir, task, payload)
                for text in payload["warnings"]:
                    warnings.warn(text, stacklevel=2)
                done(task, result)
        except BaseException:
            if futures:
                client.cancel(list(futures))
            raise
        finally:
            self.close()

    def close(self) -> None:
        self._client.close()
