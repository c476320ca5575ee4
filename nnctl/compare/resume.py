"""A comparison folder that can be finished later: plan.json, and the runs it already holds.

`run_plan` writes <out>/plan.json (kind, config, seeds, target loss, and every run with its
resolved config) before any run starts. `--resume <out>` reads it back, keeps every run folder
that is finished (summary.json with a final status, config.yaml equal to the run's config) and
runs the others; a run stopped half-way starts again from the beginning (same config, so the
same numbers). Executors write a run folder only when its run has finished (Dask) or mark it
finished last (summary.json, locally), so a half-written run is never taken for a finished one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

from nnctl.compare.plan import Plan, RunTask
from nnctl.errors import UsageError

PLAN_FILE = "plan.json"
PLAN_FORMAT = 1
FINISHED = ("completed", "early_stopped", "converged", "diverged")
COMMANDS = {"compare": "compare-optimizers", "sweep": "sweep"}


def write_plan(out_dir: Path, plan: Plan) -> None:
    from nnctl.runs.run_folder import to_json
    from nnctl.util.atomic import write_text

    data = {
        "plan_format": PLAN_FORMAT,
        "kind": plan.kind,
        "config": plan.config,
        "seeds": plan.seeds,
        "target_loss": plan.target_loss,
        "tasks": [asdict(task) for task in plan.tasks],
    }
    write_text(Path(out_dir) / PLAN_FILE, to_json(data, indent=1) + "\n")


def read_plan(out_dir: Path, kind: str) -> Plan:
    """The plan of the comparison (kind "compare") or sweep folder `out_dir`; UsageError
    naming the folder when it is not one."""
    out_dir = Path(out_dir)
    path = out_dir / PLAN_FILE
    if not out_dir.is_dir():
        raise UsageError(
            f"{out_dir}: --resume expects a comparison or sweep folder, found "
            + ("a file" if out_dir.exists() else "nothing there")
        )
    if not path.is_file():
        raise UsageError(
            f"{out_dir}: no {PLAN_FILE}; not a comparison or sweep folder, or made "
            "by an nnctl that could not resume"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("plan_format") != PLAN_FORMAT:
            raise ValueError(f"plan_format {data.get('plan_format')!r}, expected {PLAN_FORMAT}")
        plan = Plan(data["kind"], data["config"], list(data["seeds"]), data["target_loss"])
        plan.tasks = [RunTask(**task) for task in data["tasks"]]
        if [t.index for t in plan.tasks] != list(range(len(plan.tasks))):
            raise ValueError("task indexes are not 0, 1, 2, ...")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{path}: not a readable nnctl plan ({exc})") from None
    if plan.kind != kind:
        raise UsageError(
            f"{out_dir}: is a {COMMANDS.get(plan.kind, plan.kind)} folder; resume it "
            f"with nnctl {COMMANDS.get(plan.kind, plan.kind)} --resume {out_dir}"
        )
    return plan


def finished_result(out_dir: Path, task: RunTask) -> dict | None:
    """The result of a run whose folder is finished (as one_run.execute returned it), or None."""
    import yaml

    from nnctl.runs.run_folder import read_metrics

    run_dir = Path(out_dir) / task.folder
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    if not isinstance(summary, dict) or summary.get("status") not in FINISHED:
        return None
    if config != task.cfg:  # a folder of another plan: not this run
        return None
    return {
        "index": task.index,
        "status": summary["status"],
        "message": summary.get("message"),
        "summary": summary,
        "rows": read_metrics(run_dir),
    }


def clear_unfinished(out_dir: Path, tasks: list[RunTask]) -> None:
    """Remove what runs stopped half-way left, so they start again from nothing."""
    from nnctl.compare.executors.shipping import remove_partial_folders

    remove_partial_folders(out_dir)
    for task in tasks:
        run_dir = Path(out_dir) / task.folder
        if run_dir.is_dir():
            shutil.rmtree(run_dir)
