"""Plots: every output path with matplotlib installed and without it (simulated by a
`matplotlib` package on PYTHONPATH that fails to import), as real processes; and the figures'
content (axes labelled, log scale on loss, one legend entry per label)."""

from __future__ import annotations

import json
import math
import os

import pytest

from conftest import CONFIGS, assert_clean_error, run_nnctl

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HINT = 'pip install "nnctl[plot]"'


def has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


needs_matplotlib = pytest.mark.skipif(
    not has_matplotlib(), reason="matplotlib (nnctl[plot]) not installed"
)


@pytest.fixture
def no_matplotlib(tmp_path):
    """Environment for a subprocess in which `import matplotlib` fails."""
    fake = tmp_path / "fake-site" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise ImportError(\"No module named 'matplotlib' (simulated)\")\n"
    )
    # Ahead of any PYTHONPATH already set (a worktree's), which must stay: else the subprocess
    # would import another copy of nnctl.
    paths = [str(tmp_path / "fake-site"), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def compare(tmp_path, out, env=None, *extra):
    return run_nnctl(
        "compare-optimizers",
        CONFIGS / "iris-softmax.yaml",
        "-o",
        "sgd",
        "-o",
        "adam",
        "-o",
        "lbfgs",
        "-s",
        "train.epochs=3",
        "--out",
        tmp_path / out,
        *extra,
        cwd=tmp_path,
        env=env,
    )


# ---------------------------------------------------------------------------------------------
# Without matplotlib: one line on how to install the extra; everything else is written


def test_without_matplotlib_compare_and_landscape_still_work(tmp_path, no_matplotlib):
    proc = compare(tmp_path, "cmp", no_matplotlib)
    assert proc.returncode == 0, proc.stderr
    hint_lines = [line for line in proc.stderr.splitlines() if HINT in line]
    assert len(hint_lines) == 1 and "Traceback" not in proc.stderr
    out = tmp_path / "cmp"
    assert {p.name for p in out.iterdir()} == {
        "sgd",
        "adam",
        "lbfgs",
        "comparison.csv",
        "comparison.json",
        "plan.json",
    }
    proc = run_nnctl(
        "compare-optimizers",
        "--landscape",
        "saddle",
        "--steps",
        "20",
        "-q",
        "--out",
        tmp_path / "land",
        cwd=tmp_path,
        env=no_matplotlib,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(HINT) == 1  # even with -q: an expected file is missing
    assert [p.name for p in (tmp_path / "land").iterdir()] == ["landscape.json"]
    proc = run_nnctl(
        "sweep",
        CONFIGS / "iris-softmax.yaml",
        "-s",
        "optimizer.lr=0.1,0.2",
        "-s",
        "train.epochs=1",
        "--out",
        tmp_path / "sw",
        "--json",
        cwd=tmp_path,
        env=no_matplotlib,
    )
    assert proc.returncode == 0 and proc.stderr.count(HINT) == 1
    assert json.loads(proc.stdout)["kind"] == "sweep"  # stdout: the JSON only
    # nnctl plot has nothing else to do: it is an error, with the same hint
    proc = run_nnctl(
        "plot",
        tmp_path / "cmp" / "sgd",
        "--out",
        tmp_path / "c.png",
        cwd=tmp_path,
        env=no_matplotlib,
    )
    assert_clean_error(proc, 2, HINT)
    assert not (tmp_path / "c.png").exists()


# ---------------------------------------------------------------------------------------------
# With matplotlib


@needs_matplotlib
def test_with_matplotlib_every_plot_is_written(tmp_path):
    proc = compare(tmp_path, "cmp", None)
    assert proc.returncode == 0, proc.stderr
    assert HINT not in proc.stderr and "curves.png" in proc.stderr
    assert (tmp_path / "cmp" / "curves.png").read_bytes().startswith(PNG_MAGIC)
    # plot: a comparison folder and a run folder, another format, another metric
    proc = run_nnctl(
        "plot",
        tmp_path / "cmp",
        tmp_path / "cmp" / "sgd",
        "--out",
        tmp_path / "all.svg",
        "--metric",
        "lr",
        "--title",
        "iris",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"<svg" in (tmp_path / "all.svg").read_bytes()[:1000]
    proc = run_nnctl(
        "compare-optimizers",
        "--landscape",
        "rosenbrock",
        "-o",
        "momentum",
        "-o",
        "lbfgs",
        "--steps",
        "200",
        "-q",
        "--out",
        tmp_path / "land",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "land" / "landscape.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--metric", "val_nope"], "--metric val_nope: no run has it"),
        (["--out", "x.jpg"], ".png, .pdf or .svg"),
    ],
)
def test_plot_usage_errors(tmp_path, args, fragment):
    run = tmp_path / "run"
    assert (
        run_nnctl(
            "train",
            CONFIGS / "iris-softmax.yaml",
            "-s",
            "train.epochs=1",
            "-q",
            "--out",
            run,
            cwd=tmp_path,
        ).returncode
        == 0
    )
    full = ["plot", run, *args] + (["--out", "x.png"] if "--out" not in args else [])
    proc = run_nnctl(*full, cwd=tmp_path)
    if not has_matplotlib() and "--metric" in args:
        pytest.skip("checked after matplotlib is found")
    assert_clean_error(proc, 2, fragment)
    assert_clean_error(
        run_nnctl("plot", tmp_path, "--out", "x.png", cwd=tmp_path), 2, "expected a run folder"
    )


@needs_matplotlib
def test_the_curves_figure_has_labelled_log_axes_and_one_legend_entry_per_label():
    from nnctl.report.plots import curves_figure

    def rows(scale):
        return [
            {
                "epoch": e,
                "train_loss": scale / e,
                "val_loss": 1.2 * scale / e,
                "val_accuracy": 1 - 0.5 / e,
                "sample_grads": 100 * e,
                "elapsed_s": 0.1 * e,
            }
            for e in range(1, 6)
        ]

    data = [
        ("sgd", rows(1.0), {}),
        ("adam", rows(0.5), {}),
        ("adam", rows(0.6), {}),  # 2 seeds
        (
            "diverged",
            [
                {
                    "epoch": 1,
                    "train_loss": math.inf,
                    "val_loss": None,
                    "sample_grads": 100,
                    "elapsed_s": 0.1,
                }
            ],
            {},
        ),
    ]
    fig = curves_figure(data, "val_accuracy", title="t")
    axes = fig.axes
    assert len(axes) == 4
    for ax in axes[:3]:
        assert ax.get_yscale() == "log" and "loss" in ax.get_ylabel() and ax.get_xlabel()
    assert [ax.get_xlabel() for ax in axes[:3]] == [
        "epoch (full-batch methods: iteration)",
        "sample-gradient evaluations",
        "wall time (s)",
    ]
    assert axes[3].get_ylabel() == "val_accuracy" and axes[3].get_yscale() == "linear"
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "sgd",
        "adam (median of 2 seeds, band: min to max)",
        "diverged",
    ]
    low, high = axes[0].get_ylim()
    assert low <= 0.5 / 5 and math.isfinite(high)


@needs_matplotlib
def test_the_landscape_figure_shows_every_path():
    from nnctl.compare.landscapes import run_landscape
    from nnctl.compare.specs import parse_spec
    from nnctl.report.plots import landscape_figure

    surface, runs = run_landscape("canyon", [parse_spec("sgd"), parse_spec("momentum")], steps=300)
    fig = landscape_figure(surface, runs)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0].startswith("sgd (") and texts[1].startswith("momentum (") and len(texts) == 2
    paths = [line for line in ax.get_lines() if len(line.get_xdata()) == 301]
    assert len(paths) == 2
