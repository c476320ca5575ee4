"""Every example config runs; the headline examples reach their quality bars.

Bars (seeded 80/20 stratified split, standardised), from the train/eval issue; scikit-learn's
defaults on the same kind of split score 0.967, 0.982, 0.967, 0.972, 0.963 and R2 0.332.
"""

from __future__ import annotations

import json

import pytest

from conftest import CONFIGS, run_nnctl

EXAMPLES = sorted(CONFIGS.glob("*.yaml"))


def test_there_is_an_example_per_model_kind_and_optimizer_family():
    import yaml

    kinds, optimizers = set(), set()
    for path in EXAMPLES:
        cfg = yaml.safe_load(path.read_text())
        kinds.add(cfg["model"]["kind"])
        opt = cfg.get("optimizer", "adam")
        optimizers.add(opt if isinstance(opt, str) else opt["name"])
    assert kinds == {"linreg", "logreg", "softmax", "mlp"}
    assert {"sgd", "momentum", "adam", "lbfgs", "newton", "exact"} <= optimizers


@pytest.mark.parametrize("config", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_with_a_short_budget(config, tmp_path):
    proc = run_nnctl(
        "train",
        config,
        "-s",
        "train.epochs=2",
        "--out",
        tmp_path / "run",
        "-q",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] in ("completed", "converged", "early_stopped")
    assert 1 <= summary["epochs"] <= 2


QUALITY = [
    ("iris-softmax.yaml", "val_accuracy", 0.95),
    ("breast-cancer-logreg.yaml", "val_accuracy", 0.97),
    ("digits-softmax.yaml", "val_accuracy", 0.95),
    ("digits-mlp.yaml", "val_accuracy", 0.97),
    ("moons-mlp.yaml", "val_accuracy", 0.95),
    ("diabetes-linreg.yaml", "val_r2", 0.30),
]


@pytest.mark.parametrize("name, metric, bar", QUALITY, ids=[q[0] for q in QUALITY])
def test_example_reaches_its_quality_bar(name, metric, bar, tmp_path):
    proc = run_nnctl(
        "train", CONFIGS / name, "--out", tmp_path / "run", "-q", "--json", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["final"][metric] >= bar, summary["final"]
