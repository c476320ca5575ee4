"""nnctl's conversion of command-line values (nnctl/cli/cli_values.py) gives what Typer's pydantic
conversion gives, for every parameter of the CLI and for good and bad values of its type; and
a command that runs imports no pydantic at all."""

from __future__ import annotations

import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import get_args, get_origin

import pytest
import typer

from conftest import run_nnctl
from nnctl.cli.app import app
from nnctl.cli.cli_values import _is_plain, _parameters, convert_plainly

SAMPLES = {
    str: ["abc", "", " x ", "-", "é"],
    int: ["3", " 4 ", "-2", "+5", "0", "abc", "1.5", "", "1e3", "9" * 30],
    float: ["0.5", "1e-3", " 2 ", "-0", "nan", "inf", "-inf", "3", "abc", "", "1,5"],
    Path: ["runs/x", "-", "/tmp", "a b", "."],
    bool: [True, False, "true", "False", "1", "0", "yes", "off", "", " y ", "maybe"],
}


def samples_for(annotation):
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        return [[v] for v in samples_for(item)] + [[*samples_for(item)[:2]]]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        values = [member.value for member in annotation]
        return values + [v.upper() for v in values] + ["nope", ""]
    return SAMPLES[annotation]


def outcome(runtime_param, value, param, ctx):
    try:
        converted = runtime_param.coerce(value, param=param, ctx=ctx)
    except typer.BadParameter:
        return "refused", None, None
    return "ok", repr(converted), type(converted)  # repr: nan equals nan


def test_every_plain_parameter_converts_as_typer_does():
    from typer._coercion import build_runtime_param

    command = typer.main.get_command(app)
    compared = 0
    for param in _parameters(command):
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or not _is_plain(descriptor):
            continue
        ctx = command.context_class(command)
        typers = build_runtime_param(descriptor)
        param._runtime_param = None
        convert_plainly_one(param)
        ours = param._runtime_param
        for value in samples_for(descriptor.annotation):
            expected, found = outcome(typers, value, param, ctx), outcome(ours, value, param, ctx)
            assert found == expected, (param.name, value)
            compared += 1
    assert compared > 300  # every parameter: dozens of them, several values each


def convert_plainly_one(param):
    """convert_plainly on a command holding only `param`."""

    class Holder:
        context_settings: dict = {}
        params = [param]

        def context_class(self, command, parent=None, **settings):
            return typer.Context(typer.main.get_command(app))

        def get_params(self, ctx):
            return self.params

    assert convert_plainly(Holder()) == 1


def test_a_malformed_number_is_exit_2_naming_the_option(tmp_path):
    done = run_nnctl("compare-optimizers", "iris-softmax", "--jobs", "two", cwd=tmp_path)
    assert done.returncode == 2
    assert "Invalid value for '--jobs' / '-j': expected an integer, found 'two'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["train", "iris-softmax", "-q", "--out", "RUN"],
        ["eval", "RUN", "--split", "val"],
        ["config", "show", "iris-softmax", "optimizer.lr=0.5"],
    ],
)
def test_commands_run_without_importing_pydantic(tmp_path, args):
    probe = (
        "import sys\nfrom nnctl.cli.app import run\nsys.argv = ['nnctl', *sys.argv[1:]]\n"
        "try:\n    run()\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
        "print('pydantic' in sys.modules, code, file=sys.stderr)\n"
    )
    run_dir = tmp_path / "run"
    if args[0] == "eval":
        trained = run_nnctl("train", "iris-softmax", "-q", "--out", run_dir)
        assert trained.returncode == 0, trained.stderr
    words = [str(run_dir) if a == "RUN" else a for a in args]
    done = subprocess.run(
        [sys.executable, "-c", probe, *words],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.stderr.strip().splitlines()[-1] in ("False 0", "False None"), done.stderr


def test_paths_are_converted_by_typers_own_rules(tmp_path):
    """Path parameters go through Typer's own path checks: the result is a Path."""
    command = typer.main.get_command(app)
    convert_plainly(command)
    ctx = command.context_class(command)
    (out,) = [p for p in _parameters(command.commands["train"]) if p.name == "out"]
    assert out.get_runtime_param().coerce(str(tmp_path), param=out, ctx=ctx) == Path(tmp_path)
