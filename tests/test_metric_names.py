"""One meaning per number: train_loss is the data loss over the training split at the epoch's
final weights, objective adds the L2 penalty; metrics.jsonl and summary.json agree."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_nnctl

# No early stopping and no best-weights restore: the final weights are the last epoch's.
CONFIGS = {
    "sgd": "seed: 1\ndata: {name: iris, val_fraction: 0.2}\nmodel: {kind: softmax}\n"
    "loss: {l2: 0.05}\noptimizer: {name: sgd, lr: 0.1}\ntrain: {epochs: 4, batch_size: 16}\n",
    "lbfgs": "seed: 1\ndata: {name: breast_cancer, val_fraction: 0.2}\nmodel: {kind: logreg}\n"
    "loss: {l2: 0.05}\noptimizer: {name: lbfgs}\ntrain: {epochs: 5}\n",
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_final_row_and_summary_agree_at_the_same_weights(tmp_path, name):
    (tmp_path / "c.yaml").write_text(CONFIGS[name])
    proc = run_nnctl("train", "c.yaml", "--out", "run", "-q", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    rows = [
        json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    last = rows[-1]
    assert last["epoch"] == summary["epochs"]
    # the same quantity, computed the same way at the same weights: equal, not merely close
    assert last["train_loss"] == summary["final"]["train_loss"]
    assert last["objective"] == summary["final"]["objective"]
    assert last["val_loss"] == summary["final"]["val_loss"]

    # objective - train_loss is the penalty 0.5 * l2 * ||W||^2 of the saved weights (no biases)
    with np.load(tmp_path / "run" / "checkpoints" / "last.npz", allow_pickle=False) as npz:
        weights = npz["linear0.weight"].astype(np.float64)
    penalty = 0.5 * 0.05 * float(np.sum(weights**2))
    assert penalty > 1e-4
    assert last["objective"] - last["train_loss"] == pytest.approx(penalty, rel=1e-5)

    # train_loss is the data loss of those weights on the training split: what eval reports
    proc = run_nnctl(
        "eval",
        tmp_path / "run" / "checkpoints" / "last.npz",
        "--split",
        "train",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["loss"] == pytest.approx(last["train_loss"], rel=1e-6)
