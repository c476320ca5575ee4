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


# -- the sections on other tools: TensorBoard, ONNX ---------------------------------------------


def section_blocks(title: str) -> list[tuple[str, str]]:
    """(language, code) of every bash and python block of the README section `title`, in the
    order they appear."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    section = text[start : text.index("\n## ", start + 1)]
    return re.findall(r"```(bash|python)\n(.*?)```", section, flags=re.S)


def run_section(title: str, modules: tuple[str, ...], folder: Path, env: dict) -> list[str]:
    """Every block of the section in turn in `folder` (bash as the tour's, python as a script);
    their stdout. Skipped when the section's extras (the dev extra has them) are missing."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the section needs {', '.join(missing)} (pip install -e '.[dev]')")
    folder.mkdir()
    outputs = []
    for language, block in section_blocks(title):
        command = (
            ["bash", "-euo", "pipefail", "-c", block]
            if language == "bash"
            else [sys.executable, "-c", block]
        )
        proc = subprocess.run(
            command, cwd=folder, env=env, capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0, (block, proc.stdout[-2000:], proc.stderr[-2000:])
        outputs.append(proc.stdout)
    return outputs


def test_the_tool_sections_have_blocks():
    tensorboard = section_blocks("Watch training in TensorBoard")
    onnx = section_blocks("Use a trained model outside nnctl")
    assert [language for language, _ in tensorboard] == ["bash"]
    assert [language for language, _ in onnx] == ["bash", "python"]
    assert "--tensorboard" in tensorboard[0][1] and "nnctl export" in onnx[0][1]
    assert len(onnx[1][1].strip().splitlines()) <= 9  # a short example, as promised


@pytest.mark.slow
def test_the_tensorboard_section_runs_in_an_empty_folder(tmp_path, shell_env):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = tmp_path / "empty"
    run_section("Watch training in TensorBoard", ("tensorboardX", "tensorboard"), folder, shell_env)
    runs = [folder / "runs" / "iris-tb", *sorted((folder / "runs" / "tb-compare").glob("*/"))]
    assert [run.name for run in runs[1:]] == ["adam", "lbfgs", "sgd"]
    for run in runs:
        log = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0})
        log.Reload()
        epochs = (run / "metrics.jsonl").read_text().count("\n")
        assert [s.step for s in log.Scalars("loss/train")] == list(range(1, epochs + 1))


@pytest.mark.slow
def test_the_export_section_runs_in_an_empty_folder_and_gives_predicts_labels(tmp_path, shell_env):
    folder = tmp_path / "empty"
    outputs = run_section(
        "Use a trained model outside nnctl", ("onnx", "onnxruntime", "pandas"), folder, shell_env
    )
    bash = outputs[0].splitlines()
    assert str(Path("runs/iris/model.onnx")) in bash and "iris-weights.json" in bash
    predicted = bash[bash.index("iris-weights.json") + 2 :]  # after predict's header line
    labels = [line.split(",")[0] for line in predicted]
    assert len(labels) == 2
    assert outputs[1].startswith(f"[{' '.join(repr(label) for label in labels)}]")
