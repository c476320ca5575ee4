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
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable nnctl plan ({exc})") from None
    plan = plan_from_json(data, path)
    if plan.kind != kind:
        raise UsageError(
            f"{out_dir}: is a {COMMANDS.get(plan.kind, plan.kind)} folder; resume it "
            f"with nnctl {COMMANDS.get(plan.kind, plan.kind)} --resume {out_dir}"
        )
    return plan


def _expect(ok: bool, where: str, expected: str, value) -> None:
    if not ok:
        found = "null" if value is None else type(value).__name__
        raise UsageError(f"{where}: expected {expected}, found {found} {_short(value)}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


TASK_FIELDS = {  # RunTask field -> (check, what it must be)
    "index": (_is_int, "an integer"),
    "label": (lambda v: isinstance(v, str), "a string"),
    "folder": (lambda v: isinstance(v, str), "a string (a folder name)"),
    "seed": (_is_int, "an integer"),
    "optimizer": (lambda v: isinstance(v, str), "a string"),
    "settings": (lambda v: isinstance(v, dict), "a mapping"),
    "cfg": (lambda v: v is None or isinstance(v, dict), "a mapping (the resolved config) or null"),
    "base_dir": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "skip_reason": (lambda v: v is None or isinstance(v, str), "a string or null"),
}
OPTIONAL_TASK_FIELDS = ("base_dir", "skip_reason")


def plan_from_json(data, path: Path) -> Plan:
    """The Plan that plan.json's content `data` holds, every field checked: UsageError naming
    the file, the key and what was found. Run folders stay inside the comparison folder."""
    from nnctl.util.ownership import inside

    _expect(isinstance(data, dict), f"{path}", "a JSON object (an nnctl plan)", data)
    for key in ("plan_format", "kind", "config", "seeds", "target_loss", "tasks"):
        if key not in data:
            raise UsageError(f"{path}: missing key {key!r}; not a readable nnctl plan")
    if data["plan_format"] != PLAN_FORMAT:
        raise UsageError(
            f"{path}: plan_format: expected {PLAN_FORMAT}, found {_short(data['plan_format'])}"
        )
    kind, seeds, target, tasks = data["kind"], data["seeds"], data["target_loss"], data["tasks"]
    _expect(kind in COMMANDS, f"{path}: kind", f"one of {', '.join(COMMANDS)}", kind)
    _expect(isinstance(data["config"], str), f"{path}: config", "a string", data["config"])
    _expect(
        isinstance(seeds, list) and all(_is_int(s) for s in seeds),
        f"{path}: seeds",
        "a list of integers",
        seeds,
    )
    _expect(target is None or _is_number(target), f"{path}: target_loss", "a number", target)
    _expect(isinstance(tasks, list), f"{path}: tasks", "a list of runs", tasks)
    plan = Plan(kind, data["config"], list(seeds), target)
    folders: set[str] = set()
    for i, task in enumerate(tasks):
        where = f"{path}: tasks[{i}]"
        _expect(isinstance(task, dict), where, "a mapping (one run)", task)
        unknown = sorted(set(task) - set(TASK_FIELDS))
        if unknown:
            raise UsageError(f"{where}: unknown key {unknown[0]!r}")
        for key, (check, expected) in TASK_FIELDS.items():
            if key not in task and key not in OPTIONAL_TASK_FIELDS:
                raise UsageError(f"{where}: missing key {key!r}")
            if key in task:
                _expect(check(task[key]), f"{where}.{key}", expected, task[key])
        _expect(task["index"] == i, f"{where}.index", f"{i} (runs in order)", task["index"])
        inside(path.parent, task["folder"], f"{where}.folder")
        if task["folder"] in folders:
            raise UsageError(f"{where}.folder: {task['folder']!r} is another run's folder too")
        folders.add(task["folder"])
        if task["cfg"] is not None:
            task = {**task, "cfg": _check_resolved(task["cfg"], f"{where}.cfg")}
        plan.tasks.append(RunTask(**task))
    return plan


def _check_resolved(cfg: dict, where: str) -> dict:
    """A run's config in plan.json must be a resolved config, as the plan wrote it: resolving
    it again checks every key and value, and changes nothing it holds. A section it lacks
    (written by an nnctl before that section existed, e.g. `logging`) gets its defaults, which
    change no number: the resolved config is what the run then uses."""
    from nnctl.config import resolve

    try:
        again = resolve(cfg, where)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None
    changed = sorted(
        key for key in set(cfg) | set(again) if key in cfg and cfg[key] != again.get(key)
    )
    if changed:
        raise UsageError(
            f"{where}: not the resolved config nnctl wrote (section {changed[0]!r} differs "
            "from its resolved form)"
        )
    return again


def finished_result(out_dir: Path, task: RunTask) -> dict | None:
    """The result of a run whose folder is finished (as one_run.execute returned it), or None."""
    import yaml

    from nnctl.runs.run_folder import read_metrics

    run_dir = Path(out_dir) / task.folder
    if run_dir.is_symlink():
        return None
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    if not isinstance(summary, dict) or summary.get("status") not in FINISHED:
        return None
    if not isinstance(config, dict) or not same_run(config, task.cfg):
        return None  # a folder of another plan: not this run
    return {
        "index": task.index,
        "status": summary["status"],
        "message": summary.get("message"),
        "summary": summary,
        "rows": read_metrics(run_dir),
    }


def same_run(written: dict, planned: dict) -> bool:
    """Whether a run folder's config.yaml is the planned config. A section the folder's config
    lacks (written by an nnctl before the section existed) must hold its defaults in the plan:
    the plan's config was resolved from the same old text, so it does."""
    from nnctl.config import resolve

    written, planned = _identity(written), _identity(planned)
    if set(written) - set(planned):
        return False
    if all(written[key] == planned[key] for key in written):
        if set(written) == set(planned):
            return True
        try:
            return _identity(resolve(written, "config.yaml")) == planned
        except UsageError:
            return False
    return False


def _identity(cfg: dict) -> dict:
    """The config without train.kernels: a run records what `auto` became on the machine that
    ran it (numpy or numba), and the choice never changes a number (the compiled loops give
    NumPy's bits), so it is not part of what makes two runs the same."""
    train = cfg.get("train")
    if not isinstance(train, dict) or "kernels" not in train:
        return cfg
    return {**cfg, "train": {k: v for k, v in train.items() if k != "kernels"}}


def clear_unfinished(out_dir: Path, tasks: list[RunTask]) -> None:
    """Remove what runs stopped half-way left, so they start again from nothing. Each folder
    is checked first (a run folder holding only what training writes, or empty): anything
    else there is exit 2 and nothing is removed."""
    from nnctl.compare.executors.shipping import remove_partial_folders
    from nnctl.runs.run_folder import RUN_LAYOUT
    from nnctl.util.ownership import check_replaceable, inside

    run_dirs = [inside(out_dir, task.folder, f"{out_dir}: run {task.label!r}") for task in tasks]
    for run_dir in run_dirs:
        check_replaceable(run_dir, RUN_LAYOUT, "--resume")
    remove_partial_folders(out_dir)
    for run_dir in run_dirs:
        if run_dir.is_dir():
            shutil.rmtree(run_dir)
