"""The CLI run as a real process on real files: train, eval, predict, config, datasets."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import REPO, assert_clean_error, run_nnctl

TINY = """
seed: 3
data: {name: iris, val_fraction: 0.2}
model: {kind: softmax}
optimizer: {name: adam, lr: 0.05}
train: {epochs: 5, batch_size: 16}
"""


def write(path, text):
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    """One trained run shared by the read-only tests below."""
    folder = tmp_path_factory.mktemp("iris")
    cfg = write(folder / "tiny.yaml", TINY)
    proc = run_nnctl("train", cfg, "--out", folder / "run", "--json", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder, folder / "run", json.loads(proc.stdout)


def test_help_and_version():
    proc = run_nnctl("--help")
    assert proc.returncode == 0 and "train" in proc.stdout and "eval" in proc.stdout
    proc = run_nnctl("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("nnctl ")
    proc = run_nnctl("train", "--help")
    assert proc.returncode == 0 and "--set" in proc.stdout and "--resume" in proc.stdout


def test_run_folder_contract(iris_run):
    folder, run, summary = iris_run
    assert sorted(p.name for p in run.iterdir()) == [
        "checkpoints",
        "config.yaml",
        "metrics.jsonl",
        "split.npz",
        "summary.json",
    ]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.npz", "last.npz"]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5]
    for row in rows:
        for key in ("epoch", "step", "train_loss", "val_loss", "val_accuracy", "lr", "elapsed_s"):
            assert key in row, key
    assert rows[-1]["step"] == 5 * int(np.ceil(120 / 16))
    assert summary == json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs"] == 5
    assert summary["n_train"] == 120 and summary["n_val"] == 30
    with np.load(run / "checkpoints" / "last.npz", allow_pickle=False) as ckpt:
        assert ckpt["linear0.weight"].shape == (4, 3)
        assert ckpt["linear0.bias"].shape == (3,)
        meta = json.loads(str(ckpt["meta"]))
        assert any(name.startswith("optim.") for name in ckpt.files)
    assert meta["epoch"] == 5 and meta["classes"] == ["setosa", "versicolor", "virginica"]
    assert meta["config"]["optimizer"]["lr"] == 0.05
    assert set(meta["rng"]) >= {"init", "split", "shuffle", "dropout"}
    assert meta["scaler"] is not None and meta["format_version"] >= 1 and "nnctl_version" in meta


def test_resolved_config_replays_the_run(iris_run, tmp_path):
    _, run, _ = iris_run
    proc = run_nnctl("train", run / "config.yaml", "--out", tmp_path / "replay", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr

    def numbers(path):
        rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k != "elapsed_s"} for r in rows]

    assert numbers(run) == numbers(tmp_path / "replay")
    with (
        np.load(run / "checkpoints" / "last.npz") as a,
        np.load(tmp_path / "replay" / "checkpoints" / "last.npz") as b,
    ):
        assert np.array_equal(a["linear0.weight"], b["linear0.weight"])


def test_json_puts_only_json_on_stdout(iris_run):
    _, _, summary = iris_run  # parsed with json.loads in the fixture: nothing else was on stdout
    assert summary["final"]["val_accuracy"] >= 0.8


def test_default_out_dir_is_made_unique(tmp_path):
    cfg = write(tmp_path / "tiny.yaml", TINY.replace("epochs: 5", "epochs: 1"))
    for _ in range(2):
        assert run_nnctl("train", cfg, "-q", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["tiny", "tiny-2"]


def test_out_dir_is_not_overwritten_without_force(tmp_path):
    cfg = write(tmp_path / "tiny.yaml", TINY.replace("epochs: 5", "epochs: 1"))
    out = tmp_path / "out"
    assert run_nnctl("train", cfg, "--out", out, "-q", cwd=tmp_path).returncode == 0
    assert_clean_error(run_nnctl("train", cfg, "--out", out, "-q", cwd=tmp_path), 2, "--force")
    assert run_nnctl("train", cfg, "--out", out, "--force", "-q", cwd=tmp_path).returncode == 0


def test_plain_progress_on_stderr_when_not_a_tty(tmp_path):
    cfg = write(tmp_path / "tiny.yaml", TINY)
    proc = run_nnctl("train", cfg, "--out", tmp_path / "r", cwd=tmp_path)
    assert proc.returncode == 0
    assert "epoch 1/5" not in proc.stdout and "final train_loss" in proc.stdout  # result only
    assert "epoch 1/5" in proc.stderr and "val_accuracy" in proc.stderr
    assert "\x1b[" not in proc.stderr  # no colour codes when not a terminal


def test_eval_on_the_runs_split_and_json(iris_run):
    folder, run, summary = iris_run
    proc = run_nnctl("eval", run, "--json", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["n"] == 30 and 0 <= result["accuracy"] <= 1
    assert np.array(result["confusion_matrix"]).sum() == 30
    assert result["log_loss"] == pytest.approx(result["loss"], rel=1e-4, abs=1e-6)
    proc = run_nnctl("eval", run, "--split", "train", cwd=folder)
    assert proc.returncode == 0 and "accuracy" in proc.stdout  # the result: stdout


def iris_csv(path, rows=None, drop_column=None):
    """The bundled iris CSV, optionally cut to some rows / without a column."""
    from nnctl.data import bundled_path

    text = bundled_path("iris.csv").read_text()
    lines = text.splitlines()
    if rows is not None:
        lines = lines[: rows + 1]
    if drop_column is not None:
        header = lines[0].split(",")
        idx = header.index(drop_column)
        lines = [",".join(c for i, c in enumerate(line.split(",")) if i != idx) for line in lines]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_eval_on_a_file_with_original_labels(iris_run, tmp_path):
    _, run, _ = iris_run
    data = iris_csv(tmp_path / "iris.csv")
    proc = run_nnctl("eval", run, "--data", data, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n"] == 150


def test_eval_wrong_feature_count(iris_run, tmp_path):
    _, run, _ = iris_run
    header = iris_csv(tmp_path / "x.csv").read_text().splitlines()[0].split(",")
    data = iris_csv(tmp_path / "iris3.csv", drop_column=header[0])
    # Columns are bound by name: the message names the one that is missing.
    assert_clean_error(
        run_nnctl("eval", run, "--data", data, cwd=tmp_path),
        2,
        "iris3.csv",
        f"no column {header[0]!r}",
        "matched by header name",
    )


def test_predict_csv_with_labels_and_proba(iris_run, tmp_path):
    _, run, _ = iris_run
    data = iris_csv(tmp_path / "few.csv", rows=5, drop_column="target")
    proc = run_nnctl("predict", run, data, "--proba", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = list(csv.reader(io.StringIO(proc.stdout)))
    assert table[0] == ["prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]
    assert len(table) == 6
    for row in table[1:]:
        assert row[0] in ("setosa", "versicolor", "virginica")
        assert sum(float(p) for p in row[1:]) == pytest.approx(1.0, abs=1e-4)


def test_predict_in_a_pipe_closed_early(iris_run, tmp_path):
    _, run, _ = iris_run
    data = iris_csv(tmp_path / "all.csv")
    cmd = f'"{sys.executable}" -m nnctl predict "{run}" "{data}" | head -3'
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=tmp_path)
    assert proc.stdout.count("\n") == 3
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr, proc.stderr


def test_config_show_validate_schema(tmp_path):
    cfg = write(tmp_path / "tiny.yaml", TINY)
    proc = run_nnctl("config", "show", cfg, "-s", "optimizer.lr=0.2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    shown = yaml.safe_load(proc.stdout)
    assert shown["optimizer"]["lr"] == 0.2 and shown["optimizer"]["betas"] == [0.9, 0.999]
    proc = run_nnctl("config", "validate", cfg, cwd=tmp_path)
    assert proc.returncode == 0 and "valid" in proc.stdout and "120 train" in proc.stdout
    proc = run_nnctl("config", "schema", cwd=tmp_path)
    assert proc.returncode == 0 and json.loads(proc.stdout)["title"] == "nnctl training config"


def test_datasets_listing():
    proc = run_nnctl("datasets", "--json")
    assert proc.returncode == 0, proc.stderr
    names = {d["name"]: d for d in json.loads(proc.stdout)}
    assert {
        "iris",
        "wine",
        "breast_cancer",
        "diabetes",
        "digits",
        "moons",
        "circles",
        "spirals",
        "blobs",
        "xor",
        "linear",
    } <= set(names)
    assert names["iris"]["n_samples"] == 150 and names["digits"]["n_features"] == 64
    proc = run_nnctl("datasets")
    assert proc.returncode == 0 and "breast_cancer" in proc.stdout


def test_gradcheck_command(tmp_path):
    cfg = write(
        tmp_path / "mlp.yaml",
        "data: {name: moons}\nmodel: {kind: mlp, hidden: [5], activation: tanh}\n"
        "loss: {l2: 0.01}\n",
    )
    proc = run_nnctl("gradcheck", cfg, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["passed"] and set(result["blocks"]) >= {"linear0.weight", "linear1.bias"}


BAD_CONFIGS = [
    ("optimizer: {name: adma}\n", "optimizer.name"),
    ("optimizer: {name: sgd, lr: -0.1}\n", "optimizer.lr"),
    ("optimizer: {name: sgd, momentum: 1.5}\n", "optimizer.momentum"),
    ("optimizer: {name: adam, betas: [0.9, 1.2]}\n", "optimizer.betas"),
    ("train: {epochs: -3}\n", "train.epochs"),
    ("train: {batch_size: 0}\n", "train.batch_size"),
    ("train: {batch_sise: 8}\n", "train.batch_sise"),
    ("model: {kind: logreg}\n", "model.kind"),  # iris has 3 classes
    ("model: {kind: linreg}\n", "model.kind"),
    ("model: {kind: softmax}\noptimizer: {name: exact}\n", "optimizer.name"),
    ("model: {activation: sigmod}\n", "model.activation"),
    ("init: {scheme: gaussian}\n", "init.scheme"),
    ("loss: {name: mse}\nmodel: {kind: softmax}\n", "loss.name"),
    ("schedule: {name: cosine, T_max: 0}\n", "schedule.T_max"),
]


@pytest.mark.parametrize("extra, key", BAD_CONFIGS)
def test_bad_config_exit_2_names_the_key(tmp_path, extra, key):
    cfg = write(tmp_path / "bad.yaml", "data: {name: iris}\n" + extra)
    proc = run_nnctl("train", cfg, "-q", cwd=tmp_path)
    assert_clean_error(proc, 2, key)
    assert not (tmp_path / "runs" / "bad" / "metrics.jsonl").exists()


def test_bad_data_name_and_missing_file(tmp_path):
    cfg = write(tmp_path / "bad.yaml", "data: {name: irs}\n")
    assert_clean_error(run_nnctl("train", cfg, cwd=tmp_path), 2, "data.name", "iris")
    assert_clean_error(
        run_nnctl("train", tmp_path / "missing.yaml", cwd=tmp_path), 2, "missing.yaml", "not found"
    )
    cfg = write(tmp_path / "file.yaml", "data: {path: nowhere.csv}\n")
    assert_clean_error(run_nnctl("train", cfg, cwd=tmp_path), 2, "nowhere.csv")


def test_python_dash_m_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "nnctl", "--version"], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 0 and "nnctl" in proc.stdout


def test_init_from_warm_starts_from_a_run_and_from_plain_arrays(iris_run, tmp_path):
    _, run, _ = iris_run
    with np.load(run / "checkpoints" / "best.npz", allow_pickle=False) as ckpt:
        weight, bias = ckpt["linear0.weight"], ckpt["linear0.bias"]
    # A plain .npz from elsewhere, holding only the arrays under their checkpoint names.
    np.savez(tmp_path / "foreign.npz", **{"linear0.weight": weight, "linear0.bias": bias})
    for source in (run / "checkpoints" / "best.npz", tmp_path / "foreign.npz"):
        cfg = write(
            tmp_path / "warm.yaml",
            TINY.replace("epochs: 5", "epochs: 0").replace(
                "model: {kind: softmax}", f"model: {{kind: softmax, init_from: '{source}'}}"
            ),
        )
        out = tmp_path / f"warm-{source.stem}"
        proc = run_nnctl("train", cfg, "--out", out, "-q", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        with np.load(out / "checkpoints" / "last.npz", allow_pickle=False) as warm:
            assert np.array_equal(warm["linear0.weight"], weight)
            assert np.array_equal(warm["linear0.bias"], bias)


def test_train_on_a_csv_file_with_string_labels_then_predict_them(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    labels = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "spam", "ham")
    lines = ["a,b,c,kind"] + [
        f"{r[0]:.5f},{r[1]:.5f},{r[2]:.5f},{lab}" for r, lab in zip(X, labels)
    ]
    (tmp_path / "mail.csv").write_text("\n".join(lines) + "\n")
    cfg = write(
        tmp_path / "mail.yaml",
        "data: {path: mail.csv, target: kind}\nmodel: {kind: logreg}\n"
        "optimizer: lbfgs\ntrain: {epochs: 30}\n",
    )
    proc = run_nnctl("train", cfg, "--out", tmp_path / "run", "-q", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["task"] == "binary" and summary["classes"] == ["ham", "spam"]
    assert summary["final"]["val_accuracy"] >= 0.95
    proc = run_nnctl("predict", tmp_path / "run", tmp_path / "mail.csv", cwd=tmp_path)
    predicted = [row[0] for row in csv.reader(io.StringIO(proc.stdout))][1:]
    assert np.mean(np.array(predicted) == labels) >= 0.95


def test_train_on_mnist_style_idx_files(tmp_path):
    """IDX is MNIST's own format: a user with the MNIST files trains on them directly."""
    import gzip
    import struct

    rng = np.random.default_rng(1)
    n, rows, cols = 120, 4, 4
    labels = rng.integers(0, 3, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, rows, cols)).astype(np.uint8)
    images[np.arange(n), labels, 0] = 255  # the class is visible in one pixel
    with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">HBBIII", 0, 0x08, 3, n, rows, cols) + images.tobytes())
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(
        struct.pack(">HBBI", 0, 0x08, 1, n) + labels.tobytes()
    )
    cfg = write(
        tmp_path / "idx.yaml",
        "data: {path: train-images-idx3-ubyte.gz, "
        "labels_path: train-labels-idx1-ubyte}\nmodel: {kind: softmax}\n"
        "optimizer: {name: adam, lr: 0.05}\ntrain: {epochs: 20}\n",
    )
    proc = run_nnctl("train", cfg, "--out", tmp_path / "run", "-q", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["task"] == "multiclass" and summary["n_train"] + summary["n_val"] == n
    assert summary["final"]["val_accuracy"] >= 0.9
