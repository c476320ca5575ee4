"""The local executor with --jobs N: this process trains runs itself beside N - 1 worker
processes, which start when the executor is made (so their start-up overlaps the parent's
planning), serve every run() until close(), and are gone after close(); and the parent's
background matplotlib import, which a plot then waits for."""

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
    try:
        started = worker_pids() - before
        assert len(started) == 1  # jobs - 1, spawned at construction, before any run
    finally:
        executor.close()
        executor.close()  # idempotent: the comparison and the command may both close it
    assert not (worker_pids() & started)


def test_a_large_jobs_on_a_small_plan_starts_a_few_workers_not_jobs_minus_one(tmp_path):
    plan = compare_plan(CONFIGS / "iris-softmax.yaml", ["sgd", "adam", "rmsprop"], [])
    tasks = [t for t in plan.tasks if t.cfg is not None]
    eager = max(1, (os.cpu_count() or 2) - 1)
    before = worker_pids()
    executor = LocalExecutor(64)
    try:
        assert len(worker_pids() - before) == min(63, eager)
        finished = []
        executor.run(tasks, tmp_path, lambda task, result: finished.append(result["status"]))
        started = worker_pids() - before
    finally:
        executor.close()
    assert finished == ["completed"] * 3
    # at most one per run handed to a worker beside the eager ones, however large --jobs is
    assert len(started) <= eager + len(tasks) < 63


def test_one_executor_runs_several_batches_in_the_same_workers_and_matches_jobs_1(tmp_path):
    plan = compare_plan(CONFIGS / "iris-softmax.yaml", ["sgd", "adam", "rmsprop", "adagrad"], [])
    tasks = [t for t in plan.tasks if t.cfg is not None]
    pids, results = set(), {}

    def done(task, result):
        results[(task.folder, kind)] = result["summary"]["final"]

    executor = LocalExecutor(3)
    try:
        kind = "first"
        executor.run(tasks[:2], tmp_path / "a", done)
        pids_after_first = worker_pids()
        kind = "second"
        executor.run(tasks[2:], tmp_path / "b", done)
        pids = worker_pids()
    finally:
        executor.close()
    assert pids_after_first == pids and len(pids) == 2  # no new workers for the second batch
    alone = {}
    LocalExecutor(1).run(
        tasks, tmp_path / "c", lambda task, r: alone.__setitem__(task.folder, r["summary"]["final"])
    )
    assert {folder: final for (folder, _), final in results.items()} == alone


def test_this_process_trains_a_share_of_the_runs_itself(tmp_path, monkeypatch):
    import nnctl.training as train_package

    plan = compare_plan(CONFIGS / "iris-softmax.yaml", ["sgd", "adam", "rmsprop", "adagrad"], [])
    tasks = [t for t in plan.tasks if t.cfg is not None]
    here, original = [], train_package.train

    def counted(cfg, run_dir, *args, **kwargs):  # patched here only: workers have their own
        here.append(run_dir.name)
        return original(cfg, run_dir, *args, **kwargs)

    monkeypatch.setattr(train_package, "train", counted)
    reported = []
    executor = LocalExecutor(2)
    try:
        executor.run(tasks, tmp_path, lambda task, result: reported.append(task.folder))
    finally:
        executor.close()
    assert sorted(reported) == sorted(t.folder for t in tasks)  # each reported exactly once
    assert 1 <= len(here) < len(tasks), here  # a share here, the rest in the worker


def test_a_run_after_close_starts_new_workers(tmp_path):
    plan = compare_plan(CONFIGS / "iris-softmax.yaml", ["sgd", "adam"], [])
    tasks = [t for t in plan.tasks if t.cfg is not None]
    executor = LocalExecutor(2)
    executor.close()
    finished = []
    executor.run(tasks, tmp_path, lambda task, result: finished.append(result["status"]))
    executor.close()
    assert finished == ["completed", "completed"]


needs_matplotlib = pytest.mark.skipif(
    __import__("importlib").util.find_spec("matplotlib") is None, reason="needs matplotlib"
)


@needs_matplotlib
def test_a_plot_after_a_background_import_waits_for_it_and_draws(tmp_path):
    probe = r"""
import sys
from pathlib import Path
import nnctl.report.plots as plots
from nnctl.cli.app import run
run_dir = Path(sys.argv[1])
sys.argv = ["nnctl", "train", "iris-softmax", "-q", "--out", str(run_dir)]
try:
    run()
except SystemExit:
    pass
assert "matplotlib" not in sys.modules
plots.import_in_background()
thread = plots._background_import
plots.plot_curves([("iris", run_dir)], run_dir / "curves.png")
print(thread.name, thread.is_alive(), "matplotlib" in sys.modules)
"""
    run_dir = tmp_path / "iris"
    done = subprocess.run(
        [sys.executable, "-c", probe, str(run_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-3:] == ["import-matplotlib", "False", "True"]  # after the table
    assert (run_dir / "curves.png").stat().st_size > 10_000


@needs_matplotlib
def test_a_local_comparison_trains_here_instead_of_importing_in_the_background(tmp_path):
    """--jobs 2 trains in this process too, so no background import takes time from it; the
    figure and the numbers are those of --jobs 1."""
    probe = r"""
import sys
import nnctl.report.plots as plots
started = []
original = plots.import_in_background
def spy():
    original()
    started.append(plots._background_import.name)
plots.import_in_background = spy
from nnctl.cli.app import run
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
        )
        assert done.returncode == 0, done.stderr
        assert "background: []" in done.stderr
        assert (out / "curves.png").stat().st_size > 10_000
        outs[jobs] = [
            {k: v for k, v in r.items() if "wall" not in k and k != "out"}
            for r in json.loads((out / "comparison.json").read_text())["runs"]
        ]
    assert outs[1] == outs[2]
