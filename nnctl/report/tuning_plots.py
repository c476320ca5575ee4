"""The pictures of a tuned comparison and of several problems (matplotlib, nnctl[plot]).

    plot_sensitivity(comparison_json, "sensitivity.png")   the selection metric against the
        tuned value, one line per optimizer, the chosen trial ringed (DeepOBS's figure); one
        panel per tuned setting (random search: points, not lines).
    plot_profile(ranking_json, "profile.png")              the Dolan-More performance profile:
        share of problems solved within tau times the best cost, a step line per optimizer
        (cost and target: nnctl.compare.problems).

The numbers drawn are in comparison.json ("tuning") / tuning.csv and ranking.json.
"""

from __future__ import annotations

import math
from pathlib import Path

from nnctl.report.plots import _matplotlib, _save, check_out_file

LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _colours(mpl, labels: list[str]) -> dict:
    palette = mpl.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    return {label: palette(i % palette.N) for i, label in enumerate(labels)}


def plot_sensitivity(data: dict, out_file: Path) -> Path:
    check_out_file(out_file)
    return _save(sensitivity_figure(data), Path(out_file))


def sensitivity_figure(data: dict):
    mpl = _matplotlib()
    tuning = data["tuning"]
    axes_info = tuning["axes"]
    entries = [e for e in tuning["optimizers"] if e["tuned"] and e["curve"]]
    # Constrained layout: the margins follow the text (labels, the legend right of the panels).
    fig = mpl.figure.Figure(figsize=(6.5 * len(axes_info) + 2.5, 5.5), layout="constrained")
    panels = fig.subplots(1, len(axes_info), squeeze=False)[0]
    colours = _colours(mpl, [e["label"] for e in entries])
    random = tuning["search"] == "random"
    for ax, axis in zip(panels, axes_info):
        key = axis["key"]
        for entry in entries:
            points = sorted(
                (t["values"][key], t["selection_value"])
                for t in entry["curve"]
                if key in t["values"]
            )
            if not points:
                continue
            xs = [x for x, _ in points]
            ys = [math.nan if y is None else y for _, y in points]
            ax.plot(
                xs,
                ys,
                color=colours[entry["label"]],
                lw=0 if random else 1.6,
                marker="o",
                ms=4,
                label=entry["label"],
            )
            diverged = [x for x, y in points if y is None]
            if diverged:  # a diverged trial has no value: an x at the bottom says it was tried
                ax.plot(
                    diverged,
                    [0.02] * len(diverged),
                    ls="none",
                    marker="x",
                    color=colours[entry["label"]],
                    transform=ax.get_xaxis_transform(),
                )
            if entry["chosen"] and key in entry["chosen"]:
                ax.plot(
                    [entry["chosen"][key]],
                    [entry["selection_value"]],
                    ls="none",
                    marker="o",
                    ms=13,
                    mfc="none",
                    mew=2,
                    color=colours[entry["label"]],
                )
        if axis["scale"] == "log":
            ax.set_xscale("log")
        ax.set_xlabel(f"{key} (tuned over {axis['low']:g}:{axis['high']:g})")
        ax.set_ylabel(
            f"{tuning['select']} ({'higher' if tuning['higher_is_better'] else 'lower'} is better)"
        )
        if "loss" in tuning["select"]:
            ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.25)
    panels[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9, frameon=False)
    fig.suptitle(
        f"sensitivity of {Path(data['config']).name}: {tuning['budget']} trials per "
        f"optimizer ({tuning['search']}, seed {tuning['seed']})\n"
        "ring: the chosen trial; x at the bottom: a diverged trial",
        fontsize=11,
    )
    return fig


def plot_profile(data: dict, out_file: Path) -> Path:
    check_out_file(out_file)
    return _save(profile_figure(data), Path(out_file))


def profile_figure(data: dict):
    mpl = _matplotlib()
    profile = data["profile"]
    taus, fraction = profile["taus"], profile["fraction"]
    right = max(taus) * 2 if len(taus) > 1 else 2.0
    fig = mpl.figure.Figure(figsize=(9, 5.5))
    ax = fig.subplots()
    colours = _colours(mpl, data["order"])
    n = len(data["order"])
    for i, label in enumerate(data["order"]):
        # Optimizers often share a profile (the same fraction at every tau): each has its own
        # line style, and its markers sit at its own place along every step, so where the
        # lines coincide the markers still show each one.
        look = {
            "color": colours[label],
            "ls": LINE_STYLES[i % len(LINE_STYLES)],
            "marker": MARKERS[i % len(MARKERS)],
            "ms": 6,
        }
        steps_x, steps_y = [*taus, right], [*fraction[label], fraction[label][-1]]
        ax.step(steps_x, steps_y, where="post", lw=1.8, **{**look, "marker": "none"})
        ends = [*taus[1:], right]
        ax.plot(
            [a * (b / a) ** ((i + 1) / (n + 1)) for a, b in zip(taus, ends)],
            fraction[label],
            **{**look, "ls": "none"},
        )
        # The legend's sample: the line style and the marker together.
        ax.plot([], [], lw=1.8, **look, label=f"{label} (mean rank {data['mean_rank'][label]:.2f})")
    ax.set_xscale("log", base=2)
    ax.set_xlim(1, right)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("tau: cost within tau times the best optimizer's on the problem (log2 scale)")
    ax.set_ylabel("fraction of problems")
    ax.set_title(
        f"performance profile over {len(data['problems'])} problems; cost: sample-gradients "
        f"until the training loss is {100 * (1 - data['profile']['tolerance']):g}% of the way\n"
        "from the initial loss to the lowest any optimizer reached on the problem",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="lower right", fontsize=9)
    fig.subplots_adjust(left=0.09, right=0.97, top=0.92, bottom=0.11)
    return fig
