"""Built-in datasets: bundled CSVs (facts and exact values) and synthetic generators."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.data import BUNDLED, DATASETS, describe, load_builtin
from nnctl.data.synthetic import class_sizes
from nnctl.errors import UsageError

BUNDLED_FACTS = {
    # name: (n_samples, n_features, task, {label: count} or None)
    "iris": (150, 4, "multiclass", {"setosa": 50, "versicolor": 50, "virginica": 50}),
    "wine": (178, 13, "multiclass", {"class_0": 59, "class_1": 71, "class_2": 48}),
    "breast_cancer": (569, 30, "binary", {"malignant": 212, "benign": 357}),
    "diabetes": (442, 10, "regression", None),
    "digits": (
        1797,
        64,
        "multiclass",
        dict(zip(range(10), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])),
    ),
}


@pytest.mark.parametrize("name", sorted(BUNDLED_FACTS))
def test_bundled_shapes_tasks_and_class_counts(name):
    n, d, task, counts = BUNDLED_FACTS[name]
    data = load_builtin(name, None, None)
    assert data.X.shape == (n, d) and data.X.dtype == np.float64
    assert data.task == task
    assert np.all(np.isfinite(data.X))
    assert len(data.feature_names) == d and len(set(data.feature_names)) == d
    assert data.source == name
    info = DATASETS.get(name).info
    assert (info["n_samples"], info["n_features"], info["task"], info["kind"]) == (
        n,
        d,
        task,
        "bundled",
    )
    if counts is None:
        assert data.classes is None and data.y.dtype == np.float64 and data.y.shape == (n,)
        assert info["n_classes"] is None
    else:
        assert data.y.dtype == np.int64
        found = {data.classes[c]: int(k) for c, k in enumerate(np.bincount(data.y))}
        assert found == counts
        assert info["n_classes"] == len(counts)
        assert data.classes == sorted(counts)


def test_bundled_known_values():
    iris = load_builtin("iris", {}, None)
    assert iris.feature_names == [
        "sepal_length_cm",
        "sepal_width_cm",
        "petal_length_cm",
        "petal_width_cm",
    ]
    np.testing.assert_array_equal(iris.X[0], [5.1, 3.5, 1.4, 0.2])
    assert iris.classes[iris.y[0]] == "setosa" and iris.classes[iris.y[-1]] == "virginica"
    diabetes = load_builtin("diabetes", None, None)
    # Raw (unscaled) units: first patient is 59 years old, sex code 2, BMI 32.1; target 151.
    np.testing.assert_array_equal(diabetes.X[0, :3], [59, 2, 32.1])
    assert diabetes.y[0] == 151
    assert set(np.unique(diabetes.X[:, 1])) == {1.0, 2.0}
    digits = load_builtin("digits", None, None)
    assert digits.X.min() == 0 and digits.X.max() == 16 and np.all(digits.X == np.round(digits.X))


def test_bundled_values_equal_scikit_learn():
    datasets = pytest.importorskip(
        "sklearn.datasets", reason="scikit-learn provides the reference copies"
    )
    loaders = {
        "iris": datasets.load_iris(),
        "wine": datasets.load_wine(),
        "breast_cancer": datasets.load_breast_cancer(),
        "digits": datasets.load_digits(),
        "diabetes": datasets.load_diabetes(scaled=False),
    }
    for name, bunch in loaders.items():
        ours = load_builtin(name, None, None)
        np.testing.assert_array_equal(ours.X, bunch.data, err_msg=name)
        if ours.classes is None:
            np.testing.assert_array_equal(ours.y, bunch.target)
        else:
            names = getattr(bunch, "target_names", None)
            theirs = [str(names[t]) if name != "digits" else int(t) for t in bunch.target]
            assert [ours.classes[c] for c in ours.y] == theirs, name


def test_bundled_files_listed_in_readme():
    from nnctl.data.builtin import bundled_path

    readme = bundled_path("README.md").read_text(encoding="utf-8")
    for _name, file_name, *_ in BUNDLED:
        assert bundled_path(file_name).is_file()
        assert file_name in readme and "licen" in readme.lower()


def test_bundled_take_no_params():
    with pytest.raises(
        UsageError, match=r"data\.params\.noise: unknown setting for dataset 'iris'"
    ):
        load_builtin("iris", {"noise": 0.1}, None)


def test_unknown_dataset_suggests_closest():
    with pytest.raises(
        UsageError, match=r'data\.name: unknown dataset \'moon\' \(did you mean "moons"\?\)'
    ):
        load_builtin("moon", None, np.random.default_rng(0))


# --------------------------------------------------------------------------------- synthetic

SYNTHETIC = ["moons", "circles", "spirals", "blobs", "xor", "linear"]


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_deterministic_per_seed_and_shaped(name):
    a = load_builtin(name, {"n_samples": 101}, np.random.default_rng(7))
    b = load_builtin(name, {"n_samples": 101}, np.random.default_rng(7))
    c = load_builtin(name, {"n_samples": 101}, np.random.default_rng(8))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    info = DATASETS.get(name).info
    assert a.X.shape == (101, info["n_features"]) and a.y.shape == (101,)
    assert info["kind"] == "synthetic" and a.task == info["task"]
    if info["task"] != "regression":
        counts = np.bincount(a.y)
        assert len(counts) == info["n_classes"] and counts.max() - counts.min() <= 1
        assert a.classes == list(range(info["n_classes"]))


def test_moons_two_balanced_classes_on_two_arcs():
    data = load_builtin("moons", {"noise": 0.0}, np.random.default_rng(0))
    assert np.bincount(data.y).tolist() == [500, 500]
    upper, lower = data.X[data.y == 0], data.X[data.y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)  # unit half circle
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert np.all(upper[:, 1] >= 0) and np.all(lower[:, 1] <= 0.5)
    assert not np.all(np.diff(data.y) >= 0)  # rows are shuffled, classes interleaved


def test_circles_radii_and_xor_signs():
    circles = load_builtin("circles", {"noise": 0.0, "factor": 0.3}, np.random.default_rng(0))
    radius = np.hypot(circles.X[:, 0], circles.X[:, 1])
    np.testing.assert_allclose(radius[circles.y == 0], 1.0)
    np.testing.assert_allclose(radius[circles.y == 1], 0.3)
    xor = load_builtin("xor", {"noise": 0.0, "n_samples": 400}, np.random.default_rng(0))
    np.testing.assert_array_equal(xor.y, (xor.X[:, 0] * xor.X[:, 1] < 0).astype(int))
    assert np.bincount(xor.y).tolist() == [200, 200]


def test_spirals_arms_follow_formula():
    data = load_builtin(
        "spirals",
        {"noise": 0.0, "n_classes": 3, "turns": 1.0, "n_samples": 300},
        np.random.default_rng(0),
    )
    r = np.hypot(data.X[:, 0], data.X[:, 1])
    expected_angle = (
        2 * np.pi * r + 2 * np.pi * data.y / 3
    )  # theta = 2 pi turns t + 2 pi k / K, r = t
    diff = np.angle(np.exp(1j * (np.arctan2(data.X[:, 1], data.X[:, 0]) - expected_angle)))
    np.testing.assert_allclose(diff, 0.0, atol=1e-9)
    assert data.task == "multiclass" and np.bincount(data.y).tolist() == [100, 100, 100]


def test_blobs_cluster_around_their_centres():
    data = load_builtin(
        "blobs",
        {"cluster_std": 0.5, "centers": 4, "n_features": 3, "n_samples": 4000},
        np.random.default_rng(3),
    )
    assert data.X.shape == (4000, 3) and data.n_classes == 4
    for k in range(4):
        members = data.X[data.y == k]
        spread = members.std(axis=0)
        np.testing.assert_allclose(spread, 0.5, rtol=0.1)
        assert np.all(np.abs(members.mean(axis=0)) <= 10.1)


def test_linear_is_exactly_linear_without_noise():
    data = load_builtin(
        "linear",
        {"noise": 0.0, "n_features": 4, "n_targets": 2, "n_samples": 50},
        np.random.default_rng(0),
    )
    assert data.task == "regression" and data.y.shape == (50, 2)
    design = np.column_stack([data.X, np.ones(50)])
    coef, residual, *_ = np.linalg.lstsq(design, data.y, rcond=None)
    np.testing.assert_allclose(design @ coef, data.y, atol=1e-10)
    one = load_builtin("linear", None, np.random.default_rng(0))
    assert one.y.shape == (1000,) and one.y.dtype == np.float64


def test_synthetic_settings_validated_with_key_path():
    rng = np.random.default_rng(0)
    with pytest.raises(UsageError, match=r"data\.params\.noise: expected a number >= 0, found -1"):
        load_builtin("moons", {"noise": -1}, rng)
    with pytest.raises(
        UsageError, match=r"data\.params\.factor: expected a number in \(0, 1\), found 1\.5"
    ):
        load_builtin("circles", {"factor": 1.5}, rng)
    with pytest.raises(UsageError, match=r"data\.params\.n_samples: expected an integer in \[2, "):
        load_builtin("xor", {"n_samples": 1}, rng)
    with pytest.raises(
        UsageError, match=r"data\.params\.n_samples: expected at least centers \(5\)"
    ):
        load_builtin("blobs", {"n_samples": 4, "centers": 5}, rng)
    with pytest.raises(UsageError, match=r'data\.params\.nosie: .*\(did you mean "noise"\?\)'):
        load_builtin("moons", {"nosie": 0.2}, rng)


def test_describe_reflects_settings_and_class_sizes():
    info = describe("spirals", {"n_classes": 4, "n_samples": 10})
    assert (info["n_samples"], info["n_classes"], info["task"]) == (10, 4, "multiclass")
    assert class_sizes(10, 4).tolist() == [3, 3, 2, 2]
    assert describe("iris")["n_samples"] == 150


def test_builtin_task_override():
    digits = load_builtin("digits", None, None, task="regression")
    assert digits.task == "regression" and digits.y.dtype == np.float64 and digits.classes is None
    moons = load_builtin("moons", {"n_samples": 10}, np.random.default_rng(0), task="multiclass")
    assert moons.task == "multiclass" and moons.classes == [0, 1]
    with pytest.raises(
        UsageError, match=r"blobs: target 'y': binary classification needs exactly 2 classes"
    ):
        load_builtin("blobs", None, np.random.default_rng(0), task="binary")


def test_a_bundled_file_is_parsed_once_and_each_load_is_its_own_dataset():
    """Runs of a comparison in one process share the parsed file; none can change another's."""
    from nnctl.data.builtin import _read_bundled, load_builtin

    _read_bundled.cache_clear()
    first = load_builtin("digits", None, None)
    first.X = first.X[:10]  # a caller replacing its own fields
    first.source = "changed"
    second = load_builtin("digits", None, None)
    assert _read_bundled.cache_info().hits == 1
    assert second.X.shape == (1797, 64) and second.source == "digits"
    with pytest.raises(ValueError):
        second.X[0, 0] = 1.0  # the shared arrays are read-only
    regression = load_builtin("digits", None, None, task="regression")
    assert regression.task == "regression" and second.task == "multiclass"
