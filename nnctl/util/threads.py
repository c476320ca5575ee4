"""BLAS threads of one training run, part of its resolved config (`train.threads`).

OpenBLAS splits a matrix product across its threads, and with some shapes (a product over many
rows, `X.T @ G`) the split changes the order of the additions: 1 thread and 2 threads give
different last bits. So the thread count is a setting like the seed: `auto` is resolved to a
number when the config is resolved, the run folder's config.yaml records that number, and a
replay, a worker process or a Dask worker applies the same count around the run.

    with blas_threads(cfg["train"]["threads"]):
        trainer.run()

`auto` means the BLAS library's own default in the process that resolves the config: the number
of cores, or OPENBLAS_NUM_THREADS / OMP_NUM_THREADS when set. Comparisons and sweeps resolve
`auto` to 1 instead (nnctl.compare.plan): their parallelism is one run per core.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

from nnctl.errors import UsageError

AUTO = "auto"


def default_blas_threads() -> int:
    """The thread count the loaded BLAS would use now (the smallest if several are loaded)."""
    import numpy  # noqa: F401  (threadpoolctl sees only libraries already loaded)
    from threadpoolctl import threadpool_info

    counts = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return max(1, min(counts)) if counts else max(1, os.cpu_count() or 1)


def resolve_threads(value, where: str = "train.threads") -> int:
    """`auto` -> default_blas_threads(); an integer >= 1 as is; UsageError otherwise."""
    if value == AUTO:
        return default_blas_threads()
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{where}: expected auto or an integer >= 1, found {value!r}")
    return value


def blas_libraries() -> list[dict]:
    """What threadpoolctl finds: one dict per BLAS library (internal_api, version,
    architecture, num_threads); benchmarks print it to say which kernel ran."""
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "architecture", "threading_layer", "num_threads")
    return [
        {k: lib.get(k) for k in keys} for lib in threadpool_info() if lib.get("user_api") == "blas"
    ]


def _check_applied(n: int) -> None:
    """Fail rather than train with another count than the config says (other bits).

    OpenBLAS (0.3.31 at least) ignores a count set from a thread other than the main one once
    the main thread has set one itself. No nnctl process does that (`nnctl train` and the
    local workers train on their main thread; a Dask worker's main thread runs no BLAS), but
    a program embedding nnctl could."""
    from threadpoolctl import threadpool_info

    found = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    if found and min(found) != n:
        raise UsageError(
            f"train.threads: {n} BLAS threads were asked for, the BLAS uses "
            f"{min(found)} (a count set from another thread of this process wins)"
        )


# The BLAS thread count is one setting for the whole process. Runs on several threads of one
# process (a Dask worker started with --nthreads 2) must not change it under each other: the
# first run sets it, later runs with the same count join, a run that needs another count waits
# until the others have finished, and the last one out restores the original setting.
_state = threading.Condition()
_active = {"threads": None, "runs": 0, "limiter": None}
_local = threading.local()


@contextmanager
def blas_threads(n: int):
    """Run the body with the BLAS limited to `n` threads."""
    import numpy  # noqa: F401  (loads the BLAS, so that there is something to limit)
    from threadpoolctl import threadpool_limits

    if getattr(_local, "depth", 0):
        # Nested in this thread (a caller that already set a count): waiting would deadlock.
        with threadpool_limits(limits=n, user_api="blas"):
            _local.depth += 1
            try:
                yield
            finally:
                _local.depth -= 1
        return
    with _state:
        while _active["runs"] and _active["threads"] != n:
            _state.wait()
        if not _active["runs"]:
            _active["limiter"] = threadpool_limits(limits=n, user_api="blas")
            _active["threads"] = n
        _active["runs"] += 1
    _local.depth = 1
    try:
        _check_applied(n)
        yield
    finally:
        _local.depth = 0
        with _state:
            _active["runs"] -= 1
            if not _active["runs"]:
                _active["limiter"].restore_original_limits()
                _active["limiter"] = _active["threads"] = None
                _state.notify_all()
