"""Durable writes (issue 6, part 4): a kill -9 in the middle of a checkpoint write leaves the
previous checkpoint intact under its name and `--resume` continues from it; temporary files of
cut writes are ignored and cleaned; a run folder is never overwritten silently.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import zipfile

import numpy as np
import pytest

from conftest import assert_clean_error, fault_command, run_nnctl
from nnctl.errors import UsageError

CONFIG = """
seed: 3
data: {name: iris, val_fraction: 0.2}
model: {kind: softmax}
optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
train: {epochs: 40, batch_size: 16}
"""


def load(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return arrays, json.loads(str(arrays.pop("meta")))


def test_kill_9_during_a_checkpoint_write_then_resume(tmp_path):
    (tmp_path / "c.yaml").write_text(CONFIG)
    assert run_nnctl("train", "c.yaml", "--out", "full", "-q", cwd=tmp_path).returncode == 0

    # Checkpoint writes of a run: 1 the starting point, 2-3 last.npz and best.npz after epoch 1,
    # 4 the next last.npz. tests/fault_launch.py stalls write 4 half-way.
    run = tmp_path / "run"
    command = fault_command("stall-checkpoint-writes", 4, "train", "c.yaml", "--out", run, "-q")
    proc = subprocess.Popen(
        command,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    stalled = []
    while not stalled:  # a temp file that outlives 0.3 s is the stalled write (others take ms)
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        seen = set((run / "checkpoints").glob(".last.npz.*.tmp"))
        time.sleep(0.3)
        stalled = [p for p in seen if p.exists() and p.stat().st_size > 0]
    proc.kill()  # SIGKILL: no handler, no cleanup
    proc.communicate(timeout=60)
    assert proc.returncode == -9

    # The cut write left a torn temporary file, never a torn checkpoint.
    torn = stalled[0]
    with pytest.raises((zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError)):
        np.load(torn, allow_pickle=False)["meta"]
    arrays, meta = load(run / "checkpoints" / "last.npz")
    assert meta["epoch"] == 1 and all(np.all(np.isfinite(v)) for v in arrays.values())
    load(run / "checkpoints" / "best.npz")
    rows = (run / "metrics.jsonl").read_text().splitlines()
    assert len(rows) >= 1 and all(json.loads(row) for row in rows)
    # A crash mid-append would leave a partial last line: resume must drop it too.
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write('{"epoch": 99, "train_lo')

    proc = run_nnctl("train", "--resume", run, "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not list((run / "checkpoints").glob("*.tmp")) and not torn.exists()

    # ...and the resumed run is the uninterrupted one, bit for bit.
    full_arrays, full_meta = load(tmp_path / "full" / "checkpoints" / "last.npz")
    arrays, meta = load(run / "checkpoints" / "last.npz")
    assert sorted(arrays) == sorted(full_arrays)
    assert all(np.array_equal(arrays[k], full_arrays[k]) for k in arrays)
    assert meta["rng"] == full_meta["rng"] and meta["epoch"] == 40

    def numbers(folder):
        rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in rows]

    assert numbers(run) == numbers(tmp_path / "full")
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


def test_atomic_write_failing_half_way_keeps_the_old_file(tmp_path):
    from nnctl.util.atomic import atomic_open, write_text

    target = tmp_path / "summary.json"
    write_text(target, "old\n")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as handle:
            handle.write("new, but not fin")
            raise RuntimeError("crash")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]  # the temp file is gone


def test_checkpoint_save_is_atomic(tmp_path, monkeypatch):
    from nnctl.runs import checkpoint

    path = tmp_path / "last.npz"
    checkpoint.save(
        path,
        {"w": np.arange(3.0)},
        {"config": {}, "n_features": 1, "n_outputs": 1, "task": "regression", "dtype": "float64"},
    )

    def broken_savez(handle, **arrays):
        handle.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.np, "savez", broken_savez)
    # The OS error becomes the CLI's exit-2 error, naming the file and what the OS said.
    with pytest.raises(UsageError, match=r"last\.npz: cannot write \(disk full\)"):
        checkpoint.save(path, {"w": np.zeros(3)}, {})
    arrays, meta = checkpoint.load(path)
    assert np.array_equal(arrays["w"], np.arange(3.0)) and meta["task"] == "regression"
    assert [p.name for p in tmp_path.iterdir()] == ["last.npz"]


def test_a_run_folder_is_never_overwritten_silently(tmp_path):
    (tmp_path / "c.yaml").write_text(CONFIG.replace("epochs: 40", "epochs: 1"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    proc = run_nnctl("train", "c.yaml", "--out", out, "-q", cwd=tmp_path)
    assert_clean_error(proc, 2, str(out), "exists and is not empty", "--force")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    # --out pointing at a file is refused too
    proc = run_nnctl("train", "c.yaml", "--out", out / "notes.txt", "-q", cwd=tmp_path)
    assert_clean_error(proc, 2, "notes.txt", "not a folder")
    assert (out / "notes.txt").read_text() == "mine"
    # --force replaces only a folder nnctl wrote: one holding the user's notes is refused
    proc = run_nnctl("train", "c.yaml", "--out", out, "--force", "-q", cwd=tmp_path)
    assert_clean_error(proc, 2, str(out), "notes.txt", "nnctl wrote")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
