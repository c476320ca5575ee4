"""Processes that never outlive the command (issue 22, item 5), as real processes:

- `compare-optimizers --jobs 2` killed by SIGKILL or hung up (SIGHUP): its pool workers (and
  Python's resource tracker) end too, so the caller's pipes reach EOF and nothing is left
  re-parented to PID 1;
- SIGHUP during training saves the state like SIGTERM: exit 130, resumable; under `nohup`
  (SIGHUP ignored) training goes on to the end.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, popen_nnctl, run_nnctl

WAIT_S = 120


def children_of(pid: int) -> set[int]:
    """PIDs whose parent is `pid`, read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its last ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


def start(args, cwd, preexec_fn=None) -> subprocess.Popen:
    return popen_nnctl(*args, cwd=cwd, preexec_fn=preexec_fn)


def long_comparison(tmp_path) -> subprocess.Popen:
    """A --jobs 2 comparison long enough to be caught with its worker training."""
    return start(
        [
            "compare-optimizers",
            CONFIGS / "digits-mlp.yaml",
            *("-o", "sgd", "-o", "adam", "-o", "rmsprop", "-o", "adagrad"),
            *("-s", "train.epochs=400", "-s", "train.early_stopping=null"),
            *("--out", tmp_path / "cmp", "--no-plot", "--jobs", "2"),
        ],
        cwd=tmp_path,
    )


def wait_for_a_worker_training(proc: subprocess.Popen, out: Path) -> set[int]:
    """Until the pool's worker and this process both write runs; returns the children."""
    deadline = time.monotonic() + WAIT_S
    while True:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no two runs started"
        runs = [p for p in out.glob("*/metrics.jsonl") if p.stat().st_size > 0]
        if len(runs) >= 2:
            return children_of(proc.pid)
        time.sleep(0.05)


def wait_for_first_epoch(proc: subprocess.Popen, run: Path) -> None:
    """Until the run has written its first metrics line (so it is training, state and all)."""
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + WAIT_S
    while not (metrics.exists() and metrics.stat().st_size > 0):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{run} wrote no metrics within {WAIT_S} s"
        time.sleep(0.005)


def assert_all_gone(pids: set[int]) -> None:
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"still alive: {[p for p in pids if alive(p)]}"
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP], ids=["SIGKILL", "SIGHUP"])
def test_pool_workers_end_with_their_parent_and_free_the_callers_pipes(tmp_path, sig):
    proc = long_comparison(tmp_path)
    try:
        children = wait_for_a_worker_training(proc, tmp_path / "cmp")
        assert children, "no worker process found"
        proc.send_signal(sig)
        # EOF on both pipes means no process holds them any more: an orphaned worker or
        # resource tracker would keep them open (the caller's script blocked for 22 minutes).
        stdout, stderr = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert_all_gone(children)
    if sig == signal.SIGHUP:
        assert proc.returncode == 130, stderr
        assert "Traceback" not in stderr
    else:
        assert proc.returncode == -signal.SIGKILL


LONG = """\
seed: 5
data: {name: iris, val_fraction: 0.2}
model: {kind: softmax}
optimizer: {name: sgd, lr: 0.02, momentum: 0.5}
train: {epochs: 800, batch_size: 16}
"""


def test_sighup_during_training_saves_exits_130_and_resumes(tmp_path):
    (tmp_path / "long.yaml").write_text(LONG)
    run = tmp_path / "run"
    proc = start(["train", "long.yaml", "--out", run, "-q"], cwd=tmp_path)
    wait_for_first_epoch(proc, run)
    proc.send_signal(signal.SIGHUP)
    stdout, stderr = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 130, stderr  # was 129, with nothing saved
    assert "SIGHUP received" in stderr and "resume with: nnctl train --resume" in stderr
    assert "Traceback" not in stderr
    assert (run / "checkpoints" / "last.npz").is_file()
    resumed = run_nnctl("train", "--resume", run, "-q", cwd=tmp_path, timeout=WAIT_S)
    assert resumed.returncode == 0, resumed.stderr
    assert "resume with" not in resumed.stderr


def test_under_nohup_a_hangup_does_not_stop_training(tmp_path):
    (tmp_path / "long.yaml").write_text(LONG.replace("800", "150"))
    run = tmp_path / "run"

    def ignore_hangup():  # what nohup does before it starts the command
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    proc = start(["train", "long.yaml", "--out", run, "-q"], cwd=tmp_path, preexec_fn=ignore_hangup)
    wait_for_first_epoch(proc, run)
    proc.send_signal(signal.SIGHUP)
    stdout, stderr = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, stderr
    assert "SIGHUP" not in stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_inherited_ignore_does_not_make_training_unstoppable(tmp_path, sig):
    """Only an ignored SIGHUP (nohup) stays ignored: a parent that ignores SIGTERM or SIGINT (a
    test runner on its way out, a shell's background job) passes that on, and `kill` must still
    stop the run with its state saved."""
    (tmp_path / "long.yaml").write_text(LONG.replace("800", "40000"))
    run = tmp_path / "run"

    def ignore_it():
        signal.signal(sig, signal.SIG_IGN)

    proc = start(["train", "long.yaml", "--out", run, "-q"], cwd=tmp_path, preexec_fn=ignore_it)
    wait_for_first_epoch(proc, run)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 130, stderr
    assert f"{sig.name} received" in stderr and (run / "checkpoints" / "last.npz").is_file()
