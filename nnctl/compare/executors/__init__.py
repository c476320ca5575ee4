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
INSECURE_ENV = "NNCTL_DASK_INSECURE"
# The Dask deadlines in seconds, until the command line has options for them.
DEADLINE_ENV = {
    "connect_timeout": "NNCTL_DASK_CONNECT_TIMEOUT",
    "worker_timeout": "NNCTL_DASK_WORKER_TIMEOUT",
    "run_timeout": "NNCTL_DASK_RUN_TIMEOUT",
}


def _seconds(text: str, source: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise UsageError(f"{source}: expected a number of seconds > 0, found {text!r}")
    return value


def make_executor(
    name: str = "local",
    jobs: int = 1,
    scheduler: str | None = None,
    env: dict | None = None,
    **dask_options,
):
    """The executor the command line asks for; UsageError naming the option otherwise.
    dask_options (Dask only): connect_timeout, worker_timeout, run_timeout (seconds), insecure
    (plain tcp:// to another machine; also NNCTL_DASK_INSECURE=1)."""
    env = os.environ if env is None else env
    if name not in EXECUTORS:
        raise UsageError(f"--executor: expected one of {', '.join(EXECUTORS)}, found {name!r}")
    given = {key: value for key, value in dask_options.items() if value is not None}
    if name == "local":
        if given:
            flag = "--" + next(iter(given)).replace("_", "-")
            raise UsageError(f"{flag}: applies to --executor dask (this is --executor local)")
        if scheduler is not None:
            raise UsageError("--scheduler: applies to --executor dask (this is --executor local)")
        from nnctl.compare.executors.local import LocalExecutor

        return LocalExecutor(jobs)
    if jobs != 1:
        raise UsageError(
            f"--jobs {jobs}: applies to --executor local; on Dask every worker "
            "thread of the cluster takes runs (dask worker --nthreads 1 per core)"
        )
    if scheduler is not None:
        address, source = scheduler, "--scheduler"
    elif env.get(SCHEDULER_ENV, "").strip():  # set but blank (`VAR= nnctl ...`) = not set
        address, source = env[SCHEDULER_ENV], f"${SCHEDULER_ENV}"
    else:
        raise UsageError(
            f"--executor dask: give --scheduler tcp://HOST:8786 or set {SCHEDULER_ENV}"
        )
    dask_options = given
    if env.get(INSECURE_ENV, "").strip() == "1":
        dask_options.setdefault("insecure", True)
    for key, variable in DEADLINE_ENV.items():
        if key not in dask_options and env.get(variable, "").strip():
            dask_options[key] = _seconds(env[variable], f"${variable}")
    from nnctl.compare.executors.dask import DaskExecutor

    return DaskExecutor(address, source=source, **dask_options)
