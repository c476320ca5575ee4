"""A comparison (or sweep) from plan to folder: run every task, aggregate, write the files.

<out>/<label>[-seed<k>]/   one run folder per optimizer (or sweep point) and seed
<out>/comparison.csv        one row per run
<out>/comparison.json       {kind, config, seeds, target_loss, metric, runs: [...], summary: [...]}
<out>/plan.json             every run's resolved config, written first: `--resume <out>`
<out>/curves.png            with matplotlib (nnctl[plot]); written by the caller
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nnctl.compare import aggregate
from nnctl.compare.plan import Plan, RunTask
from nnctl.compare.runner import run_tasks
from nnctl.errors import NnctlError, UsageError


@dataclass
class Comparison:
    data: dict  # what comparison.json holds
    out_dir: Path
    curves: dict[str, list[list[dict]]]  # label -> metrics rows of each of its runs

    def run_dirs(self) -> list[tuple[str, Path]]:
        """(label, run folder) of every run that trained, in table order."""
        return [(r["label"], self.out_dir / r["run"]) for r in self.data["runs"] if r["run"]]


def make_out_dir(out: Path | None, default: Path) -> Path:
    """`--out` must be new or empty (and not the current, home or root folder); the default
    gets -2, -3, ... rather than overwrite. The folder is locked for this process, as a run
    folder is: a second nnctl cannot write into it (see lock_out_dir)."""
    from nnctl.util.ownership import check_out_path

    if out is not None:
        path = check_out_path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise UsageError(f"{path}: exists and is not an empty folder; choose another --out")
    else:
        path, n = Path(default), 2
        while path.exists():
            path = Path(default).with_name(f"{Path(default).name}-{n}")
            n += 1
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from nnctl.errors import write_failed

        raise write_failed(path, exc) from None
    lock_out_dir(path)
    return path


def lock_out_dir(out_dir: Path) -> None:
    """Hold the comparison (or sweep) folder's lock until this process ends (flock, as for a
    run folder): a `--resume` started while another nnctl still runs the comparison is exit 2
    instead of deleting that process's runs in progress."""
    from nnctl.runs.run_folder import lock

    lock(out_dir, "comparison folder")


def progress_line(done: int, total: int, task: RunTask, result: dict) -> str:
    """'[3/8] adam (seed 0): completed, 30 epochs, train loss 0.0177, val_accuracy 0.978, 1.0s'."""
    head = f"[{done}/{total}] {task.label} (seed {task.seed}): {result['status']}"
    summary = result["summary"]
    if result["status"] == "skipped" or summary is None:
        return f"{head}: {result['message']}"
    parts = [head, f"{summary['epochs']} epochs"]
    final = summary.get("final") or {}
    for key in ("train_loss", summary.get("primary_metric")):
        value = final.get(key)
        if isinstance(value, float):
            parts.append(f"{key.replace('_', ' ') if key == 'train_loss' else key} {value:.4g}")
    parts.append(f"{summary['elapsed_s']:.1f}s")
    return ", ".join(parts)


class ComparisonInterrupted(NnctlError):
    """Ctrl-C (or SIGTERM) during a comparison: finished run folders stay; exit 130."""

    exit_code = 130


@contextmanager
def runs_in_progress(progress, executor, interrupted: Callable[[], str]):
    """Around one batch of runs: an interruption becomes ComparisonInterrupted with the text
    `interrupted()` gives then (it can say how many runs finished); other errors pass. The
    progress bar and the executor are closed in every case."""
    try:
        yield
    except (KeyboardInterrupt, NnctlError) as exc:
        if isinstance(exc, NnctlError) and exc.exit_code != 130:
            raise
        raise ComparisonInterrupted(interrupted()) from None
    finally:
        progress.close()
        executor.close()


def run_plan(
    plan: Plan,
    out_dir: Path,
    jobs: int = 1,
    quiet: bool = False,
    executor=None,
    finished: dict | None = None,
    extra: dict | None = None,
) -> Comparison:
    """Run every task of a new comparison into out_dir (after writing plan.json there).
    `finished`: task index -> result of runs already made (tuning reuses its chosen trial);
    `extra`: more entries for comparison.json (the tuning record)."""
    from nnctl.compare.executors.local import LocalExecutor
    from nnctl.compare.resume import write_plan

    executor = executor or LocalExecutor(jobs)
    write_plan(out_dir, plan)
    return _run(plan, out_dir, executor, quiet, finished=dict(finished or {}), extra=extra)


def resume_comparison(out_dir: Path, kind: str, executor=None, quiet: bool = False) -> Comparison:
    """Finish the comparison (kind "compare") or sweep in out_dir: only its missing runs run."""
    from nnctl.compare.executors.local import LocalExecutor
    from nnctl.compare.resume import clear_unfinished, finished_result, read_plan

    out_dir = Path(out_dir)
    plan = read_plan(out_dir, kind)
    lock_out_dir(out_dir)  # before anything is removed: a process still running it keeps it
    finished = {}
    for task in plan.tasks:
        if task.cfg is not None and (result := finished_result(out_dir, task)) is not None:
            finished[task.index] = result
    clear_unfinished(out_dir, [t for t in plan.tasks if t.index not in finished])
    return _run(plan, out_dir, executor or LocalExecutor(1), quiet, finished)


def _run(
    plan: Plan, out_dir: Path, executor, quiet: bool, finished: dict, extra: dict | None = None
) -> Comparison:
    from nnctl.runs.run_folder import unlock

    try:
        return _run_locked(plan, out_dir, executor, quiet, finished, extra)
    finally:
        unlock(out_dir)  # a long-lived process (the Python API) keeps no lock it is done with


def _run_locked(
    plan: Plan, out_dir: Path, executor, quiet: bool, finished: dict, extra: dict | None
) -> Comparison:
    from nnctl.compare.resume import COMMANDS
    from nnctl.report.runs_progress import RunsProgress

    total = len(plan.tasks)
    todo = [t for t in plan.tasks if t.index not in finished]
    progress = RunsProgress(total, done=len(finished), quiet=quiet)

    def on_done(task, result):
        progress.run_done(progress_line(progress.done + 1, total, task, result))

    note = None
    if finished:
        note = (
            f"{out_dir}: {len(finished)} of {total} runs are finished; running the other "
            f"{len(todo)} on {executor.describe()}"
        )
    elif executor.name != "local":
        note = f"{total} runs on {executor.describe()}"
    if finished and extra is not None:  # runs carried over from tuning, not a resumed folder
        note = None if executor.name == "local" else f"{len(todo)} runs on {executor.describe()}"
    progress.start(note)
    with runs_in_progress(
        progress,
        executor,
        lambda: (
            f"interrupted: {progress.done} of {total} runs finished and are kept in "
            f"{out_dir}; finish with: nnctl {COMMANDS[plan.kind]} --resume {out_dir}"
        ),
    ):
        fresh = run_tasks(todo, out_dir, on_done=on_done, executor=executor)
    by_index = {**finished, **{t.index: r for t, r in zip(todo, fresh)}}
    results = [by_index[t.index] for t in plan.tasks]
    records = [aggregate.run_record(t, r, str(out_dir)) for t, r in zip(plan.tasks, results)]
    rows = {i: r["rows"] for i, r in enumerate(results)}
    if all(r["status"] == "skipped" for r in records):
        raise UsageError(f"no run could start: {records[0]['label']}: {records[0]['message']}")
    target = (
        plan.target_loss
        if plan.target_loss is not None
        else aggregate.default_target(records, rows)
    )
    for i, record in enumerate(records):
        aggregate.mark_target(record, rows[i], target)
    metric = next((r["metric"] for r in records if r["metric"]), None)
    data = {
        "kind": plan.kind,
        "config": plan.config,
        "out": str(out_dir),
        "seeds": plan.seeds,
        "target_loss": target,
        "target_rule": "given"
        if plan.target_loss is not None
        else "1% above the lowest training loss a run reached",
        "metric": metric,
        "runs": records,
        "summary": aggregate.summarize(records),
        **(extra or {}),
    }
    from nnctl.runs.run_folder import to_json
    from nnctl.util.atomic import write_text

    write_text(out_dir / "comparison.json", to_json(data, indent=2) + "\n")
    aggregate.write_csv(out_dir / "comparison.csv", records)
    curves: dict[str, list[list[dict]]] = {}
    for i, record in enumerate(records):
        curves.setdefault(record["label"], []).append(rows[i])
    return Comparison(data, out_dir, curves)
