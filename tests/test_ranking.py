"""Ranking and Dolan-More performance profile across problems, checked by hand on small tables,
and the multi-config command end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnctl.compare.problems import costs_of, profile_target, rank_problems
from nnctl.compare.profile import performance_profile
from nnctl.compare.ranking import mean_ranks, problem_ranks
from tests.conftest import CONFIGS


def test_ranks_share_ties_and_put_the_unscored_last():
    assert problem_ranks({"a": 0.3, "b": 0.1, "c": 0.3, "d": None}) == {
        "a": 2.5,
        "b": 1,
        "c": 2.5,
        "d": 4,
    }
    assert problem_ranks({"a": 0.9, "b": 0.8, "c": None, "d": None}, higher=True) == {
        "a": 1,
        "b": 2,
        "c": 3.5,
        "d": 3.5,
    }
    ranks = {"p": {"a": 1, "b": 2}, "q": {"a": 3, "b": 1}}
    assert mean_ranks(ranks, ["a", "b"]) == {"a": 2.0, "b": 1.5}


def test_performance_profile_by_hand():
    # Costs (sample-gradients to the target) on three problems; None: never reached.
    costs = {
        "p1": {"sgd": 400, "adam": 100, "cg": 200},
        "p2": {"sgd": 300, "adam": 600, "cg": None},
        "p3": {"sgd": 50, "adam": 50, "cg": 400},
    }
    profile = performance_profile(costs)
    assert profile["ratios"] == {
        "p1": {"sgd": 4.0, "adam": 1.0, "cg": 2.0},
        "p2": {"sgd": 1.0, "adam": 2.0, "cg": None},
        "p3": {"sgd": 1.0, "adam": 1.0, "cg": 8.0},
    }
    assert profile["taus"] == [1.0, 2.0, 4.0, 8.0]
    third = 1 / 3
    assert profile["fraction"]["sgd"] == pytest.approx([2 * third, 2 * third, 1, 1])
    assert profile["fraction"]["adam"] == pytest.approx([2 * third, 1, 1, 1])
    assert profile["fraction"]["cg"] == pytest.approx([0, third, third, 2 * third])


def comparison(config, runs):
    return {"config": config, "runs": runs}


def run(label, seed, val, status="completed"):
    return {
        "label": label,
        "seed": seed,
        "status": status,
        "best_val_loss": val,
        "final_train_loss": None,
        "metric": None,
        "best_val_metric": None,
    }


def test_rank_problems_from_comparisons_by_hand():
    one = comparison(
        "a.yaml",
        [run("sgd", 0, 0.4), run("sgd", 1, 0.2), run("adam", 0, 0.1), run("adam", 1, 0.3)],
    )
    two = comparison(
        "b.yaml",
        [
            run("sgd", 0, 0.5),
            run("sgd", 1, 0.7),
            run("adam", 0, None, "diverged"),
            run("adam", 1, 0.1),
        ],
    )
    costs = [{"sgd": 900.0, "adam": 300.0}, {"sgd": 100.0, "adam": None}]
    data = rank_problems(["a", "b"], [one, two], ["val_loss", "val_loss"], costs, [0.5, 0.7])
    # a: sgd 0.3, adam 0.2 -> adam 1, sgd 2. b: sgd 0.6, adam 0.1 (its diverged seed has no
    # score; the mean is over the seeds that have one) -> adam 1, sgd 2.
    assert data["scores"]["a"] == pytest.approx({"sgd": 0.3, "adam": 0.2})
    assert data["scores"]["b"] == pytest.approx({"sgd": 0.6, "adam": 0.1})
    assert data["mean_rank"] == {"sgd": 2.0, "adam": 1.0}
    assert data["order"] == ["adam", "sgd"]
    assert [p["profile_target"] for p in data["problems"]] == [0.5, 0.7]
    assert data["profile"]["ratios"] == {
        "a": {"sgd": 3.0, "adam": 1.0},
        "b": {"sgd": 1.0, "adam": None},
    }
    assert data["profile"]["fraction"] == {"sgd": [0.5, 1.0], "adam": [0.5, 0.5]}


def test_profile_target_and_costs_from_curves_by_hand():
    def rows(*points):
        return [{"train_loss": loss, "sample_grads": grads} for grads, loss in points]

    curves = {
        "sgd": [rows((100, 2.0), (200, 1.2), (300, 0.5)), rows((100, 1.5), (200, 0.9))],
        "adam": [rows((100, 0.4), (200, 0.1)), rows((100, 0.8), (200, 0.95))],
        "gd": [rows((100, float("nan")))],
    }
    # f_L = 0.1 (adam), f_0 = 2.1: target = 0.1 + 0.5 * (2.1 - 0.1) = 1.1
    target = profile_target(curves, f0=2.1, tolerance=0.5)
    assert target == pytest.approx(1.1)
    # sgd: its runs pass 1.1 at 300 and 200 -> 250; adam: at 100 and 100; gd never.
    assert costs_of(curves, target) == {"sgd": 250.0, "adam": 100.0, "gd": None}
    assert costs_of(curves, 0.2) == {"sgd": None, "adam": None, "gd": None}  # one adam run short


def test_several_configs_make_a_ranking_and_a_profile(nnctl, tmp_path):
    pytest.importorskip("matplotlib")
    from nnctl.report.tuning_plots import profile_figure

    small = ["-s", "train.epochs=3", "-s", "train.early_stopping=null"]
    proc = nnctl(
        "compare-optimizers",
        CONFIGS / "iris-softmax.yaml",
        CONFIGS / "moons-mlp.yaml",
        "-o",
        "sgd",
        "-o",
        "adam",
        "--tune",
        "lr",
        "--budget",
        "2",
        *small,
        "--out",
        "multi",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    out = tmp_path / "multi"
    assert [p["name"] for p in data["problems"]] == ["iris-softmax", "moons-mlp"]
    for name in ("iris-softmax", "moons-mlp"):
        problem = json.loads((out / name / "comparison.json").read_text())
        assert problem["tuning"]["budget"] == 2
        assert (out / name / "sensitivity.png").is_file()
    assert json.loads((out / "ranking.json").read_text()) == data
    assert sorted(data["mean_rank"]) == ["adam", "sgd"]
    assert (
        (out / "ranking.csv")
        .read_text()
        .splitlines()[0]
        .startswith("optimizer,mean_rank,solved_fraction,rank_iris-softmax,rank_moons-mlp")
    )
    image = out / "profile.png"
    assert image.is_file() and image.stat().st_size > 10_000
    ax = profile_figure(data).axes[0]
    assert ax.get_ylabel() == "fraction of problems"
    assert ax.get_xlabel().startswith("tau")
    # --json swaps the human tables for the one JSON document (parsed whole above)
    assert "ranking over" not in proc.stdout + proc.stderr


def test_initial_training_loss_of_a_zero_softmax_is_log_k():
    from nnctl.compare.problems import initial_train_loss
    from nnctl.config import load_config

    cfg = load_config(CONFIGS / "iris-softmax.yaml", ["init.scheme=zeros"])
    # All logits 0: every class gets 1/3, and the cross-entropy is log 3 on every row.
    assert initial_train_loss(cfg, str(CONFIGS)) == pytest.approx(np.log(3), rel=1e-12)
