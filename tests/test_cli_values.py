"""Numbers and choices typed on the command line (nnctl/cli/values.py, given to options as
Typer's `parser=`): the values they accept, the messages for the ones they refuse, and those
messages at the command line, naming the option, with exit 2 and no traceback."""

from __future__ import annotations

import json
import math

import pytest
import typer

from conftest import run_nnctl
from nnctl.cli.values import choice_of, completion_of, real_number, whole_number


@pytest.mark.parametrize(
    ("typed", "number"),
    [("3", 3), (" 4 ", 4), ("-2", -2), ("+5", 5), ("0", 0), ("9" * 30, int("9" * 30)), (64, 64)],
)
def test_whole_numbers(typed, number):
    assert whole_number(typed) == number
    assert type(whole_number(typed)) is int


@pytest.mark.parametrize("typed", ["abc", "1.5", "", "1e3", "two"])
def test_not_whole_numbers_say_what_was_typed(typed):
    with pytest.raises(typer.BadParameter) as caught:
        whole_number(typed)
    assert caught.value.message == f"expected an integer, found {typed!r}"


@pytest.mark.parametrize(
    ("typed", "number"),
    [("0.5", 0.5), ("1e-3", 0.001), (" 2 ", 2.0), ("-0", -0.0), ("3", 3.0), ("inf", math.inf)],
)
def test_real_numbers(typed, number):
    assert real_number(typed) == number
    assert type(real_number(typed)) is float


def test_nan_is_a_number():
    assert math.isnan(real_number("nan"))


@pytest.mark.parametrize("typed", ["abc", "", "1,5"])
def test_not_numbers_say_what_was_typed(typed):
    with pytest.raises(typer.BadParameter) as caught:
        real_number(typed)
    assert caught.value.message == f"expected a number, found {typed!r}"


def test_choices_are_matched_exactly_and_completed():
    parse = choice_of("val", "train", "all")
    assert [parse("val"), parse("all")] == ["val", "all"]
    with pytest.raises(typer.BadParameter) as caught:
        parse("VAL")
    assert caught.value.message == "'VAL' is not one of 'val', 'train', 'all'."
    assert completion_of("val", "train", "all")("t") == ["train"]
    assert completion_of("val", "train", "all")("") == ["val", "train", "all"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["compare-optimizers", "iris-softmax", "--jobs", "two"],
            "Invalid value for '--jobs' / '-j': expected an integer, found 'two'",
        ),
        (
            ["compare-optimizers", "iris-softmax", "--target-loss", "low"],
            "Invalid value for '--target-loss': expected a number, found 'low'",
        ),
        (
            ["gradcheck", "iris-softmax", "--samples", "1.5"],
            "Invalid value for '--samples': expected an integer, found '1.5'",
        ),
        (
            ["eval", "no-such-run", "--split", "test"],
            "Invalid value for '--split': 'test' is not one of 'val', 'train', 'all'.",
        ),
    ],
)
def test_a_malformed_value_is_exit_2_naming_the_option(tmp_path, args, message):
    done = run_nnctl(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing ran, nothing written


def test_well_formed_values_reach_the_command(tmp_path):
    done = run_nnctl("gradcheck", "iris-softmax", "--samples", " 8 ", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["samples"] == 8


def test_config_init_takes_the_model_kinds_of_the_registry(tmp_path, monkeypatch):
    """--model is checked against nn.kinds.MODELS: the message lists its kinds, and a kind
    registered there is no longer refused by the command line."""
    from typer.testing import CliRunner

    from nnctl.cli.app import app
    from nnctl.nn import kinds

    table = tmp_path / "t.csv"
    table.write_text("x,target\n1,2\n2,4\n3,6\n")
    refused = run_nnctl("config", "init", "--data", table, "--model", "cnn", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "error: --model: expected linreg, logreg, softmax or mlp, found 'cnn'"
    )

    class Origin(kinds.ModelKind):
        name = "origin"
        doc = "linear regression through the origin"

    monkeypatch.setattr(kinds.MODELS, "_entries", dict(kinds.MODELS._entries))
    kinds._register(Origin)
    done = CliRunner().invoke(app, ["config", "init", "--data", str(table), "--model", "cnn"])
    assert done.exit_code == 2
    assert "expected linreg, logreg, softmax, mlp or origin, found 'cnn'" in done.output
