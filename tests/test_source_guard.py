"""A memory-mapped data file (.npy, a shard) that changes during a run is detected before the
next block is read: exit 2 naming the file and what changed, instead of SIGBUS (exit 135, no
message) for a truncated file or other numbers silently mixed into the run for a rewritten one.
The change is made at an exact step by tests/change_data_launch.py (a callback through nnctl's
public door); no timing is involved."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_clean_error
from nnctl.data import source_guard
from nnctl.errors import UsageError

LAUNCH = Path(__file__).resolve().parent / "change_data_launch.py"
CONFIG = """\
seed: 0
data: {path: X.npy, labels_path: y.npy}
model: {kind: logreg}
optimizer: {name: sgd, lr: 0.1}
train: {epochs: 4, batch_size: 8}
"""


def write_data(folder: Path, n: int = 400) -> Path:
    X = np.random.default_rng(0).normal(size=(n, 6))
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", (X[:, 0] > 0).astype(np.float64))
    (folder / "cfg.yaml").write_text(CONFIG)
    return folder / "X.npy"


def train_changing(folder: Path, how: str, step: int, path: Path):
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("NNCTL_DEBUG", None)
    return subprocess.run(
        [sys.executable, str(LAUNCH), how, str(step), str(path), "--"]
        + ["train", "cfg.yaml", "--out", "run", "-q"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("how", "change"),
    [
        ("truncate", "its size went from "),
        ("rewrite", "it was rewritten (modified at "),
        ("replace", "it was replaced by another file"),
    ],
)
def test_a_data_file_changed_during_training_stops_the_run_with_its_name(tmp_path, how, change):
    data = write_data(tmp_path)
    proc = train_changing(tmp_path, how, 5, data)
    assert proc.returncode != -7 and proc.returncode != 135, "killed by SIGBUS"
    assert_clean_error(
        proc, 2, f"{data}: the memory-mapped data file changed during the run: {change}"
    )


def test_an_unchanged_file_trains_to_the_end(tmp_path):
    data = write_data(tmp_path)
    proc = train_changing(tmp_path, "none", 5, data)  # "none": the callback changes nothing
    assert proc.returncode == 0, proc.stderr


def test_check_unchanged_names_each_kind_of_change(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros((10, 2)))
    source_guard.watch(path)
    source_guard.check_unchanged(path)  # as it was: nothing
    os.truncate(path, 100)
    with pytest.raises(UsageError, match=r"a.npy: .* its size went from 288 to 100 bytes"):
        source_guard.check_unchanged(path)
    source_guard.watch(path)
    path.unlink()
    with pytest.raises(UsageError, match="it was removed or renamed"):
        source_guard.check_unchanged(path)
    source_guard.check_unchanged(tmp_path / "never-watched.npy")  # not watched: nothing


def test_a_shard_truncated_during_training_is_named(tmp_path):
    X = np.random.default_rng(1).normal(size=(400, 5))
    shards = tmp_path / "shards"
    shards.mkdir()
    for i, part in enumerate((slice(0, 200), slice(200, 400))):
        np.save(shards / f"X-{i:05d}.npy", X[part])
        np.save(shards / f"y-{i:05d}.npy", (X[part, 0] > 0).astype(np.float64))
    (tmp_path / "cfg.yaml").write_text(
        CONFIG.replace("{path: X.npy, labels_path: y.npy}", "{path: shards}")
    )
    proc = train_changing(tmp_path, "truncate", 3, shards / "X-00001.npy")
    assert_clean_error(
        proc,
        2,
        f"{shards / 'X-00001.npy'}: the memory-mapped data file changed during the run: "
        "its size went from ",
    )


def test_an_npy_whose_header_does_not_tokenize_is_named(tmp_path):
    """Found by the long adversarial mode: an .npy header with an unclosed bracket made NumPy's
    tokenizer raise TokenError, which escaped as a traceback."""
    from nnctl.data.ondisk import open_npy

    np.save(tmp_path / "y.npy", np.zeros(40))
    blob = bytearray((tmp_path / "y.npy").read_bytes())
    blob[blob.index(b")")] = ord("(")  # 'shape': (40,( : the header never closes
    (tmp_path / "y.npy").write_bytes(bytes(blob))
    with pytest.raises(UsageError, match=r"y.npy: not a readable .npy file of targets \(damaged"):
        open_npy(tmp_path / "y.npy", "targets")


@pytest.mark.parametrize("optimizer", ["gd", "lbfgs"])
def test_full_batch_passes_notice_a_truncated_file(tmp_path, optimizer):
    data = write_data(tmp_path)
    (tmp_path / "cfg.yaml").write_text(
        CONFIG.replace("{name: sgd, lr: 0.1}", f"{{name: {optimizer}}}")
    )
    proc = train_changing(tmp_path, "truncate", 1, data)
    assert_clean_error(
        proc, 2, f"{data}: the memory-mapped data file changed during the run: its size went"
    )
