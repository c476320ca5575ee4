"""The config schema: defaults, validation messages, overrides, JSON Schema."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from nnctl.config import (
    apply_overrides,
    json_schema,
    load_config,
    load_yaml,
    parse_override,
    resolve,
)
from nnctl.errors import UsageError

ISSUE_EXAMPLE = """
seed: 0
data:
  name: digits
  val_fraction: 0.2
  standardize: true
model:
  kind: mlp
  hidden: [64]
  activation: relu
  dropout: 0.0
init:
  scheme: he_normal
loss:
  name: cross_entropy
  l2: 0.0
optimizer:
  name: adam
  lr: 0.001
schedule:
  name: cosine
train:
  epochs: 30
  batch_size: 64
  shuffle: true
  dtype: auto
  early_stopping: {metric: val_loss, patience: 5, restore_best: true}
output:
  dir: runs/digits-mlp
"""


def test_issue_example_resolves_with_every_default_filled():
    cfg = resolve(yaml.safe_load(ISSUE_EXAMPLE))
    assert cfg["optimizer"] == {
        "name": "adam",
        "lr": 0.001,
        "betas": [0.9, 0.999],
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
    }
    assert cfg["train"]["early_stopping"] == {
        "metric": "val_loss",
        "patience": 5,
        "min_delta": 0.0,
        "restore_best": True,
    }
    assert cfg["schedule"]["name"] == "cosine" and "T_max" in cfg["schedule"]
    assert cfg["init"]["scheme"] == "he_normal" and cfg["init"]["bias"] == 0.0
    assert cfg["data"]["task"] == "auto"


def test_resolved_config_is_a_fixed_point():
    cfg = resolve(yaml.safe_load(ISSUE_EXAMPLE))
    again = resolve(yaml.safe_load(yaml.safe_dump(cfg)))
    assert again == cfg


def test_shorthand_names():
    cfg = resolve(
        {
            "data": {"name": "iris"},
            "optimizer": "sgd",
            "loss": "cross_entropy",
            "init": "zeros",
            "schedule": "constant",
        }
    )
    assert cfg["optimizer"]["name"] == "sgd" and cfg["optimizer"]["momentum"] == 0.0
    assert cfg["init"]["scheme"] == "zeros"
    assert cfg["loss"]["name"] == "cross_entropy"


def test_lecture_aliases_carry_their_settings():
    cfg = resolve({"data": {"name": "iris"}, "optimizer": "momentum"})
    assert cfg["optimizer"]["momentum"] == 0.9
    cfg = resolve({"data": {"name": "iris"}, "optimizer": "nesterov"})
    assert cfg["optimizer"]["nesterov"] is True


@pytest.mark.parametrize(
    "raw, fragments",
    [
        (
            {"data": {"name": "iris"}, "optimzer": {"name": "sgd"}},
            ["optimzer", 'did you mean "optimizer"'],
        ),
        (
            {"data": {"name": "iris"}, "optimizer": {"name": "adma"}},
            ["optimizer.name", 'did you mean "adam"'],
        ),
        (
            {"data": {"name": "iris"}, "optimizer": {"name": "sgd", "lr": -1}},
            ["optimizer.lr", "-1"],
        ),
        (
            {"data": {"name": "iris"}, "optimizer": {"name": "sgd", "lr": "fast"}},
            ["optimizer.lr", "'fast'"],
        ),
        (
            {"data": {"name": "iris"}, "optimizer": {"name": "sgd", "momentum": 1.0}},
            ["optimizer.momentum"],
        ),
        (
            {"data": {"name": "iris"}, "optimizer": {"name": "adam", "betas": [0.9, 1.0]}},
            ["optimizer.betas"],
        ),
        (
            {"data": {"name": "iris"}, "optimizer": {"name": "sgd", "betas": [0.9, 0.9]}},
            ["optimizer.betas", "unknown setting"],
        ),
        ({"data": {"name": "iris"}, "train": {"epochs": -1}}, ["train.epochs", ">= 0"]),
        ({"data": {"name": "iris"}, "train": {"batch_size": 0}}, ["train.batch_size"]),
        (
            {"data": {"name": "iris"}, "train": {"batchsize": 8}},
            ["train.batchsize", 'did you mean "batch_size"'],
        ),
        ({"data": {"name": "iris", "val_fraction": 1.0}}, ["data.val_fraction", "[0, 1)"]),
        ({"data": {"name": "irsi"}}, ["data.name", 'did you mean "iris"']),
        ({"data": {}}, ["data", "exactly one of"]),
        ({"data": {"name": "iris"}, "model": {"kind": "cnn"}}, ["model.kind", "cnn"]),
        ({"data": {"name": "iris"}, "model": {"hidden": [0]}}, ["model.hidden"]),
        (
            {"data": {"name": "iris"}, "model": {"activation": "relux"}},
            ["model.activation.name", 'did you mean "relu"'],
        ),
        (
            {
                "data": {"name": "iris"},
                "model": {"kind": "softmax"},
                "optimizer": {"name": "exact"},
            },
            ["optimizer.name", "linreg"],
        ),
        (
            {"data": {"name": "iris"}, "train": {"early_stopping": {"metric": "loss"}}},
            ["train.early_stopping.metric"],
        ),
        ({"data": {"name": "iris"}, "loss": {"name": "hinge"}}, ["loss.name", "hinge"]),
        (
            {"data": {"name": "moons", "params": {"noize": 0.1}}},
            ["data.params.noize", 'did you mean "noise"'],
        ),
        ({"data": {"name": "iris"}, "seed": "abc"}, ["seed"]),
    ],
)
def test_bad_configs_name_the_key(raw, fragments):
    with pytest.raises(UsageError) as info:
        resolve(raw)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_override_typed_as_yaml_and_nested():
    raw = apply_overrides(
        {"data": {"name": "iris"}},
        ["optimizer.lr=0.5", "model.hidden=[8, 4]", "train.shuffle=false"],
    )
    assert raw["optimizer"]["lr"] == 0.5
    assert raw["model"]["hidden"] == [8, 4]
    assert raw["train"]["shuffle"] is False


def test_switching_optimizer_drops_settings_it_does_not_have():
    raw = {"data": {"name": "iris"}, "optimizer": {"name": "adam", "lr": 0.01, "betas": [0.8, 0.9]}}
    with pytest.warns(UserWarning, match=r"optimizer.name=sgd: dropped .*: betas=\[0.8, 0.9\]$"):
        cfg = resolve(apply_overrides(raw, ["optimizer.name=sgd"]))
    assert cfg["optimizer"]["name"] == "sgd" and cfg["optimizer"]["lr"] == 0.01
    assert "betas" not in cfg["optimizer"]
    with pytest.warns(UserWarning, match=r"lbfgs does not take: lr=0.01, betas=\[0.8, 0.9\]$"):
        cfg = resolve(apply_overrides(raw, ["optimizer=lbfgs"]))
    assert cfg["optimizer"]["name"] == "lbfgs"


def test_override_syntax_errors():
    with pytest.raises(UsageError, match="KEY.PATH=VALUE"):
        parse_override("optimizer.lr")
    with pytest.raises(UsageError, match="empty key"):
        parse_override("optimizer..lr=1")


def test_yaml_syntax_error_has_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n  name: iris\n  bad: [1, 2\n")
    with pytest.raises(UsageError) as info:
        load_yaml(path)
    assert re.search(re.escape(str(path)) + r":[34]:\d+: YAML syntax error", str(info.value))


def test_yaml_alias_bomb_is_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UsageError, match="alias bomb"):
        load_yaml(path)


def test_yaml_python_tags_are_not_executed(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("seed: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(UsageError, match="YAML"):
        load_yaml(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_json_schema_is_generated_from_the_registries():
    schema = json_schema()
    json.dumps(schema)
    optimizer_variants = schema["properties"]["optimizer"]["anyOf"][1]["oneOf"]
    names = {n for v in optimizer_variants for n in v["properties"]["name"]["enum"]}
    assert {
        "sgd",
        "momentum",
        "nesterov",
        "adam",
        "adamw",
        "adagrad",
        "rmsprop",
        "adadelta",
        "lbfgs",
        "bfgs",
        "cg",
        "newton",
        "gd",
        "exact",
    } <= names
    adam = next(v for v in optimizer_variants if "adam" in v["properties"]["name"]["enum"])
    assert adam["properties"]["lr"]["default"] == 0.001
    assert schema["properties"]["train"]["properties"]["batch_size"]["default"] == 32


def test_schema_accepts_the_resolved_example_when_jsonschema_is_installed():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed")
    cfg = resolve(yaml.safe_load(ISSUE_EXAMPLE))
    jsonschema.validate(cfg, json_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**cfg, "train": {**cfg["train"], "batchsize": 3}}, json_schema())


def test_docs_reference_is_current():
    """docs/config-reference.md is generated; regenerate with `nnctl config reference`."""
    from pathlib import Path

    from nnctl.config import reference_markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "config-reference.md"
    assert doc.read_text() == reference_markdown(), (
        "run: nnctl config reference > docs/config-reference.md"
    )


def test_scientific_notation_without_a_dot_is_a_number():
    """PyYAML reads `1e-3` as a string (YAML 1.1); users mean a number."""
    cfg = resolve(apply_overrides({"data": {"name": "iris"}}, ["optimizer.lr=1e-3"]))
    assert cfg["optimizer"]["lr"] == 0.001
    cfg = resolve(yaml.safe_load("data: {name: iris}\noptimizer: {name: sgd, lr: 5E-2}\n"))
    assert cfg["optimizer"]["lr"] == 0.05
    with pytest.raises(UsageError, match="optimizer.lr"):
        resolve({"data": {"name": "iris"}, "optimizer": {"name": "sgd", "lr": "1e-3x"}})


def test_wolfe_constants_are_checked_at_config_time():
    with pytest.raises(UsageError, match=r"optimizer.c2: expected a number > c1"):
        resolve(
            {
                "data": {"name": "iris"},
                "model": {"kind": "softmax"},
                "optimizer": {"name": "lbfgs", "c1": 0.5, "c2": 0.4},
            }
        )


def test_importing_the_config_package_loads_none_of_its_modules():
    """nnctl.config re-exports lazily: each name imports its module (yaml_io, validation, ...)
    on first use, so `import nnctl.config` costs nothing and the names stay where they were."""
    import subprocess
    import sys

    probe = (
        "import sys, nnctl.config as c\n"
        "before = sorted(m for m in sys.modules if m.startswith('nnctl.config.') or m == 'yaml')\n"
        "c.parse_yaml_text\n"
        "after = sorted(m for m in sys.modules if m.startswith('nnctl.config.'))\n"
        "print(before, after)"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "['nnctl.config.yaml_io']"]


def test_the_closed_form_names_the_kinds_and_methods_that_apply():
    """exact refused on a kind that is no least-squares problem: the kinds it applies to and
    the other full-batch methods come from the registries."""
    with pytest.raises(UsageError) as info:
        resolve({"data": {"name": "iris"}, "model": {"kind": "softmax"}, "optimizer": "exact"})
    assert str(info.value) == (
        "optimizer.name: exact (the closed form) applies only to model.kind linreg, found "
        "softmax; use bfgs, cg, gd, lbfgs, newton or a first-order optimizer"
    )


def test_config_init_picks_and_refuses_kinds_by_what_they_declare():
    """The starter's kind for a task is the one whose `starter_for` lists it; a --model that
    does not take the task is refused naming those that do (the kinds' `tasks`)."""
    from nnctl.config.starter import starter_config
    from nnctl.data.builtin import bundled_path

    iris, diabetes = str(bundled_path("iris.csv")), str(bundled_path("diabetes.csv"))
    assert "model: {kind: softmax}\n" in starter_config(iris, None)
    assert "model: {kind: linreg}\n" in starter_config(diabetes, None)
    mlp = starter_config(iris, None, "mlp")
    assert "model: {kind: mlp, hidden: [64], activation: relu}\n" in mlp
    assert "optimizer: {name: adam, lr: 0.001}\n" in mlp
    with pytest.raises(UsageError) as info:
        starter_config(iris, None, "logreg")
    assert str(info.value) == (
        "--model logreg: the target 'target' looks like multiclass classification; "
        "use softmax or mlp"
    )
    with pytest.raises(UsageError, match="is numeric \\(regression\\); use linreg or mlp$"):
        starter_config(diabetes, None, "softmax")
