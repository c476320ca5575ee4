"""Result tables on stdout (what the user asked for): training summary, evaluation, gradient
check, dataset list. Boxed on a terminal, aligned plain text elsewhere."""

from __future__ import annotations

import sys

from nnctl.report.console import use_rich


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(title: str, columns: list[str], rows: list[list]) -> None:
    """A Rich table on a terminal; aligned plain text elsewhere (greppable, no box drawing)."""
    cells = [[_fmt(v) for v in row] for row in rows]
    if use_rich(sys.stdout):
        from rich.table import Table

        from nnctl.report.console import stdout_console

        table = Table(title=title)
        for col in columns:
            table.add_column(col)
        for row in cells:
            table.add_row(*row)
        stdout_console().print(table)
        return
    widths = [
        max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)
    ]
    print(title)
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    sys.stdout.flush()


def print_summary(summary: dict) -> None:
    rows = [
        [
            "status",
            summary["status"]
            + (f" ({summary['stop_reason']})" if summary.get("stop_reason") else ""),
        ],
        ["epochs", summary["epochs"]],
        ["steps", summary["steps"]],
    ]
    best = summary.get("best") or {}
    if best:
        rows.append(
            [f"best epoch (by {summary.get('monitor') or 'val_loss'})", summary["best_epoch"]]
        )
    if summary.get("delivered_epoch") is not None:
        # The weights eval, predict and the API use (checkpoints/last.npz): the scores below.
        rows.append(["final weights from epoch", summary["delivered_epoch"]])
    for key, value in summary["final"].items():
        rows.append([f"final {key}", value])
    rows.append(["time (s)", summary["elapsed_s"]])
    rows.append(["run folder", summary["run_dir"]])
    _table(f"{summary['model']} / {summary['optimizer']}", ["", "value"], rows)


def print_eval(result: dict) -> None:
    rows = [[k, v] for k, v in result.items() if k not in ("confusion_matrix", "classes")]
    _table("evaluation", ["metric", "value"], rows)
    if "confusion_matrix" in result:
        classes = [str(c) for c in result.get("classes") or range(len(result["confusion_matrix"]))]
        _table(
            "confusion matrix (rows: true, columns: predicted)",
            ["", *classes],
            [[c, *row] for c, row in zip(classes, result["confusion_matrix"])],
        )


def print_gradcheck(result: dict) -> None:
    rows = [
        [name, err, "ok" if err < result["tolerance"] else "FAIL"]
        for name, err in result["blocks"].items()
    ]
    _table(
        f"gradient check on {result['samples']} rows (tolerance {result['tolerance']:g})",
        ["block", "max relative error", ""],
        rows,
    )


def print_datasets(listing: list[dict]) -> None:
    rows = [
        [
            d["name"],
            d.get("kind"),
            d.get("task"),
            d.get("n_samples"),
            d.get("n_features"),
            d.get("n_classes"),
            d.get("source"),
        ]
        for d in listing
    ]
    _table(
        "built-in datasets",
        ["name", "kind", "task", "samples", "features", "classes", "source"],
        rows,
    )
