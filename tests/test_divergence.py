"""Divergence (issue 6, part 2): a non-finite loss or gradient stops training with exit 1 and a
message (epoch, step, value, hint); last.npz keeps the last finite state, even when the very
first epoch diverges; summary.json records it. `train.on_nonfinite: skip_batch` skips and goes on.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from conftest import assert_clean_error, run_nnctl

SGD_TOO_FAST = """
seed: 0
data: {name: diabetes, val_fraction: 0.2, standardize_target: false}  # raw units diverge
model: {kind: linreg}
optimizer: {name: sgd, lr: 5.0}
train: {epochs: 5, batch_size: 32}
"""

GD_TOO_FAST = """
seed: 0
data: {name: diabetes, val_fraction: 0.2, standardize_target: false}  # raw units diverge
model: {kind: linreg}
optimizer: {name: gd, lr: 100.0}
train: {epochs: 500}
"""


def load(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return arrays, json.loads(str(arrays.pop("meta")))


def assert_all_finite(arrays):
    for name, value in arrays.items():
        if value.dtype.kind == "f":
            assert np.all(np.isfinite(value)), name


def diverged_at(stderr: str) -> tuple[int, int]:
    match = re.search(r"training diverged at epoch (\d+), step (\d+)", stderr)
    assert match, stderr
    return int(match.group(1)), int(match.group(2))


def test_sgd_diverging_in_the_first_epoch_keeps_a_finite_last_checkpoint(tmp_path):
    (tmp_path / "fast.yaml").write_text(SGD_TOO_FAST)
    run = tmp_path / "run"
    proc = run_nnctl("train", "fast.yaml", "--out", run, "-q", cwd=tmp_path)
    assert_clean_error(
        proc,
        1,
        "the training loss became inf",
        "lower optimizer.lr (now 5)",
        "train.clip_grad_norm",
        "last.npz keeps the last finite state",
    )
    epoch, step = diverged_at(proc.stderr)
    assert epoch == 1 and step > 1
    arrays, meta = load(run / "checkpoints" / "last.npz")
    assert_all_finite(arrays)
    assert meta["epoch"] == 0 and meta["step"] == step - 1  # the state just before the bad step
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged"
    assert summary["message"] in proc.stderr and "step" in summary["message"]
    assert not (run / "metrics.jsonl").exists() or (run / "metrics.jsonl").read_text() == ""
    # Nothing lost: the saved state is usable as is (its loss may well be huge).
    proc = run_nnctl("eval", run, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n"] == summary["n_val"]


def test_full_batch_gd_divergence_keeps_the_last_finite_iterate(tmp_path):
    (tmp_path / "gd.yaml").write_text(GD_TOO_FAST)
    run = tmp_path / "run"
    proc = run_nnctl("train", "gd.yaml", "--out", run, "-q", cwd=tmp_path)
    assert_clean_error(
        proc, 1, "the objective became", "lower optimizer.lr (now 100)", "optimizer.armijo: true"
    )
    epoch, step = diverged_at(proc.stderr)
    assert 1 < epoch < 500
    arrays, meta = load(run / "checkpoints" / "last.npz")
    assert_all_finite(arrays)
    assert meta["epoch"] == epoch - 1  # every finished iteration is kept, the failed one is not
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == epoch - 1 and all(np.isfinite(r["train_loss"]) for r in rows)
    # The losses grew: it really diverged rather than failing for another reason.
    assert rows[-1]["train_loss"] > 1e6 * rows[0]["train_loss"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "diverged" and summary["message"] in proc.stderr


def write_outlier_csv(path):
    """Regression data with one target of 1e20: its squared error overflows float32, so exactly
    the batch holding it has an infinite loss while every other batch is fine."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    y = X @ np.array([1.5, -2.0]) + 0.25 + 0.1 * rng.normal(size=64)
    y[5] = 1e20
    lines = ["x1,x2,target"] + [
        f"{a!r},{b!r},{t!r}" for a, b, t in zip(*map(lambda v: v.tolist(), (X[:, 0], X[:, 1], y)))
    ]
    path.write_text("\n".join(lines) + "\n")


SKIP = """
seed: 0
data: {path: outlier.csv, val_fraction: 0.0, standardize_target: false}  # 1e20 overflows
model: {kind: linreg}
optimizer: {name: sgd, lr: 0.05}
train: {epochs: 6, batch_size: 8, on_nonfinite: skip_batch}
"""


def test_skip_batch_skips_the_bad_batch_and_trains_on(tmp_path):
    write_outlier_csv(tmp_path / "outlier.csv")
    (tmp_path / "skip.yaml").write_text(SKIP)
    proc = run_nnctl("train", "skip.yaml", "--out", tmp_path / "skip", "--json", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "batch skipped" in proc.stderr and "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "completed" and summary["epochs"] == 6
    assert summary["skipped_batches"] == 6  # the outlier's batch, once an epoch
    rows = [
        json.loads(line) for line in (tmp_path / "skip" / "metrics.jsonl").read_text().splitlines()
    ]
    # train_loss is the data loss over the whole training split, outlier row included: its
    # squared error overflows float32 there too, so the honest number is not finite (null).
    assert len(rows) == 6 and all(r["train_loss"] is None for r in rows)
    arrays, _ = load(tmp_path / "skip" / "checkpoints" / "last.npz")
    assert_all_finite(arrays)
    np.testing.assert_allclose(arrays["linear0.weight"].ravel(), [1.5, -2.0], atol=0.2)

    # The same data with the default (stop) fails at that batch instead.
    proc = run_nnctl(
        "train",
        "skip.yaml",
        "-s",
        "train.on_nonfinite=stop",
        "--out",
        tmp_path / "stop",
        "-q",
        cwd=tmp_path,
    )
    assert_clean_error(
        proc, 1, "epoch 1", "the training loss became inf", "train.on_nonfinite: skip_batch"
    )
    assert json.loads((tmp_path / "stop" / "summary.json").read_text())["status"] == "diverged"


def test_skip_batch_gives_up_when_every_batch_is_bad(tmp_path):
    (tmp_path / "fast.yaml").write_text(SGD_TOO_FAST)
    proc = run_nnctl(
        "train",
        "fast.yaml",
        "-s",
        "train.on_nonfinite=skip_batch",
        "-s",
        "train.epochs=40",
        "--out",
        tmp_path / "run",
        "-q",
        cwd=tmp_path,
    )
    assert_clean_error(proc, 1, "batches were skipped", "more than 10 epochs")
    arrays, _ = load(tmp_path / "run" / "checkpoints" / "last.npz")
    assert_all_finite(arrays)


def test_a_non_finite_gradient_with_a_finite_loss_stops_before_the_step(tmp_path):
    """In process: a model whose gradient turns NaN at step 4 (its loss stays finite)."""
    from nnctl.config import resolve
    from nnctl.errors import TrainingFailed
    from nnctl.report.progress import QuietReporter
    from nnctl.runs.run_folder import create
    from nnctl.training import Trainer

    cfg = resolve(
        {
            "seed": 0,
            "data": {"name": "iris"},
            "model": {"kind": "softmax"},
            "optimizer": {"name": "adam", "lr": 0.01},
            "train": {"epochs": 2, "batch_size": 16},
        }
    )
    run = create(tmp_path / "run")
    trainer = Trainer(cfg, run, QuietReporter())
    real = trainer.model.loss_and_grad
    calls = []

    def poisoned(X, y):
        loss = real(X, y)
        calls.append(1)
        if len(calls) == 4:
            trainer.model.grad[0] = np.nan
        return loss

    trainer.model.loss_and_grad = poisoned
    with pytest.raises(TrainingFailed, match=r"epoch 1, step 4: the gradient norm became nan"):
        trainer.run()
    arrays, meta = load(run / "checkpoints" / "last.npz")
    assert_all_finite(arrays)
    assert meta["step"] == 3 and int(arrays["optim.step"]) == 3  # the NaN step was not applied
    assert json.loads((run / "summary.json").read_text())["status"] == "diverged"
