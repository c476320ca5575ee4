"""The README's tour runs as written: every shell block, in order, in an empty folder, with
`nnctl` the command on PATH (no clone paths: the examples come from the package)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

EXTRAS = {"nnctl plot": "matplotlib"}  # commands that need an optional extra -> its module


def tour_blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("## Tour")
    tour = text[start : text.index("\n## ", start)]  # up to the next section
    return re.findall(r"```bash\n(.*?)```", tour, flags=re.S)


def runnable(block: str) -> str:
    """The block, minus lines that need an extra that is not installed (said in the output)."""
    lines = []
    for line in block.splitlines():
        missing = [
            mod
            for cmd, mod in EXTRAS.items()
            if line.startswith(cmd) and importlib.util.find_spec(mod) is None
        ]
        lines.append(f"echo 'skipped (needs {missing[0]})'" if missing else line)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def shell_env(tmp_path_factory):
    """PATH with an `nnctl` that is this interpreter's nnctl, and no colour."""
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "nnctl"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nnctl "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1"}
    env.pop("NNCTL_DEBUG", None)
    return env


def test_the_tour_has_blocks():
    blocks = tour_blocks()
    assert len(blocks) >= 6 and all("nnctl" in b for b in blocks)


@pytest.mark.slow
def test_every_tour_block_runs_in_an_empty_folder(tmp_path, shell_env):
    folder = tmp_path / "empty"
    folder.mkdir()
    for block in tour_blocks():
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", runnable(block)],
            cwd=folder,
            env=shell_env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, (block, proc.stdout[-2000:], proc.stderr[-2000:])
    # what the blocks promise is there
    assert (folder / "examples" / "iris-softmax.yaml").is_file()
    runs = {p.name for p in (folder / "runs").iterdir()}
    assert {
        "iris-fast",
        "digits-compare",
        "softmax-adam-lr0.001",
        "softmax-adam-lr0.01",
        "softmax-adam-lr0.1",
    } <= runs
    assert (folder / "predictions.csv").read_text().count("\n") == 3
    assert Path(folder / "comparison.json").stat().st_size > 0


def python_blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("## From Python")
    section = text[start : text.index("\n## ", start + 1)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_python_section_has_blocks():
    blocks = python_blocks()
    assert len(blocks) >= 3 and all("nnctl" in b or "run." in b for b in blocks)


@pytest.mark.slow
def test_the_python_blocks_run_in_order_in_an_empty_folder(tmp_path, shell_env):
    """One interpreter runs every block of "From Python" in turn, as a notebook would; the
    estimator block needs scikit-learn and the DataFrame block pandas (both in the dev extra)."""
    folder = tmp_path / "empty"
    folder.mkdir()
    script = "\n".join(
        f"print('--- block {i}', flush=True)\n{block}" for i, block in enumerate(python_blocks())
    )
    (folder / "readme_blocks.py").write_text(script, encoding="utf-8")
    env = {**shell_env, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, "readme_blocks.py"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    assert proc.stdout.count("--- block") == len(python_blocks())
