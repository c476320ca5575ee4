"""Pictures of what a model learned (matplotlib, nnctl[plot]); the numbers come from
nnctl.report.model_pictures and are written beside the image as JSON (<image>.json).

    boundary_figure(data)   one panel per model: class regions, the decision boundary (where the
                            predicted class changes), the training points coloured by class
    weights_figure(data)    the first layer's weights, one grey image per unit (8x8 digits)
"""

from __future__ import annotations

import math
import textwrap

from nnctl.report.plots import _matplotlib


def boundary_figure(data: dict, title: str | None = None):
    import numpy as np

    mpl = _matplotlib()
    panels = data["panels"]
    cols = min(len(panels), 3)
    rows = math.ceil(len(panels) / cols)
    # Constrained layout: the margins follow the text (a single panel's title, long feature
    # names, minus signs on the ticks), where fixed fractions cut it off.
    fig = mpl.figure.Figure(figsize=(4.6 * cols + 0.6, 4.4 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    k = len(data["classes"])
    cmap = mpl.colormaps["tab10"]
    colours = [cmap(i % 10) for i in range(k)]
    regions = mpl.colors.ListedColormap([(*c[:3], 0.25) for c in colours])
    xs, ys = np.asarray(data["x"]), np.asarray(data["y"])
    px, py = np.asarray(data["points"]["x"]), np.asarray(data["points"]["y"])
    labels = np.asarray(data["points"]["label"])
    names = data["feature_names"]
    for ax, panel in zip(axes, panels):
        Z = np.asarray(panel["predicted"])
        ax.pcolormesh(xs, ys, Z, cmap=regions, vmin=-0.5, vmax=k - 0.5, shading="auto")
        ax.contour(xs, ys, Z, levels=np.arange(k - 1) + 0.5, colors="black", linewidths=1.2)
        for c in range(k):
            mask = labels == c
            ax.scatter(
                px[mask],
                py[mask],
                s=9,
                color=colours[c],
                edgecolors="white",
                linewidths=0.3,
                label=str(data["classes"][c]),
            )
        ax.set_title(panel["label"], fontsize=10)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    axes[0].legend(title="class", fontsize=8, loc="best", framealpha=0.8)
    heading = (
        title
        or "decision boundary: shaded regions are the predicted class, the black "
        "line where it changes; dots: training points"
    )
    # About 13 characters of 10-point text an inch: a one-panel figure wraps the heading.
    fig.suptitle(textwrap.fill(heading, int(fig.get_figwidth() * 13)), fontsize=10)
    return fig


def weights_figure(data: dict, title: str | None = None):
    import numpy as np

    mpl = _matplotlib()
    images = [np.asarray(image) for image in data["images"]]
    n = len(images)
    cols = min(n, 16 if n > 32 else 8)
    rows = math.ceil(n / cols)
    fig = mpl.figure.Figure(figsize=(1.1 * cols + 1.0, 1.2 * rows + 1.0))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for j, (ax, image) in enumerate(zip(axes, images)):
        limit = float(np.abs(image).max()) or 1.0  # each unit on its own symmetric scale
        ax.imshow(image, cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
        name = (
            f"class {data['classes'][j]}"
            if data["unit"] == "class" and data["classes"]
            else f"unit {j}"
        )
        ax.set_title(name, fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(
        title
        or f"first-layer weights, one {data['side']}x{data['side']} image per "
        f"{data['unit']} (white: positive, black: negative)",
        fontsize=10,
    )
    fig.subplots_adjust(
        left=0.02,
        right=0.98,
        top=1 - 0.7 / (1.2 * rows + 1.0),
        bottom=0.02,
        hspace=0.35,
        wspace=0.1,
    )
    return fig
