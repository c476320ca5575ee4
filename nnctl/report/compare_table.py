"""The comparison and landscape tables on stdout, each loss curve drawn as a unicode sparkline
(Rich table on a terminal, aligned plain text elsewhere). On a narrow terminal whole
low-priority columns are left out, rather than every number squeezed to nothing; the plain
text form always has every column (scripts read it)."""

from __future__ import annotations

import math
import sys

from nnctl.report.console import use_rich
from nnctl.report.tables import _table

BARS = "▁▂▃▄▅▆▇█"
WIDTH = 20  # characters of a sparkline
# Columns a narrow terminal leaves out, least needed first; label and the final metric always
# stay. "epochs" and "best" stand for those columns' headers (they name the metric and seeds).
COMPARISON_DROP_ORDER = (
    "grads to target",
    "seconds to target",
    "time (s)",
    "epochs",
    "train loss (log)",
    "best",
    "target reached",
    "val loss",
    "train loss",
    "status",
)
# How a run ended, in words (the summary's status names are for scripts).
STATUS_WORDS = {
    "completed": "completed",
    "early_stopped": "stopped early",
    "converged": "converged",
    "diverged": "diverged",
    "interrupted": "interrupted",
    "skipped": "skipped",
}


def _finite(values) -> list[float | None]:
    out = []
    for v in values:
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        out.append(float(v) if ok else None)
    return out


def scale(curves: list[list]) -> tuple[float, float] | None:
    """A shared log scale: (lowest positive value, highest value) over all curves."""
    values = [v for c in curves for v in _finite(c) if v is not None and v > 0]
    if not values:
        return None
    return min(values), max(values)


def sparkline(
    values: list, bounds: tuple[float, float] | None, length: int | None = None, width: int = WIDTH
) -> str:
    """The curve in `width` characters on a log scale between `bounds` (shared by every curve, so
    heights compare across rows). The x axis spans `length` points (the longest curve): a curve
    that stopped early ends early. Each character shows the last value of its stretch; a gap
    is a missing or non-finite value."""
    values = _finite(values)
    length = max(length or len(values), 1)
    if not values or bounds is None:
        return ""
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    chars = []
    for j in range(min(width, length)):
        end = min(width, length)
        last = (j + 1) * length // end - 1  # index of the last point of this stretch
        if last >= len(values):
            break
        v = values[last]
        if v is None or v <= 0:
            chars.append(" " if v is None else BARS[0])
            continue
        level = 0 if hi <= lo else (math.log(v) - lo) / (hi - lo)
        chars.append(BARS[min(len(BARS) - 1, max(0, int(level * len(BARS))))])
    return "".join(chars).rstrip()


def columns_that_fit(
    columns: list[str], rows: list[list[str]], width: int, drop_order: tuple[str, ...] = ()
) -> list[int]:
    """Indices of the columns to show in a boxed table `width` characters wide: columns named in
    `drop_order` are left out, first ones first, until the rest fit. Each column takes its
    widest cell plus 3 (padding and border), the table 1 more."""
    natural = [max([len(c), *(len(str(r[i])) for r in rows)]) + 3 for i, c in enumerate(columns)]
    keep = list(range(len(columns)))
    for name in drop_order:
        if sum(natural[i] for i in keep) + 1 <= width:
            break
        if name in columns and columns.index(name) in keep:
            keep.remove(columns.index(name))
    return keep


def _emit(
    title: str,
    columns: list[str],
    rows: list[list[str]],
    no_wrap: tuple[int, ...] = (),
    drop_order: tuple[str, ...] = (),
) -> None:
    """A Rich table on a terminal (cells as plain text: a label like `betas=[0.9,0.99]` is not
    markup), the aligned plain table of report.tables elsewhere."""
    if not use_rich(sys.stdout):
        _table(title, columns, rows)
        return
    from rich.table import Table
    from rich.text import Text

    from nnctl.report.console import stdout_console

    console = stdout_console()
    keep = columns_that_fit(columns, rows, console.width, drop_order)
    table = Table(title=Text(title), title_justify="left")
    for i in keep:
        table.add_column(Text(columns[i]), no_wrap=i in no_wrap)
    for row in rows:
        table.add_row(*(Text(str(row[i])) for i in keep))
    console.print(table)
    if len(keep) < len(columns):
        left_out = ", ".join(columns[i] for i in range(len(columns)) if i not in keep)
        print(
            f"({console.width} columns: left out {left_out}; the .json file has them)",
            file=sys.stderr,
        )


def _num(mean, std=None) -> str:
    if mean is None:
        return "-"
    text = f"{mean:.4g}"
    return f"{text}±{std:.2g}" if std is not None else text


def status_text(entry: dict) -> str:
    """How the seeds of one label ended: `completed`, or `2 of 3 seeds diverged`, or
    `2 of 3 seeds completed, 1 stopped early`."""
    counts = entry.get("statuses") or {entry["status"]: entry["runs"]}
    runs = entry["runs"]
    if len(counts) == 1:
        (status,) = counts
        word = STATUS_WORDS.get(status, status)
        return word if runs == 1 or status != "diverged" else f"all {runs} seeds diverged"
    # Divergence first: it is what a reader must not miss.
    order = sorted(counts, key=lambda s: (s != "diverged", -counts[s], s))
    first, *rest = order
    words = [f"{counts[first]} of {runs} seeds {STATUS_WORDS.get(first, first)}"]
    words += [f"{counts[s]} {STATUS_WORDS.get(s, s)}" for s in rest]
    return ", ".join(words)


def target_text(entry: dict) -> str:
    """When the train loss first reached the target: `epoch 12`, or over several seeds
    `1 of 3 seeds, epoch 12` (the mean epoch of those that reached it), or `not reached`."""
    if entry["target_epoch_mean"] is None:
        return "not reached"
    epoch = f"epoch {_num(entry['target_epoch_mean'])}"
    if entry["runs"] == 1:
        return epoch
    return f"{entry['target_reached']} of {entry['runs']} seeds, {epoch}"


def best_text(entry: dict) -> str:
    """The best validation metric over the epochs and the epoch it came at: `0.97 (epoch 12)`."""
    value = _num(entry["best_val_metric_mean"], entry["best_val_metric_std"])
    epoch = entry.get("best_val_metric_epoch_mean")
    return value if epoch is None else f"{value} (epoch {_num(epoch)})"


def print_comparison(data: dict, curves: dict[str, list[list[dict]]], quiet: bool = False) -> None:
    """The summary rows of comparison.json, one per label (mean ± std over seeds): the final
    scores of the weights each run delivered (what eval reports), then the best validation
    metric over the epochs, labelled as selected on validation."""
    first = {
        label: [r.get("train_loss") for r in (runs[0] if runs else [])]
        for label, runs in curves.items()
    }
    ok_labels = [e["label"] for e in data["summary"] if e["status"] not in ("diverged", "skipped")]
    bounds = scale([first[label] for label in ok_labels] or list(first.values()))
    length = max((len(c) for c in first.values()), default=0)
    metric = data.get("metric") or "val metric"
    rows, notes = [], []
    for e in data["summary"]:
        rows.append(
            [
                e["label"],
                status_text(e),
                _num(e["final_train_loss_mean"], e["final_train_loss_std"]),
                _num(e.get("final_val_loss_mean"), e.get("final_val_loss_std")),
                _num(e.get("final_val_metric_mean"), e.get("final_val_metric_std")),
                best_text(e),
                _num(e["epochs_mean"]),
                target_text(e),
                _num(e["target_sample_grads_mean"]),
                _num(e["target_wall_s_mean"]),
                _num(e["wall_s_mean"]),
                sparkline(first.get(e["label"], []), bounds, length),
            ]
        )
        if e["status"] == "skipped":
            notes.append(f"{e['label']}: skipped: {e.get('message')}")
    runs = {r["label"]: r for r in data["runs"] if r["diverged"]}
    for label, r in runs.items():
        notes.append(f"{label}: {r['message']}")
    target = data["target_loss"]
    seeds = data["seeds"]
    several = len(seeds) > 1
    title = (
        f"{data['kind']} of {data['config']}, seed{'s' if several else ''} "
        f"{', '.join(map(str, seeds))}"
        + (f" (numbers: mean±std over the {len(seeds)} seeds)" if several else "")
        + "; losses and scores are those of the weights each run delivered (what eval "
        "reports); target: when train_loss (data loss, no L2 penalty) first reached "
        f"{'-' if target is None else f'{target:.4g}'} "
        f"({data['target_rule']})"
    )
    headers = {
        "epochs": f"epochs (mean of {len(seeds)})" if several else "epochs",
        "best": f"best {metric} (selected on val, epoch)",
    }
    head = "run" if data["kind"] == "sweep" else "optimizer"
    _emit(
        title,
        [
            head,
            "status",
            "train loss",
            "val loss",
            metric,
            headers["best"],
            headers["epochs"],
            "target reached",
            "grads to target",
            "seconds to target",
            "time (s)",
            "train loss (log)",
        ],
        rows,
        no_wrap=(0, 11),
        drop_order=tuple(headers.get(name, name) for name in COMPARISON_DROP_ORDER),
    )
    for note in notes:
        print(f"  {note}")
    if not quiet:
        print(f"results in {data['out']}", file=sys.stderr)


def print_landscape(data: dict, paths: dict[str, list[float]], quiet: bool = False) -> None:
    """The landscape table: steps to the minimum, where each run ended, its f - f* curve."""
    bounds = scale(list(paths.values()))
    length = max((len(p) for p in paths.values()), default=0)
    rows = []
    for r in data["runs"]:
        settings = ",".join(f"{k}={v}" for k, v in r["settings"].items())
        gap = None if r["final_value"] is None else r["final_value"] - data["f_min"]
        reached = (
            "diverged"
            if r["diverged"]
            else r["steps_to_min"]
            if r["steps_to_min"] is not None
            else f"not in {r['steps']}"
        )
        rows.append(
            [
                r["label"],
                settings,
                reached,
                _num(gap),
                _num(r["final_distance"]),
                sparkline(paths.get(r["label"], []), bounds, length),
            ]
        )
    x, y = data["start"]
    title = (
        f"{data['landscape']}: {data['doc']}; start ({x:g}, {y:g}); reached = within "
        f"{data['tol']:g} of a minimum and staying"
    )
    _emit(
        title,
        ["optimizer", "settings", "steps to minimum", "final f - f*", "distance", "f - f* (log)"],
        rows,
        no_wrap=(0, 5),
        drop_order=("settings", "distance", "f - f* (log)", "final f - f*"),
    )
    if not quiet:
        print(f"results in {data['out']}", file=sys.stderr)
