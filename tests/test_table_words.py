"""Comparison and sweep tables in words a reader gets without the README (issue 21, part 4):
`2 of 3 seeds diverged`, `epochs (mean of 3)`, `target reached: 1 of 3 seeds, epoch 12`, and
the final (delivered) scores first, the best one labelled as selected on validation."""

from __future__ import annotations

import json

from conftest import run_nnctl
from nnctl.compare.aggregate import summarize
from nnctl.report.compare_table import best_text, status_text, target_text


def _record(label, seed, status, target_epoch=None, best_epoch=None):
    numbers = {
        key: None
        for key in (
            "final_train_loss",
            "final_val_loss",
            "final_val_metric",
            "best_val_loss",
            "best_val_metric",
            "sample_grads",
            "wall_s",
            "target_sample_grads",
            "target_wall_s",
        )
    }
    return {
        **numbers,
        "label": label,
        "optimizer": label,
        "settings": {},
        "seed": seed,
        "status": status,
        "diverged": status == "diverged",
        "metric": "val_accuracy",
        "epochs": 10,
        "target_epoch": target_epoch,
        "best_val_metric": None if best_epoch is None else 0.9,
        "best_val_metric_epoch": best_epoch,
        "message": None,
    }


def test_status_in_words():
    records = [
        _record("sgd", 0, "diverged"),
        _record("sgd", 1, "completed"),
        _record("sgd", 2, "diverged"),
        _record("adam", 0, "completed"),
        _record("adam", 1, "early_stopped"),
        _record("adam", 2, "completed"),
        _record("rms", 0, "diverged"),
        _record("rms", 1, "diverged"),
        _record("one", 0, "early_stopped"),
    ]
    entries = {e["label"]: e for e in summarize(records)}
    assert status_text(entries["sgd"]) == "2 of 3 seeds diverged, 1 completed"
    assert status_text(entries["adam"]) == "2 of 3 seeds completed, 1 stopped early"
    assert status_text(entries["rms"]) == "all 2 seeds diverged"
    assert status_text(entries["one"]) == "stopped early"
    assert entries["adam"]["statuses"] == {"completed": 2, "early_stopped": 1}


def test_target_and_best_in_words():
    records = [
        _record("sgd", 0, "completed", target_epoch=12, best_epoch=8),
        _record("sgd", 1, "completed", best_epoch=10),
        _record("sgd", 2, "completed"),
        _record("one", 0, "completed", target_epoch=7, best_epoch=5),
        _record("never", 0, "completed"),
    ]
    entries = {e["label"]: e for e in summarize(records)}
    assert target_text(entries["sgd"]) == "1 of 3 seeds, epoch 12"
    assert target_text(entries["one"]) == "epoch 7"
    assert target_text(entries["never"]) == "not reached"
    assert best_text(entries["one"]) == "0.9 (epoch 5)"
    assert best_text(entries["sgd"]) == "0.9±0 (epoch 9)"  # the mean epoch over the seeds


def test_comparison_table_reads_without_the_readme(tmp_path):
    config = tmp_path / "diabetes.yaml"
    config.write_text(
        "seed: 0\ndata: {name: diabetes, val_fraction: 0.3}\nmodel: {kind: linreg}\n"
        "optimizer: {name: sgd, lr: 0.05}\ntrain: {epochs: 4, batch_size: 16}\n"
    )
    # sgd at rate 5 diverges on both seeds; adam reaches the (generous) target on both.
    args = ["compare-optimizers", config, "-o", "adam:lr=0.05", "-o", "sgd:lr=5", "--seeds", "2"]
    proc = run_nnctl(
        *args, "--target-loss", "0.8", "--out", tmp_path / "cmp", "--no-plot", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout
    for words in (
        "all 2 seeds diverged",
        "epochs (mean of 2)",
        "target reached",
        "2 of 2 seeds, epoch 1",
        "best val_r2 (selected on val, epoch)",
        "mean±std over the 2 seeds",
        "weights each run delivered",
    ):
        assert words in table, words
    for cryptic in ("mixed", "/2 diverged", "[2/2]", "target@"):
        assert cryptic not in table, cryptic
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    adam, sgd = data["summary"]
    assert adam["statuses"] == {"completed": 2} and adam["target_reached"] == 2
    assert sgd["statuses"] == {"diverged": 2}
