"""Where the runs of a comparison or sweep execute (`--executor`).

    make_executor("local", jobs=2)                          # this machine, 2 worker processes
    make_executor("dask", scheduler="tcp://host:8786")      # a dask.distributed cluster

local (base.py's interface, local.py) needs nothing beyond nnctl; dask (dask.py) needs the
extra nnctl[dask] and is imported only when chosen. Every executor gives the same numbers.
"""

from __future__ import annotations

import os

from nnctl.errors import UsageError

EXECUTORS = ("local", "dask")
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


def make_executor(
    name: str = "local", jobs: int = 1, scheduler: str | None = None, env: dict | None = None
):
    """The executor the command line asks for; UsageError naming the option otherwise."""
    env = os.environ if env is None else env
    if name not in EXECUTORS:
        raise UsageError(f"--executor: expected one of {', '.join(EXECUTORS)}, found {name!r}")
    if name == "local":
        if scheduler is not None:
            raise UsageError("--scheduler: applies to --executor dask (this is --executor local)")
        from nnctl.compare.executors.local import LocalExecutor

        return LocalExecutor(jobs)
    if jobs != 1:
        raise UsageError(
            f"--jobs {jobs}: applies to --executor local; on Dask every worker "
            "thread of the cluster takes runs (dask worker --nthreads 1 per core)"
        )
    address = scheduler or env.get(SCHEDULER_ENV, "").strip()
    if not address:
        raise UsageError(
            f"--executor dask: give --scheduler tcp://HOST:8786 or set {SCHEDULER_ENV}"
        )
    from nnctl.compare.executors.dask import DaskExecutor

    return DaskExecutor(address)
