"""nnctl sweep as a real process: the Cartesian product, folder names, lists with commas,
--jobs equality, seeds, and the errors; the axis parser in-process."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import assert_clean_error, run_nnctl, without_wall_time
from nnctl.compare import sweep_plan
from nnctl.compare.specs import parse_sweep_option
from nnctl.errors import UsageError

CONFIG = """
seed: 5
data: {name: iris, val_fraction: 0.2}
model: {kind: mlp, hidden: [5], activation: relu}
optimizer: {name: adam, lr: 0.01}
train: {epochs: 2, batch_size: 16}
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "iris-mlp.yaml"
    path.write_text(CONFIG)
    return path


def test_the_product_of_axes_with_plain_overrides_and_lists(tmp_path, config):
    proc = run_nnctl(
        "sweep",
        config,
        "-s",
        "optimizer.lr=0.01,1e-1",
        "-s",
        "model.activation=relu,elu,tanh",
        "-s",
        "model.hidden=[4,3]",
        "--out",
        tmp_path / "sw",
        "--no-plot",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["kind"] == "sweep" and len(data["runs"]) == 6
    expected = [(lr, act) for lr in ("0.01", "1e-1") for act in ("relu", "elu", "tanh")]
    assert [r["label"] for r in data["runs"]] == [f"lr={lr} activation={a}" for lr, a in expected]
    assert sorted(p.name for p in (tmp_path / "sw").iterdir() if p.is_dir()) == sorted(
        f"lr={lr}_activation={a}" for lr, a in expected
    )
    for record in data["runs"]:
        cfg = yaml.safe_load((tmp_path / "sw" / record["run"] / "config.yaml").read_text())
        lr = float(record["label"].split()[0][3:])
        activation = record["label"].split("=")[-1]
        assert cfg["optimizer"]["lr"] == lr and cfg["model"]["activation"] == activation
        assert cfg["model"]["hidden"] == [4, 3]  # the plain override, commas and all
        assert record["settings"] == {"optimizer.lr": lr, "model.activation": activation}
        assert cfg["seed"] == 5 and record["status"] == "completed"
    assert (tmp_path / "sw" / "comparison.csv").read_text().count("\n") == 7


def test_an_axis_of_lists_and_jobs_give_the_same_numbers(tmp_path, config):
    args = [
        "sweep",
        config,
        "-s",
        "model.hidden=[4],[4,4]",
        "-s",
        "optimizer.name=sgd,adam",
        "--seeds",
        "2",
        "--no-plot",
        "-q",
    ]
    one = run_nnctl(*args, "--out", tmp_path / "one", cwd=tmp_path)
    two = run_nnctl(*args, "--jobs", "2", "--out", tmp_path / "two", cwd=tmp_path)
    assert one.returncode == 0 and two.returncode == 0, (one.stderr, two.stderr)
    a, b = (json.loads((tmp_path / n / "comparison.json").read_text()) for n in ("one", "two"))
    assert without_wall_time(a) == without_wall_time(b)
    assert a["seeds"] == [5, 6] and len(a["runs"]) == 8 and len(a["summary"]) == 4
    assert {r["run"] for r in a["runs"]} == {
        f"hidden=_{h}_name={n}-seed{s}"
        for h in ("4", "4_4")
        for n in ("sgd", "adam")
        for s in (5, 6)
    }
    sizes = {
        json.loads((tmp_path / "one" / r["run"] / "summary.json").read_text())["n_params"]
        for r in a["runs"]
    }
    assert sizes == {4 * 4 + 4 + 4 * 3 + 3, 4 * 4 + 4 + 4 * 4 + 4 + 4 * 3 + 3}
    # switching the optimizer by name drops adam's settings sgd has not (config.apply_overrides)
    sgd = yaml.safe_load(
        (tmp_path / "one" / "hidden=_4_name=sgd-seed5" / "config.yaml").read_text()
    )
    assert sgd["optimizer"]["name"] == "sgd" and "betas" not in sgd["optimizer"]


def test_the_activation_exercise_is_one_command(tmp_path, config):
    proc = run_nnctl(
        "sweep",
        config,
        "-s",
        "model.activation=relu,elu,leaky_relu,softplus",
        "--out",
        tmp_path / "act",
        "--no-plot",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "act" / "comparison.json").read_text())
    assert [r["label"] for r in data["runs"]] == [
        "activation=relu",
        "activation=elu",
        "activation=leaky_relu",
        "activation=softplus",
    ]
    # the table is the result (stdout); one progress line per run goes to stderr
    assert "train loss (log)" in proc.stdout and "train loss (log)" not in proc.stderr
    assert "[4/4] activation=softplus" in proc.stderr and "[1/4]" not in proc.stdout


@pytest.mark.parametrize(
    "option, fragments",
    [
        ("optimizer.lr=0.1,,0.2", ["optimizer.lr=0.1,,0.2", "empty value"]),
        ("optimizer.lr=-1,0.1", ["sweep run 'lr=-1'", "optimizer.lr", "> 0"]),
        ("model.activation=relu,nope", ["model.activation", "nope"]),
        ("optimizer.lr=0.1,0.1", ["given twice"]),
        ("=1,2", ["KEY.PATH=VALUE"]),
        ("model.hidden=[4,[5]", ["model.hidden", "YAML"]),
    ],
)
def test_a_bad_axis_is_a_usage_error(config, option, fragments):
    with pytest.raises(UsageError) as info:
        sweep_plan(config, [option])
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_a_bad_axis_exits_2_before_any_run(tmp_path, config):
    proc = run_nnctl(
        "sweep", config, "-s", "optimizer.lr=0.1,-1", "--out", tmp_path / "sw", cwd=tmp_path
    )
    assert_clean_error(proc, 2, "optimizer.lr")
    assert not (tmp_path / "sw").exists()


def test_parse_sweep_option():
    axis = parse_sweep_option("model.hidden=[8,8],[16], [4,4,4]")
    assert axis.key == "model.hidden" and axis.texts == ["[8,8]", "[16]", "[4,4,4]"]
    assert parse_sweep_option("model.hidden=[8,8]").texts == ["[8,8]"]  # one value: no axis
    axis = parse_sweep_option("optimizer.lr=1e-3,0.01")
    assert axis.yaml_texts == ["1.0e-3", "0.01"] and yaml.safe_load(axis.yaml_texts[0]) == 0.001
    assert parse_sweep_option("data.path='a,b.csv',c.csv").texts == ["'a,b.csv'", "c.csv"]
