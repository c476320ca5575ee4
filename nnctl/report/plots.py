"""Plots, with the optional extra `nnctl[plot]` (matplotlib, imported here only, Agg backend).

    plot_curves([(label, run_dir), ...], "curves.png")      four panels: train (solid) and
        validation (dashed) loss against epochs, sample-gradient evaluations and wall time, on a
        log scale; and a validation metric against epochs. One colour, one line and one legend
        entry per label: the runs of one label (several seeds) are drawn as their median with
        a shaded band from the lowest to the highest seed, epoch by epoch.
    plot_landscape(landscape, runs, "landscape.png")          trajectories over the contour plot.

Without matplotlib these raise PlotsUnavailable, whose text is the one line telling how to
install the extra.
"""

from __future__ import annotations

import math
from pathlib import Path

from nnctl.errors import UsageError

INSTALL_HINT = 'plots need matplotlib, the optional extra: pip install "nnctl[plot]"'
FORMATS = ("png", "pdf", "svg")


class PlotsUnavailable(Exception):
    def __init__(self):
        super().__init__(INSTALL_HINT)


_background_import = None  # the thread of import_in_background, joined before any plot


def import_in_background() -> None:
    """Start importing matplotlib (about 0.4 s) on a thread, for a process that is about to
    wait: the client of a comparison on a Dask cluster. The plot drawn afterwards joins the
    thread instead of importing. A missing matplotlib is left for the plot to say."""
    import threading

    global _background_import

    def load():
        try:
            _import_matplotlib()
        except PlotsUnavailable:
            pass

    if _background_import is None:
        _background_import = threading.Thread(target=load, name="import-matplotlib", daemon=True)
        _background_import.start()


def _matplotlib():
    """The matplotlib module, on the Agg backend (imported here unless a background import
    has done it)."""
    if _background_import is not None:
        _background_import.join()
    return _import_matplotlib()


def _import_matplotlib():
    """Figures are made with `Figure` directly (no pyplot): nothing global to close, and a
    faster import."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise PlotsUnavailable() from None
    return matplotlib


def check_out_file(path: Path) -> str:
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise UsageError(
            f"--out {path}: expected a .png, .pdf or .svg file name, found "
            f"{Path(path).suffix or 'no extension'!r}"
        )
    return fmt


def _save(fig, path: Path) -> Path:
    from nnctl.util.atomic import atomic_open

    fmt = check_out_file(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format=fmt, dpi=110)
    return Path(path)


def _series(rows: list[dict], x_key: str, y_key: str) -> tuple[list, list]:
    """(x, y) of the rows where both are finite numbers (a gap elsewhere)."""
    xs, ys = [], []
    for row in rows:
        x, y = row.get(x_key), row.get(y_key)
        ok = all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in (x, y)
        )
        xs.append(x if ok else math.nan)
        ys.append(y if ok else math.nan)
    return xs, ys


def _seed_band(runs_rows: list[list[dict]], x_key: str, y_key: str):
    """(x, median, low, high) over the runs of one label, epoch by epoch: x is the median of
    the runs' x at that epoch (sample-gradients and wall time differ between seeds), the band
    spans the lowest and highest finite y. An epoch no run has a finite value for is a gap;
    a run that stopped early (or diverged) leaves the band where it ends."""
    import numpy as np

    epochs = sorted({r["epoch"] for rows in runs_rows for r in rows if "epoch" in r})
    xs, mid, low, high = [], [], [], []
    by_epoch = [{r.get("epoch"): r for r in rows} for rows in runs_rows]
    for epoch in epochs:
        points = [_series([rows[epoch]], x_key, y_key) for rows in by_epoch if epoch in rows]
        pairs = [(x[0], y[0]) for x, y in points if not math.isnan(y[0])]
        if not pairs:
            xs.append(math.nan)
            mid.append(math.nan), low.append(math.nan), high.append(math.nan)
            continue
        values = np.array([y for _, y in pairs])
        xs.append(float(np.median([x for x, _ in pairs])))
        mid.append(float(np.median(values)))
        low.append(float(values.min()))
        high.append(float(values.max()))
    return xs, mid, low, high


def _draw(ax, runs_rows: list[list[dict]], x_key: str, y_key: str, colour, **line) -> object:
    """One line for the runs of one label: the run itself, or the median of several with a
    min-max band."""
    if len(runs_rows) == 1:
        (drawn,) = ax.plot(*_series(runs_rows[0], x_key, y_key), color=colour, **line)
        return drawn
    xs, mid, low, high = _seed_band(runs_rows, x_key, y_key)
    (drawn,) = ax.plot(xs, mid, color=colour, **line)
    band_alpha = 0.18 if line.get("ls", "-") == "-" else 0.08
    ax.fill_between(xs, low, high, color=colour, alpha=band_alpha, lw=0)
    return drawn


def _loss_limits(all_rows: list[list[dict]]) -> tuple[float, float] | None:
    """Log-axis limits: from the lowest positive loss to 10x the highest starting loss, so a
    diverging run leaves the top of the panel instead of squashing every other curve."""
    values, starts = [], []
    for rows in all_rows:
        for i, row in enumerate(rows):
            for key in ("train_loss", "val_loss"):
                v = row.get(key)
                if isinstance(v, (int, float)) and math.isfinite(v) and v > 0:
                    values.append(v)
                    if i == 0:
                        starts.append(v)
    if not values:
        return None
    top = min(max(values), 10 * max(starts)) if starts else max(values)
    return min(values) / 1.5, top * 1.5


def is_run_folder(path: Path) -> bool:
    """A run that diverged in its first epoch has a summary.json but no metrics.jsonl."""
    return (Path(path) / "metrics.jsonl").is_file() or (Path(path) / "summary.json").is_file()


def read_runs(runs: list[tuple[str, Path]]) -> list[tuple[str, list[dict], dict]]:
    """(label, metrics rows, summary) of each run folder."""
    import json

    from nnctl.runs.run_folder import read_metrics

    out = []
    for label, run_dir in runs:
        run_dir = Path(run_dir)
        if not is_run_folder(run_dir):
            raise UsageError(f"{run_dir}: not a run folder (no metrics.jsonl or summary.json)")
        summary_path = run_dir / "summary.json"
        summary = (
            json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
        )
        out.append((label, read_metrics(run_dir), summary))
    return out


def default_metric(data: list[tuple[str, list[dict], dict]]) -> str:
    for _, rows, summary in data:
        if summary.get("primary_metric") and any(summary["primary_metric"] in r for r in rows):
            return summary["primary_metric"]
    return "val_loss"


def plot_curves(
    runs: list[tuple[str, Path]],
    out_file: Path,
    metric: str | None = None,
    title: str | None = None,
) -> Path:
    """Reads the run folders and writes the four-panel figure to out_file."""
    check_out_file(out_file)
    data = read_runs(runs)
    metric = metric or default_metric(data)
    if data and not any(metric in row for _, rows, _ in data for row in rows):
        keys = sorted({k for _, rows, _ in data for row in rows for k in row})
        raise UsageError(
            f"--metric {metric}: no run has it; the runs' columns are: {', '.join(keys) or 'none'}"
        )
    return _save(curves_figure(data, metric, title), Path(out_file))


def curves_figure(data: list[tuple[str, list[dict], dict]], metric: str, title: str | None = None):
    """The figure of plot_curves from (label, metrics rows, summary) triples."""
    mpl = _matplotlib()
    fig = mpl.figure.Figure(figsize=(13, 9))
    axes = fig.subplots(2, 2)
    panels = [
        (axes[0][0], "epoch", "epoch (full-batch methods: iteration)"),
        (axes[0][1], "sample_grads", "sample-gradient evaluations"),
        (axes[1][0], "elapsed_s", "wall time (s)"),
    ]
    groups: dict[str, list[list[dict]]] = {}
    for label, rows, _ in data:
        groups.setdefault(label, []).append(rows)
    palette = mpl.colormaps["tab10" if len(groups) <= 10 else "tab20"]  # distinct up to 20
    handles = {}
    for i, (label, runs_rows) in enumerate(groups.items()):
        colour = palette(i % palette.N)
        for ax, x_key, _ in panels:
            line = _draw(ax, runs_rows, x_key, "train_loss", colour, lw=1.6)
            _draw(ax, runs_rows, x_key, "val_loss", colour, lw=1.2, ls="--")
        _draw(axes[1][1], runs_rows, "epoch", metric, colour, lw=1.6)
        seeds = len(runs_rows)
        name = label if seeds == 1 else f"{label} (median of {seeds} seeds, band: min to max)"
        handles[name] = line
    limits = _loss_limits([rows for _, rows, _ in data])
    for ax, _, xlabel in panels:
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("loss (log scale)")
        ax.grid(True, which="both", alpha=0.25)
        if limits:
            ax.set_ylim(*limits)
    axes[0][0].set_title("loss per epoch")
    axes[0][1].set_title("loss per sample-gradient evaluation")
    axes[1][0].set_title("loss against wall time")
    metric_ax = axes[1][1]
    metric_ax.set_title(f"{metric} per epoch")
    metric_ax.set_xlabel("epoch (full-batch methods: iteration)")
    metric_ax.set_ylabel(metric)
    metric_ax.grid(True, alpha=0.25)
    if "loss" in metric:
        metric_ax.set_yscale("log")
    fig.suptitle(
        (title + "\n" if title else "")
        + "solid: train_loss (data loss, no L2 penalty), dashed: val_loss"
    )
    fig.legend(
        list(handles.values()),
        list(handles),
        loc="lower center",
        ncol=_legend_columns(list(handles)),
        frameon=False,
    )
    # Fixed margins: tight_layout would measure every tick label, seconds on log axes.
    legend_rows = math.ceil(max(len(handles), 1) / _legend_columns(list(handles)))
    fig.subplots_adjust(
        left=0.07, right=0.98, top=0.9, bottom=0.08 + 0.025 * legend_rows, hspace=0.3, wspace=0.18
    )
    return fig


def _legend_columns(names: list[str], line_chars: int = 150) -> int:
    """Legend entries side by side below the 13-inch curves figure: up to 6, as many as fit
    (about 150 characters of legend text, each entry also takes its line sample)."""
    widest = max((len(n) for n in names), default=1) + 8
    return max(1, min(len(names), 6, line_chars // widest))


def plot_landscape(landscape, runs, out_file: Path, title: str | None = None) -> Path:
    """Trajectories (nnctl.compare.landscapes.LandscapeRun) over the contours, to out_file."""
    check_out_file(out_file)
    return _save(landscape_figure(landscape, runs, title), Path(out_file))


def landscape_figure(landscape, runs, title: str | None = None):
    """Contours of log10(f - f* + 0.001), the minima (stars), the start (dot), one path each."""
    import numpy as np

    mpl = _matplotlib()
    x0, x1, y0, y1 = landscape.bounds
    xs, ys = np.linspace(x0, x1, 300), np.linspace(y0, y1, 300)
    X, Y = np.meshgrid(xs, ys)
    Z = landscape.value(np.array([X, Y])) - landscape.f_min
    fig = mpl.figure.Figure(figsize=(10, 7))
    ax = fig.subplots()
    log_gap = np.log10(Z + 1e-3)  # log: the flat floor of a valley gets contours too
    ax.contourf(X, Y, log_gap, levels=30, cmap="Greys", alpha=0.3)
    ax.contour(X, Y, log_gap, levels=30, colors="grey", linewidths=0.5, alpha=0.8)
    for mx, my in landscape.minima:  # drawn over the paths (zorder), which end on them
        ax.plot(mx, my, marker="*", color="black", mec="white", ms=16, ls="none", zorder=5)
    start = runs[0].path[0] if runs else None
    if start is not None:
        ax.plot(start[0], start[1], marker="o", color="black", ms=7, ls="none", zorder=5)
    for run in runs:
        reached = (
            f"{run.steps_to_min} steps"
            if run.steps_to_min is not None
            else ("diverged" if run.diverged else "not reached")
        )
        ax.plot(
            run.path[:, 0],
            run.path[:, 1],
            lw=1.4,
            marker=".",
            ms=2.5,
            label=f"{run.label} ({reached})",
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title or f"{landscape.name}: {landscape.doc}")
    ax.legend(loc="upper right", fontsize=9, framealpha=0.85)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.94, bottom=0.08)
    return fig
