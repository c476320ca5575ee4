"""Which stream each output lands on: results (tables, lists, reports, --json) on stdout;
progress, notes, warnings and errors on stderr. --json output is exactly one JSON document."""

from __future__ import annotations

import json

import pytest

from conftest import CONFIGS, run_nnctl

TINY = (
    "seed: 3\ndata: {name: iris, val_fraction: 0.2}\nmodel: {kind: softmax}\n"
    "optimizer: {name: adam, lr: 0.05}\ntrain: {epochs: 3, batch_size: 16}\n"
)


def one_json_document(text: str):
    """The whole of `text` parses as one JSON value (json.loads refuses trailing data)."""
    return json.loads(text)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("streams")
    (folder / "tiny.yaml").write_text(TINY)
    proc = run_nnctl("train", "tiny.yaml", "--out", "run", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder, proc


def test_train_result_on_stdout_progress_on_stderr(run):
    folder, proc = run
    assert "final val_accuracy" in proc.stdout and "epoch 1/3" not in proc.stdout
    assert "epoch 1/3" in proc.stderr and "final val_accuracy" not in proc.stderr
    proc = run_nnctl("train", "tiny.yaml", "--out", "run-json", "--json", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert one_json_document(proc.stdout)["status"] == "completed"
    assert "epoch 1/3" in proc.stderr


def test_eval_datasets_gradcheck_write_their_result_to_stdout(run, tmp_path):
    folder, _ = run
    proc = run_nnctl("eval", "run", cwd=folder)
    assert proc.returncode == 0 and "accuracy" in proc.stdout and proc.stderr == ""
    proc = run_nnctl("eval", "run", "--json", cwd=folder)
    assert one_json_document(proc.stdout)["n"] == 30 and proc.stderr == ""
    proc = run_nnctl("datasets", cwd=folder)
    assert proc.returncode == 0 and proc.stderr == ""
    assert [line for line in proc.stdout.splitlines() if line.startswith("iris ")]  # greppable
    assert {d["name"] for d in one_json_document(run_nnctl("datasets", "--json").stdout)} >= {
        "iris"
    }
    (tmp_path / "mlp.yaml").write_text("data: {name: moons}\nmodel: {kind: mlp, hidden: [4]}\n")
    proc = run_nnctl("gradcheck", "mlp.yaml", cwd=tmp_path)
    assert proc.returncode == 0 and "linear0.weight" in proc.stdout and proc.stderr == ""
    proc = run_nnctl("gradcheck", "mlp.yaml", "--json", cwd=tmp_path)
    assert one_json_document(proc.stdout)["passed"] is True


def test_comparison_table_on_stdout_and_json_swaps_it(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    proc = run_nnctl(
        "compare-optimizers",
        "tiny.yaml",
        "-o",
        "sgd",
        "-o",
        "adam",
        "--no-plot",
        "--out",
        "cmp",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "train loss (log)" in proc.stdout and "[1/2]" in proc.stderr
    assert "[1/2]" not in proc.stdout
    proc = run_nnctl(
        "compare-optimizers",
        "tiny.yaml",
        "-o",
        "sgd",
        "-o",
        "adam",
        "--no-plot",
        "--out",
        "cmp-json",
        "--json",
        cwd=tmp_path,
    )
    data = one_json_document(proc.stdout)
    assert [e["label"] for e in data["summary"]] == ["sgd", "adam"]
    assert "train loss (log)" not in proc.stdout + proc.stderr


def test_a_diverged_run_with_json_prints_its_summary_and_exits_1(tmp_path):
    proc = run_nnctl(
        "train",
        CONFIGS / "diabetes-linreg.yaml",
        "-s",
        "optimizer.name=sgd",
        "-s",
        "optimizer.lr=1e6",
        "-s",
        "train.epochs=3",
        "--out",
        "d",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    summary = one_json_document(proc.stdout)
    assert summary["status"] == "diverged" and summary == json.loads(
        (tmp_path / "d" / "summary.json").read_text()
    )
    assert proc.stderr.count("error: training diverged") == 1
    assert summary["message"] in proc.stderr
