"""Parquet data files: the same table as CSV or Parquet trains to the same numbers, bit for bit,
and bad Parquet input is exit 2 naming the file and the column."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest
import yaml

from conftest import assert_clean_error, run_nnctl

pa = pytest.importorskip("pyarrow")  # the nnctl[parquet] extra (in the dev extras, so CI runs it)
pq = pytest.importorskip("pyarrow.parquet")

N_ROWS = 240
COLORS = ["red", "green", "blue"]


def table_columns(seed: int = 0) -> dict[str, list]:
    """A small table with an id, two numeric columns and a text column (nulls in each), and a
    text target that follows the features."""
    rng = np.random.default_rng(seed)
    size = rng.normal(size=N_ROWS)
    weight = rng.normal(size=N_ROWS) * 3 + 1
    color = rng.integers(0, 3, size=N_ROWS)
    score = size + 0.3 * weight + (color == 2) + rng.normal(scale=0.3, size=N_ROWS)
    columns = {
        "patient_id": [1000 + i for i in range(N_ROWS)],
        "size": [float(v) for v in size],
        "weight": [float(v) for v in weight],
        "color": [COLORS[c] for c in color],
        "outcome": ["high" if s > 0.5 else "low" for s in score],
    }
    for i in range(0, N_ROWS, 17):
        columns["size"][i] = None
    for i in range(5, N_ROWS, 23):
        columns["color"][i] = None
    columns["weight"][7] = None
    return columns


def write_both(folder, columns: dict[str, list]):
    """The table as CSV (empty cells for nulls) and as Parquet (nulls, a dictionary column)."""
    csv_path, parquet_path = folder / "table.csv", folder / "table.parquet"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(columns))
        for row in zip(*columns.values(), strict=True):
            writer.writerow(
                ["" if v is None else repr(v) if isinstance(v, float) else v for v in row]
            )
    arrays = {
        "patient_id": pa.array(columns["patient_id"], pa.int64()),
        "size": pa.array(columns["size"], pa.float64()),
        "weight": pa.array(columns["weight"], pa.float64()),
        "color": pa.array(columns["color"], pa.string()).dictionary_encode(),
        "outcome": pa.array(columns["outcome"], pa.string()),
    }
    pq.write_table(pa.table(arrays), parquet_path, row_group_size=64)  # several row groups
    return csv_path, parquet_path


def config(path, **data) -> dict:
    return {
        "seed": 3,
        "data": {
            "path": str(path),
            "target": "outcome",
            "drop": ["patient_id"],
            "missing": "impute",
            **data,
        },
        "model": {"kind": "mlp", "hidden": [8]},
        "optimizer": {"name": "adam"},
        "train": {"epochs": 40, "batch_size": 32},
    }


def train(folder, cfg: dict, name: str):
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = run_nnctl("train", path, "--out", folder / name, "-q", "--json", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder / name


def checkpoint_arrays(run) -> dict[str, np.ndarray]:
    with np.load(run / "checkpoints" / "best.npz") as archive:
        return {key: archive[key] for key in archive.files if key != "meta"}


def checkpoint_columns(run) -> dict:
    with np.load(run / "checkpoints" / "best.npz") as archive:
        return json.loads(str(archive["meta"]))["columns"]


@pytest.fixture(scope="module")
def both_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parquet")
    csv_path, parquet_path = write_both(folder, table_columns())
    csv_run = train(folder, config(csv_path), "from_csv")
    parquet_run = train(folder, config(parquet_path), "from_parquet")
    return folder, csv_path, parquet_path, csv_run, parquet_run


def test_csv_and_parquet_train_to_bit_identical_checkpoints(both_runs):
    _, _, _, csv_run, parquet_run = both_runs
    ours, theirs = checkpoint_arrays(csv_run), checkpoint_arrays(parquet_run)
    assert sorted(ours) == sorted(theirs) and ours
    for key in ours:
        assert ours[key].dtype == theirs[key].dtype, key
        assert ours[key].tobytes() == theirs[key].tobytes(), key
    # The fitted columns are the same too: medians, modes, categories (color has a null).
    assert checkpoint_columns(csv_run) == checkpoint_columns(parquet_run)
    specs = {c["name"]: c for c in checkpoint_columns(parquet_run)["columns"]}
    assert specs["color"]["categories"] == sorted(COLORS)
    assert "patient_id" not in specs


def test_predictions_and_eval_are_identical_through_either_file(both_runs):
    folder, csv_path, parquet_path, csv_run, parquet_run = both_runs
    outputs = []
    for run in (csv_run, parquet_run):
        for data in (csv_path, parquet_path):
            proc = run_nnctl("predict", run, data, "--proba", "--keep", "patient_id", cwd=folder)
            assert proc.returncode == 0, proc.stderr
            outputs.append(proc.stdout)
    assert len(set(outputs)) == 1
    rows = list(csv.reader(io.StringIO(outputs[0])))
    assert len(rows) == N_ROWS + 1
    assert [r[0] for r in rows[1:4]] == ["1000", "1001", "1002"]  # the id, as written
    evals = []
    for data in (csv_path, parquet_path):
        proc = run_nnctl("eval", parquet_run, "--data", data, "--json", cwd=folder)
        assert proc.returncode == 0, proc.stderr
        result = json.loads(proc.stdout)
        assert result.pop("data").endswith(data.name) and result["n"] == N_ROWS
        evals.append(result)
    assert evals[0] == evals[1]


def test_a_folder_of_parquet_files_reads_as_one_table(both_runs, tmp_path):
    _, _, _, _, parquet_run = both_runs
    whole = pq.read_table(both_runs[2])
    folder = tmp_path / "parts"
    folder.mkdir()
    pq.write_table(whole.slice(0, 100), folder / "part-0.parquet")
    pq.write_table(whole.slice(100), folder / "part-1.parquet")
    run = train(tmp_path, config(folder), "from_folder")
    for key, value in checkpoint_arrays(parquet_run).items():
        assert checkpoint_arrays(run)[key].tobytes() == value.tobytes(), key


def test_corrupt_parquet_is_exit_2_naming_the_file(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1" + b"\x00" * 64 + b"not a footer")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(config(bad)))
    proc = run_nnctl("train", cfg, "--out", tmp_path / "r", cwd=tmp_path)
    assert_clean_error(proc, 2, "broken.parquet", "Parquet")
    assert not (tmp_path / "r").exists()


def test_schema_without_the_target_is_exit_2_naming_file_and_column(tmp_path):
    columns = table_columns()
    del columns["outcome"]
    path = tmp_path / "no_target.parquet"
    pq.write_table(pa.table(columns), path)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(config(path)))
    proc = run_nnctl("train", cfg, "--out", tmp_path / "r", cwd=tmp_path)
    assert_clean_error(proc, 2, "no_target.parquet", "'outcome'")


def test_a_type_change_between_files_is_exit_2_naming_file_and_column(tmp_path):
    columns = table_columns()
    folder = tmp_path / "parts"
    folder.mkdir()
    pq.write_table(pa.table(columns), folder / "a.parquet")
    columns["weight"] = [None if v is None else f"{v:.3f}" for v in columns["weight"]]
    pq.write_table(pa.table(columns), folder / "b.parquet")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(config(folder)))
    proc = run_nnctl("train", cfg, "--out", tmp_path / "r", cwd=tmp_path)
    assert_clean_error(proc, 2, "b.parquet", "'weight'")


def test_na_values_apply_to_parquet_text_and_numbers(tmp_path):
    from nnctl.data import load_file

    path = tmp_path / "t.parquet"
    table = pa.table(
        {
            "x": pa.array([1.0, -999.0, 3.0, None], pa.float64()),
            "kind": pa.array(["a", "?", None, " b "]),
            "target": pa.array([0, 1, 0, 1], pa.int32()),
        }
    )
    pq.write_table(table, path)
    dataset = load_file(
        path,
        columns={"na_values": ["?", "-999"], "missing": "impute"},
        fit_columns=False,
    )
    assert np.isnan(dataset.table.column("x")).tolist() == [False, True, False, True]
    assert dataset.table.column("kind").tolist() == ["a", None, None, "b"]
    assert dataset.y.tolist() == [0, 1, 0, 1]
    assert dataset.table.locate(1) == "row 2"


def test_config_init_profiles_a_parquet_table_and_its_config_trains(both_runs, tmp_path):
    parquet_path = both_runs[2]
    proc = run_nnctl("config", "init", "--data", parquet_path, "--target", "outcome", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"{N_ROWS} rows, Parquet" in proc.stdout
    assert "color: categorical, 3 categories" in proc.stdout
    config = tmp_path / "init.yaml"
    config.write_text(proc.stdout)
    trained = run_nnctl("train", config, "--out", tmp_path / "run", "-q", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr


def test_data_convert_reads_parquet_into_the_same_shards_as_csv(both_runs, tmp_path):
    _, csv_path, parquet_path, _, _ = both_runs
    for source, out in ((csv_path, "from_csv"), (parquet_path, "from_parquet")):
        proc = run_nnctl(
            "data", "convert", source, "--target", "outcome", "--drop", "patient_id",
            "--missing", "impute", "--out", tmp_path / out, cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    ours = sorted(p.name for p in (tmp_path / "from_csv").glob("*.npy"))
    assert ours and ours == sorted(p.name for p in (tmp_path / "from_parquet").glob("*.npy"))
    for name in ours:
        a, b = np.load(tmp_path / "from_csv" / name), np.load(tmp_path / "from_parquet" / name)
        if a.dtype.kind == "U":  # labels: the same strings (the width follows the source)
            assert a.tolist() == b.tolist(), name
        else:
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    described = [
        json.loads((tmp_path / out / "dataset.json").read_text())
        for out in ("from_csv", "from_parquet")
    ]
    assert described[0]["columns"] == described[1]["columns"]
    assert described[0]["rows"] == described[1]["rows"] == N_ROWS


def test_without_pyarrow_a_parquet_path_is_refused_at_validation_with_the_hint(both_runs, tmp_path):
    blocker = tmp_path / "no-pyarrow"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['pyarrow'] = None\n")
    path = os.environ.get("PYTHONPATH")
    env = {"PYTHONPATH": str(blocker) + (os.pathsep + path if path else "")}
    parquet_path = both_runs[2]
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(config(parquet_path)))
    for command in (["config", "validate", cfg], ["train", cfg, "--out", tmp_path / "r"]):
        proc = run_nnctl(*command, cwd=tmp_path, env=env)
        assert_clean_error(proc, 2, "data.path", 'pip install "nnctl[parquet]"')
    assert not (tmp_path / "r").exists()
    # CSV needs no pyarrow: the same process environment trains from the CSV file.
    cfg.write_text(yaml.safe_dump(config(both_runs[1])))
    proc = run_nnctl("config", "validate", cfg, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr


def test_a_boolean_column_is_categorical_in_parquet_as_in_csv(tmp_path):
    """A table with a boolean feature (nulls in it) and a boolean target: its CSV (True and
    False, as pandas writes them) and its Parquet file train to the same checkpoint, bit for
    bit; the booleans are categories and class names in both."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=160)
    flag = rng.integers(0, 2, size=160).astype(bool)
    target = (x + flag + rng.normal(scale=0.3, size=160)) > 0.5
    flags = [None if i % 13 == 0 else bool(v) for i, v in enumerate(flag)]
    lines = ["x,flag,target"] + [
        f"{float(v)!r},{'' if f is None else f},{t}"
        for v, f, t in zip(x, flags, target, strict=True)
    ]
    (tmp_path / "flags.csv").write_text("\n".join(lines) + "\n")
    arrays = {
        "x": pa.array(x.tolist(), pa.float64()),
        "flag": pa.array(flags, pa.bool_()),
        "target": pa.array(target.tolist(), pa.bool_()),
    }
    pq.write_table(pa.table(arrays), tmp_path / "flags.parquet")
    runs = []
    for name in ("flags.csv", "flags.parquet"):
        cfg = {
            "seed": 2,
            "data": {"path": name, "missing": "impute"},
            "model": {"kind": "logreg"},
            "optimizer": {"name": "adam", "lr": 0.05},
            "train": {"epochs": 20, "batch_size": 16},
        }
        runs.append(train(tmp_path, cfg, name.replace(".", "_")))
    ours, theirs = checkpoint_arrays(runs[0]), checkpoint_arrays(runs[1])
    assert sorted(ours) == sorted(theirs) and ours
    for key in ours:
        assert ours[key].tobytes() == theirs[key].tobytes(), key
    assert checkpoint_columns(runs[0]) == checkpoint_columns(runs[1])
    specs = {c["name"]: c for c in checkpoint_columns(runs[1])["columns"]}
    assert specs["flag"]["categories"] == ["False", "True"]
    for run in runs:
        with np.load(run / "checkpoints" / "best.npz") as archive:
            assert json.loads(str(archive["meta"]))["classes"] == ["False", "True"]
