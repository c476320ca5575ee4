"""The Dask executor: each run is a task on a `dask.distributed` cluster.

    dask scheduler                                  # on one machine: tcp://HOST:8786
    dask worker tcp://HOST:8786 --nthreads 1        # on each machine, one per core
    nnctl sweep ... --executor dask --scheduler tcp://HOST:8786

Only distributed's own API is used: a Client, `scatter` for the data files (once, broadcast to
the workers), `submit` per run and `as_completed`. Dask places the runs, and re-runs elsewhere
a run whose worker died (its allowed-failures setting); a run's numbers depend on its config
only, so a re-run gives the same bits. Workers need nnctl (the same version and
source, checked first: dask_guard.py) and nothing else: no shared file system (see
shipping.py). Addresses, deadlines and a lost scheduler: dask_address.py, dask_probe.py, and
docs/scaling.md. This module is imported only for `--executor dask`.
"""

from __future__ import annotations

import contextlib
import time
import uuid
import warnings
from concurrent.futures import CancelledError
from pathlib import Path

from nnctl.compare.executors import shipping
from nnctl.compare.executors.base import Done
from nnctl.compare.executors.dask_address import check_address, check_transport
from nnctl.compare.executors.dask_guard import (
    check_workers,
    first_line,
    one_line_dask_logs,
    within,
)
from nnctl.compare.executors.dask_probe import probe_scheduler
from nnctl.compare.plan import RunTask
from nnctl.errors import TrainingFailed, UsageError, shown


def import_distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError(
            "--executor dask: needs the Dask extra, which is not installed: "
            'pip install "nnctl[dask]"'
        ) from None
    return distributed


# Defaults of the deadlines (seconds): a scheduler answers in well under a second on a network;
# workers of a freshly started cluster join within seconds; a run has no limit by default.
CONNECT_TIMEOUT_S = 10.0
WORKER_TIMEOUT_S = 30.0
POLL_S = 1.0  # how often the deadlines are checked
TICK_S = 0.05  # how often finished runs are looked for


class DaskExecutor:
    name = "dask"

    def __init__(
        self,
        address: str,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        worker_timeout: float = WORKER_TIMEOUT_S,
        run_timeout: float | None = None,
        insecure: bool = False,
        source: str = "--scheduler",
    ):
        """Connect to the scheduler at `address` (checked first: dask_address.py), wait up to
        `worker_timeout` s for a worker, and check every worker runs this nnctl. When no run
        finishes for `run_timeout` s (None: no limit), the comparison fails."""
        checked = check_address(address, source)
        for name, value in (
            ("--connect-timeout", connect_timeout),
            ("--worker-timeout", worker_timeout),
            ("--run-timeout", run_timeout),
        ):
            if value is not None and (isinstance(value, bool) or not value > 0):
                raise UsageError(f"{name}: expected a number of seconds > 0, found {shown(value)}")
        warning = check_transport(checked, insecure, source)
        if warning:
            warnings.warn(warning, stacklevel=2)
        self.address = str(checked)
        self.connect_timeout, self.worker_timeout = connect_timeout, worker_timeout
        self.run_timeout = run_timeout
        self._distributed = import_distributed()
        one_line_dask_logs()
        # A wrong address fails before any folder is made, and never hangs: the socket probe
        # first (Dask's client waits for ever on a silent port), then Dask under a deadline.
        probe_scheduler(checked, connect_timeout, source)
        self._client = None
        self._client = self._connect(self._distributed)
        try:
            self._wait_for_a_worker()
            check_workers(self._client, self.address, self.connect_timeout)
        except BaseException:
            self.close()
            raise

    def describe(self) -> str:
        return f"the Dask cluster at {self.address}"

    def _connect(self, distributed):
        # Dask's own TLS certificates come from its configuration (distributed.comm.tls.*,
        # e.g. DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT): docs/scaling.md.
        try:
            return within(
                self.connect_timeout * 2,
                lambda: distributed.Client(
                    self.address, set_as_default=False, timeout=f"{self.connect_timeout}s"
                ),
                f"connecting to the Dask scheduler at {self.address}",
            )
        except UsageError:
            raise
        except Exception as exc:  # TLS refused, a protocol error, ...: Dask's reason, one line
            raise UsageError(
                f"cannot connect to the Dask scheduler at {self.address} ({first_line(exc)})"
            ) from None

    def _wait_for_a_worker(self) -> None:
        try:
            self._client.wait_for_workers(1, timeout=self.worker_timeout)
        except TimeoutError:
            raise UsageError(
                f"no worker joined {self.address} within {self.worker_timeout:g} s "
                "(--worker-timeout): start one with `dask worker "
                f"{self.address} --nthreads 1`"
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
            for future in self._finished(futures):
                task = futures.pop(future)
                try:
                    payload = future.result()
                except distributed.KilledWorker:
                    raise TrainingFailed(
                        f"run {task.folder}: every Dask worker that ran it died (Dask's "
                        "distributed.scheduler.allowed-failures); it may need more memory than "
                        "a worker has"
                    ) from None
                except CancelledError:
                    raise self._lost(len(futures) + 1) from None
                future.release()
                result = shipping.write_run_folder(out_dir, task, payload)
                for text in payload["warnings"]:
                    warnings.warn(text, stacklevel=2)
                done(task, result)
        except BaseException:
            if futures:
                with contextlib.suppress(Exception):  # the scheduler may be the thing gone
                    within(self.connect_timeout, lambda: client.cancel(list(futures)), "cancel")
            raise
        finally:
            self.close()

    def _finished(self, futures: dict):
        """The futures as they finish, under the deadlines: a scheduler that went away, no
        worker left for `worker_timeout` s, no run finished for `run_timeout` s."""
        from distributed import as_completed

        pending = as_completed(list(futures), loop=self._client.loop)
        last_progress = last_check = time.monotonic()
        no_worker_since = None
        while not pending.is_empty():
            if self._client.status not in ("running", "connecting"):
                raise self._lost(pending.count())
            if pending.has_ready():
                last_progress = time.monotonic()
                yield from pending.next_batch(block=False)
                continue
            time.sleep(TICK_S)
            if time.monotonic() - last_check < POLL_S:
                continue
            last_check = time.monotonic()
            now = time.monotonic()
            if self.run_timeout is not None and now - last_progress > self.run_timeout:
                raise TrainingFailed(
                    f"no run finished on {self.address} within {self.run_timeout:g} s "
                    f"(--run-timeout); {pending.count()} unfinished, kept for --resume"
                )
            try:
                workers = within(self.connect_timeout, self._client.nthreads, "asking for workers")
            except Exception:
                raise self._lost(pending.count()) from None
            if workers:
                no_worker_since = None
            elif no_worker_since is None:
                no_worker_since = now
            elif now - no_worker_since > self.worker_timeout:
                raise UsageError(
                    f"no worker left on {self.address}, and none joined within "
                    f"{self.worker_timeout:g} s (--worker-timeout); {pending.count()} runs "
                    "unfinished: start workers and continue with --resume"
                )

    def _lost(self, unfinished: int) -> UsageError:
        return UsageError(
            f"lost the connection to the Dask scheduler at {self.address} during the runs; "
            f"{unfinished} unfinished: restart the scheduler and continue with --resume"
        )

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # a scheduler already gone: nothing to close
                client.close(timeout=self.connect_timeout)
