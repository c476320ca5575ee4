"""Habits users bring from other tools: packaged examples by name, KEY=VALUE overrides after the
config, --out templates, run folders that only exist for runs, files that follow the umask,
switching optimizer with -s, and settings a model kind does not take."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from conftest import REPO, assert_clean_error, run_nnctl
from nnctl.report.compare_table import COMPARISON_DROP_ORDER, columns_that_fit

FAST = ["train.epochs=1"]


def test_examples_listed_copied_and_trained_by_name(tmp_path):
    proc = run_nnctl("examples", cwd=tmp_path)
    names = [line.split()[0] for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and "iris-softmax" in names and "digits-mlp" in names
    assert names == sorted(p.stem for p in (REPO / "nnctl" / "examples").glob("*.yaml"))
    proc = run_nnctl("examples", "copy", "ex", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.stem for p in (tmp_path / "ex").iterdir()) == names
    assert_clean_error(run_nnctl("examples", "copy", "ex", cwd=tmp_path), 2, "exists")
    for given in ("iris-softmax", "examples/iris-softmax", "iris-softmax.yaml"):
        proc = run_nnctl(
            "train", given, *FAST, "-q", "--json", "--out", given.replace("/", "_"), cwd=tmp_path
        )
        assert proc.returncode == 0, (given, proc.stderr)
        assert json.loads(proc.stdout)["model"] == "softmax"
    # a local file wins over the packaged example of the same name
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "iris-softmax.yaml").write_text(
        "data: {name: iris}\nmodel: {kind: logreg}\n"
    )
    proc = run_nnctl("config", "show", "examples/iris-softmax.yaml", cwd=tmp_path)
    assert "kind: logreg" in proc.stdout
    assert_clean_error(run_nnctl("train", "examples/iris-softmax.yaml", cwd=tmp_path), 2, "logreg")


def test_key_value_after_the_config_is_an_override(tmp_path):
    proc = run_nnctl(
        "config", "show", "iris-softmax", "optimizer.lr=0.3", "-s", "train.epochs=2", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "lr: 0.3" in proc.stdout and "epochs: 2" in proc.stdout
    assert_clean_error(
        run_nnctl("train", "iris-softmax", "other.yaml", cwd=tmp_path),
        2,
        "'other.yaml': expected KEY=VALUE",
    )
    assert not (tmp_path / "runs").exists()


def test_out_template_is_filled_from_the_resolved_config(tmp_path):
    proc = run_nnctl(
        "train",
        "iris-softmax",
        "optimizer.name=adam",
        *FAST,
        "-q",
        "--out",
        "runs/{model.kind}-{optimizer.name}-lr{optimizer.lr}-b{train.batch_size}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    # the config's lr 0.1 is kept (adam takes an lr); batch_size 16 comes from the example
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["softmax-adam-lr0.1-b16"]
    assert_clean_error(
        run_nnctl("train", "iris-softmax", "--out", "runs/{model.depth}", cwd=tmp_path),
        2,
        "{model.depth} is not a config key",
    )


def test_a_run_refused_before_training_leaves_no_folder(tmp_path):
    (tmp_path / "nan.yaml").write_text("data: {path: missing.csv}\nmodel: {kind: linreg}\n")
    for _ in range(2):
        assert_clean_error(run_nnctl("train", "nan.yaml", cwd=tmp_path), 2, "missing.csv")
    assert list((tmp_path / "runs").iterdir()) == []  # no nan/, no nan-2/
    # an --out folder that was already there stays (it may hold the user's files)
    (tmp_path / "mine").mkdir()
    assert_clean_error(run_nnctl("train", "nan.yaml", "--out", "mine", cwd=tmp_path), 2)
    assert (tmp_path / "mine").is_dir()


def test_run_files_follow_the_umask(tmp_path):
    code = (
        "import os, sys; os.umask(0o027); from nnctl.cli.app import app; "
        "sys.argv = ['nnctl', 'train', 'iris-softmax', 'train.epochs=1', '-q', '--out', 'r']; "
        "app(prog_name='nnctl')"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    files = [p for p in (tmp_path / "r").rglob("*") if p.is_file()]
    assert len(files) == 6  # config.yaml, metrics.jsonl, summary.json, split.npz, 2 checkpoints
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path


def test_switching_optimizer_names_the_dropped_settings_on_one_line(tmp_path):
    (tmp_path / "m.yaml").write_text(
        "data: {name: iris}\nmodel: {kind: softmax}\n"
        "optimizer: {name: sgd, lr: 0.1, momentum: 0.9, "
        "nesterov: true}\n"
    )
    proc = run_nnctl("config", "show", "m.yaml", "-s", "optimizer.name=adam", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "dropped" in line]
    assert lines == [
        "warning: -s optimizer.name=adam: dropped the settings adam does not take: "
        "momentum=0.9, nesterov=true"
    ]
    proc = run_nnctl("config", "show", "m.yaml", "-s", "optimizer.name=momentum", cwd=tmp_path)
    assert "dropped" not in proc.stderr


@pytest.mark.parametrize(
    "setting", ["model.hidden=[8]", "model.activation=tanh", "model.dropout=0.2"]
)
def test_softmax_refuses_mlp_only_settings_alike(tmp_path, setting):
    assert_clean_error(
        run_nnctl("config", "validate", "iris-softmax", setting, cwd=tmp_path),
        2,
        f"-s {setting}: applies to model.kind mlp only, found softmax",  # the override's fault
    )


def test_narrow_tables_drop_whole_low_priority_columns():
    columns = [
        "optimizer",
        "status",
        "train loss",
        "val loss",
        "val_accuracy",
        "best",
        "epochs",
        "target reached",
        "grads to target",
        "seconds to target",
        "time (s)",
        "train loss (log)",
    ]
    rows = [
        [
            "sgd:lr=0.1",
            "completed",
            "0.1234",
            "0.2345",
            "0.9333",
            "0.9667 (epoch 12)",
            "30",
            "epoch 12",
            "3600",
            "0.512",
            "1.234",
            "▇▆▅▄▃▂▁▁▁▁",
        ]
    ]
    assert columns_that_fit(columns, rows, 300, COMPARISON_DROP_ORDER) == list(range(12))
    narrow = [columns[i] for i in columns_that_fit(columns, rows, 40, COMPARISON_DROP_ORDER)]
    assert narrow == ["optimizer", "val_accuracy"]  # what the comparison is about
    keep = columns_that_fit(columns, rows, 100, COMPARISON_DROP_ORDER)
    widths = sum(max(len(columns[i]), len(rows[0][i])) + 3 for i in keep) + 1
    assert widths <= 100 and "grads to target" not in [columns[i] for i in keep]
    assert [columns[i] for i in keep][:2] == ["optimizer", "status"]
