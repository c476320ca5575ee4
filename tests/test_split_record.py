"""Every run folder records its split (split.npz: source-table row numbers), and eval reads it."""

from __future__ import annotations

import json

import numpy as np
import yaml

from conftest import run_nnctl
from nnctl.data import train_val_split
from nnctl.util.rng import make_streams

N_ROWS = 90
NO_TARGET = (4, 30, 61)  # data rows (0-based) whose target is empty: left out of the split


def write_table(folder):
    """A CSV whose rows 4, 30 and 61 have no target, and a blank line that is not a row."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(N_ROWS, 2))
    labels = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    lines = ["a,b,label"]
    for i in range(N_ROWS):
        label = "" if i in NO_TARGET else labels[i]
        lines.append(f"{float(x[i, 0])!r},{float(x[i, 1])!r},{label}")
        if i == 10:
            lines.append("")
    path = folder / "table.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, labels


def train(folder, data_path, seed=7):
    cfg = {
        "seed": seed,
        "data": {"path": str(data_path), "target": "label", "val_fraction": 0.25},
        "model": {"kind": "logreg"},
        "train": {"epochs": 5},
    }
    config = folder / "c.yaml"
    config.write_text(yaml.safe_dump(cfg))
    proc = run_nnctl("train", config, "--out", folder / "run", "-q", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder / "run"


def test_recorded_rows_are_the_split_the_run_used(tmp_path):
    path, labels = write_table(tmp_path)
    run = train(tmp_path, path)
    with np.load(run / "split.npz") as record:
        train_rows, val_rows = record["train"], record["val"]
        assert not record["val_from_file"]
    assert train_rows.dtype == np.int64 and val_rows.dtype == np.int64
    # The same split drawn independently: the labelled rows, split by the seed's split stream.
    labelled = np.array([i for i in range(N_ROWS) if i not in NO_TARGET])
    expected_train, expected_val = train_val_split(
        labels[labelled], 0.25, make_streams(7)["split"], task="binary"
    )
    assert train_rows.tolist() == labelled[expected_train].tolist()
    assert val_rows.tolist() == labelled[expected_val].tolist()
    assert not set(NO_TARGET) & (set(train_rows) | set(val_rows))
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["n_train"], summary["n_val"]) == (len(train_rows), len(val_rows))


def eval_json(run, split):
    proc = run_nnctl("eval", run, "--split", split, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_eval_reads_the_record_and_old_folders_draw_it_again(tmp_path):
    path, _ = write_table(tmp_path)
    run = train(tmp_path, path)
    recorded = eval_json(run, "val")
    with np.load(run / "split.npz") as record:
        train_rows, val_rows = record["train"], record["val"]
    assert recorded["n"] == len(val_rows)

    # A folder from before split.npz: the split is drawn from the seed again, the same rows.
    (run / "split.npz").unlink()
    assert eval_json(run, "val") == recorded

    # The record is what eval reads: move four training rows into validation.
    moved = np.sort(np.concatenate([val_rows, train_rows[:4]]))
    np.savez(run / "split.npz", train=train_rows[4:], val=moved, val_from_file=np.int64(0))
    assert eval_json(run, "val")["n"] == len(val_rows) + 4
    assert eval_json(run, "train")["n"] == len(train_rows) - 4


def test_a_record_naming_rows_the_data_lacks_is_exit_2(tmp_path):
    path, _ = write_table(tmp_path)
    run = train(tmp_path, path)
    np.savez(
        run / "split.npz",
        train=np.arange(5, dtype=np.int64),
        val=np.array([NO_TARGET[0]], dtype=np.int64),
        val_from_file=np.int64(0),
    )
    proc = run_nnctl("eval", run, "--split", "val")
    assert proc.returncode == 2, proc.stderr
    assert "split.npz" in proc.stderr and f"row {NO_TARGET[0]}" in proc.stderr
    assert "Traceback" not in proc.stderr
