"""A real dask.distributed cluster on 127.0.0.1 for the tests: `dask scheduler` and N
`dask worker --nthreads 1` processes, each in its own working folder (they share no files with
the client but the ones nnctl ships). Ports are chosen by the scheduler itself (port 0), and the
workers find it through the scheduler file, so two test runs never collide."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT_S = 60


class LocalDaskCluster:
    def __init__(self, folder: Path, n_workers: int = 2):
        self.folder = Path(folder)
        self.n_workers = n_workers
        self.scheduler: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}
        self.address: str | None = None

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        cwd = self.folder / name
        cwd.mkdir(parents=True, exist_ok=True)
        log = open(cwd / "log.txt", "wb")
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "dask", *args],
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1"},
            )
        finally:
            log.close()  # the child keeps its own handle

    def start(self) -> LocalDaskCluster:
        scheduler_file = self.folder / "scheduler.json"
        self.scheduler = self._spawn(
            "scheduler",
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not scheduler_file.exists():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("dask scheduler did not start:\n" + self.log("scheduler"))
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written in one go, but give the writer its close
        self.address = json.loads(scheduler_file.read_text())["address"]
        for i in range(self.n_workers):
            # --no-nanny: the worker is this process, so killing its PID kills the worker
            # (a nanny would start a new one).
            self.workers[f"w{i}"] = self._spawn(
                f"w{i}",
                [
                    "worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--name",
                    f"w{i}",
                ],
            )
        if self.n_workers:  # 0: a scheduler alone (a test starts its own workers)
            with self.client() as client:
                client.wait_for_workers(self.n_workers, timeout=START_TIMEOUT_S)
        return self

    def client(self):
        from distributed import Client

        return Client(self.address, set_as_default=False, timeout="20s")

    def log(self, name: str) -> str:
        path = self.folder / name / "log.txt"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def kill_worker(self, name: str) -> None:
        os.kill(self.workers[name].pid, signal.SIGKILL)
        self.workers[name].wait(timeout=30)

    def close(self) -> None:
        processes = [*self.workers.values(), self.scheduler]
        for proc in processes:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in processes:
            if proc is None:
                continue
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
