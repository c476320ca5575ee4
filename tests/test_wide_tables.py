"""A table with 20,000 columns and a few rows: train, data convert and config init finish (column
lookups by name are dict lookups, so the work grows with the number of columns, not its square:
before, 20,000 columns took about 30 s and 100,000 more than 4 minutes). No time is asserted;
benchmarks/bench_wide_tables.py measures it. The results are checked: every column reaches the model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from conftest import run_nnctl

N_COLUMNS = 20_000
N_ROWS = 8


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wide")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_ROWS, N_COLUMNS)).round(3)
    header = ",".join(f"x{j}" for j in range(N_COLUMNS)) + ",colour,target"
    colours = ["red", "green"] * (N_ROWS // 2)
    lines = [header] + [",".join(map(str, X[i])) + f",{colours[i]},{i % 2}" for i in range(N_ROWS)]
    (folder / "wide.csv").write_text("\n".join(lines) + "\n")
    return folder


CONFIG = """
seed: 0
data: {path: DATA, val_fraction: 0}
model: {kind: logreg}
optimizer: {name: sgd, lr: 0.01}
train: {epochs: 1, batch_size: 8}
"""


def test_training_on_a_wide_csv_uses_every_column(wide):
    (wide / "csv.yaml").write_text(CONFIG.replace("DATA", "wide.csv"))
    proc = run_nnctl("train", "csv.yaml", "--out", "run-csv", "--json", "-q", cwd=wide)
    assert proc.returncode == 0, proc.stderr
    from nnctl.runs.checkpoint import load

    arrays, _ = load(wide / "run-csv" / "checkpoints" / "last.npz")
    # 20,000 numeric columns and a colour one-hot encoded in two
    assert arrays["linear0.weight"].shape == (N_COLUMNS + 2, 1)


def test_converting_a_wide_csv_writes_every_column(wide):
    proc = run_nnctl("data", "convert", "wide.csv", "--out", "shards", cwd=wide)
    assert proc.returncode == 0, proc.stderr
    description = json.loads((wide / "shards" / "dataset.json").read_text())
    names = description["feature_names"]
    assert len(names) == N_COLUMNS + 2
    assert names[0] == "x0" and names[N_COLUMNS - 1] == f"x{N_COLUMNS - 1}"
    assert names[-2:] == ["colour=green", "colour=red"]
    X = np.load(wide / "shards" / "X-00000.npy")
    assert X.shape == (N_ROWS, N_COLUMNS + 2)
    source = np.loadtxt(wide / "wide.csv", delimiter=",", skiprows=1, usecols=range(N_COLUMNS))
    assert np.array_equal(X[:, :N_COLUMNS], source)
    (wide / "shards.yaml").write_text(CONFIG.replace("DATA", "shards"))
    proc = run_nnctl("train", "shards.yaml", "--out", "run-shards", "-q", cwd=wide)
    assert proc.returncode == 0, proc.stderr


def test_config_init_on_a_wide_csv_lists_every_column(wide):
    proc = run_nnctl("config", "init", "--data", "wide.csv", cwd=wide)
    assert proc.returncode == 0, proc.stderr
    config = yaml.safe_load(proc.stdout)
    assert config["data"]["target"] == "target" and config["data"]["drop"] == []
    assert f"#   x{N_COLUMNS - 1}: numeric" in proc.stdout
    (wide / "init.yaml").write_text(proc.stdout)
    validate = run_nnctl("config", "validate", "init.yaml", cwd=wide)
    assert validate.returncode == 0, validate.stderr
