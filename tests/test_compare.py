"""compare-optimizers as a real process: the folder it writes, fairness (same init, split and
batch order for every optimizer), --jobs and repeat determinism, divergence, specs, the
`compare:` section, seeds and the target-loss figures."""

from __future__ import annotations

import csv
import json
import statistics

import numpy as np
import pytest

from conftest import CONFIGS, assert_clean_error, run_nnctl, without_wall_time
from nnctl.compare import compare_plan
from nnctl.compare.specs import parse_spec, split_top_level, unique_labels
from nnctl.errors import UsageError

DIGITS_8 = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "lbfgs"]
RUN_FILES = ["checkpoints", "config.yaml", "metrics.jsonl", "split.npz", "summary.json"]

IRIS_MLP = """
seed: {seed}
data: {{name: iris, val_fraction: 0.2}}
model: {{kind: mlp, hidden: [6], dropout: {dropout}}}
optimizer: {{name: adam, lr: 0.01}}
train: {{epochs: {epochs}, batch_size: 16}}
{extra}
"""


def iris_config(tmp_path, name="iris.yaml", seed=0, dropout=0.0, epochs=3, extra=""):
    path = tmp_path / name
    path.write_text(IRIS_MLP.format(seed=seed, dropout=dropout, epochs=epochs, extra=extra))
    return path


def metrics_rows(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for row in rows:
        row.pop("elapsed_s")
    return rows


# ---------------------------------------------------------------------------------------------
# The digits MLP comparison of the acceptance (small budget: the tests time nothing)


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits")
    spec_args = [a for name in DIGITS_8 for a in ("--optimizer", name)]
    common = ["compare-optimizers", CONFIGS / "digits-mlp.yaml", *spec_args, "-s", "train.epochs=2"]
    procs = {
        "jobs1": run_nnctl(
            *common, "--jobs", "1", "--out", folder / "jobs1", "--no-plot", cwd=folder
        ),
        "jobs2": run_nnctl(*common, "--jobs", "2", "--out", folder / "jobs2", cwd=folder),
        "again": run_nnctl(
            *common,
            "--jobs",
            "2",
            "--out",
            folder / "again",
            "--no-plot",
            "-q",
            "--json",
            cwd=folder,
        ),
    }
    for proc in procs.values():
        assert proc.returncode == 0, proc.stderr
    return folder, procs


def test_digits_comparison_folder_is_complete(digits):
    folder, procs = digits
    out = folder / "jobs2"
    expected = set(DIGITS_8) | {"comparison.csv", "comparison.json", "plan.json"}
    try:
        import matplotlib  # noqa: F401

        expected.add("curves.png")
    except ImportError:
        pass
    assert {p.name for p in out.iterdir()} == expected
    for name in DIGITS_8:
        assert sorted(p.name for p in (out / name).iterdir()) == RUN_FILES
    data = json.loads((out / "comparison.json").read_text())
    assert [r["label"] for r in data["runs"]] == DIGITS_8
    assert data["seeds"] == [0] and data["metric"] == "val_accuracy"
    with open(out / "comparison.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["optimizer"] for r in rows] == DIGITS_8
    n_train = json.loads((out / "sgd" / "summary.json").read_text())["n_train"]
    for record, row in zip(data["runs"], rows):
        assert (
            record["status"] in ("completed", "early_stopped", "converged")
            and not record["diverged"]
        )
        assert row["diverged"] == "false" and float(row["final_train_loss"]) == pytest.approx(
            record["final_train_loss"]
        )
        rows_ = metrics_rows(out / record["run"])
        assert record["best_val_loss"] == min(r["val_loss"] for r in rows_)
        assert record["best_val_metric"] == max(r["val_accuracy"] for r in rows_)
        if record["optimizer"] != "lbfgs":  # one epoch = n_train sample-gradients
            assert record["sample_grads"] == record["epochs"] * n_train
        else:  # one gradient of the whole set (line searches take several) = n_train
            assert (
                record["sample_grads"] % n_train == 0
                and record["sample_grads"] >= record["epochs"] * n_train
            )
    # progress: one line per finished run on stderr; the table (the result) on stdout
    lines = [line for line in procs["jobs2"].stderr.splitlines() if line.startswith("[")]
    stdout = procs["jobs2"].stdout
    assert len(lines) == 8 and not any(line.startswith("[") for line in stdout.splitlines())
    assert "train loss (log)" in stdout and "train loss (log)" not in procs["jobs2"].stderr
    assert all(name in procs["jobs2"].stderr for name in DIGITS_8)


def test_jobs_and_a_second_run_give_the_same_numbers(digits):
    folder, procs = digits
    one, two, again = (
        json.loads((folder / name / "comparison.json").read_text())
        for name in ("jobs1", "jobs2", "again")
    )
    assert without_wall_time(one) == without_wall_time(two) == without_wall_time(again)
    for name in DIGITS_8:
        assert metrics_rows(folder / "jobs1" / name) == metrics_rows(folder / "jobs2" / name)
    # --json -q: stdout is the comparison and nothing else; stderr is silent
    assert json.loads(procs["again"].stdout) == again
    assert procs["again"].stderr == ""


# ---------------------------------------------------------------------------------------------
# Fairness


def test_same_init_for_every_optimizer_and_dtype(tmp_path):
    """epochs 0: the checkpoints hold the initial parameters. float32 runs (first-order) and the
    float64 run (lbfgs) start from the same numbers: the init is drawn in float64 and cast."""
    config = iris_config(tmp_path, epochs=0)
    proc = run_nnctl(
        "compare-optimizers",
        config,
        "-o",
        "sgd",
        "-o",
        "adam",
        "-o",
        "lbfgs",
        "--out",
        tmp_path / "cmp",
        "--no-plot",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    params = {
        name: dict(np.load(tmp_path / "cmp" / name / "checkpoints" / "last.npz"))
        for name in ("sgd", "adam", "lbfgs")
    }
    assert params["sgd"]["linear0.weight"].dtype == np.float32
    assert params["lbfgs"]["linear0.weight"].dtype == np.float64
    for key in ("linear0.weight", "linear0.bias", "linear1.weight", "linear1.bias"):
        np.testing.assert_array_equal(params["sgd"][key], params["adam"][key])
        np.testing.assert_array_equal(params["sgd"][key], params["lbfgs"][key].astype(np.float32))
    assert np.abs(params["lbfgs"]["linear0.weight"]).max() > 0  # a real (random) init


def test_same_split_and_batch_order_for_every_optimizer(tmp_path):
    """Two names for one rule give the same metrics row for row; different rules see the same
    split and the same batch order (the last epoch's shuffle is in the checkpoint)."""
    config = iris_config(tmp_path, epochs=3)
    specs = [
        "momentum",
        "sgd:momentum=0.9",
        "nesterov",
        "sgd:momentum=0.9,nesterov=true",
        "rmsprop",
    ]
    proc = run_nnctl(
        "compare-optimizers",
        config,
        *[a for s in specs for a in ("-o", s)],
        "--out",
        tmp_path / "cmp",
        "--no-plot",
        "--jobs",
        "2",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "cmp"
    data = json.loads((out / "comparison.json").read_text())
    folders = {r["label"]: out / r["run"] for r in data["runs"]}
    assert metrics_rows(folders["momentum"]) == metrics_rows(folders["sgd:momentum=0.9"])
    assert metrics_rows(folders["nesterov"]) == metrics_rows(
        folders["sgd:momentum=0.9,nesterov=true"]
    )
    assert metrics_rows(folders["momentum"]) != metrics_rows(folders["nesterov"])
    summaries = [json.loads((f / "summary.json").read_text()) for f in folders.values()]
    assert {(s["n_train"], s["n_val"]) for s in summaries} == {(120, 30)}
    orders = [np.load(f / "checkpoints" / "last.npz")["data.permutation"] for f in folders.values()]
    for order in orders[1:]:
        np.testing.assert_array_equal(order, orders[0])
    assert len(orders[0]) == 120


# ---------------------------------------------------------------------------------------------
# Divergence, bad specs, the default optimizer set


def test_a_diverging_optimizer_is_marked_and_the_comparison_goes_on(tmp_path):
    proc = run_nnctl(
        "compare-optimizers",
        CONFIGS / "diabetes-linreg.yaml",
        "-o",
        "sgd:lr=1e6",
        "-o",
        "adam",
        "-o",
        "lbfgs",
        "-s",
        "train.epochs=3",
        "--out",
        tmp_path / "cmp",
        "--no-plot",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    runs = {r["label"]: r for r in data["runs"]}
    assert runs["sgd:lr=1e6"]["diverged"] and runs["sgd:lr=1e6"]["status"] == "diverged"
    assert runs["sgd:lr=1e6"]["settings"] == {"lr": 1e6}
    assert "diverged" in runs["sgd:lr=1e6"]["message"]
    for label in ("adam", "lbfgs"):
        assert not runs[label]["diverged"] and runs[label]["epochs"] == 3
    with open(tmp_path / "cmp" / "comparison.csv", newline="") as handle:
        diverged = {r["label"]: r["diverged"] for r in csv.DictReader(handle)}
    assert diverged == {"sgd:lr=1e6": "true", "adam": "false", "lbfgs": "false"}
    assert "diverged" in proc.stderr


@pytest.mark.parametrize(
    "spec, fragments",
    [
        ("sgd:lrr=0.1", ["--optimizer 'sgd:lrr=0.1'", "optimizer.lrr", 'did you mean "lr"']),
        ("exact", ["optimizer 'exact'", "linreg"]),
    ],
)
def test_a_bad_spec_is_a_usage_error(tmp_path, spec, fragments):
    proc = run_nnctl(
        "compare-optimizers",
        CONFIGS / "iris-softmax.yaml",
        "-o",
        "adam",
        "-o",
        spec,
        "--out",
        tmp_path / "cmp",
        cwd=tmp_path,
    )
    assert_clean_error(proc, 2, *fragments)
    assert not (tmp_path / "cmp").exists()  # nothing ran


@pytest.mark.parametrize(
    "spec, fragments",
    [
        ("sgd:lr", ["--optimizer 'sgd:lr'", "KEY=VALUE"]),
        ("sgd:lr=-1", ["--optimizer 'sgd:lr=-1'", "optimizer.lr", "> 0"]),
        ("sgdd", ["--optimizer 'sgdd'", 'did you mean "sgd"']),
        ("sgd:nesterov=true", ["optimizer.nesterov", "momentum > 0"]),
        ("sgd:lr=0.1,lr=0.2", ["lr is given twice"]),
        ("adam:betas=[0.9", ["--optimizer 'adam:betas=[0.9'", "YAML"]),
        ("newton:dropout=0.1", ["optimizer.dropout", "unknown setting"]),
    ],
)
def test_bad_specs_name_the_spec_and_the_key(tmp_path, spec, fragments):
    with pytest.raises(UsageError) as info:
        compare_plan(CONFIGS / "iris-softmax.yaml", ["adam", spec], [])
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_without_optimizers_every_applicable_one_runs_and_the_rest_are_skipped(tmp_path):
    config = iris_config(tmp_path, dropout=0.2, epochs=1)
    proc = run_nnctl(
        "compare-optimizers", config, "--out", tmp_path / "cmp", "--no-plot", "--json", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    runs = {r["label"]: r for r in json.loads(proc.stdout)["runs"]}
    first_order = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw"}
    full_batch = {"gd", "cg", "newton", "bfgs", "lbfgs", "exact"}
    assert set(runs) == first_order | full_batch
    for name in first_order:
        assert runs[name]["status"] == "completed", runs[name]
    for name in full_batch:
        assert runs[name]["status"] == "skipped" and runs[name]["run"] is None
        assert ("linreg" if name == "exact" else "dropout") in runs[name]["message"]
        assert not (tmp_path / "cmp" / name).exists()
    # adam is the config's own optimizer: its settings (lr 0.01) stay; the others use defaults
    configs = {n: (tmp_path / "cmp" / n / "config.yaml").read_text() for n in ("adam", "adamw")}
    assert "lr: 0.01\n" in configs["adam"] and "lr: 0.001\n" in configs["adamw"]


def test_linreg_includes_the_closed_form(tmp_path):
    proc = run_nnctl(
        "compare-optimizers",
        CONFIGS / "diabetes-linreg.yaml",
        "-o",
        "exact",
        "-o",
        "sgd",
        "-o",
        "newton",
        "-s",
        "train.epochs=2",
        "--out",
        tmp_path / "cmp",
        "--no-plot",
        "-q",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    runs = {r["label"]: r for r in json.loads(proc.stdout)["runs"]}
    assert runs["exact"]["status"] in ("completed", "converged")
    assert runs["exact"]["metric"] == "val_r2"
    # the closed form is the least-squares optimum: no rule ends lower on the training loss
    assert runs["exact"]["final_train_loss"] <= runs["newton"]["final_train_loss"] + 1e-9
    assert runs["exact"]["final_train_loss"] < runs["sgd"]["final_train_loss"]


# ---------------------------------------------------------------------------------------------
# The compare: section, seeds, target loss


def test_compare_section_seeds_and_target(tmp_path):
    extra = "compare: {optimizers: [adam, {name: sgd, lr: 0.1}], seeds: 2, target_loss: 0.9}"
    config = iris_config(tmp_path, seed=3, epochs=4, extra=extra)
    proc = run_nnctl(
        "compare-optimizers", config, "--out", tmp_path / "cmp", "--no-plot", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "cmp"
    data = json.loads((out / "comparison.json").read_text())
    assert data["seeds"] == [3, 4] and data["target_loss"] == 0.9 and data["target_rule"] == "given"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == [
        "adam-seed3",
        "adam-seed4",
        "sgd_lr=0.1-seed3",
        "sgd_lr=0.1-seed4",
    ]
    for name in ("adam-seed3", "sgd_lr=0.1-seed4"):
        assert (out / name / "config.yaml").read_text().startswith(f"seed: {name[-1]}\n")
    for record in data["runs"]:  # target crossing, recomputed from metrics.jsonl
        rows = metrics_rows(out / record["run"])
        crossing = next((r for r in rows if r["train_loss"] <= 0.9), None)
        assert record["target_epoch"] == (crossing and crossing["epoch"])
        assert record["target_sample_grads"] == (crossing and crossing["sample_grads"])
    # different seeds give different inits, so different numbers; mean and std over the two
    for entry in data["summary"]:
        losses = [r["final_train_loss"] for r in data["runs"] if r["label"] == entry["label"]]
        assert len(losses) == 2 and losses[0] != losses[1]
        assert entry["final_train_loss_mean"] == pytest.approx(statistics.mean(losses))
        assert entry["final_train_loss_std"] == pytest.approx(statistics.stdev(losses))
        assert entry["runs"] == 2
    assert "±" in proc.stdout  # the table (stdout without --json) shows the spread
    # --seeds on the command line beats the section; the default target is 1% above the best curve
    proc = run_nnctl(
        "compare-optimizers",
        config,
        "--seeds",
        "1",
        "-o",
        "adam",
        "-o",
        "sgd",
        "-s",
        "compare.target_loss=null",
        "--out",
        tmp_path / "one",
        "--no-plot",
        "-q",
        "--json",
        cwd=tmp_path,
    )
    data = json.loads(proc.stdout)
    assert data["seeds"] == [3] and data["target_rule"] != "given"
    lowest = min(
        min(r["train_loss"] for r in metrics_rows(tmp_path / "one" / run["run"]))
        for run in data["runs"]
    )
    assert data["target_loss"] == pytest.approx(1.01 * lowest)
    assert any(r["target_epoch"] is not None for r in data["runs"])


@pytest.mark.parametrize(
    "section, fragments",
    [
        ("compare: {optimisers: [adam]}", ["compare.optimisers", 'did you mean "optimizers"']),
        ("compare: {optimizers: [adam, 'sgd:lr=x']}", ["compare.optimizers[1]", "optimizer.lr"]),
        ("compare: {optimizers: [{lr: 0.1}]}", ["compare.optimizers[0].name"]),
        ("compare: {optimizers: adam}", ["compare.optimizers", "list"]),
        ("compare: {seeds: 0}", ["compare.seeds", ">= 1"]),
        ("compare: {target_loss: -1}", ["compare.target_loss"]),
        ("compare: [adam]", ["compare: expected a mapping"]),
    ],
)
def test_a_bad_compare_section_names_the_key(tmp_path, section, fragments):
    config = iris_config(tmp_path, extra=section)
    with pytest.raises(UsageError) as info:
        compare_plan(config, [], [])
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_a_bad_compare_section_exits_2(tmp_path):
    config = iris_config(tmp_path, extra="compare: {optimisers: [adam]}")
    proc = run_nnctl("compare-optimizers", config, "--out", tmp_path / "cmp", cwd=tmp_path)
    assert_clean_error(proc, 2, "compare.optimisers")


def test_usage_errors_of_the_command(tmp_path):
    assert_clean_error(run_nnctl("compare-optimizers", cwd=tmp_path), 2, "missing CONFIG")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    proc = run_nnctl(
        "compare-optimizers",
        CONFIGS / "iris-softmax.yaml",
        "--out",
        tmp_path / "full",
        cwd=tmp_path,
    )
    assert_clean_error(proc, 2, "not an empty folder")
    proc = run_nnctl(
        "compare-optimizers",
        CONFIGS / "iris-softmax.yaml",
        "--jobs",
        "0",
        "-o",
        "adam",
        "--out",
        tmp_path / "j0",
        cwd=tmp_path,
    )
    assert_clean_error(proc, 2, "--jobs")


def test_default_folder_is_made_unique(tmp_path):
    args = (
        "compare-optimizers",
        CONFIGS / "iris-softmax.yaml",
        "-o",
        "adam",
        "-o",
        "sgd:lr=0.2",
        "-s",
        "train.epochs=1",
        "--no-plot",
        "-q",
    )
    for _ in range(2):
        assert run_nnctl(*args, cwd=tmp_path).returncode == 0
    # named by what it compares
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "iris-softmax-compare-adam-sgd_lr=0.2",
        "iris-softmax-compare-adam-sgd_lr=0.2-2",
    ]
    proc = run_nnctl(
        "sweep",
        CONFIGS / "iris-softmax.yaml",
        "optimizer.lr=0.1,0.2",
        "train.batch_size=8,16",
        "train.epochs=1",
        "--no-plot",
        "-q",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "runs" / "iris-softmax-sweep-lr-batch_size").is_dir()


# ---------------------------------------------------------------------------------------------
# Spec parsing (no process)


def test_split_top_level_keeps_brackets_and_quotes():
    assert split_top_level("lr=0.1,betas=[0.9,0.99],x={a: 1, b: 2}") == [
        "lr=0.1",
        "betas=[0.9,0.99]",
        "x={a: 1, b: 2}",
    ]
    assert split_top_level("'a,b',c") == ["'a,b'", "c"]
    assert split_top_level("[8,8]") == ["[8,8]"]


def test_parse_spec_types_values_as_yaml():
    spec = parse_spec("sgd:lr=0.1,momentum=0.9,nesterov=true")
    assert (spec.name, spec.settings) == ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True})
    spec = parse_spec("adam:betas=[0.8,0.9],lr=1e-3")
    assert spec.settings == {"betas": [0.8, 0.9], "lr": 0.001}
    assert parse_spec("l-bfgs").name == "lbfgs" and parse_spec("l-bfgs").label == "l-bfgs"
    with pytest.raises(UsageError, match="amsgrad"):
        parse_spec("adam:amsgrad=maybe")
    labels = [s.label for s in unique_labels([parse_spec("adam"), parse_spec("adam")])]
    assert labels == ["adam", "adam#2"]
