"""plot --boundary and plot --weights: the numbers beside the image against the checkpoint's own
weights, panels of a comparison folder, and refusals for inputs of the wrong kind."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import CONFIGS, assert_clean_error

pytest.importorskip("matplotlib")


def checkpoint_arrays(run_dir):
    # The weights the run delivered: what plot --boundary / --weights draw.
    with np.load(run_dir / "checkpoints" / "last.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return arrays, json.loads(str(arrays["meta"]))


def test_boundary_of_a_logistic_regression_is_its_line(nnctl, tmp_path):
    proc = nnctl(
        "train",
        CONFIGS / "moons-mlp.yaml",
        "-s",
        "model.kind=logreg",
        "-s",
        "optimizer.name=adam",
        "-s",
        "optimizer.lr=0.05",
        "-s",
        "train.epochs=5",
        "--out",
        "run",
        "-q",
    )
    assert proc.returncode == 0, proc.stderr
    proc = nnctl("plot", "run", "--boundary", "--out", "b.png")
    assert proc.returncode == 0, proc.stderr
    image = tmp_path / "b.png"
    assert image.is_file() and image.stat().st_size > 10_000
    data = json.loads((tmp_path / "b.json").read_text())
    arrays, meta = checkpoint_arrays(tmp_path / "run")
    mean, scale = (np.asarray(meta["scaler"][k]) for k in ("mean", "scale"))
    xs, ys = np.meshgrid(data["x"], data["y"])
    cells = np.column_stack([xs.ravel(), ys.ravel()])
    logit = ((cells - mean) / scale) @ arrays["linear0.weight"] + arrays["linear0.bias"]
    expected = (logit[:, 0] > 0).astype(int).reshape(xs.shape)
    [panel] = data["panels"]
    # Cells on the line itself may round either way in float32: allow a handful.
    assert np.mean(np.asarray(panel["predicted"]) != expected) < 0.002
    assert 0 < np.mean(expected) < 1  # the line crosses the grid: both classes are shown
    points = np.column_stack([data["points"]["x"], data["points"]["y"]])
    assert points.shape == (1600, 2)  # the training rows, in the data's own units
    assert data["x"][0] < points[:, 0].min() and data["x"][-1] > points[:, 0].max()


def test_boundary_of_a_comparison_has_one_panel_per_optimizer(nnctl, tmp_path):
    from nnctl.report.model_plots import boundary_figure

    proc = nnctl(
        "compare-optimizers",
        CONFIGS / "xor-mlp-nesterov.yaml",
        "-o",
        "sgd",
        "-o",
        "adam",
        "--seeds",
        "2",
        "-s",
        "train.epochs=3",
        "--out",
        "cmp",
        "-q",
        "--no-plot",
    )
    assert proc.returncode == 0, proc.stderr
    proc = nnctl("plot", "cmp", "--boundary", "--out", "b.png")
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "b.json").read_text())
    assert [p["label"] for p in data["panels"]] == ["sgd", "adam"]
    assert all(p["run"].endswith("-seed0") for p in data["panels"])  # the first seed of each
    assert np.asarray(data["panels"][0]["predicted"]).shape == (len(data["y"]), len(data["x"]))
    axes = [ax for ax in boundary_figure(data).axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["sgd", "adam"]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)


def test_weights_of_softmax_on_digits_are_its_class_templates(nnctl, tmp_path):
    from nnctl.report.model_plots import weights_figure

    proc = nnctl(
        "train", CONFIGS / "digits-softmax.yaml", "-s", "train.epochs=2", "--out", "run", "-q"
    )
    assert proc.returncode == 0, proc.stderr
    proc = nnctl("plot", "run", "--weights", "--out", "w.png")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "w.png").stat().st_size > 5_000
    data = json.loads((tmp_path / "w.json").read_text())
    arrays, _ = checkpoint_arrays(tmp_path / "run")
    W = arrays["linear0.weight"]
    assert data["side"] == 8 and data["unit"] == "class" and len(data["images"]) == 10
    for j, image in enumerate(data["images"]):
        np.testing.assert_allclose(np.asarray(image), W[:, j].reshape(8, 8), rtol=1e-6)
    titles = [ax.get_title() for ax in weights_figure(data).axes if ax.get_visible()]
    assert titles == [f"class {c}" for c in range(10)]


def test_pictures_refuse_inputs_of_the_wrong_kind(nnctl, tmp_path):
    proc = nnctl(
        "train", CONFIGS / "iris-softmax.yaml", "-s", "train.epochs=1", "--out", "run", "-q"
    )
    assert proc.returncode == 0, proc.stderr
    assert_clean_error(
        nnctl("plot", "run", "--boundary", "--out", "b.png"),
        2,
        "--boundary needs a classifier of 2 input features",
        "4 features",
    )
    assert_clean_error(
        nnctl("plot", "run", "--weights", "--out", "w.png"), 2, "--weights needs image inputs"
    )
    assert_clean_error(
        nnctl("plot", "run", "--weights", "--boundary", "--out", "w.png"),
        2,
        "one of --boundary and --weights",
    )
    assert not (tmp_path / "b.png").exists() and not (tmp_path / "w.png").exists()
