"""What a comparison shows when it is done: its plots (curves, sensitivity, profile, landscape;
or one line on how to get matplotlib), then its tables on stdout, or, with --json, one JSON
document instead of the tables.

The caller hands in `print_json`, the function that puts that document on stdout: the command
line's, which turns a closed or full stdout into a usage error (report/ never imports cli/).
"""

from __future__ import annotations

import sys
from collections.abc import Callable


def plot_or_hint(draw: Callable, quiet: bool) -> None:
    """Draw a plot if matplotlib is there; otherwise one line on how to install it."""
    from nnctl.report.plots import PlotsUnavailable

    try:
        path = draw()
    except PlotsUnavailable as exc:
        print(f"note: {exc}", file=sys.stderr)  # even with -q: a file the user expects is missing
        return
    if not quiet:
        print(f"wrote {path}", file=sys.stderr)


def render_comparison(result, quiet: bool, no_plot: bool, print_json: Callable | None) -> None:
    """A comparison or sweep: curves.png (and sensitivity.png when tuned), then its table."""
    from nnctl.report.compare_table import print_comparison
    from nnctl.report.tuning_table import print_tuning

    if not no_plot:
        plot_comparison(result, quiet)
    if print_json is not None:
        print_json(result.data)
        return
    print_comparison(result.data, result.curves, quiet)
    if result.data.get("tuning"):
        print_tuning(result.data)


def plot_comparison(result, quiet: bool) -> None:
    """curves.png of a comparison's runs, and sensitivity.png when it was tuned."""
    from nnctl.report.plots import plot_curves
    from nnctl.report.tuning_plots import plot_sensitivity

    title = f"{result.data['kind']} of {result.data['config']}"
    plot_or_hint(
        lambda: plot_curves(result.run_dirs(), result.out_dir / "curves.png", title=title), quiet
    )
    if result.data.get("tuning"):
        plot_or_hint(
            lambda: plot_sensitivity(result.data, result.out_dir / "sensitivity.png"), quiet
        )


def render_problems(result, quiet: bool, no_plot: bool, print_json: Callable | None) -> None:
    """Each problem's comparison (its plots; its tables unless --json), then the ranking."""
    from nnctl.report.tuning_plots import plot_profile
    from nnctl.report.tuning_table import print_ranking

    for comparison in result.comparisons:
        if print_json is not None:  # one JSON document: ranking.json, naming every comparison
            if not no_plot:
                plot_comparison(comparison, quiet)
        else:
            render_comparison(comparison, quiet, no_plot, None)
    if not no_plot:
        plot_or_hint(lambda: plot_profile(result.data, result.out_dir / "profile.png"), quiet)
    if print_json is not None:
        print_json(result.data)
    else:
        print_ranking(result.data)


def render_landscape(result, quiet: bool, no_plot: bool, print_json: Callable | None) -> None:
    """The optimizers' paths on a 2-D test function: landscape.png, then the table."""
    from nnctl.report.compare_table import print_landscape
    from nnctl.report.plots import plot_landscape

    if not no_plot:
        plot_or_hint(
            lambda: plot_landscape(result.surface, result.runs, result.out_dir / "landscape.png"),
            quiet,
        )
    if print_json is not None:
        print_json(result.data)
    else:
        print_landscape(result.data, result.gaps(), quiet)
