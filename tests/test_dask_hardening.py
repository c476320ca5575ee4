"""A Dask client that cannot hang or be fooled (issue 22, item 3), as real processes against a
real scheduler and workers on 127.0.0.1 (tests/dask_cluster.py), a silent port and a
garbage-speaking peer (plain sockets here). Every case must end with exit 2 and a message, no
traceback; the subprocess timeouts only bound a hang, they time nothing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import CONFIGS, run_nnctl

pytest.importorskip("distributed", reason="the Dask extra is not installed")
sys.path.insert(0, os.path.dirname(__file__))
from dask_cluster import LocalDaskCluster  # noqa: E402

BOUND_S = 120  # no case may take this long: a hang fails the test instead of blocking it
FAST = {"NNCTL_DASK_CONNECT_TIMEOUT": "2", "NNCTL_DASK_WORKER_TIMEOUT": "3"}


def compare_on(address, tmp_path, env=None, epochs=3, optimizers=("sgd", "adam"), extra=()):
    args = ["compare-optimizers", CONFIGS / "iris-softmax.yaml", *extra]
    for name in optimizers:
        args += ["-o", name]
    args += ["-s", f"train.epochs={epochs}", "--out", tmp_path / "cmp", "--no-plot"]
    args += ["--executor", "dask"]
    if address is not None:
        args += ["--scheduler", address]
    return run_nnctl(*args, cwd=tmp_path, env={**FAST, **(env or {})}, timeout=BOUND_S)


def assert_refused(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "address, fragments",
    [
        ("garbage", ["'garbage' names no port"]),
        ("http://127.0.0.1:8787", ["uses http://", "tcp://HOST:8786"]),
        ("ucx://127.0.0.1:8786", ["uses ucx://", "expected tcp://HOST:PORT"]),
        (" ", ["blank"]),
        ("tcp://127.0.0.1:99999", ["Port out of range"]),
        ("tcp://127.0.0.1:8786/path", ["path"]),
        ("tcp://bad_host:8786", ["'bad_host' is neither a host name nor an IP"]),
    ],
)
def test_a_bad_address_is_named_before_anything_connects(tmp_path, address, fragments):
    proc = compare_on(address, tmp_path)
    assert_refused(proc, "--scheduler", *fragments)
    assert not (tmp_path / "cmp").exists()


@pytest.mark.parametrize("value", ["", "http://x:1", "tcp://127.0.0.1"])
def test_a_malformed_environment_address_is_named_as_the_variable(tmp_path, value):
    proc = compare_on(None, tmp_path, env={"DASK_SCHEDULER_ADDRESS": value})
    assert_refused(proc, "DASK_SCHEDULER_ADDRESS")  # blank: as if unset, which is named too


def test_plain_tcp_to_another_machine_needs_insecure(tmp_path):
    # 192.0.2.0/24 is reserved for documentation: nothing answers there.
    proc = compare_on("tcp://192.0.2.1:8786", tmp_path)
    assert_refused(proc, "plain tcp:// to another machine", "--insecure")
    for allowed in (
        compare_on("tcp://192.0.2.1:8786", tmp_path, env={"NNCTL_DASK_INSECURE": "1"}),
        compare_on("tcp://192.0.2.1:8786", tmp_path, extra=["--insecure"]),
    ):
        # past the refusal: nothing answers there (refused, or silent behind a proxy)
        assert_refused(allowed, "tcp://192.0.2.1:8786")
        assert "plain tcp:// to another machine" not in allowed.stderr
        warnings = [line for line in allowed.stderr.splitlines() if "--insecure:" in line]
        assert len(warnings) == 1 and "unencrypted" in warnings[0]


def test_the_deadline_options_are_checked_and_belong_to_dask(tmp_path):
    local = run_nnctl(
        "compare-optimizers",
        CONFIGS / "iris-softmax.yaml",
        "-o",
        "sgd",
        "--worker-timeout",
        "5",
        "--out",
        tmp_path / "cmp",
        cwd=tmp_path,
        timeout=BOUND_S,
    )
    assert_refused(local, "--worker-timeout: applies to --executor dask")
    zero = compare_on("tcp://127.0.0.1:8786", tmp_path, extra=["--connect-timeout", "0"])
    assert_refused(zero, "--connect-timeout: expected a number of seconds > 0")


class Peer:
    """A TCP port on 127.0.0.1 that accepts and then says nothing, or sends `greeting`."""

    def __init__(self, greeting: bytes | None):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.server.getsockname()[1]}"
        self.greeting, self.connections = greeting, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(conn)  # held open: silence, not a refusal
            if self.greeting is not None:
                try:
                    conn.sendall(self.greeting)
                except OSError:
                    pass

    def close(self):
        self.server.close()
        for conn in self.connections:
            conn.close()


@pytest.mark.parametrize(
    "greeting, fragment",
    [
        (None, "sent no Dask greeting within 2 s"),
        (b"\xff" * 64 + b"garbage" * 100, "does not speak Dask's protocol"),
        (b"HTTP/1.1 200 OK\r\n\r\n", "does not speak Dask's protocol"),
    ],
    ids=["silent", "garbage", "http"],
)
def test_a_peer_that_is_not_a_scheduler_is_named_and_the_process_exits(
    tmp_path, greeting, fragment
):
    peer = Peer(greeting)
    try:
        proc = compare_on(peer.address, tmp_path)
        if greeting is None:  # the option wins over the variable
            faster = compare_on(peer.address, tmp_path, extra=["--connect-timeout", "1"])
            assert_refused(faster, "sent no Dask greeting within 1 s (--connect-timeout)")
    finally:
        peer.close()
    assert_refused(proc, peer.address, fragment)
    assert "out of memory" not in proc.stderr


def test_a_closed_port_is_named(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as server:
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    proc = compare_on(address, tmp_path)
    assert_refused(proc, f"--scheduler {address}: cannot reach a Dask scheduler there")


@pytest.fixture
def scheduler_only(tmp_path):
    cluster = LocalDaskCluster(tmp_path / "cluster", n_workers=0)
    try:
        yield cluster.start()
    finally:
        cluster.close()


def test_a_scheduler_without_workers_is_named_after_the_worker_deadline(tmp_path, scheduler_only):
    proc = compare_on(scheduler_only.address, tmp_path)
    assert_refused(proc, f"no worker joined {scheduler_only.address} within 3 s")


def start_worker(cluster, name, env_extra=None) -> subprocess.Popen:
    folder = cluster.folder / name
    folder.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "dask", "worker", cluster.address, "--nthreads", "1"]
    args += ["--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--name", name]
    with open(folder / "log.txt", "wb") as log:
        return subprocess.Popen(
            args,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env_extra or {})},
        )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_for_workers(cluster, n):
    with cluster.client() as client:
        client.wait_for_workers(n, timeout=60)


@pytest.mark.parametrize(
    "fake_init, fragment",
    [
        (
            "raise ModuleNotFoundError(\"No module named 'nnctl'\", name='nnctl')\n",
            "has no nnctl installed (this client runs nnctl ",
        ),
        ("__version__ = '0.0.9'\n", "runs nnctl 0.0.9, this client nnctl "),
    ],
    ids=["no-nnctl", "other-version"],
)
def test_a_worker_with_another_nnctl_or_none_is_named_before_any_run(
    tmp_path, scheduler_only, fake_init, fragment
):
    # The worker finds this fake `nnctl` first on its PYTHONPATH: as if it had none, or another.
    fake = tmp_path / "fake" / "nnctl"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(fake_init)
    worker = start_worker(scheduler_only, "odd", {"PYTHONPATH": str(fake.parent)})
    try:
        wait_for_workers(scheduler_only, 1)
        proc = compare_on(scheduler_only.address, tmp_path)
    finally:
        stop(worker)
    assert_refused(proc, "must run the same nnctl as this client", fragment)
    assert not (tmp_path / "cmp").exists()


def kill_mid_comparison(cluster, tmp_path, kill) -> tuple[subprocess.Popen, str]:
    """A comparison on one worker of `cluster`, cut by kill(worker) a second after its runs
    start; the finished process and its stderr."""
    worker = start_worker(cluster, "w0")
    proc = None
    try:
        wait_for_workers(cluster, 1)
        proc = start_compare(cluster.address, tmp_path)
        wait_for_line(proc, "runs on the Dask cluster")
        time.sleep(1)
        kill(worker)
        stdout, stderr = proc.communicate(timeout=BOUND_S)
    finally:
        stop(worker)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc, stderr


def test_the_only_worker_killed_is_named_after_the_worker_deadline(tmp_path, scheduler_only):
    proc, stderr = kill_mid_comparison(scheduler_only, tmp_path, lambda worker: worker.kill())
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert f"no worker left on {scheduler_only.address}" in stderr


def test_the_scheduler_killed_mid_run_is_exit_2_with_a_message(tmp_path, scheduler_only):
    def kill_the_scheduler(worker):
        os.kill(scheduler_only.scheduler.pid, signal.SIGKILL)

    proc, stderr = kill_mid_comparison(scheduler_only, tmp_path, kill_the_scheduler)
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr
    assert f"lost the connection to the Dask scheduler at {scheduler_only.address}" in stderr


def start_compare(address, tmp_path) -> subprocess.Popen:
    """A comparison long enough (4 runs of 3000 epochs on one worker) to be cut mid-run."""
    env = {**os.environ, "NO_COLOR": "1", **FAST}
    env.pop("NNCTL_DEBUG", None)
    args = ["compare-optimizers", str(CONFIGS / "iris-softmax.yaml")]
    args += ["-o", "sgd", "-o", "adam", "-o", "rmsprop", "-o", "adagrad"]
    args += ["-s", "train.epochs=3000", "--out", str(tmp_path / "cmp"), "--no-plot"]
    args += ["--executor", "dask", "--scheduler", address]
    return subprocess.Popen(
        [sys.executable, "-m", "nnctl", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(proc: subprocess.Popen, fragment: str) -> None:
    """Read stderr until a line holds `fragment` (the process must still be running)."""
    deadline = time.monotonic() + BOUND_S
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if fragment in line:
            return
        assert line, f"ended before {fragment!r}: {proc.communicate()}"
    raise AssertionError(f"no line with {fragment!r}")
