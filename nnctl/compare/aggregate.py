"""From finished runs to the rows of comparison.csv / comparison.json.

Per run: the final scores of the weights the run delivered (as summary.json has them: train loss
on the whole training set, validation loss and metric; the same numbers `nnctl eval` gives), the
best validation loss and metric over the epochs (selected on validation, so optimistic; with the
epoch of the best metric), the budget used (epochs, sample-gradient evaluations, wall time), and
when the training-loss curve first reached the target loss: epochs, sample-gradients and wall
time to get there.

Target loss: `--target-loss X`, else 1% above the lowest training loss any run that did not
diverge reached on its curve (so at least the best run reaches it). Sample-gradients put the two
families on one axis: one epoch of mini-batches = one full-batch gradient = n_train.

Per label (an optimizer spec or a sweep point), over its seeds: the mean and the standard
deviation (ddof 1; null for one seed) of every number; target figures average the seeds that
reached the target (`target_reached` says how many did); `statuses` counts the seeds per status.

Every wall-time field has `wall` in its name: they are the only numbers that change between two
runs of the same comparison.
"""

from __future__ import annotations

import math

from nnctl.nn.metrics import HIGHER_IS_BETTER

NUMBERS = (
    "final_train_loss",
    "final_val_loss",
    "final_val_metric",
    "best_val_loss",
    "best_val_metric",
    "best_val_metric_epoch",
    "epochs",
    "sample_grads",
    "wall_s",
    "target_epoch",
    "target_sample_grads",
    "target_wall_s",
)
CSV_COLUMNS = (
    "label",
    "optimizer",
    "settings",
    "seed",
    "run",
    "status",
    "diverged",
    "final_train_loss",
    "final_val_loss",
    "best_val_loss",
    "metric",
    "final_val_metric",
    "best_val_metric",
    "best_val_metric_epoch",
    "epochs",
    "sample_grads",
    "wall_s",
    "target_epoch",
    "target_sample_grads",
    "target_wall_s",
    "message",
)


def _finite(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _best(rows: list[dict], key: str, higher: bool) -> float | None:
    values = [v for v in (_finite(r.get(key)) for r in rows) if v is not None]
    if not values:
        return None
    return max(values) if higher else min(values)


def _first_epoch_with(rows: list[dict], key: str, value: float | None) -> int | None:
    """The first epoch whose `key` equals `value` (the epoch of a best value), else None."""
    if value is None:
        return None
    return next((r["epoch"] for r in rows if _finite(r.get(key)) == value), None)


def run_record(task, result: dict, out_dir: str) -> dict:
    """One row of the comparison for one run."""
    summary = result["summary"] or {}
    rows = result["rows"]
    metric = summary.get("primary_metric")
    message = result["message"]
    if message:
        message = message.replace(f"{out_dir}/", "")  # folder names stay; absolute paths go
    final = summary.get("final") or {}
    best_metric = _best(rows, metric, HIGHER_IS_BETTER.get(metric[4:], False)) if metric else None
    record = {
        "label": task.label,
        "optimizer": task.optimizer,
        "settings": task.settings,
        "seed": task.seed,
        "run": task.folder if result["status"] != "skipped" else None,
        "status": result["status"],
        "diverged": result["status"] == "diverged",
        "final_train_loss": _finite(final.get("train_loss")),
        "final_val_loss": _finite(final.get("val_loss")),
        "best_val_loss": _best(rows, "val_loss", higher=False),
        "metric": metric,
        "final_val_metric": _finite(final.get(metric)) if metric else None,
        "best_val_metric": best_metric,
        "best_val_metric_epoch": _first_epoch_with(rows, metric, best_metric),
        "epochs": summary.get("epochs"),
        "sample_grads": summary.get("sample_grads"),
        "wall_s": summary.get("elapsed_s"),
        "target_epoch": None,
        "target_sample_grads": None,
        "target_wall_s": None,
        "message": message,
    }
    return record


def default_target(records: list[dict], curves: dict[int, list[dict]]) -> float | None:
    """1% above the lowest training loss reached on the curve of any run that did not diverge."""
    lowest = [
        _best(curves[i], "train_loss", higher=False)
        for i, r in enumerate(records)
        if r["status"] not in ("diverged", "skipped")
    ]
    lowest = [v for v in lowest if v is not None]
    if not lowest:
        return None
    best = min(lowest)
    return best + 0.01 * abs(best)


def mark_target(record: dict, rows: list[dict], target: float | None) -> None:
    """Epochs, sample-gradients and wall time at the first row whose train loss <= target."""
    if target is None:
        return
    for row in rows:
        loss = _finite(row.get("train_loss"))
        if loss is not None and loss <= target:
            record["target_epoch"] = row["epoch"]
            record["target_sample_grads"] = row.get("sample_grads")
            record["target_wall_s"] = row.get("elapsed_s")
            return


def _mean_std(values: list) -> tuple[float | None, float | None]:
    values = [v for v in (_finite(v) for v in values) if v is not None]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def summarize(records: list[dict]) -> list[dict]:
    """One entry per label, in first-seen order: counts, then mean and std of every number."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(record["label"], []).append(record)
    out = []
    for label, group in groups.items():
        statuses = sorted({r["status"] for r in group})
        entry = {
            "label": label,
            "optimizer": group[0]["optimizer"],
            "settings": group[0]["settings"],
            "runs": len(group),
            "status": statuses[0] if len(statuses) == 1 else "mixed",
            "statuses": {s: sum(r["status"] == s for r in group) for s in statuses},
            "diverged": sum(r["diverged"] for r in group),
            "target_reached": sum(r["target_epoch"] is not None for r in group),
            "metric": group[0]["metric"],
        }
        if statuses == ["skipped"]:
            entry["message"] = group[0]["message"]
        for key in NUMBERS:
            entry[f"{key}_mean"], entry[f"{key}_std"] = _mean_std([r[key] for r in group])
        out.append(entry)
    return out


def settings_text(settings: dict) -> str:
    """'lr=0.1,momentum=0.9' (the CSV cell and the table column)."""
    import json

    return ",".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in settings.items()
    )


def write_csv(path, records: list[dict]) -> None:
    import csv
    import io

    from nnctl.util.atomic import write_text
    from nnctl.util.csv_cells import safe_row

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        cells = []
        for column in CSV_COLUMNS:
            value = record.get(column)
            if column == "settings":
                value = settings_text(value)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            cells.append("" if value is None else value)
        writer.writerow(safe_row(cells))  # labels are the user's text; comparison.json keeps it raw
    write_text(path, buffer.getvalue())
