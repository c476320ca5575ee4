"""A user's own table end to end: messy CSVs, the column pipeline against scikit-learn's, column
names as the contract, target scaling, pipes, and `config init`."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import yaml

from conftest import assert_clean_error, run_nnctl
from messy_tables import CATEGORICAL, NUMERIC, patients, write_csv
from nnctl.data.delimiter import sniff_delimiter
from nnctl.errors import UsageError

L2 = 1e-3
MISSING_TARGETS = (3, 50, 700)


def write_config(path, cfg: dict):
    path.write_text(yaml.safe_dump(cfg))
    return path


def train(folder, cfg: dict, name: str = "run", *extra):
    config = write_config(folder / f"{name}.yaml", cfg)
    proc = run_nnctl("train", config, "--out", folder / name, "-q", "--json", *extra, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder / name, json.loads(proc.stdout), proc


def predictions(proc) -> list[list[str]]:
    assert proc.returncode == 0, proc.stderr
    return list(csv.reader(io.StringIO(proc.stdout)))


def messy_config(path, kind: str, optimizer: str, **data) -> dict:
    return {
        "seed": 0,
        "data": {
            "path": str(path),
            "target": "outcome",
            "drop": ["", "patient_id"],
            "missing": "impute",
            **data,
        },
        "model": {"kind": kind},
        "loss": {"l2": 0.0 if kind == "linreg" else L2},
        "optimizer": {"name": optimizer},
        "train": {"epochs": 300},
    }


# -------------------------------------------------------------- the scikit-learn pipeline


def nnctl_split(cfg: dict):
    """The training and validation row indices nnctl uses for this config (same seed)."""
    from nnctl.config import resolve
    from nnctl.data import train_val_split
    from nnctl.training.prepare import load_dataset
    from nnctl.util.rng import make_streams

    resolved = resolve(cfg)
    streams = make_streams(resolved["seed"])
    with pytest.warns(UserWarning, match="no value in the target column"):
        full = load_dataset(resolved["data"], streams, fit_columns=False)
    return train_val_split(
        full.y,
        resolved["data"]["val_fraction"],
        streams["split"],
        stratify=resolved["data"]["stratify"],
        task=full.task,
    )


def sklearn_score(columns, target, task, train_rows, val_rows):
    """Accuracy or R2 of SimpleImputer + StandardScaler / OneHotEncoder + the linear model."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    kept = [i for i in range(len(target)) if i not in MISSING_TARGETS]
    numeric = np.array(
        [[np.nan if columns[c][i] is None else columns[c][i] for c in NUMERIC] for i in kept],
        dtype=float,
    )
    text = np.array(
        [[np.nan if columns[c][i] is None else columns[c][i] for c in CATEGORICAL] for i in kept],
        dtype=object,
    )
    y = np.array([target[i] for i in kept])
    num = make_pipeline(SimpleImputer(strategy="median"), StandardScaler()).fit(numeric[train_rows])
    cat = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    cat.fit(text[train_rows])

    def features(rows):
        return np.hstack([num.transform(numeric[rows]), cat.transform(text[rows])])

    if task == "regression":
        model = LinearRegression().fit(features(train_rows), y[train_rows].astype(float))
        return r2_score(y[val_rows].astype(float), model.predict(features(val_rows))), num, cat
    model = LogisticRegression(C=1.0 / (L2 * len(train_rows)), max_iter=10_000)
    model.fit(features(train_rows), y[train_rows])
    return accuracy_score(y[val_rows], model.predict(features(val_rows))), num, cat


@pytest.mark.parametrize(
    "task, kind, optimizer",
    [
        ("binary", "logreg", "lbfgs"),
        ("multiclass", "softmax", "lbfgs"),
        ("regression", "linreg", "exact"),
    ],
)
def test_messy_csv_matches_the_scikit_learn_pipeline(tmp_path, task, kind, optimizer):
    pytest.importorskip("sklearn", reason="the reference pipeline needs scikit-learn")
    columns, target = patients(1500, seed=1, task=task)
    # Semicolons, CRLF, a BOM, R row names, missing cells in six spellings, missing targets.
    path = write_csv(
        tmp_path / "patients.csv",
        columns,
        target,
        delimiter=";",
        crlf=True,
        bom=True,
        row_names=True,
        missing_targets=MISSING_TARGETS,
    )
    cfg = messy_config(path, kind, optimizer)
    run, summary, proc = train(tmp_path, cfg)
    assert "3 of 1500 rows have no value in the target column 'outcome'" in proc.stderr
    assert summary["n_train"] + summary["n_val"] == 1500 - len(MISSING_TARGETS)

    train_rows, val_rows = nnctl_split(cfg)
    reference, num, cat = sklearn_score(columns, target, task, train_rows, val_rows)
    metric = "val_r2" if task == "regression" else "val_accuracy"
    ours = summary["final"][metric]
    assert abs(ours - reference) <= 0.01, (ours, reference)
    assert ours > (0.8 if task == "regression" else 0.6)  # a model that learned something

    # What was learned is scikit-learn's too: training medians, most frequent values, categories.
    meta = json.loads(str(np.load(run / "checkpoints" / "best.npz")["meta"]))
    specs = {c["name"]: c for c in meta["columns"]["columns"]}
    assert [specs[c]["fill"] for c in NUMERIC] == pytest.approx(num[0].statistics_.tolist())
    imputer, encoder = cat[0], cat[1]
    assert [specs[c]["fill"] for c in CATEGORICAL] == imputer.statistics_.tolist()
    assert [specs[c]["categories"] for c in CATEGORICAL] == [
        c.tolist() for c in encoder.categories_
    ]
    assert "patient_id" not in specs and "" not in specs


# ----------------------------------------------------------- column names are the contract


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own")
    columns, target = patients(400, seed=2, task="binary")
    path = write_csv(folder / "train.csv", columns, target)
    run, _, _ = train(folder, messy_config(path, "logreg", "lbfgs", drop=["patient_id"]))
    return folder, run, columns, target


def test_predictions_identical_shuffled_columns_stdin_extra_columns(binary_run, tmp_path):
    _, run, columns, target = binary_run
    rows = range(60)
    plain = write_csv(tmp_path / "plain.csv", columns, target, rows=rows)
    base = predictions(run_nnctl("predict", run, plain, "--proba", cwd=tmp_path))
    assert len(base) == 61 and base[0][0] == "prediction"

    # Another order, no target, an extra column, semicolons: the same predictions.
    shuffled = {
        "x2": columns["x2"],
        "note": ["extra"] * len(target),
        **{k: columns[k] for k in ("region", "bmi", "patient_id", "x1", "smoker", "age")},
    }
    other = write_csv(
        tmp_path / "other.csv", shuffled, target, delimiter=";", with_target=False, rows=rows
    )
    assert predictions(run_nnctl("predict", run, other, "--proba", cwd=tmp_path)) == base
    text = other.read_text()
    for source in ("-", "/dev/stdin"):
        piped = run_nnctl(
            "predict", run, source, "--proba", "--format", "csv", cwd=tmp_path, input=text
        )
        assert predictions(piped) == base, source
    kept = predictions(
        run_nnctl("predict", run, other, "--keep", "patient_id", "--no-header", cwd=tmp_path)
    )
    assert [r[0] for r in kept] == [columns["patient_id"][i] for i in rows]
    assert [r[1] for r in kept] == [r[0] for r in base[1:]]

    # eval on stdin too, in the file's own units and labels
    evaluated = run_nnctl(
        "eval", run, "--data", "-", "--json", cwd=tmp_path, input=plain.read_text()
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["n"] == 60


def test_missing_feature_column_is_exit_2_naming_it(binary_run, tmp_path):
    _, run, columns, target = binary_run
    without = {k: v for k, v in columns.items() if k != "bmi"}
    path = write_csv(tmp_path / "nobmi.csv", without, target, rows=range(10))
    assert_clean_error(
        run_nnctl("predict", run, path, cwd=tmp_path),
        2,
        "nobmi.csv",
        "no column 'bmi'",
        "matched by header name",
    )
    assert_clean_error(run_nnctl("eval", run, "--data", path, cwd=tmp_path), 2, "no column 'bmi'")
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("1,2,3,4,5,6\n")
    assert_clean_error(
        run_nnctl("predict", run, headerless, cwd=tmp_path), 2, "headerless.csv", "header row"
    )


def test_unseen_category_is_all_zeros_with_one_warning_line(binary_run, tmp_path):
    _, run, columns, target = binary_run
    changed = dict(
        columns,
        region=["Mars"] * 3 + columns["region"][3:],
        smoker=["sometimes"] + columns["smoker"][1:],
    )
    path = write_csv(tmp_path / "new.csv", changed, target, rows=range(10))
    proc = run_nnctl("predict", run, path, cwd=tmp_path)
    assert len(predictions(proc)) == 11
    warning_lines = [line for line in proc.stderr.splitlines() if "not seen in training" in line]
    assert len(warning_lines) == 1 and "'smoker': 1" in warning_lines[0]
    assert "'region': 3" in warning_lines[0]


def test_imputed_cells_take_the_training_median_and_mode(binary_run, tmp_path):
    _, run, columns, target = binary_run
    meta = json.loads(str(np.load(run / "checkpoints" / "best.npz")["meta"]))
    specs = {c["name"]: c for c in meta["columns"]["columns"]}
    row = {k: [v[0]] for k, v in columns.items()}
    filled = {**row, "age": [specs["age"]["fill"]], "smoker": [specs["smoker"]["fill"]]}
    holes = {**row, "age": [None], "smoker": [None]}
    a = predictions(
        run_nnctl(
            "predict",
            run,
            write_csv(tmp_path / "a.csv", filled, [target[0]]),
            "--proba",
            cwd=tmp_path,
        )
    )
    b = predictions(
        run_nnctl(
            "predict",
            run,
            write_csv(tmp_path / "b.csv", holes, [target[0]]),
            "--proba",
            cwd=tmp_path,
        )
    )
    assert a == b


def test_drop_rows_counts_and_predicts_empty_cells(tmp_path):
    columns, target = patients(300, seed=3, task="binary")
    path = write_csv(tmp_path / "t.csv", columns, target)
    holes = sum(
        any(columns[c][i] is None for c in ("age", "bmi", "smoker", "region")) for i in range(300)
    )
    run, summary, proc = train(
        tmp_path, messy_config(path, "logreg", "lbfgs", drop=["patient_id"], missing="drop_rows")
    )
    assert f"{holes} of 300 rows have a missing cell; left out" in proc.stderr
    assert summary["n_train"] + summary["n_val"] == 300 - holes
    out = predictions(run_nnctl("predict", run, path, cwd=tmp_path))
    empty = [i for i, r in enumerate(out[1:]) if r == [""]]
    assert len(out) == 301 and len(empty) == holes


def test_missing_error_names_columns_counts_and_lines(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("a,b,c,y\n1,2,x,0\nNA,3,y,1\n2,?,,0\n3,4,x,1\n,5,y,0\n")
    cfg = {"data": {"path": str(path), "target": "y"}, "model": {"kind": "logreg"}}
    proc = run_nnctl(
        "train", write_config(tmp_path / "m.yaml", cfg), "--out", tmp_path / "r", cwd=tmp_path
    )
    assert_clean_error(
        proc,
        2,
        "m.csv: missing cells: column 'a': 2 (lines 3, 6); column 'b': "
        "1 (line 4); column 'c': 1 (line 4)",
        "data.missing: impute",
        "drop_rows",
    )


@pytest.mark.parametrize(
    "values, fragment",
    [
        ([f"user{i}" for i in range(40)], "a distinct value on 40 of 40 rows (an identifier?)"),
        ([f"c{i % 120}" for i in range(400)], "120 distinct values"),
    ],
)
def test_id_like_or_huge_category_columns_are_refused_suggesting_drop(tmp_path, values, fragment):
    n = len(values)
    lines = ["who,x,y"] + [f"{v},{i % 7},{i % 2}" for i, v in enumerate(values)]
    path = tmp_path / "ids.csv"
    path.write_text("\n".join(lines) + "\n")
    cfg = {"data": {"path": str(path), "target": "y", "val_fraction": 0.0}, "model": "logreg"}
    cfg["model"] = {"kind": "logreg"}
    proc = run_nnctl(
        "train", write_config(tmp_path / "c.yaml", cfg), "--out", tmp_path / "r", cwd=tmp_path
    )
    assert_clean_error(proc, 2, "ids.csv", "column 'who'", fragment, "data.drop: [who]")
    assert n


def test_numeric_column_with_a_stray_spelling_names_it(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("a,b,y\n1,2,0\n3,unknown,1\n5,6,0\n7,8,1\n")
    cfg = {"data": {"path": str(path), "target": "y"}, "model": {"kind": "logreg"}}
    proc = run_nnctl(
        "train", write_config(tmp_path / "s.yaml", cfg), "--out", tmp_path / "r", cwd=tmp_path
    )
    assert_clean_error(
        proc, 2, "line 3, column 'b': expected a number, found 'unknown'", "data.na_values"
    )
    cfg["data"]["na_values"] = ["unknown"]
    cfg["data"]["missing"] = "impute"
    proc = run_nnctl(
        "train",
        write_config(tmp_path / "s.yaml", cfg),
        "--out",
        tmp_path / "r2",
        "-q",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr


def test_config_keys_are_validated(tmp_path):
    base = {"data": {"name": "iris"}}
    for key, value, fragment in (
        ("missing", "fill", "data.missing: expected one of error, "),
        ("drop", "id", "data.drop: expected a list"),
        ("categorical", "some", "data.categorical: expected auto, none"),
        ("delimiter", "::", "data.delimiter: expected auto, one char"),
        ("standardize_target", "yes", "data.standardize_target"),
    ):
        cfg = {"data": {**base["data"], key: value}}
        proc = run_nnctl("config", "validate", write_config(tmp_path / "v.yaml", cfg), cwd=tmp_path)
        assert_clean_error(proc, 2, fragment)


# -------------------------------------------------------------------------- target scaling


def regression_table(path, scale: float, shift: float):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 1.5]) + 0.3 * rng.normal(size=600)
    y = (y - y.mean()) / y.std()
    lines = ["a,b,c,d,e,price"] + [
        ",".join(repr(float(v)) for v in row) + f",{float(t * scale + shift)!r}"
        for row, t in zip(X, y)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_target_in_its_own_units_trains_like_the_scaled_one(tmp_path):
    big = regression_table(tmp_path / "big.csv", 100.0, 1000.0)
    unit = regression_table(tmp_path / "unit.csv", 1.0, 0.0)
    # The defaults: an MLP trained by Adam, the default rate and epochs.
    _, scaled, _ = train(tmp_path, {"data": {"path": str(unit), "target": "price"}}, "unit")
    run, own, _ = train(tmp_path, {"data": {"path": str(big), "target": "price"}}, "big")
    assert abs(own["final"]["val_r2"] - scaled["final"]["val_r2"]) <= 0.01
    assert own["final"]["val_r2"] > 0.9
    _, raw, _ = train(
        tmp_path,
        {"data": {"path": str(big), "target": "price", "standardize_target": False}},
        "raw",
    )
    assert raw["final"]["val_r2"] < own["final"]["val_r2"] - 0.1  # what the scaling buys

    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(r["loss_units"] == "standardized target" for r in rows)
    assert own["loss_units"] == "standardized target"
    # RMSE in the target's units: 100 times the unit run's.
    assert own["final"]["val_rmse"] == pytest.approx(100 * scaled["final"]["val_rmse"], rel=0.05)
    out = predictions(run_nnctl("predict", run, big, cwd=tmp_path))
    values = np.array([float(r[0]) for r in out[1:]])
    assert 900 < values.mean() < 1100 and 60 < values.std() < 140
    evaluated = json.loads(run_nnctl("eval", run, "--json", cwd=tmp_path).stdout)
    assert evaluated["r2"] == pytest.approx(own["final"]["val_r2"], abs=1e-6)
    assert evaluated["loss_units"] == "standardized target"


# ------------------------------------------------------------------------------------ pipes


def test_train_config_on_stdin_and_config_yaml_replays_from_anywhere(tmp_path):
    data_dir = tmp_path / "project"
    data_dir.mkdir()
    columns, target = patients(200, seed=4, task="binary")
    write_csv(data_dir / "t.csv", columns, target)
    cfg = yaml.safe_dump(messy_config("t.csv", "logreg", "lbfgs", drop=["patient_id"]))
    proc = run_nnctl("train", "-", "--out", "run", "-q", "--json", cwd=data_dir, input=cfg)
    assert proc.returncode == 0, proc.stderr
    saved = yaml.safe_load((data_dir / "run" / "config.yaml").read_text())
    assert saved["data"]["path"] == str((data_dir / "t.csv").resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    replay = run_nnctl(
        "train", data_dir / "run" / "config.yaml", "--out", "again", "-q", "--json", cwd=elsewhere
    )
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["final"] == json.loads(proc.stdout)["final"]


# ------------------------------------------------------------------------------ config init


def test_config_init_describes_the_table_and_trains(tmp_path):
    columns, target = patients(300, seed=6, task="multiclass")
    columns["constant"] = ["same"] * 300
    path = write_csv(
        tmp_path / "p.csv", columns, target, delimiter=";", row_names=True, missing_targets=(7,)
    )
    proc = run_nnctl("config", "init", "--data", path, "--target", "outcome", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for fragment in (
        "semicolon-separated",
        "Task: multiclass, 3 classes",
        "(no name): no header name",
        "patient_id: a distinct value on 299 of 299 rows",
        "constant: the same value on every row",
        "region: categorical, 4 categories",
        "1 rows without a target",
        "missing: impute",
        "model: {kind: softmax}",
    ):
        assert fragment in text, (fragment, text)
    cfg = yaml.safe_load(text)
    assert cfg["data"]["drop"] == ["", "patient_id", "constant"]
    config = tmp_path / "init.yaml"
    config.write_text(text)
    trained = run_nnctl("train", config, "--out", "run", "-q", "--json", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["final"]["val_accuracy"] > 0.6
    mlp = run_nnctl(
        "config", "init", "--data", path, "--target", "outcome", "--model", "mlp", cwd=tmp_path
    )
    assert "model: {kind: mlp" in mlp.stdout and "early_stopping" in mlp.stdout


# ------------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1,5;2,5;3\n", ";"),  # decimal commas
        ("a\tb\n1\t2\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('name,place\n"Smith, J","Dream; North"\n', ","),
        ('a;b\n"x;y";2\n"u";3\n', ";"),
    ],
)
def test_sniff_delimiter(text, expected):
    assert sniff_delimiter(text.splitlines(keepends=True)) == expected


def test_trailing_delimiter_column_is_ignored(tmp_path):
    path = tmp_path / "trail.csv"
    path.write_text("a,b,y,\n1,2,0,\n2,3,1,\n3,1,0,\n4,4,1,\n")
    cfg = {
        "data": {"path": str(path), "target": "y", "val_fraction": 0.0},
        "model": {"kind": "logreg"},
    }
    proc = run_nnctl(
        "train", write_config(tmp_path / "t.yaml", cfg), "--out", "run", "-q", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    out = predictions(run_nnctl("predict", "run", "-", cwd=tmp_path, input="b,a\n2,1\n"))
    assert out[0] == ["prediction"] and len(out) == 2
    init = run_nnctl("config", "init", "--data", path, "--target", "y", cwd=tmp_path)
    assert "(no name): no header name and no value (a trailing delimiter)" in init.stdout
    assert "a: row numbers" not in init.stdout  # 4 rows say nothing about an index


def test_target_scaling_without_validation_rows(tmp_path):
    big = regression_table(tmp_path / "big.csv", 100.0, 1000.0)
    cfg = {
        "data": {"path": str(big), "target": "price", "val_fraction": 0.0},
        "model": {"kind": "linreg"},
        "optimizer": {"name": "exact"},
        "train": {"epochs": 1},
    }
    run, summary, _ = train(tmp_path, cfg)
    assert summary["n_val"] == 0 and summary["loss_units"] == "standardized target"
    proc = run_nnctl("eval", run, "--split", "train", "--json", cwd=tmp_path)
    evaluated = json.loads(proc.stdout)
    # Every row, whose target has std exactly 100: R2 = 1 - MSE / 100^2, in the target's units.
    assert evaluated["r2"] > 0.95 and evaluated["n"] == 600
    assert evaluated["rmse"] == pytest.approx(100 * np.sqrt(1 - evaluated["r2"]), rel=1e-9)


def test_column_kind_is_read_from_every_row_not_the_split(tmp_path):
    """A text column whose training rows happen to hold numbers only is still categorical (the
    property test's find: x1 = abc, 0)."""
    from nnctl.data.columns import fit_on_rows
    from nnctl.data.formats import COLUMN_DEFAULTS
    from nnctl.data.table import ColumnTable

    table = ColumnTable(
        ["x1", "x2"],
        [
            np.array(["abc", "0", "abc", "def", "1"], dtype=object),
            np.array([1.0, 0.0, 2.0, 4.0, 3.0]),
        ],
        np.arange(2, 7),
        "t.csv",
    )
    with pytest.warns(UserWarning, match=r"not seen in training .*'x1': 3"):
        pipeline, X_train, X_val = fit_on_rows(
            table, COLUMN_DEFAULTS, np.array([1, 4]), np.array([0, 2, 3])
        )
    assert [s.kind for s in pipeline.specs] == ["categorical", "numeric"]
    assert pipeline.output_names == ["x1=0", "x1=1", "x2"]
    np.testing.assert_array_equal(X_train, [[1, 0, 0], [0, 1, 3]])
    np.testing.assert_array_equal(X_val, [[0, 0, 1], [0, 0, 2], [0, 0, 4]])  # unseen: zeros
    # Half numbers or more: stray spellings in a numeric column, refused by name (the find).
    table.values[0] = np.array(["abc", "0", "2", "3", "1"], dtype=object)
    with pytest.raises(UsageError, match="line 2, column 'x1': expected a number, found 'abc'"):
        fit_on_rows(table, COLUMN_DEFAULTS, np.array([1, 4]), np.array([0, 2, 3]))


def test_checkpoint_without_a_stored_pipeline_binds_csv_columns_by_name(tmp_path):
    """Runs trained on a CSV before the pipeline was stored (numeric columns only) bind by the
    feature names in their meta too: reversed columns give the same predictions."""
    path = tmp_path / "num.csv"
    rng = np.random.default_rng(8)
    X = rng.normal(size=(80, 3))
    y = (X @ [1.0, -1.0, 0.5] > 0).astype(int)
    path.write_text(
        "a,b,c,y\n" + "".join(f"{a!r},{b!r},{c!r},{t}\n" for (a, b, c), t in zip(X.tolist(), y))
    )
    run, _, _ = train(
        tmp_path,
        {
            "data": {"path": str(path), "target": "y"},
            "model": {"kind": "logreg"},
            "optimizer": {"name": "lbfgs"},
        },
    )
    best = run / "checkpoints" / "best.npz"
    with np.load(best) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays["meta"]))
    del meta["columns"], meta["target_scaler"]  # as an older nnctl wrote it
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(best, **arrays)
    reversed_file = tmp_path / "reversed.csv"
    reversed_file.write_text("c,b,a\n" + "".join(f"{c!r},{b!r},{a!r}\n" for a, b, c in X.tolist()))
    same = predictions(run_nnctl("predict", best, path, "--proba", cwd=tmp_path))
    assert predictions(run_nnctl("predict", best, reversed_file, "--proba", cwd=tmp_path)) == same


def test_decimal_commas_in_a_semicolon_file_read_as_numbers(tmp_path):
    from nnctl.data import load_file

    dots = tmp_path / "dots.csv"
    dots.write_text('a,b,city,price\n1.5,2,"Köln, Nord",10.25\n-0.25,3,Bonn,NA\n3,4.75,Bonn,7\n')
    commas = tmp_path / "commas.csv"
    commas.write_text("a;b;city;price\n1,5;2;Köln, Nord;10,25\n-0,25;3;Bonn;NA\n3;4,75;Bonn;7\n")
    with pytest.warns(UserWarning, match="1 of 3 rows have no value"):
        expected = load_file(dots, task="regression")
    with pytest.warns(UserWarning, match="1 of 3 rows have no value"):
        found = load_file(commas, task="regression")
    np.testing.assert_array_equal(found.X, expected.X)
    np.testing.assert_array_equal(found.y, [10.25, 7.0])
    assert found.feature_names == ["a", "b", "city=Bonn", "city=Köln, Nord"]


def test_config_init_flags_integer_codes_and_stray_spellings(tmp_path):
    rows = [f"{i % 4 + 1},{'-' if i % 9 == 0 else i * 0.5},{i % 2}" for i in range(40)]
    path = tmp_path / "codes.csv"
    path.write_text("grade,dose,y\n" + "\n".join(rows) + "\n")
    proc = run_nnctl("config", "init", "--data", path, "--target", "y", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "grade: numeric; 4 distinct integers: if they are codes" in proc.stdout
    assert "dose: numeric, 5 missing (incl. '-', read as missing)" in proc.stdout
    cfg = yaml.safe_load(proc.stdout)
    assert "-" in cfg["data"]["na_values"] and cfg["data"]["missing"] == "impute"
    config = tmp_path / "codes.yaml"
    config.write_text(proc.stdout)
    assert run_nnctl("train", config, "--out", "run", "-q", cwd=tmp_path).returncode == 0
