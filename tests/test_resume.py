"""Interruption and exact resume (issue 6, part 3), as real processes.

An interrupted-and-resumed run must end with everything equal, bit for bit, to an uninterrupted
run of the same config: parameters, optimizer state, best weights, RNG states, batch order and
every metrics row (except wall-clock time). The interrupts come mid-epoch from a callback that
tests/fault_launch.py injects (as a signal during step N would), and from real SIGINT / SIGTERM.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import run_nnctl, run_nnctl_with_fault

# 120 training rows in batches of 16: 8 steps an epoch; step 11 is mid-way through epoch 2.
SGD_MOMENTUM = """
seed: 4
data: {name: iris, val_fraction: 0.2}
model: {kind: mlp, hidden: [8], activation: tanh}
optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
train: {epochs: 5, batch_size: 16, early_stopping: {patience: 20}}
"""

# 240 training rows in batches of 32: 8 steps an epoch. Dropout draws from its own stream on
# every step, the step schedule halves the rate every 2 epochs, early stopping keeps the best.
ADAM_DROPOUT = """
seed: 7
data: {name: moons, params: {n_samples: 300, noise: 0.25}, val_fraction: 0.2}
model: {kind: mlp, hidden: [16, 16], dropout: 0.3}
optimizer: {name: adam, lr: 0.02}
schedule: {name: step, step_size: 2, gamma: 0.5}
train: {epochs: 9, batch_size: 32, early_stopping: {patience: 3, metric: val_accuracy}}
"""

# Batch-norm running statistics (model buffers) and reduce_on_plateau's own state.
RMSPROP_BATCHNORM = """
seed: 2
data: {name: wine, val_fraction: 0.25}
model: {kind: mlp, hidden: [12], batch_norm: true}
optimizer: {name: rmsprop, lr: 0.01, momentum: 0.5}
schedule: {name: reduce_on_plateau, patience: 1, factor: 0.5}
train: {epochs: 6, batch_size: 20}
"""

LBFGS = """
seed: 1
data: {name: breast_cancer, val_fraction: 0.2}
model: {kind: logreg}
loss: {l2: 0.001}
optimizer: {name: lbfgs, history_size: 5}
train: {epochs: 14}
"""


def _arrays(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(str(arrays.pop("meta")))
    return arrays, meta


def _timeless_meta(meta):
    meta = json.loads(json.dumps(meta))
    meta.pop("elapsed_s")
    meta["progress"].pop("elapsed_before")
    return meta


def _rows(run):
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("elapsed_s")
    return rows


def assert_same_run(a, b):
    """Two run folders hold the same numbers, bit for bit (wall-clock time aside)."""
    for name in ("last.npz", "best.npz"):
        arrays_a, meta_a = _arrays(a / "checkpoints" / name)
        arrays_b, meta_b = _arrays(b / "checkpoints" / name)
        assert sorted(arrays_a) == sorted(arrays_b), name
        for key in arrays_a:
            assert arrays_a[key].dtype == arrays_b[key].dtype, (name, key)
            assert np.array_equal(arrays_a[key], arrays_b[key]), (name, key)
        assert _timeless_meta(meta_a) == _timeless_meta(meta_b), name
    assert _rows(a) == _rows(b)
    summary_a = json.loads((a / "summary.json").read_text())
    summary_b = json.loads((b / "summary.json").read_text())
    for summary in (summary_a, summary_b):
        summary.pop("elapsed_s"), summary.pop("run_dir")
        if summary["best"]:
            summary["best"].pop("elapsed_s")
    assert summary_a == summary_b


def interrupt_at(cfg, run, step, cwd):
    proc = run_nnctl_with_fault(
        "interrupt-at-step", step, "train", cfg, "--out", run, "-q", cwd=cwd
    )
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"state saved after step {step}" in proc.stderr
    assert f"resume with: nnctl train --resume {run}" in proc.stderr
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
    return _arrays(run / "checkpoints" / "last.npz")


def resume(run, cwd):
    proc = run_nnctl("train", "--resume", run, "-q", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc


def train_full(cfg, run, cwd):
    proc = run_nnctl("train", cfg, "--out", run, "-q", cwd=cwd)
    assert proc.returncode == 0, proc.stderr


def test_sgd_momentum_interrupted_mid_epoch_resumes_bit_for_bit(tmp_path):
    cfg = tmp_path / "sgd.yaml"
    cfg.write_text(SGD_MOMENTUM)
    train_full(cfg, tmp_path / "full", tmp_path)
    arrays, meta = interrupt_at(cfg, tmp_path / "part", 11, tmp_path)
    progress = meta["progress"]
    assert (meta["epoch"], meta["step"], progress["position"]) == (1, 11, 3)  # mid-epoch 2
    assert progress["loss_count"] == 3 * 16 and progress["loss_sum"] > 0  # partial-epoch sums
    assert int(arrays["optim.step"]) == 11 and np.any(arrays["optim.momentum_buffer"] != 0)
    assert int(arrays["data.position"]) == 3 and bool(arrays["data.in_epoch"])
    assert any(name.startswith("best.") for name in arrays)  # early-stopping best weights
    assert len(_rows(tmp_path / "part")) == 1
    resume(tmp_path / "part", tmp_path)
    assert_same_run(tmp_path / "full", tmp_path / "part")


def test_adam_with_dropout_and_schedule_interrupted_twice(tmp_path):
    from nnctl.util.rng import make_streams

    cfg = tmp_path / "adam.yaml"
    cfg.write_text(ADAM_DROPOUT)
    train_full(cfg, tmp_path / "full", tmp_path)
    full_summary = json.loads((tmp_path / "full" / "summary.json").read_text())
    arrays, meta = interrupt_at(cfg, tmp_path / "part", 13, tmp_path)
    # The dropout stream saved is the one at the interrupt: 13 steps of masks drawn from it.
    fresh = make_streams(7)["dropout"].bit_generator.state
    assert meta["rng"]["dropout"] != fresh
    assert meta["progress"]["position"] == 5 and meta["schedule"]["epoch"] == 1
    # A second interrupt, mid-epoch 6: the rate has been halved twice, and early stopping has
    # counted one epoch without improvement since the best (epoch 4).
    proc = run_nnctl_with_fault(
        "interrupt-at-step", 43, "train", "--resume", tmp_path / "part", "-q", cwd=tmp_path
    )
    assert proc.returncode == 130, proc.stderr
    assert "state saved after step 43" in proc.stderr
    _, meta = _arrays(tmp_path / "part" / "checkpoints" / "last.npz")
    assert meta["epoch"] == 5 and meta["progress"]["position"] == 3
    assert (meta["progress"]["best_epoch"], meta["progress"]["bad_epochs"]) == (4, 1)
    assert meta["schedule"]["epoch"] == 5
    resume(tmp_path / "part", tmp_path)
    assert_same_run(tmp_path / "full", tmp_path / "part")
    # It stopped early after the interrupts, as the uninterrupted run did, with the best weights.
    assert (full_summary["status"], full_summary["epochs"], full_summary["best_epoch"]) == (
        "early_stopped",
        7,
        4,
    )


def test_batch_norm_and_plateau_schedule_interrupted_at_an_epoch_end(tmp_path):
    cfg = tmp_path / "rms.yaml"
    cfg.write_text(RMSPROP_BATCHNORM)
    train_full(cfg, tmp_path / "full", tmp_path)
    # wine: 134 training rows in batches of 20 = 7 steps; step 14 is the last of epoch 2.
    _, meta = interrupt_at(cfg, tmp_path / "part", 14, tmp_path)
    assert meta["epoch"] == 1 and meta["progress"]["position"] == 7
    resume(tmp_path / "part", tmp_path)
    assert_same_run(tmp_path / "full", tmp_path / "part")
    arrays, _ = _arrays(tmp_path / "part" / "checkpoints" / "last.npz")
    assert "batchnorm0.running_mean" in arrays


def test_lbfgs_interrupted_resumes_bit_for_bit(tmp_path):
    cfg = tmp_path / "lbfgs.yaml"
    cfg.write_text(LBFGS)
    train_full(cfg, tmp_path / "full", tmp_path)
    arrays, meta = interrupt_at(cfg, tmp_path / "part", 6, tmp_path)
    assert meta["epoch"] == 6 and int(arrays["optim.count"]) == 5  # the L-BFGS memory is saved
    resume(tmp_path / "part", tmp_path)
    assert_same_run(tmp_path / "full", tmp_path / "part")


FINISHED_RUNS = {
    "completed": SGD_MOMENTUM.replace("epochs: 5", "epochs: 2"),
    # without restore_best (that case delivered its best weights and was marked already)
    "early_stopped": SGD_MOMENTUM.replace("epochs: 5", "epochs: 300").replace(
        "{patience: 20}", "{patience: 2, min_delta: 0.5, restore_best: false}"
    ),
    "converged": LBFGS.replace("epochs: 14", "epochs: 2000"),
}


@pytest.mark.parametrize("status", FINISHED_RUNS)
def test_resume_of_a_finished_run_changes_nothing(tmp_path, status):
    """Also for a run that ended before its epoch budget (it trained one more epoch before)."""
    cfg = tmp_path / "run.yaml"
    cfg.write_text(FINISHED_RUNS[status])
    train_full(cfg, tmp_path / "run", tmp_path)
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["status"] == status
    before, _ = _arrays(tmp_path / "run" / "checkpoints" / "last.npz")
    rows = _rows(tmp_path / "run")
    resume(tmp_path / "run", tmp_path)
    after, _ = _arrays(tmp_path / "run" / "checkpoints" / "last.npz")
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert _rows(tmp_path / "run") == rows


def test_stray_test_hook_variables_change_nothing(tmp_path):
    """Tests inject their faults (tests/fault_launch.py); nnctl reads no testing variable."""
    cfg = tmp_path / "sgd.yaml"
    cfg.write_text(SGD_MOMENTUM.replace("epochs: 5", "epochs: 2"))
    train_full(cfg, tmp_path / "plain", tmp_path)
    proc = run_nnctl(
        "train",
        cfg,
        "--out",
        tmp_path / "stray",
        "-q",
        cwd=tmp_path,
        env={"NNCTL_TEST_INTERRUPT_AT_STEP": "3", "NNCTL_TEST_SLOW_CHECKPOINT": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert_same_run(tmp_path / "plain", tmp_path / "stray")


# -- real signals -----------------------------------------------------------------------------
LONG = """
seed: 5
data: {name: iris, val_fraction: 0.2}
model: {kind: softmax}
optimizer: {name: sgd, lr: 0.02, momentum: 0.5}
train: {epochs: 4000, batch_size: 16}
"""  # long enough that a signal sent at the first metrics row lands mid-run (1 BLAS thread
# made the 800 epochs this had once finish before the signal arrived)


@pytest.fixture(scope="module")
def long_full(tmp_path_factory):
    folder = tmp_path_factory.mktemp("long")
    (folder / "long.yaml").write_text(LONG)
    train_full(folder / "long.yaml", folder / "full", folder)
    return folder


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_real_signal_saves_exits_130_and_resumes_exactly(long_full, sig):
    folder = long_full
    run = folder / f"run_{sig.name}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnctl", "train", "long.yaml", "--out", str(run), "-q"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.stat().st_size > 0):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert f"{sig.name} received" in stderr and "resume with: nnctl train --resume" in stderr
    assert "Traceback" not in stderr and stdout == ""
    _, meta = _arrays(run / "checkpoints" / "last.npz")
    assert 0 < meta["epoch"] < 4000
    resume(run, folder)
    assert_same_run(folder / "full", run)
