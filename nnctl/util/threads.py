"""BLAS threads of one training run, part of its resolved config (`train.threads`).

OpenBLAS splits a matrix product across its threads, and with some shapes (a product over many
rows, `X.T @ G`) the split changes the order of the additions: 1 thread and 2 threads give
different last bits. So the thread count is a setting like the seed: `auto` is resolved to a
number when the config is resolved, the run folder's config.yaml records that number, and a
replay, a worker process or a Dask worker applies the same count around the run.

    with blas_threads(cfg["train"]["threads"]):
        trainer.run()

`auto` is resolved from the run's shapes, never from the machine's load (so the same config and
data give the same count, and the same bits, every time): the largest matrix product of one
training step, rows x fan_in x fan_out multiply-adds (rows: the batch, or every training row
for the full-batch methods), below CROSSOVER_PRODUCT -> 1 thread; from it on -> the BLAS
library's own default (the number of cores, or OPENBLAS_NUM_THREADS / OMP_NUM_THREADS when
set). Below the crossover a second thread gains nothing, and on a busy core it waits at every
product (lesson-overfit: 10-14 s instead of 0.8 s with one core busy). The trainer resolves
`auto` once the data is loaded (nnctl.training.trainer), before config.yaml is written;
comparisons and sweeps resolve it to 1 instead (nnctl.compare.plan): their parallelism is one
run per core.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

from nnctl.errors import UsageError, shown

AUTO = "auto"

# Multiply-adds of one matrix product (rows x fan_in x fan_out) from which `auto` uses the cores.
# benchmarks/bench_threads.py (its docstring has the figures), on the quiet 2-core machine: from
# 2**26 on, 2 threads took 0.66-0.86 of 1 thread's time at every point; below it, 0.84-1.33
# (nothing steady to gain, and a busy core makes a second thread 2-20x slower there).
CROSSOVER_PRODUCT = 2**26


def default_blas_threads() -> int:
    """The thread count the loaded BLAS would use now (the smallest if several are loaded)."""
    import numpy  # noqa: F401  (threadpoolctl sees only libraries already loaded)
    from threadpoolctl import threadpool_info

    counts = [lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"]
    return max(1, min(counts)) if counts else max(1, os.cpu_count() or 1)


def check_threads(value, where: str = "train.threads"):
    """`auto` or an integer >= 1, returned as is; UsageError otherwise."""
    if value == AUTO:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{where}: expected auto or an integer >= 1, found {shown(value)}")
    return value


def largest_product(rows: int, weight_shapes) -> int:
    """Multiply-adds of the largest matrix product of one step: rows x fan_in x fan_out over
    the model's weight matrices ([fan_in, fan_out] each)."""
    return max((rows * fan_in * fan_out for fan_in, fan_out in weight_shapes), default=0)


def threads_for_product(product: int) -> int:
    """`auto` for a run whose largest product has `product` multiply-adds: 1 below the
    crossover, the BLAS default (the cores) from it on."""
    return default_blas_threads() if product >= CROSSOVER_PRODUCT else 1


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
