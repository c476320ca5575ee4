"""Run.predict / predict_proba / evaluate against `nnctl predict` and `nnctl eval --json` on the
same rows; bad inputs; compare_optimizers and sweep against their comparison.csv."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

import nnctl
from conftest import run_nnctl
from nnctl.errors import UsageError
from nnctl.runs.run_folder import to_json

REPO = Path(__file__).resolve().parents[1]
IRIS = REPO / "datasets" / "iris.csv"
IRIS_COLUMNS = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    """softmax on the bundled iris CSV, trained by the CLI."""
    folder = tmp_path_factory.mktemp("iris")
    proc = run_nnctl(
        "train", "iris-softmax", "-s", "train.epochs=5", "--out", "run", "-q", cwd=folder
    )
    assert proc.returncode == 0, proc.stderr
    return folder / "run"


@pytest.fixture(scope="module")
def categorical_run(tmp_path_factory):
    """logreg on a CSV with a text column (one-hot encoded with its training categories) and a
    missing cell (imputed)."""
    folder = tmp_path_factory.mktemp("cat")
    colours = ["red", "green", "blue"]
    lines = ["size,colour,weight,bought"]
    for i in range(80):
        weight = "" if i == 5 else f"{(i * 7) % 11 / 3:.3f}"
        lines.append(f"{i % 9},{colours[i % 3]},{weight},{'y' if (i % 9) + (i % 3) > 6 else 'n'}")
    (folder / "shop.csv").write_text("\n".join(lines) + "\n")
    (folder / "c.yaml").write_text(
        "data: {path: shop.csv, target: bought, missing: impute}\nmodel: {kind: logreg}\n"
        "optimizer: {name: adam, lr: 0.1}\ntrain: {epochs: 6}\n"
    )
    proc = run_nnctl("train", "c.yaml", "--out", "run", "-q", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder / "run"


def cli_predict(run: Path, data: Path, *extra) -> list[list[str]]:
    proc = run_nnctl("predict", run, data, *extra)
    assert proc.returncode == 0, proc.stderr
    return list(csv.reader(io.StringIO(proc.stdout)))


def test_predict_on_a_shuffled_dataframe_equals_nnctl_predict(iris_run):
    pd = pytest.importorskip("pandas")  # accepted, never required: the oldest-versions job has none
    cli = cli_predict(iris_run, IRIS, "--proba")
    table = pd.read_csv(IRIS)
    shuffled = table[["petal_width_cm", "target", "sepal_length_cm", *IRIS_COLUMNS[1:3]]]
    shuffled = shuffled.assign(note="extra columns are ignored")
    run = nnctl.load_run(iris_run)
    labels = run.predict(shuffled)
    assert labels.tolist() == [row[0] for row in cli[1:]]
    proba = run.predict_proba(shuffled)
    assert cli[0][1:] == [f"proba_{c}" for c in run.classes]
    assert [[f"{p:.6g}" for p in row] for row in proba] == [row[1:] for row in cli[1:]]
    # A dict of columns binds the same way.
    columns = {name: table[name].to_numpy() for name in reversed(IRIS_COLUMNS)}
    assert run.predict(columns).tolist() == labels.tolist()
    # A 2-D array holds the columns in training order.
    assert run.predict(table[IRIS_COLUMNS].to_numpy()).tolist() == labels.tolist()


def test_text_columns_are_encoded_with_the_training_categories(categorical_run, tmp_path):
    pd = pytest.importorskip("pandas")  # accepted, never required: the oldest-versions job has none
    rows = {
        "weight": [1.5, None, 3.0, 0.2],
        "bought": ["y", "n", "n", "y"],
        "colour": ["blue", "red", "green", "red"],
        "size": [8, 1, 4, 7],
    }
    with open(tmp_path / "new.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(rows)
        writer.writerows(zip(*(["" if v is None else v for v in col] for col in rows.values())))
    cli = cli_predict(categorical_run, tmp_path / "new.csv", "--proba")
    run = nnctl.load_run(categorical_run)
    assert run.predict(rows).tolist() == [row[0] for row in cli[1:]]
    assert [[f"{p:.6g}" for p in r] for r in run.predict_proba(rows)] == [r[1:] for r in cli[1:]]
    frame = pd.DataFrame(rows)[["colour", "size", "weight"]]
    assert run.predict(frame).tolist() == [row[0] for row in cli[1:]]


def test_evaluate_equals_nnctl_eval_json(iris_run):
    pd = pytest.importorskip("pandas")  # accepted, never required: the oldest-versions job has none
    run = nnctl.load_run(iris_run)
    for split in ("val", "train"):
        proc = run_nnctl("eval", iris_run, "--split", split, "--json")
        assert proc.returncode == 0, proc.stderr
        result = run.evaluate() if split == "val" else run.evaluate(split="train")
        assert json.loads(to_json(result)) == json.loads(proc.stdout)
    proc = run_nnctl("eval", iris_run, "--data", IRIS, "--json")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(IRIS)
    result = run.evaluate(table.drop(columns="target"), table["target"].to_numpy())
    expected = json.loads(proc.stdout)
    assert expected.pop("data") == str(IRIS) and result.pop("data") == "X"
    assert json.loads(to_json(result)) == expected


def test_bad_inputs_are_usage_errors_that_say_what_was_expected(iris_run, tmp_path):
    run = nnctl.load_run(iris_run)
    with pytest.raises(UsageError, match=r"X: no column 'petal_width_cm'.*uses the columns"):
        run.predict({name: [1.0] for name in IRIS_COLUMNS[:3]})
    with pytest.raises(UsageError, match="X: has 3 feature columns.*trained on 4"):
        run.predict(np.zeros((2, 3)))
    with pytest.raises(UsageError, match="expected a 2-D array.*found a 1-D array"):
        run.predict(np.zeros(4))
    with pytest.raises(UsageError, match="'sepal_width_cm' has 2 rows, the first column 1"):
        run.predict({"sepal_length_cm": [1.0], "sepal_width_cm": [1.0, 2.0]})
    text_cell = {name: [1.0, 2.0] for name in IRIS_COLUMNS} | {"sepal_width_cm": [1.0, "wide"]}
    with pytest.raises(UsageError, match="X: row 1, column 'sepal_width_cm': expected a number"):
        run.predict(text_cell)
    with pytest.raises(UsageError, match=r"y\[1\]: label 'daisy' is not one of the classes"):
        run.evaluate(np.zeros((2, 4)), ["setosa", "daisy"])
    with pytest.raises(UsageError, match="split"):
        run.evaluate(split="test")
    regression = nnctl.train("diabetes-linreg", overrides={"train.epochs": 1}, out=tmp_path / "reg")
    with pytest.raises(UsageError, match="regression run"):
        regression.predict_proba(np.zeros((1, 10)))
    values = regression.predict(np.zeros((3, 10)))
    assert values.dtype == np.float64 and values.shape[0] == 3


def test_compare_optimizers_table_equals_comparison_csv(tmp_path):
    comparison = nnctl.compare_optimizers(
        "iris-softmax", ["sgd", "adam:lr=0.01"], overrides={"train.epochs": 3}, out=tmp_path / "c"
    )
    assert_table_is_the_csv(comparison)
    assert [run.dir.name for run in comparison.runs] == [r["run"] for r in comparison.table]
    assert [r["label"] for r in comparison.table] == ["sgd", "adam:lr=0.01"]
    losses = {r["run"]: r["best_val_loss"] for r in comparison.table}
    assert comparison.select == "val_loss"
    assert comparison.best.dir.name == min(losses, key=losses.get)
    assert "best by val_loss" in repr(comparison)


def test_sweep_with_axes_as_a_mapping(tmp_path):
    comparison = nnctl.sweep(
        "iris-softmax",
        {"optimizer.lr": [0.01, 0.1]},
        overrides=["train.epochs=2"],
        out=tmp_path / "s",
    )
    assert_table_is_the_csv(comparison)
    assert [r["settings"] for r in comparison.table] == ["optimizer.lr=0.01", "optimizer.lr=0.1"]
    assert [run.config["optimizer"]["lr"] for run in comparison.runs] == [0.01, 0.1]
    assert all(run.summary["epochs"] == 2 for run in comparison.runs)


def assert_table_is_the_csv(comparison) -> None:
    with open(comparison.dir / "comparison.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    table = comparison.table
    assert len(table) == len(rows) > 0
    for mine, theirs in zip(table, rows):
        assert list(mine) == list(theirs)
        for key, cell in theirs.items():
            value = mine[key]
            if isinstance(value, bool):
                assert cell == ("true" if value else "false"), key
            elif value is None:
                assert cell == "", key
            elif isinstance(value, float):
                assert float(cell) == value, key
            else:
                assert str(value) == cell, key


def test_sweep_of_a_dict_config_reads_its_data_from_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = ["a,b,y"] + [f"{i % 5},{(i * 7) % 3},{(i % 5) * 0.5 - (i % 3)}" for i in range(40)]
    Path("table.csv").write_text("\n".join(lines) + "\n")
    raw = {
        "data": {"path": "table.csv", "target": "y"},
        "model": {"kind": "linreg"},
        "optimizer": {"name": "sgd"},
        "train": {"epochs": 2},
    }
    comparison = nnctl.sweep(raw, ["optimizer.lr=0.01,0.05"], seeds=1)
    assert comparison.dir == Path("runs/table-linreg-sweep-lr")
    assert_table_is_the_csv(comparison)
    assert [run.config["data"]["path"] for run in comparison.runs] == [
        str((tmp_path / "table.csv").resolve())
    ] * 2
