"""Plots that show what they show (issue 21, part 3): several seeds are one line per optimizer
with a band, coinciding profile lines stay visible, and every image fits its text: each plot
kind is rendered and no drawn text (titles, labels, tick labels, legends) leaves the canvas."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")


def texts_outside_the_canvas(fig) -> list[str]:
    """The drawn texts whose window extent is not inside the figure (1 pixel of slack)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    # matplotlib keeps more tick objects than it draws (beyond the view, or stale): of the tick
    # labels only those at the axis' current tick locations inside its view count.
    tick_texts, shown = set(), set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            slack = 1e-9 * max(abs(low), abs(high), 1.0)
            for locs, ticks in (
                (axis.get_majorticklocs(), axis.get_major_ticks),
                (axis.get_minorticklocs(), axis.get_minor_ticks),
            ):
                every = ticks()
                tick_texts.update(id(t) for tick in every for t in (tick.label1, tick.label2))
                for tick, loc in zip(ticks(len(locs)), locs):
                    if low - slack <= loc <= high + slack:
                        shown.update({id(tick.label1), id(tick.label2)})
    outside = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        if text.axes is not None and not text.axes.get_visible():
            continue
        if id(text) in tick_texts and id(text) not in shown:
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            outside.append(f"{text.get_text()!r} at {box.bounds}")
    return outside


def _rows(scale, epochs=30, seed=0, stop=None):
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(1, (stop or epochs) + 1):
        noise = 1 + 0.1 * rng.standard_normal()
        rows.append(
            {
                "epoch": e,
                "train_loss": scale * noise / e,
                "val_loss": 1.3 * scale * noise / e,
                "val_accuracy": 1 - 0.5 / e,
                "sample_grads": 120 * e,
                "elapsed_s": 0.013 * e * (1 + 0.1 * seed),
            }
        )
    return rows


OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "lbfgs"]


def curves_of_three_seeds():
    from nnctl.report.plots import curves_figure

    data = [
        (name, _rows(0.5 + 0.1 * i, seed=seed, stop=25 if seed == 2 else None), {})
        for i, name in enumerate(OPTIMIZERS)
        for seed in range(3)
    ]
    return curves_figure(data, "val_accuracy", title="compare of digits-mlp.yaml")


def landscape():
    from nnctl.compare.landscapes import run_landscape
    from nnctl.compare.specs import parse_spec
    from nnctl.report.plots import landscape_figure

    surface, runs = run_landscape("beale", [parse_spec("sgd"), parse_spec("adam")], steps=100)
    return landscape_figure(surface, runs)


def sensitivity(keys=("optimizer.lr",)):
    from nnctl.report.tuning_plots import sensitivity_figure

    lrs = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    entries = [
        {
            "label": name,
            "tuned": True,
            "chosen": {key: 1e-2 for key in keys},
            "selection_value": 0.2,
            "curve": [
                {
                    "values": {key: lr for key in keys},
                    "selection_value": None if lr == 1.0 else 0.2 + i,
                }
                for i, lr in enumerate(lrs)
            ],
        }
        for name in ("sgd", "adam", "rmsprop:momentum=0.9,centered=true")
    ]
    data = {
        "config": "/tmp/some/long/folder/digits-mlp.yaml",
        "tuning": {
            "axes": [{"key": key, "low": 1e-4, "high": 1.0, "scale": "log"} for key in keys],
            "optimizers": entries,
            "search": "grid",
            "budget": 5,
            "seed": 0,
            "select": "val_loss",
            "higher_is_better": False,
        },
    }
    return sensitivity_figure(data)


def profile(order=("sgd", "momentum", "adam", "lbfgs")):
    from nnctl.report.tuning_plots import profile_figure

    taus = [1, 2, 4, 8]
    fraction = {label: [0.25, 0.5, 0.75, 1.0] for label in order}  # every line coincides
    data = {
        "order": list(order),
        "mean_rank": {label: 2.5 for label in order},
        "problems": [{"name": f"p{i}"} for i in range(4)],
        "profile": {"taus": taus, "fraction": fraction, "tolerance": 0.01},
    }
    return profile_figure(data)


def boundary(n_panels=1):
    from nnctl.report.model_plots import boundary_figure

    xs = np.linspace(-12.5, 12.5, 40)
    ys = np.linspace(-11.0, 11.0, 30)
    predicted = (ys[:, None] > -0.5 * xs[None, :]).astype(int).tolist()
    rng = np.random.default_rng(0)
    data = {
        "x": xs.tolist(),
        "y": ys.tolist(),
        "classes": ["benign", "malignant"],
        "feature_names": ["uniformity of cell size", "bare nuclei (standardized)"],
        "points": {
            "x": rng.uniform(-12, 12, 50).tolist(),
            "y": rng.uniform(-10, 10, 50).tolist(),
            "label": rng.integers(0, 2, 50).tolist(),
        },
        "panels": [
            {"label": f"adam:lr=0.01 seed {i}", "run": "r", "predicted": predicted}
            for i in range(n_panels)
        ],
    }
    return boundary_figure(data)


def weights():
    from nnctl.report.model_plots import weights_figure

    rng = np.random.default_rng(0)
    images = [rng.standard_normal((8, 8)).tolist() for _ in range(10)]
    return weights_figure(
        {"images": images, "unit": "class", "classes": list(range(10)), "side": 8}
    )


FIGURES = {
    "curves, 8 optimizers x 3 seeds": curves_of_three_seeds,
    "landscape": landscape,
    "sensitivity": sensitivity,
    "sensitivity, two tuned settings": lambda: sensitivity(("optimizer.lr", "optimizer.eps")),
    "profile": profile,
    "boundary, one panel": boundary,
    "boundary, four panels": lambda: boundary(4),
    "weights": weights,
}


@pytest.mark.parametrize("kind", list(FIGURES))
def test_every_text_fits_in_the_image(kind):
    fig = FIGURES[kind]()
    assert texts_outside_the_canvas(fig) == []


def test_the_check_sees_a_title_that_leaves_the_canvas():
    fig = boundary()
    fig.text(0.9, 0.5, "a text pushed out of the image on the right")
    assert any("pushed out" in text for text in texts_outside_the_canvas(fig))


def test_several_seeds_are_one_line_and_a_band_per_optimizer():
    from matplotlib.collections import PolyCollection

    fig = curves_of_three_seeds()
    epoch_panel, _, _, metric_panel = fig.axes
    assert len(epoch_panel.get_lines()) == 2 * len(OPTIMIZERS)  # train and val, one each
    bands = [c for c in epoch_panel.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2 * len(OPTIMIZERS)
    (legend,) = fig.legends
    names = [t.get_text() for t in legend.get_texts()]
    assert names == [f"{n} (median of 3 seeds, band: min to max)" for n in OPTIMIZERS]
    # The line is the median of the three seeds at each epoch; the band spans min to max.
    seeds = [_rows(0.5, seed=s, stop=25 if s == 2 else None) for s in range(3)]
    line = epoch_panel.get_lines()[0]
    for epoch in (1, 10, 25, 30):
        values = [r[epoch - 1]["train_loss"] for r in seeds if len(r) >= epoch]
        assert line.get_ydata()[epoch - 1] == pytest.approx(np.median(values))
    (low, high) = (
        bands[0].get_paths()[0].vertices[:, 1].min(),
        max(max(r["train_loss"] for r in rows) for rows in seeds),
    )
    assert low == pytest.approx(min(min(r["train_loss"] for r in rows) for rows in seeds))
    assert math.isfinite(high)
    assert len(metric_panel.get_lines()) == len(OPTIMIZERS)


def test_profile_lines_differ_in_style_and_marker():
    fig = profile()
    ax = fig.axes[0]
    handles = ax.get_legend().legend_handles
    styles = {(line.get_linestyle(), line.get_marker()) for line in handles}
    assert len(handles) == 4 and len(styles) == 4
    # Where the four lines coincide, each one's markers sit at its own x along every step.
    markers = [line for line in ax.get_lines() if line.get_linestyle() == "None"]
    xs = [tuple(line.get_xdata()) for line in markers]
    assert len(markers) == 4 and len(set(xs)) == 4
    assert all(1 <= x[0] < 2 and 2 <= x[1] < 4 for x in xs)  # inside the step they mark


def test_plot_without_out_writes_beside_the_run(tmp_path, capsys, monkeypatch):
    from nnctl.api.commands import plot_runs
    from nnctl.runs.run_folder import write_summary

    run = tmp_path / "run"
    run.mkdir()
    rows = [
        {"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "sample_grads": 10 * e}
        for e in range(1, 4)
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    write_summary(run, {"primary_metric": "val_loss"})
    assert plot_runs([run], None, None, None) == run / "curves.png"
    assert (run / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert f"no --out: writing {run / 'curves.png'}" in capsys.readouterr().err
    # Several folders: the current folder.
    other = tmp_path / "other"
    other.mkdir()
    for name in ("metrics.jsonl", "summary.json"):
        (other / name).write_bytes((run / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    assert plot_runs([run, other], None, None, None) == Path("curves.png")
    assert (tmp_path / "curves.png").is_file()
