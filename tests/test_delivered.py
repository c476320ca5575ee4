"""One model, one answer (issue 21, part 1): eval, predict and the comparison use the weights
training delivered (checkpoints/last.npz; with early_stopping.restore_best the run ends on the
best weights and last.npz holds them), so `train`'s final scores, `eval` on the same split and
the comparison table agree. best.npz (picked on the validation loss) only on request."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import run_nnctl

# Momentum SGD on diabetes: the validation loss is lowest before the last epoch (checked below),
# so the best and the last weights give different scores.
DIABETES = """
seed: 0
data: {name: diabetes, val_fraction: 0.3}
model: {kind: linreg}
optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
train: {epochs: 30, batch_size: 16}
"""
STOPPING = {
    "no early stopping": [],
    "early stopping, last weights": [
        "-s",
        "train.early_stopping={patience: 3, restore_best: false}",
    ],
    "early stopping, best weights": [
        "-s",
        "train.early_stopping={patience: 3, restore_best: true}",
    ],
}
VAL_SCORES = ("loss", "mse", "rmse", "mae", "r2")


def _arrays(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files if k != "meta"}
        meta = json.loads(str(archive["meta"]))
    return arrays, meta


def _rows(run):
    """metrics.jsonl without its wall times."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in rows]


def _params(arrays):
    return {k: v for k, v in arrays.items() if k.startswith("linear")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{case: (run folder, train --json summary, eval --json --split val result)}."""
    folder = tmp_path_factory.mktemp("delivered")
    config = folder / "diabetes.yaml"
    config.write_text(DIABETES)
    out = {}
    for i, (case, overrides) in enumerate(STOPPING.items()):
        run = folder / f"run{i}"
        trained = run_nnctl("train", config, *overrides, "--out", run, "--json", "-q", cwd=folder)
        assert trained.returncode == 0, trained.stderr
        evaluated = run_nnctl("eval", run, "--split", "val", "--json", cwd=folder)
        assert evaluated.returncode == 0, evaluated.stderr
        out[case] = (run, json.loads(trained.stdout), json.loads(evaluated.stdout))
    return out


@pytest.mark.parametrize("case", list(STOPPING))
def test_train_final_scores_equal_eval_on_the_val_split(runs, case):
    run, summary, evaluated = runs[case]
    # The best epoch by validation loss is not the delivered one unless restore_best says so:
    # with best.npz as the default, eval would disagree with train here.
    assert summary["best_epoch"] < summary["epochs"]
    for score in VAL_SCORES:
        assert evaluated[score] == summary["final"][f"val_{score}"], score
    assert evaluated["checkpoint"] == str(run / "checkpoints" / "last.npz")


def test_delivered_epoch_says_where_the_weights_come_from(runs):
    _, plain, _ = runs["no early stopping"]
    assert (plain["status"], plain["delivered_epoch"]) == ("completed", 30)
    _, last, _ = runs["early stopping, last weights"]
    assert last["status"] == "early_stopped"
    assert last["delivered_epoch"] == last["epochs"] == last["best_epoch"] + 3
    _, best, _ = runs["early stopping, best weights"]
    assert best["delivered_epoch"] == best["best_epoch"] < best["epochs"]
    # The delivered scores are the best epoch's row of metrics.jsonl; the last epoch's differ.
    assert best["final"]["val_r2"] == best["best"]["val_r2"]
    assert last["final"]["val_r2"] != last["best"]["val_r2"]


def test_restore_best_changes_only_which_weights_are_delivered(runs):
    """The two early-stopping runs train the same epochs; restore_best only swaps last.npz's
    parameters for the best ones (optimizer state, counters and best.npz stay the same)."""
    run_last, _, _ = runs["early stopping, last weights"]
    run_best, summary, _ = runs["early stopping, best weights"]
    last_arrays, _ = _arrays(run_last / "checkpoints" / "last.npz")
    arrays, meta = _arrays(run_best / "checkpoints" / "last.npz")
    best_arrays, _ = _arrays(run_best / "checkpoints" / "best.npz")
    assert meta["delivered"] == {
        "epoch": summary["best_epoch"],
        "restored_best": True,
        "status": "early_stopped",
    }
    for name, value in _params(arrays).items():
        assert np.array_equal(value, best_arrays[name])
        assert not np.array_equal(value, last_arrays[name])
    for name, value in arrays.items():
        if not name.startswith("linear"):  # optimizer state, best.* weights
            assert np.array_equal(value, last_arrays[name]), name
    assert _rows(run_best) == _rows(run_last)


def test_resume_of_a_finished_run_with_restored_weights_trains_nothing(runs, tmp_path):
    run, summary, _ = runs["early stopping, best weights"]
    before, _ = _arrays(run / "checkpoints" / "last.npz")
    rows = (run / "metrics.jsonl").read_text()
    proc = run_nnctl("train", "--resume", run, "--json", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    again = json.loads(proc.stdout)
    after, _ = _arrays(run / "checkpoints" / "last.npz")
    assert (run / "metrics.jsonl").read_text() == rows
    assert (
        all(np.array_equal(before[k], after[k]) for k in before) and before.keys() == after.keys()
    )
    assert {k: v for k, v in again.items() if k != "elapsed_s"} == {
        k: v for k, v in summary.items() if k != "elapsed_s"
    }


def test_the_library_picks_delivered_best_or_last(runs):
    from nnctl.errors import UsageError
    from nnctl.training.inference import evaluate, predict_rows

    run, summary, evaluated = runs["no early stopping"]
    best = evaluate(run, split="val", checkpoint="best")
    assert best["checkpoint"] == str(run / "checkpoints" / "best.npz")
    assert best["r2"] == summary["best"]["val_r2"] != evaluated["r2"]
    assert evaluate(run, split="val", checkpoint="last")["r2"] == evaluated["r2"]
    with pytest.raises(UsageError, match="--checkpoint: expected one of delivered, best, last"):
        evaluate(run, split="val", checkpoint="newest")
    with pytest.raises(UsageError, match="--checkpoint best: picks a file of a run folder"):
        evaluate(run / "checkpoints" / "last.npz", split="val", checkpoint="best")
    header, rows = predict_rows(run, "diabetes", checkpoint="delivered")
    _, best_rows = predict_rows(run, "diabetes", checkpoint="best")
    assert header == ["prediction"] and rows != best_rows and len(rows) == len(best_rows)


def test_comparison_reports_the_delivered_scores(tmp_path):
    config = tmp_path / "diabetes.yaml"
    config.write_text(DIABETES.replace("epochs: 30", "epochs: 12"))
    out = tmp_path / "cmp"
    proc = run_nnctl(
        "compare-optimizers", config, "-o", "sgd", "-o", "adam", "--out", out, "--json", "-q",
        "--no-plot", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    for record in data["runs"]:
        summary = json.loads((out / record["run"] / "summary.json").read_text())
        assert record["final_val_loss"] == summary["final"]["val_loss"]
        assert record["final_val_metric"] == summary["final"]["val_r2"]
        evaluated = json.loads(
            run_nnctl("eval", out / record["run"], "--split", "val", "--json").stdout
        )
        assert record["final_val_metric"] == evaluated["r2"]
        rows = [json.loads(line) for line in (out / record["run"] / "metrics.jsonl").open()]
        best = max(rows, key=lambda r: r["val_r2"])
        assert (record["best_val_metric"], record["best_val_metric_epoch"]) == (
            best["val_r2"],
            best["epoch"],
        )


def test_a_run_from_before_delivered_weights_still_gets_its_best_weights(runs, tmp_path):
    """An older nnctl kept the last state in last.npz and restored the best weights only in
    memory (summary.json's final scores are theirs): eval of such a folder uses best.npz."""
    source, summary, evaluated = runs["early stopping, best weights"]
    old, _, _ = runs["early stopping, last weights"]
    run = tmp_path / "old-run"
    shutil.copytree(source, run)
    arrays, meta = _arrays(old / "checkpoints" / "last.npz")  # the last epoch's state
    meta["config"] = _arrays(run / "checkpoints" / "last.npz")[1]["config"]  # restore_best: true
    meta.pop("delivered")  # this nnctl marks the early stop; the older one wrote no mark
    np.savez(run / "checkpoints" / "last.npz", meta=np.array(json.dumps(meta)), **arrays)
    proc = run_nnctl("eval", run, "--split", "val", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["checkpoint"] == str(run / "checkpoints" / "best.npz")
    assert result["r2"] == summary["final"]["val_r2"] == evaluated["r2"]


def test_train_says_which_epoch_its_final_scores_come_from(tmp_path):
    config = tmp_path / "diabetes.yaml"
    config.write_text(DIABETES)
    stopping = STOPPING["early stopping, best weights"]
    proc = run_nnctl("train", config, *stopping, "--out", tmp_path / "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    lines = [" ".join(line.split()) for line in proc.stdout.splitlines()]
    assert f"best epoch (by val_loss) {summary['best_epoch']}" in lines
    assert f"final weights from epoch {summary['best_epoch']}" in lines
    assert summary["best_epoch"] < summary["epochs"]
