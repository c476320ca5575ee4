"""Shell completion (bash through COMP_WORDS and the completion function, in a subprocess; zsh and
fish through their completion requests), -h, and help text a user can act on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import run_nnctl

COMMANDS = [
    ["train"],
    ["eval"],
    ["predict"],
    ["gradcheck"],
    ["datasets"],
    ["compare-optimizers"],
    ["sweep"],
    ["plot"],
    ["config", "show"],
    ["config", "validate"],
    ["config", "schema"],
    ["config", "reference"],
    ["config"],
    ["examples"],
    ["examples", "copy"],
]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """PATH with an `nnctl` that runs this interpreter's nnctl (what an install puts there)."""
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "nnctl"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nnctl "$@"\n')
    shim.chmod(0o755)
    out = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    out["_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION"] = "1"  # --show-completion SHELL
    return out


def script(env, shell: str) -> str:
    proc = subprocess.run(
        ["nnctl", "--show-completion", shell], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completes_commands_and_setting_keys(env):
    words = {
        "tr": ("(nnctl tr)", 1),
        "keys": ("(nnctl train x.yaml -s optim)", 4),
        "positional": ("(nnctl train x.yaml optimizer.l)", 3),
    }
    lines = [script(env, "bash")]
    for name, (array, cword) in words.items():
        lines += [
            f"COMP_WORDS={array}; COMP_CWORD={cword}; _nnctl_completion nnctl",
            f'printf "{name}:%s\\n" "${{COMPREPLY[@]}}"',
        ]
    proc = subprocess.run(
        ["bash", "-c", "\n".join(lines)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    got: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        name, _, value = line.partition(":")
        got.setdefault(name, []).append(value)
    assert got["tr"] == ["train"]
    assert "optimizer.lr=" in got["keys"] and "optimizer.name=" in got["keys"]
    assert all(v.startswith("optimizer") for v in got["keys"])
    assert got["positional"] == ["optimizer.lr=", "optimizer.lr_decay="]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_and_their_completions(env, shell):
    assert "nnctl" in script(env, shell)
    extra = {"_TYPER_COMPLETE_FISH_ACTION": "get-args"} if shell == "fish" else {}

    def complete(line):
        proc = subprocess.run(
            ["nnctl"],
            env={
                **env,
                "_NNCTL_COMPLETE": f"complete_{shell}",
                "_TYPER_COMPLETE_ARGS": line,
                **extra,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "train" in complete("nnctl tr") and "eval" not in complete("nnctl tr")
    assert "optimizer.lr=" in complete("nnctl train x.yaml -s optim")
    assert "optimizer.name=adam" in complete("nnctl train x.yaml -s optimizer.name=ad")


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_fits_80_columns_has_an_example_and_no_raw_placeholders(command):
    proc = run_nnctl(*command, "-h", env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "Example: nnctl" in text
    assert not re.search(r"<(path|str|int|float|list\[\w+\])>|\{[A-Za-z]+\}", text), text


def test_top_level_help_lists_every_command_uncut():
    proc = run_nnctl("-h", env={"COLUMNS": "80"})
    assert proc.returncode == 0 and "--install-completion" in proc.stdout
    commands = proc.stdout[proc.stdout.index("Commands:") :]
    assert "..." not in commands  # short descriptions are whole sentences
