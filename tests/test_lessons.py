"""The lecture's lessons (configs/lesson-*.yaml) say what the README says they show."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import CONFIGS


def train(nnctl, tmp_path, name, out, *overrides):
    proc = nnctl("train", CONFIGS / f"lesson-{name}.yaml", *overrides, "--out", out, "-q", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), tmp_path / out


def first_layer(run_dir):
    with np.load(run_dir / "checkpoints" / "last.npz", allow_pickle=False) as npz:
        return npz["linear0.weight"]


def test_zeros_init_keeps_hidden_units_identical(nnctl, tmp_path):
    summary, run = train(nnctl, tmp_path, "zeros-init", "zeros", "-s", "train.epochs=3")
    W = first_layer(run)
    assert np.abs(W).max() > 0  # the units moved...
    # ...all the same way. Up to rounding: an optimised BLAS kernel (e.g. OpenBLAS's Haswell
    # sgemm) computes the last columns of a block by another instruction path, so identical
    # columns can differ in their last bits; a real symmetry break is of the order of the weights.
    spread = np.abs(W - W[:, :1]).max()
    assert spread <= 1e-3 * np.abs(W).max(), spread
    _, random_run = train(
        nnctl, tmp_path, "zeros-init", "he", "-s", "train.epochs=3", "-s", "init.scheme=he_normal"
    )
    assert np.linalg.matrix_rank(first_layer(random_run)) > 1


def test_identity_mlp_ends_at_the_least_squares_loss(nnctl, tmp_path):
    mlp, _ = train(nnctl, tmp_path, "identity-mlp", "mlp")
    exact, _ = train(
        nnctl,
        tmp_path,
        "identity-mlp",
        "exact",
        "-s",
        "model.kind=linreg",
        "-s",
        "optimizer.name=exact",
    )
    assert mlp["final"]["train_loss"] == pytest.approx(exact["final"]["train_loss"], rel=1e-6)


def test_big_mlp_overfits_and_l2_helps(nnctl, tmp_path):
    def curve(run):
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return np.array([r["val_loss"] for r in rows]), np.array([r["train_loss"] for r in rows])

    plain, run = train(nnctl, tmp_path, "overfit", "plain", "-s", "train.epochs=150")
    val, trn = curve(run)
    assert np.argmin(val) < 30 and val[-1] > 1.3 * val.min()  # turns up early, ends higher
    assert trn[-1] < 0.5 * trn[np.argmin(val)]  # while the training loss keeps falling
    l2, _ = train(nnctl, tmp_path, "overfit", "l2", "-s", "train.epochs=150", "-s", "loss.l2=0.01")
    assert l2["final"]["val_loss"] < plain["final"]["val_loss"]


def test_exact_and_iterative_linear_regression_agree(nnctl, tmp_path):
    proc = nnctl(
        "compare-optimizers",
        CONFIGS / "lesson-exact-vs-iterative.yaml",
        "--out",
        "cmp",
        "-q",
        "--json",
        "--no-plot",
    )
    assert proc.returncode == 0, proc.stderr
    loss = {e["label"]: e["final_train_loss_mean"] for e in json.loads(proc.stdout)["summary"]}
    for label in ("gd:lr=0.5", "cg", "lbfgs", "newton"):
        assert loss[label] == pytest.approx(loss["exact"], rel=1e-6), label
    assert loss["sgd:lr=0.05"] == pytest.approx(loss["exact"], rel=0.02)


def test_newton_solves_the_ill_conditioned_problem_gd_crawls(nnctl, tmp_path):
    proc = nnctl(
        "compare-optimizers",
        CONFIGS / "lesson-newton-vs-gd.yaml",
        "--out",
        "cmp",
        "-q",
        "--json",
        "--no-plot",
    )
    assert proc.returncode == 0, proc.stderr
    summary = {e["label"]: e for e in json.loads(proc.stdout)["summary"]}
    exact = summary["exact"]["final_train_loss_mean"]
    assert summary["newton"]["final_train_loss_mean"] == pytest.approx(exact, rel=1e-8)
    assert summary["newton"]["epochs_mean"] == 1
    assert summary["gd:lr=1e-5"]["final_train_loss_mean"] > 1.5 * exact
    assert summary["gd:lr=1e-5"]["epochs_mean"] == 100
