"""One comparison protocol on several problems, and the ranking across them.

    nnctl compare-optimizers a.yaml b.yaml c.yaml [--tune lr ...]

    <out>/<config name>/        each problem's comparison folder (as for one config)
    <out>/ranking.json          scores, ranks, mean rank and the performance profile
    <out>/ranking.csv           one row per optimizer: mean rank, problems solved, rank per problem
    <out>/profile.png           the performance profile (with matplotlib)

Score of an optimizer on a problem: its mean over seeds of the selection metric (tuning's
`--select`, default the best validation loss, the final training loss without a validation
split); ranks by ranking.py. Cost for the profile (profile.py): sample-gradients until the
training loss first passes the problem's profile target, mean over the seeds when every seed
passed it. The target is More and Wild's convergence test (SIAM J. Optim. 20, 2009):
f <= f_L + PROFILE_TOLERANCE * (f_0 - f_L), with f_0 the training loss of the initial model (the
config's seed) and f_L the lowest training loss any run of the problem reached: "got 99% of the
way from the start to the best anyone did". (The comparison's own target, 1% above f_L, is met
only by the best run, which would make every profile a step at tau = 1.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnctl.compare.comparison import Comparison

RANKING_JSON = "ranking.json"
RANKING_CSV = "ranking.csv"


@dataclass
class ProblemsComparison:
    data: dict  # what ranking.json holds
    out_dir: Path
    comparisons: list[Comparison]


def problem_names(configs: list[Path]) -> list[str]:
    """Folder (and row) name of each problem: the config's name, made unique."""
    names: list[str] = []
    for config in configs:
        name, n = Path(config).stem, 2
        while name in names:
            name, n = f"{Path(config).stem}-{n}", n + 1
        names.append(name)
    return names


def scores_of(comparison: dict, select: str) -> dict:
    """label -> mean over seeds of the selection metric (None: no seed has one)."""
    from nnctl.compare.tuning import selection_value

    per_label: dict[str, list] = {}
    for record in comparison["runs"]:
        values = per_label.setdefault(record["label"], [])
        value = selection_value(record, select)
        if value is not None and record["status"] != "diverged":
            values.append(value)
    return {label: (sum(v) / len(v) if v else None) for label, v in per_label.items()}


PROFILE_TOLERANCE = 0.01


def initial_train_loss(cfg: dict, base_dir: str | None) -> float:
    """The training loss of the model as the config initialises it (float64)."""
    import numpy as np

    from nnctl.training.prepare import model_for_data, prepare_data
    from nnctl.util.rng import make_streams

    streams = make_streams(cfg["seed"])
    data = prepare_data(cfg, streams, Path(base_dir) if base_dir else None)
    model = model_for_data(cfg, data, streams, np.float64)
    return float(model.loss(data.X_train.astype(np.float64), data.y_train))


def profile_target(
    curves: dict[str, list[list[dict]]], f0: float, tolerance: float = PROFILE_TOLERANCE
) -> float | None:
    """f_L + tolerance * (f0 - f_L); f_L the lowest finite training loss on any curve."""
    import math

    losses = [
        r["train_loss"]
        for runs in curves.values()
        for rows in runs
        for r in rows
        if isinstance(r.get("train_loss"), (int, float)) and math.isfinite(r["train_loss"])
    ]
    if not losses:
        return None
    best = min(losses)
    return best + tolerance * max(f0 - best, 0.0)


def costs_of(curves: dict[str, list[list[dict]]], target: float | None) -> dict:
    """label -> mean over its runs of the sample-gradients at the first row whose training loss
    is <= target; None unless every run got there."""
    out = {}
    for label, runs in curves.items():
        reached = []
        for rows in runs:
            hit = next(
                (
                    r.get("sample_grads")
                    for r in rows
                    if target is not None
                    and isinstance(r.get("train_loss"), (int, float))
                    and r["train_loss"] <= target
                ),
                None,
            )
            reached.append(hit)
        ok = bool(reached) and all(v is not None for v in reached)
        out[label] = sum(reached) / len(reached) if ok else None
    return out


def rank_problems(
    names: list[str],
    comparisons: list[dict],
    selects: list[str],
    problem_costs: list[dict],
    targets: list[float | None],
) -> dict:
    """ranking.json's content from each problem's comparison.json, the profile's costs
    (costs_of) and targets (profile_target)."""
    from nnctl.compare.profile import performance_profile
    from nnctl.compare.ranking import mean_ranks, problem_ranks
    from nnctl.compare.tuning import higher_is_better

    labels = list(dict.fromkeys(r["label"] for c in comparisons for r in c["runs"]))
    scores, ranks, costs = {}, {}, {}
    for name, comparison, select in zip(names, comparisons, selects):
        found = scores_of(comparison, select)
        scores[name] = {label: found.get(label) for label in labels}
        ranks[name] = problem_ranks(scores[name], higher=higher_is_better(select))
    for name, found_costs in zip(names, problem_costs):
        costs[name] = {label: found_costs.get(label) for label in labels}
    means = mean_ranks(ranks, labels)
    return {
        "problems": [
            {"name": n, "config": c["config"], "select": s, "profile_target": t}
            for n, c, s, t in zip(names, comparisons, selects, targets)
        ],
        "optimizers": labels,
        "scores": scores,
        "ranks": ranks,
        "mean_rank": means,
        "order": sorted(labels, key=lambda label: (means[label], labels.index(label))),
        "profile": {
            "cost": "sample-gradients until the training loss is <= f_L + tolerance * (f_0 - "
            "f_L) (mean over seeds; not reached unless every seed reached it)",
            "tolerance": PROFILE_TOLERANCE,
            "costs": costs,
            **performance_profile(costs),
        },
    }


def write_ranking_csv(path: Path, data: dict) -> None:
    import csv
    import io

    from nnctl.util.atomic import write_text
    from nnctl.util.csv_cells import safe_row

    names = [p["name"] for p in data["problems"]]
    fraction = data["profile"]["fraction"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["optimizer", "mean_rank", "solved_fraction", *(f"rank_{n}" for n in names)])
    for label in data["order"]:
        writer.writerow(
            safe_row(
                [
                    label,
                    data["mean_rank"][label],
                    fraction[label][-1],
                    *(data["ranks"][n][label] for n in names),
                ]
            )
        )
    write_text(path, buffer.getvalue())


def compare_problems(
    configs: list[Path], plans: list, out_dir: Path, run_one, quiet: bool = False
) -> ProblemsComparison:
    """`run_one(plan, problem_out_dir)` -> (Comparison, select) runs the protocol on one
    problem; every plan is made (so every config checked) before the first run."""
    import sys

    from nnctl.runs.run_folder import to_json
    from nnctl.util.atomic import write_text

    names = problem_names(configs)
    comparisons, selects = [], []
    for i, (name, config, plan) in enumerate(zip(names, configs, plans)):
        if not quiet:
            print(f"problem {i + 1}/{len(configs)}: {name} ({config})", file=sys.stderr, flush=True)
        (out_dir / name).mkdir()
        comparison, select = run_one(plan, out_dir / name)
        comparisons.append(comparison)
        selects.append(select)
    targets, costs = [], []
    for plan, comparison in zip(plans, comparisons):
        task = _first_task(plan)
        f0 = initial_train_loss(task.cfg, task.base_dir) if task else None
        target = profile_target(comparison.curves, f0) if f0 is not None else None
        targets.append(target)
        costs.append(costs_of(comparison.curves, target))
    data = rank_problems(names, [c.data for c in comparisons], selects, costs, targets)
    data["out"] = str(out_dir)
    write_text(out_dir / RANKING_JSON, to_json(data, indent=2) + "\n")
    write_ranking_csv(out_dir / RANKING_CSV, data)
    return ProblemsComparison(data, out_dir, comparisons)


def _first_task(plan):
    """A task of the plan with a config (a tuning plan: its trials'), or None."""
    tasks = plan.probe.tasks if hasattr(plan, "probe") else plan.tasks
    return next((t for t in tasks if t.cfg is not None), None)
