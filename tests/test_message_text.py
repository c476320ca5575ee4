"""Error messages show values as text: numbers as written (nan, 3, 0.5), paths as their text;
never a NumPy or Path repr (np.float64(nan), np.int64(3), array([...]), PosixPath('...')),
however the value reached nnctl (the Python API with NumPy numbers, a file's cells)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import nnctl
from conftest import assert_clean_error, run_nnctl
from nnctl.errors import NnctlError, shown
from nnctl.estimators import NNClassifier
from nnctl.util.input_files import stat_regular_file

REPRS = re.compile(r"np\.\w+\(|PosixPath\(|WindowsPath\(|array\(|dtype=")


def message_of(call) -> str:
    with pytest.raises((NnctlError, ValueError)) as caught:
        call()
    return str(caught.value)


def assert_plain(message: str, *fragments: str):
    assert not REPRS.search(message), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_shown_writes_numbers_and_paths_as_text():
    assert shown(np.float64("nan")) == "nan"
    assert shown(np.int64(3)) == "3"
    assert shown(np.float32(0.5)) == "0.5"
    assert shown(Path("runs/a")) == "'runs/a'"
    assert shown(np.array([1, 2])) == "[1, 2]"
    assert shown({"lr": [np.float64(0.1)]}) == "{'lr': [0.1]}"
    assert shown("text") == "'text'" and shown(None) == "None"


def test_api_messages_with_numpy_numbers_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = [
        (lambda: nnctl.compare_optimizers("iris-softmax", ["gd"], seeds=np.int64(0)), "found 0"),
        (lambda: nnctl.sweep("iris-softmax", {"optimizer.lr": np.float64(0.1)}), "found 0.1"),
        (
            lambda: nnctl.train(
                {"data": {"path": Path("nope.csv"), "target": "y"}, "model": {"kind": "logreg"}}
            ),
            "nope.csv: data file not found",  # a Path is its text (refused by type before)
        ),
        (lambda: NNClassifier().fit(np.zeros((5, 2)), np.full(5, 3)), "one class (3)"),
        (
            lambda: NNClassifier(epochs=np.float64(2.5)).fit(np.zeros((4, 2)), np.arange(4) % 2),
            "found 2.5",
        ),
        (lambda: stat_regular_file(Path("a\0b"), "data file"), "'a\\x00b': data file"),
        (
            lambda: nnctl.train("iris-softmax", overrides={"data.val_fraction": np.float64("nan")}),
            "found nan",
        ),
    ]
    for call, fragment in cases:
        assert_plain(message_of(call), fragment)


def test_cli_messages_about_non_finite_cells(tmp_path):
    rows = "".join(f"{i},{'inf' if i == 5 else i * 2},{i % 2}\n" for i in range(30))
    (tmp_path / "inf.csv").write_text("a,b,y\n" + rows)
    (tmp_path / "inf.yaml").write_text(
        "data: {path: inf.csv, target: y}\nmodel: {kind: logreg}\ntrain: {epochs: 2}\n"
    )
    X = np.random.default_rng(0).normal(size=(50, 3))
    X[7, 1] = np.nan
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", (X[:, 0] > 0).astype(float))
    (tmp_path / "npy.yaml").write_text(
        "data: {path: X.npy, labels_path: y.npy}\nmodel: {kind: logreg}\n"
        "optimizer: {name: sgd, lr: 0.1}\ntrain: {epochs: 2, batch_size: 8}\n"
    )
    for config, fragment in (
        ("inf.yaml", "line 7, column 'b': expected a finite number, found inf"),
        ("npy.yaml", "column 'x1': expected a finite number, found nan"),
    ):
        proc = run_nnctl("train", config, "-q", "--out", tmp_path / "run", cwd=tmp_path)
        assert_clean_error(proc, 2, fragment)
        assert_plain(proc.stderr)
