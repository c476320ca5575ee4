"""compare-optimizers --tune: the chosen step size against the closed form, equal budgets,
the same numbers with --jobs, option checks, tuning.csv and the sensitivity plot."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.conftest import CONFIGS, assert_clean_error, without_wall_time

N = 64


def quadratic_problem(folder, scale2: float = 2.0):
    """Linear regression whose MSE Hessian is known exactly: two zero-mean, mutually orthogonal
    feature columns (+-1 and +-scale2) and the bias. H = (2/n) A^T A with A = [x1 x2 1]."""
    i = np.arange(N)
    x1 = np.where(i % 2 == 0, 1.0, -1.0)
    x2 = scale2 * np.where((i // 2) % 2 == 0, 1.0, -1.0)
    y = 2.0 * x1 - 0.5 * x2 + 1.0
    lines = ["x1,x2,y"] + [f"{a:g},{b:g},{c:g}" for a, b, c in zip(x1, x2, y)]
    (folder / "quad.csv").write_text("\n".join(lines) + "\n")
    # Full batch (batch_size >= n, no shuffle needed): SGD is gradient descent on the quadratic.
    (folder / "quad.yaml").write_text(
        "seed: 0\n"
        "data: {path: quad.csv, target: y, task: regression, val_fraction: 0, "
        "standardize: false}\n"
        "model: {kind: linreg}\ninit: zeros\n"
        "optimizer: {name: sgd}\n"
        f"train: {{epochs: 25, batch_size: {N}, shuffle: false, dtype: float64}}\n"
    )
    A = np.column_stack([x1, x2, np.ones(N)])
    return np.linalg.eigvalsh(2.0 / N * A.T @ A)


def test_tuned_sgd_step_lands_in_the_closed_form_cell(nnctl, tmp_path):
    eig = quadratic_problem(tmp_path)
    lam_min, lam_max = eig.min(), eig.max()
    assert (lam_min, lam_max) == pytest.approx((2.0, 8.0))
    best_step = 2.0 / (lam_min + lam_max)  # minimises the contraction max_i |1 - eta lambda_i|
    proc = nnctl(
        "compare-optimizers",
        "quad.yaml",
        "-o",
        "sgd",
        "--tune",
        "lr=1e-3:1",
        "--budget",
        "7",
        "--json",
        "-q",
        "--no-plot",
        "--out",
        "cmp",
    )
    assert proc.returncode == 0, proc.stderr
    tuning = json.loads(proc.stdout)["tuning"]
    assert tuning["select"] == "train_loss"  # no validation split
    grid = [float(f"{v:.3g}") for v in np.geomspace(1e-3, 1, 7)]
    assert [p["lr"] for p in tuning["values"]] == grid
    [sgd] = tuning["optimizers"]
    chosen = sgd["chosen"]["lr"]
    # The closed form's cell: best_step = 0.2 lies between the grid points 0.1 and 0.316;
    # 0.316 makes |1 - eta * 8| > 1 (divergent), so the best the grid has is 0.1 - the grid
    # point whose contraction factor is smallest.
    contraction = [max(abs(1 - g * lam_min), abs(1 - g * lam_max)) for g in grid]
    assert chosen == grid[int(np.argmin(contraction))] == 0.1
    below = max(g for g in grid if g <= best_step)
    above = min(g for g in grid if g > best_step)
    assert (below, above) == (0.1, 0.316) and chosen == below
    assert sgd["edge"] == {}
    # The selection values follow the rates: a smaller contraction, a lower final loss.
    stable = [(c, t["selection_value"]) for c, t in zip(contraction, sgd["curve"]) if c < 1]
    assert [v for _, v in sorted(stable)] == sorted(v for _, v in stable)


def test_a_range_that_misses_the_best_value_is_flagged(nnctl, tmp_path):
    quadratic_problem(tmp_path)
    proc = nnctl(
        "compare-optimizers",
        "quad.yaml",
        "-o",
        "sgd",
        "--tune",
        "lr=1e-4:1e-2",
        "--budget",
        "3",
        "--no-plot",
        "--out",
        "cmp",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    [sgd] = data["tuning"]["optimizers"]
    assert sgd["chosen"] == {"lr": 0.01} and sgd["edge"] == {"lr": "high"}
    assert "sgd: the chosen lr at the high end of the range tried" in proc.stderr


DIGITS = ["-s", "train.epochs=3", "-s", "train.early_stopping=null", "-s", "data.name=digits"]


def tuned_digits(nnctl, out: str, *extra):
    return nnctl(
        "compare-optimizers",
        CONFIGS / "digits-mlp.yaml",
        "-o",
        "sgd",
        "-o",
        "adam",
        "-o",
        "lbfgs",
        "--tune",
        "lr",
        "--budget",
        "3",
        "--seeds",
        "2",
        *DIGITS,
        "--out",
        out,
        "-q",
        *extra,
    )


def test_equal_budgets_are_enforced_and_recorded(nnctl, tmp_path):
    proc = tuned_digits(nnctl, "cmp", "--no-plot")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    entries = {e["label"]: e for e in data["tuning"]["optimizers"]}
    assert data["tuning"]["budget"] == 3
    for label in ("sgd", "adam"):
        e = entries[label]
        assert e["status"] == "tuned" and e["trials"] == 3 and e["tuned"] == ["lr"]
        assert [t["values"]["lr"] for t in e["curve"]] == [1e-4, 0.01, 1.0]
        # Same epochs and batches per trial: the same sample-gradient budget, recorded
        # (3 trials x 3 epochs x 1438 training rows: 1797 digits minus 359 for validation).
        assert e["trial_epochs"] == 9 and e["trial_sample_grads"] == 3 * 3 * 1438
    assert entries["lbfgs"]["status"] == "no tuning needed" and entries["lbfgs"]["trials"] == 0
    # Every optimizer then runs the same seeds; seed 0 of a tuned one is its chosen trial.
    runs = {(r["label"], r["seed"]): r for r in data["runs"]}
    assert sorted(runs) == sorted((label, s) for label in ("sgd", "adam", "lbfgs") for s in (0, 1))
    for label in ("sgd", "adam"):
        assert runs[(label, 0)]["run"] == entries[label]["chosen_run"]
        assert runs[(label, 1)]["settings"] == entries[label]["chosen"]
    with open(tmp_path / "cmp" / "tuning.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["label"], float(r["lr"])) for r in rows] == [
        (label, lr) for label in ("sgd", "adam") for lr in (1e-4, 0.01, 1.0)
    ]
    assert sum(r["chosen"] == "true" for r in rows) == 2
    for row in rows:
        assert (tmp_path / "cmp" / row["run"] / "summary.json").is_file()


def test_jobs_give_the_same_numbers(nnctl, tmp_path):
    one = tuned_digits(nnctl, "one", "--no-plot")
    two = tuned_digits(nnctl, "two", "--no-plot", "--jobs", "2")
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr)
    a, b = (
        json.loads((tmp_path / name / "comparison.json").read_text()) for name in ("one", "two")
    )
    assert without_wall_time(a) == without_wall_time(b)

    def rows(name):
        with open(tmp_path / name / "tuning.csv", newline="") as handle:
            return [{k: v for k, v in r.items() if k != "wall_s"} for r in csv.DictReader(handle)]

    assert rows("one") == rows("two")


def test_sensitivity_plot_has_its_axes_and_data(nnctl, tmp_path):
    pytest.importorskip("matplotlib")
    from nnctl.report.tuning_plots import sensitivity_figure

    proc = tuned_digits(nnctl, "cmp")
    assert proc.returncode == 0, proc.stderr
    image = tmp_path / "cmp" / "sensitivity.png"
    assert image.is_file() and image.stat().st_size > 10_000
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    fig = sensitivity_figure(data)
    [ax] = fig.axes
    assert ax.get_xlabel() == "lr (tuned over 0.0001:1)"
    assert ax.get_ylabel() == "val_loss (lower is better)"
    assert ax.get_xscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    adam = data["tuning"]["optimizers"][1]
    assert list(lines["adam"].get_xdata()) == [t["values"]["lr"] for t in adam["curve"]]


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["-o", "sgd:lr=0.1", "--tune", "lr"], ["--tune lr", "sets lr", "drop it"]),
        (
            ["--tune", "lr", "--tune", "momentum=0.5:0.99", "--search", "grid"],
            ["--search grid: tunes one setting"],
        ),
        (["--tune", "momentum"], ["no default range for momentum"]),
        (["--tune", "lr=1:0.1"], ["expected LOW < HIGH"]),
        (["--tune", "lr", "--budget", "1"], ["--budget: expected an integer >= 2"]),
        (["--budget", "4"], ["--budget", "belong to --tune"]),
        (
            ["-o", "lbfgs", "--tune", "lr"],
            ["no optimizer of this comparison has a numeric setting lr"],
        ),
        (["--tune", "lr", "--select", "accuracy"], ["--select: expected train_loss, val_loss"]),
    ],
)
def test_bad_tuning_options_exit_2(nnctl, args, fragments):
    proc = nnctl("compare-optimizers", CONFIGS / "digits-mlp.yaml", *args)
    assert_clean_error(proc, 2, *fragments)


def test_select_needs_a_validation_split(nnctl, tmp_path):
    quadratic_problem(tmp_path)
    proc = nnctl(
        "compare-optimizers", "quad.yaml", "-o", "sgd", "--tune", "lr", "--select", "val_loss"
    )
    assert_clean_error(proc, 2, "--select val_loss", "no validation split")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    pytest.importorskip("distributed", reason="the Dask extra is not installed")
    from tests.dask_cluster import LocalDaskCluster

    running = LocalDaskCluster(tmp_path_factory.mktemp("cluster"), n_workers=2)
    try:
        yield running.start()
    finally:
        running.close()


def test_dask_gives_the_numbers_of_jobs_1(nnctl, tmp_path, cluster):
    local = tuned_digits(nnctl, "local", "--no-plot")
    dask = tuned_digits(
        nnctl, "dask", "--no-plot", "--executor", "dask", "--scheduler", cluster.address
    )
    assert local.returncode == 0 and dask.returncode == 0, (local.stderr, dask.stderr)
    a, b = (json.loads((tmp_path / n / "comparison.json").read_text()) for n in ("local", "dask"))
    assert without_wall_time(a) == without_wall_time(b)
    assert a["tuning"]["optimizers"][0]["trials"] == 3
    assert not [p for p in (tmp_path / "dask" / "trials").iterdir() if p.name.startswith(".")]
