"""Writes the OS refuses and a closed or failing stdout (issue 11, classes 1 and 2), run as real
processes: exit 2, one line naming the path and what the OS said, no traceback, and no torn or
temporary file left behind.

Full-disk and read-only cases use a tiny tmpfs (`mount -t tmpfs`), which needs root or
CAP_SYS_ADMIN; where mounting is refused they are skipped with that reason. Permission bits are
no substitute: root ignores them, so a read-only mount is used instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_clean_error, run_nnctl

TINY = """
seed: 0
data: {name: iris, val_fraction: 0.2}
model: {kind: softmax}
optimizer: {name: sgd, lr: 0.1}
train: {epochs: 2, batch_size: 32}
"""


def _mount_tmpfs(folder: Path, options: str) -> None:
    folder.mkdir(exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({proc.stderr.strip() or 'mount failed'}); "
            "the full-disk and read-only cases need one"
        )


@pytest.fixture
def tmpfs(tmp_path):
    """mount(options) -> a folder on a fresh tmpfs; every mount is undone in teardown."""
    mounted = []

    def mount(name: str, options: str) -> Path:
        folder = tmp_path / name
        _mount_tmpfs(folder, options)
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished run and a CSV of new rows to evaluate and predict with."""
    from nnctl.data.builtin import bundled_path

    folder = tmp_path_factory.mktemp("trained")
    (folder / "tiny.yaml").write_text(TINY)
    proc = run_nnctl("train", "tiny.yaml", "--out", "run", "-q", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    iris = bundled_path("iris.csv").read_text()
    (folder / "iris.csv").write_text(iris)
    return folder


def _one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def _no_torn_files(run: Path) -> None:
    """Every file the run left is whole: JSON parses, checkpoints load; no temporary files."""
    assert not list(run.rglob("*.tmp")), sorted(run.rglob("*"))
    for path in run.rglob("*.json"):
        json.loads(path.read_text())
    for path in run.rglob("*.npz"):
        with np.load(path, allow_pickle=False) as archive:  # a checkpoint, or the split record
            assert "meta" in archive.files or path.name == "split.npz", (path, archive.files)


# ------------------------------------------------------------------------------------------------
# Full disk, read-only folders, --out under a file


@pytest.mark.parametrize("size_kib", [4, 24])  # full before the first checkpoint; mid-run
def test_a_full_disk_is_exit_2_naming_the_file_and_leaves_nothing_torn(tmpfs, config, size_kib):
    disk = tmpfs("disk", f"size={size_kib}k")
    proc = run_nnctl("train", config, "--out", disk / "run", "-q", cwd=config.parent)
    assert_clean_error(proc, 2, str(disk / "run"), "cannot write", "No space left on device")
    _one_line(proc)
    _no_torn_files(disk / "run")


def test_a_read_only_out_folder_is_exit_2(tmpfs, config):
    readonly = tmpfs("ro", "size=64k,ro")
    proc = run_nnctl("train", config, "--out", readonly / "run", "-q", cwd=config.parent)
    assert_clean_error(proc, 2, str(readonly / "run"), "cannot write", "Read-only file system")
    _one_line(proc)


def test_a_read_only_working_folder_for_the_default_runs_is_exit_2(tmpfs, config):
    readonly = tmpfs("ro", "size=64k,ro")
    proc = run_nnctl("train", config, "-q", cwd=readonly)
    assert_clean_error(proc, 2, "runs/tiny", "cannot write", "Read-only file system")
    _one_line(proc)


def test_a_folder_that_turns_read_only_mid_run_is_exit_2(tmpfs, config):
    """Remounted read-only after the run folder exists: the next write fails by name."""
    disk = tmpfs("disk", "size=256k")
    proc = run_nnctl("train", config, "--out", disk / "run", "-q", cwd=config.parent)
    assert proc.returncode == 0, proc.stderr
    remount = subprocess.run(
        ["mount", "-o", "remount,ro", str(disk)], capture_output=True, text=True
    )
    if remount.returncode != 0:
        pytest.skip(f"cannot remount read-only: {remount.stderr.strip()}")
    proc = run_nnctl("train", config, "--out", disk / "run", "--force", "-q", cwd=config.parent)
    assert_clean_error(proc, 2, "run", "Read-only file system")
    _one_line(proc)
    _no_torn_files(disk / "run")


def test_out_under_a_regular_file_is_exit_2(tmp_path, config):
    (tmp_path / "file.txt").write_text("not a folder\n")
    proc = run_nnctl("train", config, "--out", tmp_path / "file.txt" / "run", "-q", cwd=tmp_path)
    assert_clean_error(proc, 2, "file.txt/run", "cannot write", "Not a directory")
    _one_line(proc)


# ------------------------------------------------------------------------------------------------
# stdout closed (>&-) or failing (/dev/full): the result could not be written, so not a success


def _shell(command: str, cwd: Path):
    """`python -m nnctl ...` through a shell, so `>&-` and `> /dev/full` are real redirections."""
    full = f"{sys.executable} -m nnctl {command}"
    return subprocess.run(
        ["sh", "-c", full],
        cwd=cwd,
        capture_output=False,
        text=True,
        stderr=subprocess.PIPE,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.mark.parametrize(
    "command",
    [
        "train tiny.yaml --out again -q --json",
        "eval run --json",
        "predict run iris.csv",
        "config show tiny.yaml",
    ],
)
def test_a_closed_stdout_is_exit_2_with_one_line(trained, command):
    proc = _shell(f"{command} >&-", trained)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    assert "stdout is closed" in _one_line(proc)


@pytest.mark.parametrize(
    "command",
    [
        "train tiny.yaml --out again_full -q --json",
        "eval run --json",
        "predict run iris.csv",
        "predict run iris.csv --proba",
    ],
)
def test_stdout_on_a_full_device_is_exit_2_with_one_line(trained, command):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    proc = _shell(f"{command} > /dev/full", trained)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    line = _one_line(proc)
    assert "cannot write the result to stdout" in line and "No space left on device" in line


def test_the_run_itself_is_kept_when_only_stdout_failed(trained):
    """train --json >&-: the training is done and its folder complete; only the summary on
    stdout is missing, which the exit code and the message say."""
    proc = _shell("train tiny.yaml --out kept -q --json >&-", trained)
    assert proc.returncode == 2, proc.stderr
    _no_torn_files(trained / "kept")
    assert json.loads((trained / "kept" / "summary.json").read_text())["status"] == "completed"


def test_a_reader_that_goes_away_is_still_a_quiet_exit_0(trained):
    proc = subprocess.run(
        [
            "bash",
            "-c",
            f"set -o pipefail; {sys.executable} -m nnctl predict run iris.csv | head -1",
        ],
        cwd=trained,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout == "prediction\n"


def test_a_closed_stderr_keeps_stdout_clean_and_the_exit_code_right(trained):
    """2>&-: progress and errors must not fall through to stdout (print(file=None) would write
    there) nor crash on a None stderr (that was exit 1)."""
    proc = subprocess.run(
        ["sh", "-c", f"{sys.executable} -m nnctl train tiny.yaml --out quiet_err --json 2>&-"],
        cwd=trained,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["status"] == "completed"  # the one JSON document, nothing else
    proc = subprocess.run(
        ["sh", "-c", f"{sys.executable} -m nnctl train nope.yaml 2>&-"],
        cwd=trained,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and proc.stdout == ""
