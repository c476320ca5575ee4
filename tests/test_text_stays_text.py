"""Text stays text: CSV cells nnctl copies from a user's data (--keep values, class labels,
column names) that a spreadsheet would run as a formula are written with a leading apostrophe,
quoted as the csv module needs; numbers nnctl computes (a negative prediction) stay numbers;
--no-csv-safe writes every cell as it is."""

from __future__ import annotations

import csv
import io

import yaml

from conftest import run_nnctl
from nnctl.util.csv_cells import safe_cell

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"]


def test_safe_cell_prefixes_formulas_and_leaves_numbers_alone():
    assert [safe_cell(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    assert safe_cell("\rx") == "'\rx" and safe_cell("\tx") == "'\tx"
    for number in ("-0.5", "+3", "-1e-05", "1.5", "-inf", "nan", ".5"):
        assert safe_cell(number) == number
    assert safe_cell("plain") == "plain" and safe_cell(-0.5) == -0.5


def write_table(path, target_values, ids):
    rows = [["id", "x1", "x2", "y"]]
    for i, (target, ident) in enumerate(zip(target_values, ids)):
        rows.append([ident, str(i % 7 - 3), str((i * 5) % 11 - 5), target])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue())


def train(tmp_path, name, kind, table):
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "seed": 0,
                "data": {"path": str(table), "target": "y", "drop": ["id"]},
                "model": {"kind": kind},
                "optimizer": {"name": "gd", "lr": 0.1},
                "train": {"epochs": 5},
            }
        )
    )
    proc = run_nnctl("train", config, "--out", tmp_path / name, "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path / name


def test_predict_writes_hostile_labels_and_kept_ids_as_text(tmp_path):
    n = 40
    labels = ["=bad" if (i % 7 - 3) + ((i * 5) % 11 - 5) > 0 else "-" for i in range(n)]
    ids = [HOSTILE[i % len(HOSTILE)] for i in range(n)]
    table = tmp_path / "t.csv"
    write_table(table, labels, ids)
    run = train(tmp_path, "cls", "logreg", table)

    safe = run_nnctl("predict", run, table, "--keep", "id", "--proba", cwd=tmp_path)
    assert safe.returncode == 0, safe.stderr
    rows = list(csv.reader(io.StringIO(safe.stdout)))
    assert rows[0] == ["id", "prediction", "proba_-", "proba_=bad"]
    assert [r[0] for r in rows[1:]] == ["'" + v for v in ids]
    assert {r[1] for r in rows[1:]} <= {"'=bad", "'-"} and len({r[1] for r in rows[1:]}) == 2
    assert all(0.0 <= float(p) <= 1.0 for r in rows[1:] for p in r[2:])  # numbers untouched

    raw = run_nnctl("predict", run, table, "--keep", "id", "--no-csv-safe", cwd=tmp_path)
    assert raw.returncode == 0, raw.stderr
    raw_rows = list(csv.reader(io.StringIO(raw.stdout)))
    assert [r[0] for r in raw_rows[1:]] == ids  # quotes and commas survive the quoting
    assert {r[1] for r in raw_rows[1:]} == {"=bad", "-"}


def test_predict_keeps_negative_regression_predictions_as_numbers(tmp_path):
    n = 40
    targets = [str(-5.0 - i) for i in range(n)]  # every prediction is well below zero
    table = tmp_path / "r.csv"
    write_table(table, targets, [f"=id{i}" for i in range(n)])
    run = train(tmp_path, "reg", "linreg", table)
    proc = run_nnctl("predict", run, table, "--keep", "id", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0] == ["id", "prediction"]
    values = [r[1] for r in rows[1:]]
    assert all(v.startswith("-") and float(v) < 0 for v in values)
    assert [r[0] for r in rows[1:]] == [f"'=id{i}" for i in range(n)]


def test_comparison_csv_writes_labels_as_text_and_numbers_as_numbers(tmp_path):
    from nnctl.compare.aggregate import CSV_COLUMNS, write_csv

    record = {column: None for column in CSV_COLUMNS}
    record.update(
        label="=cmd|' /C calc'!A0",
        optimizer="sgd",
        settings={"lr": 0.1},
        seed=0,
        status="completed",
        diverged=False,
        final_train_loss=-0.5,
        message="-s train.epochs=3: a note",
    )
    write_csv(tmp_path / "comparison.csv", [record])
    rows = list(csv.DictReader(io.StringIO((tmp_path / "comparison.csv").read_text())))
    assert rows[0]["label"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["message"] == "'-s train.epochs=3: a note"
    assert rows[0]["final_train_loss"] == "-0.5" and rows[0]["settings"] == "lr=0.1"
    assert rows[0]["diverged"] == "false" and rows[0]["seed"] == "0"
