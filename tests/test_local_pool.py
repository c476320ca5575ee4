"""The local executor's worker pool: started when the executor is made (so the workers' start-up
overlaps the parent's planning), shared by every run() until close(), and gone after close();
and the parent's background matplotlib import, which a plot then waits for."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnctl.compare.executors.local import LocalExecutor
from nnctl.compare.plan import compare_plan

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def worker_pids() -> set[int]:
    return {child.pid for child in multiprocessing.active_children()}


def test_workers_start_with_the_executor_and_stop_at_close():
    before = worker_pids()
    executor = LocalExecutor(2)
    started = worker_pids() - before
    assert len(started) == 2  # spawned at construction, before any run
    executor.close()
    executor.close()  # idempotent: the comparison and the command may both close it
    assert not (worker_pids() & started)


def test_one_executor_runs_several_batches_in_the_same_workers_and_matches_jobs_1(tmp_path):
    plan = compare_plan(CONFIGS / "iris-softmax.yaml", ["sgd", "adam", "rmsprop", "adagrad"], [])
    tasks = [t for t in plan.tasks if t.cfg is not None]
    pids, results = set(), {}

    def done(task, result):
        results[(task.folder, kind)] = result["summary"]["final"]

    executor = LocalExecutor(2)
    try:
        kind = "first"
        executor.run(tasks[:2], tmp_path / "a", done)
        pids_after_first = worker_pids()
        kind = "second"
        executor.run(tasks[2:], tmp_path / "b", done)
        pids = worker_pids()
    finally:
        executor.close()
    assert pids_after_first == pids and len(pids) >= 2  # no new workers for the second batch
    alone = {}
    LocalExecutor(1).run(
        tasks, tmp_path / "c", lambda task, r: alone.__setitem__(task.folder, r["summary"]["final"])
    )
    assert {folder: final for (folder, _), final in results.items()} == alone


def test_a_run_after_close_starts_new_workers(tmp_path):
    plan = compare_plan(CONFIGS / "iris-softmax.yaml", ["sgd", "adam"], [])
    tasks = [t for t in plan.tasks if t.cfg is not None]
    executor = LocalExecutor(2)
    executor.close()
    finished = []
    executor.run(tasks, tmp_path, lambda task, result: finished.append(result["status"]))
    executor.close()
    assert finished == ["completed", "completed"]


@pytest.mark.skipif(
    __import__("importlib").util.find_spec("matplotlib") is None, reason="needs matplotlib"
)
def test_a_parallel_comparison_imports_matplotlib_while_it_waits(tmp_path):
    """The plot of a --jobs 2 comparison is drawn from the background import (the probe sees
    the thread run), and the figure is the same as with --jobs 1."""
    probe = r"""
import sys, threading
import nnctl.report.plots as plots
started = []
original = plots.import_in_background
def spy():
    original()
    started.append(plots._background_import.name)
plots.import_in_background = spy
from nnctl.cli import run
sys.argv = ["nnctl", *sys.argv[1:]]
try:
    run()
finally:
    print("background:", started, file=sys.stderr)
"""
    args = [str(CONFIGS / "iris-softmax.yaml"), "-o", "sgd", "-o", "adam", "-q"]
    outs = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        done = subprocess.run(
            [sys.executable, "-c", probe, "compare-optimizers", *args, "-j", str(jobs)]
            + ["--out", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={**os.environ, "MPLBACKEND": "Agg"},
        )
        assert done.returncode == 0, done.stderr
        outs[jobs] = (done.stderr, out)
    assert "background: []" in outs[1][0]
    assert "background: ['import-matplotlib']" in outs[2][0]
    for jobs in (1, 2):
        assert (outs[jobs][1] / "curves.png").stat().st_size > 10_000
    strip = lambda p: [  # noqa: E731
        {k: v for k, v in r.items() if "wall" not in k and k != "out"}
        for r in json.loads((p / "comparison.json").read_text())["runs"]
    ]
    assert strip(outs[1][1]) == strip(outs[2][1])
