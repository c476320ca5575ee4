"""The tuning table (what each optimizer chose, from how many trials, and whether the choice sits
at the end of the range) and the ranking across problems, on stderr."""

from __future__ import annotations

import sys

from nnctl.report.compare_table import _emit, _num


def _values(values: dict | None) -> str:
    return "-" if not values else ",".join(f"{k}={v:g}" for k, v in values.items())


def print_tuning(data: dict) -> None:
    tuning = data["tuning"]
    summary = {e["label"]: e for e in data["summary"]}
    rows, warnings = [], []
    ranges = ", ".join(
        f"{a['key']}={a['low']:g}:{a['high']:g} ({a['scale']})" for a in tuning["axes"]
    )
    for entry in tuning["optimizers"]:
        edge = ", ".join(f"{k} at the {side} end" for k, side in entry["edge"].items())
        if edge:
            warnings.append(
                f"{entry['label']}: the chosen {edge} of the range tried; the best "
                "value may lie outside it: widen the range (--tune KEY=LOW:HIGH)"
            )
        final = summary.get(entry["label"], {})
        rows.append(
            [
                entry["label"],
                entry["status"],
                _values(entry["chosen"]),
                edge or "-",
                str(entry["trials"]),
                _num(entry["selection_value"]),
                _num(final.get("final_val_loss_mean"), final.get("final_val_loss_std")),
                _num(final.get("final_val_metric_mean"), final.get("final_val_metric_std")),
            ]
        )
    metric = data.get("metric") or "val metric"
    title = (
        f"tuning of {data['config']}: {ranges}, {tuning['budget']} trials per optimizer "
        f"({tuning['search']}, seed {tuning['seed']}), chosen by {tuning['select']}; the "
        f"last two columns: the chosen setting over seeds {', '.join(map(str, data['seeds']))}"
        f" (mean±std of the final scores: the weights each run delivered)"
    )
    _emit(
        title,
        [
            "optimizer",
            "tuning",
            "chosen",
            "edge",
            "trials",
            tuning["select"],
            "val loss",
            metric,
        ],
        rows,
        no_wrap=(0,),
    )
    for line in warnings:
        print(f"  warning: {line}", file=sys.stderr)


def print_ranking(data: dict) -> None:
    names = [p["name"] for p in data["problems"]]
    fraction = data["profile"]["fraction"]
    rows = []
    for label in data["order"]:
        rows.append(
            [
                label,
                f"{data['mean_rank'][label]:.2f}",
                *(f"{data['ranks'][n][label]:g}" for n in names),
                f"{fraction[label][0]:.2f}",
                f"{fraction[label][-1]:.2f}",
            ]
        )
    title = (
        f"ranking over {len(names)} problems (1 = best score on the problem; score: the "
        "selection metric, mean over seeds); profile: share of problems where the optimizer "
        "was the fastest to 99% of the best loss reduction (tau=1) and where it got there at all"
    )
    _emit(title, ["optimizer", "mean rank", *names, "fastest", "reached"], rows, no_wrap=(0,))
    print(f"results in {data['out']}", file=sys.stderr)
