"""Run a tuning plan (nnctl.compare.tuning): the trials, the choice, then the chosen settings
over every seed, through the same executors as any comparison (so --jobs and --executor dask
give the same numbers).

    result = run_tuned(plan, out_dir, make_executor, quiet)   # a Comparison with data["tuning"]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from nnctl.compare import aggregate
from nnctl.compare.comparison import Comparison, progress_line, run_plan, runs_in_progress
from nnctl.compare.tuning import (
    ALL_DIVERGED,
    NO_TUNING,
    TuningPlan,
    edges,
    higher_is_better,
    pick_best,
    selection_value,
)

TRIALS_DIR = "trials"
TUNING_CSV = "tuning.csv"


def run_trials(plan: TuningPlan, trials_dir: Path, executor, quiet: bool) -> list[dict]:
    """Every trial's record (aggregate.run_record), in plan order."""
    from nnctl.compare.runner import run_tasks
    from nnctl.report.runs_progress import RunsProgress

    tasks = plan.trials.tasks
    trials_dir.mkdir(parents=True, exist_ok=True)
    progress = RunsProgress(len(tasks), quiet=quiet)

    def on_done(task, result):
        progress.run_done("tuning " + progress_line(progress.done + 1, len(tasks), task, result))

    progress.start(
        f"tuning {', '.join(a.text for a in plan.axes)}: {plan.budget} trials per "
        f"optimizer ({plan.search}, seed {plan.seeds[0]}), {len(tasks)} runs on "
        f"{executor.describe()}; selecting by {plan.select}"
    )
    with runs_in_progress(
        progress,
        executor,
        lambda: (
            f"interrupted while tuning: {progress.done} of {len(tasks)} trials finished "
            f"and are kept in {trials_dir}; --resume does not cover tuning, start the command again"
        ),
    ):
        results = run_tasks(tasks, trials_dir, on_done=on_done, executor=executor)
    return [
        aggregate.run_record(t, r, str(trials_dir)) | {"_result": r} for t, r in zip(tasks, results)
    ]


def choose(plan: TuningPlan, records: list[dict]) -> list[dict]:
    """The tuning entry of every optimizer: its trials, the chosen values, edges, budget used."""
    higher = higher_is_better(plan.select)
    entries = []
    for tuned in plan.optimizers:
        trials = [records[i] for i in tuned.trials]
        values = [selection_value(r, plan.select) for r in trials]
        entry = {
            "label": tuned.label,
            "optimizer": tuned.name,
            "tuned": tuned.keys,
            "trials": len(trials),
            "trial_epochs": sum(r["epochs"] or 0 for r in trials),
            "trial_sample_grads": sum(r["sample_grads"] or 0 for r in trials),
            "chosen": None,
            "chosen_run": None,
            "selection_value": None,
            "edge": {},
            "curve": [
                {"values": p, "run": r["run"], "status": r["status"], "selection_value": v}
                for p, r, v in zip(tuned.points, trials, values)
            ],
        }
        if tuned.label in plan.skipped:
            entry["status"] = "skipped"
        elif not tuned.keys:
            entry["status"] = NO_TUNING
        else:
            best = pick_best(values, higher)
            if all(r["status"] == "skipped" for r in trials):  # refused when it ran
                entry.update(status="skipped", message=trials[0]["message"])
            elif best is None:
                entry.update(status=ALL_DIVERGED, message=ALL_DIVERGED)
            else:
                entry.update(
                    status="tuned",
                    chosen=tuned.points[best],
                    chosen_run=f"{TRIALS_DIR}/{trials[best]['run']}",
                    selection_value=values[best],
                    edge=edges(plan.axes, tuned.points, tuned.points[best]),
                )
                entry["_best"] = tuned.trials[best]
        entries.append(entry)
    return entries


def final_plan(plan: TuningPlan, entries: list[dict], trial_records: list[dict]):
    """(the comparison plan of the chosen settings over every seed, finished: index -> result
    of the tasks whose run is the chosen trial itself)."""
    from nnctl.compare.plan import plan_for_specs
    from nnctl.compare.specs import OptimizerSpec

    specs = []
    for tuned, entry in zip(plan.optimizers, entries):
        settings = {**tuned.settings, **(entry["chosen"] or {})}
        specs.append(
            OptimizerSpec(tuned.label, tuned.name, settings, explicit=entry["status"] != "skipped")
        )
    final = plan_for_specs(plan.config, plan.raw, plan.base, specs, plan.seeds, plan.target)
    by_label = {e["label"]: e for e in entries}
    finished = {}
    for i, task in enumerate(final.tasks):
        entry = by_label[task.label]
        if entry.get("message") and task.cfg is not None:  # no trial to take a setting from
            final.tasks[i] = dataclasses.replace(task, cfg=None, skip_reason=entry["message"])
            continue
        best = entry.get("_best")
        if best is None or task.seed != plan.seeds[0]:
            continue
        trial_task = plan.trials.tasks[best]
        if trial_task.cfg != task.cfg:  # never expected: then the seed simply runs again
            continue
        final.tasks[i] = dataclasses.replace(task, folder=f"{TRIALS_DIR}/{trial_task.folder}")
        finished[task.index] = {**trial_records[best]["_result"], "index": task.index}
    return final, finished


def write_tuning_csv(
    path: Path, plan: TuningPlan, entries: list[dict], records: list[dict]
) -> None:
    import csv
    import io

    from nnctl.util.atomic import write_text
    from nnctl.util.csv_cells import safe_row

    keys = [a.key for a in plan.axes]
    numbers = [
        "final_train_loss",
        "best_val_loss",
        "metric",
        "best_val_metric",
        "epochs",
        "sample_grads",
        "wall_s",
    ]
    columns = [
        "label",
        "optimizer",
        *keys,
        "seed",
        "run",
        "status",
        "select",
        "selection_value",
        "chosen",
        *numbers,
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for tuned, entry in zip(plan.optimizers, entries):
        for index, point, trial in zip(tuned.trials, tuned.points, entry["curve"]):
            record = records[index]
            cells = {
                "label": tuned.label,
                "optimizer": tuned.name,
                **point,
                "seed": record["seed"],
                "run": f"{TRIALS_DIR}/{record['run']}" if record["run"] else None,
                "status": record["status"],
                "select": plan.select,
                "selection_value": trial["selection_value"],
                "chosen": "true" if entry.get("_best") == index else "false",
                **{k: record[k] for k in numbers},
            }
            writer.writerow(safe_row("" if cells.get(c) is None else cells[c] for c in columns))
    write_text(path, buffer.getvalue())


def tuning_record(plan: TuningPlan, entries: list[dict]) -> dict:
    """comparison.json's "tuning": the protocol and every optimizer's outcome."""
    return {
        "axes": [
            {"key": a.key, "low": a.low, "high": a.high, "scale": "log" if a.log else "linear"}
            for a in plan.axes
        ],
        "budget": plan.budget,
        "search": plan.search,
        "select": plan.select,
        "higher_is_better": higher_is_better(plan.select),
        "seed": plan.seeds[0],
        "values": plan.points,
        "optimizers": [{k: v for k, v in e.items() if not k.startswith("_")} for e in entries],
    }


def run_tuned(
    plan: TuningPlan,
    out_dir: Path,
    make_executor: Callable[[], object],
    quiet: bool = False,
    executor=None,
) -> Comparison:
    """Trials, choice, chosen settings over the seeds; comparison.json gains "tuning". Each
    phase gets its own executor (an executor is closed after its runs): `executor` for the
    trials if given (made early, so a bad address fails before any folder), then fresh ones."""
    out_dir = Path(out_dir)
    records = run_trials(plan, out_dir / TRIALS_DIR, executor or make_executor(), quiet)
    entries = choose(plan, records)
    write_tuning_csv(out_dir / TUNING_CSV, plan, entries, records)
    final, finished = final_plan(plan, entries, records)
    return run_plan(
        final,
        out_dir,
        quiet=quiet,
        executor=make_executor(),
        finished=finished,
        extra={"tuning": tuning_record(plan, entries)},
    )
