"""`nnctl COMMAND --help` is printed by nnctl.cli.fast_help without Typer's parsing (which, in
Typer 0.29, imports pydantic first). These tests show the text is Typer's own, word for word, for
every command, that the fast path loads no pydantic, and that anything but `NAMES... --help` goes
to Typer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer

from conftest import run_nnctl
from nnctl.cli.app import app
from nnctl.cli.fast_help import answer_help

PROBE = r"""
import io, json, sys
from contextlib import redirect_stdout
import typer
import nnctl.cli.app
from nnctl.cli.fast_help import answer_help

root = typer.main.get_command(nnctl.cli.app.app)

def command_paths(command, path):
    yield path
    for name in sorted(getattr(command, "commands", {})):
        yield from command_paths(command.commands[name], [*path, name])

paths = [p for p in command_paths(root, []) if p]
fast, answered = {}, {}
for path in paths:
    for flag in ("--help", "-h"):
        out = io.StringIO()
        with redirect_stdout(out):
            answered[" ".join([*path, flag])] = answer_help(root, [*path, flag], "nnctl")
        fast[" ".join([*path, flag])] = out.getvalue()
pydantic_after_fast = sorted(m for m in sys.modules if m.split(".")[0] == "pydantic")
typer_text = {}
for words in fast:
    out = io.StringIO()
    with redirect_stdout(out):
        try:
            root.main(args=words.split(), prog_name="nnctl", standalone_mode=False)
        except SystemExit:
            pass
    typer_text[words] = out.getvalue()
json.dump({"fast": fast, "answered": answered, "typer": typer_text,
           "pydantic_after_fast": pydantic_after_fast}, sys.stdout)
"""


@pytest.fixture(scope="module")
def probe():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_command_help_is_typers_text_word_for_word(probe):
    assert len(probe["fast"]) >= 30  # every sub-command (15+) with both flags
    assert all(probe["answered"].values())
    for words, text in probe["fast"].items():
        assert text.startswith(f"Usage: nnctl {words.rsplit(' ', 1)[0]}"), words
        assert text == probe["typer"][words], words


def test_the_fast_path_loads_no_pydantic(probe):
    assert probe["pydantic_after_fast"] == []


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],  # the top-level help: Typer's own path is fast
        ["train"],
        ["train", "iris-softmax", "--help"],  # help after other words: Typer decides
        ["train", "--help", "--json"],
        ["no-such-command", "--help"],
        ["config", "no-such", "--help"],
        ["train", "--helpme"],
    ],
)
def test_anything_else_is_left_to_typer(args, capsys):
    assert answer_help(typer.main.get_command(app), args, "nnctl") is False
    assert capsys.readouterr().out == ""


def test_the_entry_point_answers_help_and_still_runs_commands(tmp_path):
    helped = run_nnctl("config", "show", "-h")
    assert helped.returncode == 0 and helped.stdout.startswith("Usage: nnctl config show")
    shown = run_nnctl("config", "show", "iris-softmax", "optimizer.lr=0.25", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "lr: 0.25" in shown.stdout
