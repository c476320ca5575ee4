"""`nnctl data convert` (issue 16): a messy CSV streamed into .npy shards trains to the same
numbers as the CSV itself, and predict on a CSV uses the encoding stored with the shards."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from test_resume import _rows

from conftest import assert_clean_error, run_nnctl
from messy_tables import patients, write_csv
from nnctl.data import convert, csv_reader, load_file
from nnctl.data.convert import convert_csv

MLP_SGD = """model: {kind: mlp, hidden: [8]}
optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
train: {epochs: 3, batch_size: 32}
"""


def _train(folder, name, data, body=MLP_SGD):
    cfg = folder / f"{name}.yaml"
    cfg.write_text(f"seed: 5\ndata: {{{data}}}\n{body}")
    run = folder / f"run-{name}"
    proc = run_nnctl("train", cfg, "--out", run, "-q", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return run


def _last(run):
    with np.load(run / "checkpoints" / "last.npz", allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    return arrays, json.loads(str(arrays.pop("meta")))


def _assert_same_training(a, b):
    arrays_a, meta_a = _last(a)
    arrays_b, meta_b = _last(b)
    for key in arrays_a:
        if not key.startswith("data."):
            assert np.array_equal(arrays_a[key], arrays_b[key]), key
    for key in ("columns", "scaler", "classes", "feature_names", "task"):
        assert meta_a[key] == meta_b[key], key
    assert _rows(a) == _rows(b)
    final = [json.loads((run / "summary.json").read_text())["final"] for run in (a, b)]
    assert final[0] == final[1]


def test_drop_rows_shards_train_exactly_like_the_csv(tmp_path):
    # 5000 rows: more than one read chunk (4096 rows) of the stream.
    columns, target = patients(5000, seed=1, task="binary")
    write_csv(tmp_path / "messy.csv", columns, target, missing_targets=(3, 40))
    proc = run_nnctl(
        "data",
        "convert",
        "messy.csv",
        "--target",
        "outcome",
        "--out",
        "shards",
        "--drop",
        "patient_id",
        "--missing",
        "drop_rows",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "2 rows have no value in the target column 'outcome'" in proc.stderr
    description = json.loads((tmp_path / "shards" / "dataset.json").read_text())
    assert description["target"] == "outcome" and description["target_kind"] == "labels"
    settings = "target: outcome, drop: [patient_id], missing: drop_rows, val_fraction: 0.2"
    from_csv = _train(tmp_path, "csv", f"path: messy.csv, {settings}")
    from_shards = _train(tmp_path, "shards", "path: shards, val_fraction: 0.2")
    _assert_same_training(from_csv, from_shards)
    predictions = [
        run_nnctl("predict", run, "messy.csv", cwd=tmp_path) for run in (from_csv, from_shards)
    ]
    assert predictions[0].returncode == 0, predictions[0].stderr
    assert predictions[0].stdout == predictions[1].stdout
    assert predictions[0].stdout.splitlines()[1] in ("sick", "well")


def test_gzipped_csv_with_imputation_trains_like_the_csv(tmp_path):
    columns, target = patients(400, seed=2, task="regression")
    write_csv(tmp_path / "messy.csv", columns, target)
    raw = (tmp_path / "messy.csv").read_bytes()
    (tmp_path / "messy.csv.gz").write_bytes(gzip.compress(raw))
    proc = run_nnctl(
        "data",
        "convert",
        "messy.csv.gz",
        "--target",
        "outcome",
        "--out",
        "big",
        "--drop",
        "patient_id",
        "--missing",
        "impute",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["target_kind"] == "numeric"
    body = "model: {kind: linreg}\noptimizer: {name: lbfgs}\ntrain: {epochs: 5}\n"
    # val_fraction 0: the CSV run learns medians and categories from every row, as convert does
    settings = "target: outcome, drop: [patient_id], missing: impute, val_fraction: 0"
    from_csv = _train(tmp_path, "csv", f"path: messy.csv, {settings}", body)
    from_shards = _train(tmp_path, "shards", "path: big, val_fraction: 0", body)
    _assert_same_training(from_csv, from_shards)


def test_streamed_shards_hold_the_pipelines_matrix(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_reader, "CHUNK_ROWS", 64)  # convert streams the reader's chunks
    monkeypatch.setattr(convert, "SHARD_BYTES", 8 * 11 * 100)  # 100 rows of 11 features
    columns, target = patients(450, seed=3, task="multiclass")
    write_csv(tmp_path / "m.csv", columns, target)
    settings = {"drop": ["patient_id"], "missing": "impute"}
    description = convert_csv(
        tmp_path / "m.csv", tmp_path / "out", target="outcome", settings=settings
    )
    assert description["shards"] == 5 and description["rows"] == 450
    whole = load_file(
        tmp_path / "m.csv", target="outcome", columns={"drop": ["patient_id"], "missing": "impute"}
    )
    assert description["columns"] == whole.columns.to_dict()
    X = np.concatenate([np.load(tmp_path / "out" / f"X-{i:05d}.npy") for i in range(5)])
    y = np.concatenate([np.load(tmp_path / "out" / f"y-{i:05d}.npy") for i in range(5)])
    assert np.array_equal(X, whole.X)
    assert [whole.classes[c] for c in whole.y] == y.tolist()
    assert not list(tmp_path.glob(".out.partial"))


def test_missing_cells_are_refused_by_default_naming_column_and_lines(tmp_path):
    columns, target = patients(100, seed=4, task="binary")
    write_csv(tmp_path / "m.csv", columns, target)
    proc = run_nnctl(
        "data",
        "convert",
        "m.csv",
        "--target",
        "outcome",
        "--out",
        "o",
        "--drop",
        "patient_id",
        cwd=tmp_path,
    )
    assert_clean_error(proc, 2, "m.csv: missing cells: column 'age'", "lines ")
    assert not (tmp_path / "o").exists()


def test_stray_text_in_a_numeric_column_is_refused(tmp_path):
    (tmp_path / "s.csv").write_text("a,b,y\n1,2,0\n3,unknown,1\n5,6,0\n7,8,1\n")
    proc = run_nnctl("data", "convert", "s.csv", "--out", "o", cwd=tmp_path)
    assert_clean_error(proc, 2, "s.csv: line 3, column 'b': expected a number, found 'unknown'")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--missing", "fill"], "--missing: expected one of error, drop_rows, impute"),
        (["--drop", "nope"], "data.drop names column 'nope'"),
    ],
)
def test_bad_options_are_refused(tmp_path, args, message):
    (tmp_path / "s.csv").write_text("a,b,y\n1,2,0\n3,4,1\n")
    proc = run_nnctl("data", "convert", "s.csv", "--out", "o", *args, cwd=tmp_path)
    assert_clean_error(proc, 2, message)


def test_row_names_column_is_asked_about_and_can_be_dropped(tmp_path):
    columns, target = patients(60, seed=6, task="binary", missing_share=0.0)
    write_csv(tmp_path / "r.csv", columns, target, row_names=True)
    args = ["data", "convert", "r.csv", "--target", "outcome", "--drop", "patient_id"]
    proc = run_nnctl(*args, "--out", "o", cwd=tmp_path)
    assert_clean_error(proc, 2, "r.csv: column 1 has no name", '--drop ""')
    proc = run_nnctl(*args, "--drop", "", "--out", "o", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = json.loads((tmp_path / "o" / "dataset.json").read_text())["feature_names"]
    assert names[:2] == ["age", "bmi"]
