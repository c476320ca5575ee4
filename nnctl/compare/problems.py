"""One comparison protocol on several problems, and the ranking across them.

    nnctl compare-optimizers a.yaml b.yaml c.yaml [--tune lr ...]

    <out>/<config name>/        each problem's comparison folder (as for one config)
    <out>/ranking.json          scores, ranks, mean rank and the performance profile
    <out>/ranking.csv           one row per optimizer: mean rank, problems solved, rank per problem
    <out>/profile.png           the performance profile (with matplotlib)

Score of an optimizer on a problem: its mean over seeds of the selection metric (tuning's
`--select`, default the best validation loss, the final training loss without a validation
split); ranks by ranking.py. Cost for the profile (profile.py): mean sample-gradients to the
problem's target training loss over the seeds, when every seed reached it.
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


def costs_of(comparison: dict) -> dict:
    """label -> mean sample-gradients to the target when every seed reached it, else None."""
    return {
        e["label"]: e["target_sample_grads_mean"]
        if e["runs"] and e["target_reached"] == e["runs"]
        else None
        for e in comparison["summary"]
    }


def rank_problems(names: list[str], comparisons: list[dict], selects: list[str]) -> dict:
    """ranking.json's content from each problem's comparison.json."""
    from nnctl.compare.profile import performance_profile
    from nnctl.compare.ranking import mean_ranks, problem_ranks
    from nnctl.compare.tuning import higher_is_better

    labels = list(dict.fromkeys(r["label"] for c in comparisons for r in c["runs"]))
    scores, ranks, costs = {}, {}, {}
    for name, comparison, select in zip(names, comparisons, selects):
        found = scores_of(comparison, select)
        scores[name] = {label: found.get(label) for label in labels}
        ranks[name] = problem_ranks(scores[name], higher=higher_is_better(select))
        found_costs = costs_of(comparison)
        costs[name] = {label: found_costs.get(label) for label in labels}
    means = mean_ranks(ranks, labels)
    return {
        "problems": [
            {"name": n, "config": c["config"], "select": s, "target_loss": c["target_loss"]}
            for n, c, s in zip(names, comparisons, selects)
        ],
        "optimizers": labels,
        "scores": scores,
        "ranks": ranks,
        "mean_rank": means,
        "order": sorted(labels, key=lambda label: (means[label], labels.index(label))),
        "profile": {
            "cost": "sample-gradients to the problem's target training loss (mean over "
            "seeds; not reached unless every seed reached it)",
            "costs": costs,
            **performance_profile(costs),
        },
    }


def write_ranking_csv(path: Path, data: dict) -> None:
    import csv
    import io

    from nnctl.atomic import write_text

    names = [p["name"] for p in data["problems"]]
    fraction = data["profile"]["fraction"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["optimizer", "mean_rank", "solved_fraction", *(f"rank_{n}" for n in names)])
    for label in data["order"]:
        writer.writerow(
            [
                label,
                data["mean_rank"][label],
                fraction[label][-1],
                *(data["ranks"][n][label] for n in names),
            ]
        )
    write_text(path, buffer.getvalue())


def compare_problems(
    configs: list[Path], plans: list, out_dir: Path, run_one, quiet: bool = False
) -> ProblemsComparison:
    """`run_one(plan, problem_out_dir)` -> (Comparison, select) runs the protocol on one
    problem; every plan is made (so every config checked) before the first run."""
    import sys

    from nnctl.atomic import write_text
    from nnctl.run_folder import to_json

    names = problem_names(configs)
    comparisons, selects = [], []
    for i, (name, config, plan) in enumerate(zip(names, configs, plans)):
        if not quiet:
            print(f"problem {i + 1}/{len(configs)}: {name} ({config})", file=sys.stderr, flush=True)
        (out_dir / name).mkdir()
        comparison, select = run_one(plan, out_dir / name)
        comparisons.append(comparison)
        selects.append(select)
    data = rank_problems(names, [c.data for c in comparisons], selects)
    data["out"] = str(out_dir)
    write_text(out_dir / RANKING_JSON, to_json(data, indent=2) + "\n")
    write_ranking_csv(out_dir / RANKING_CSV, data)
    return ProblemsComparison(data, out_dir, comparisons)
