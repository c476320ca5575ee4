"""Train/validation split and feature standardisation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnctl.data import Standardizer, train_val_split
from nnctl.errors import UsageError


def rng(seed):
    return np.random.default_rng(seed)


def test_stratified_split_keeps_class_proportions_within_one():
    y = np.repeat(np.arange(4), [50, 31, 12, 7])  # 100 samples, uneven classes
    for seed in range(20):
        train, val = train_val_split(y, 0.3, rng(seed), task="multiclass")
        assert len(val) == 30 and len(train) == 70
        for c, n_c in enumerate([50, 31, 12, 7]):
            in_val = int(np.sum(y[val] == c))
            assert abs(in_val - n_c * 0.3) < 1  # floor or ceil of its share
            assert np.sum(y[train] == c) >= 1


def test_split_partitions_indices_sorted():
    y = np.arange(37) % 3
    train, val = train_val_split(y, 0.25, rng(0), task="multiclass")
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(37))
    assert train.dtype == np.int64 and val.dtype == np.int64


def test_split_deterministic_per_seed_and_depends_only_on_its_inputs():
    y = np.arange(200) % 2
    a = train_val_split(y, 0.2, rng(5), task="binary")
    b = train_val_split(y.copy(), 0.2, rng(5), task="binary")
    c = train_val_split(y, 0.2, rng(6), task="binary")
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    # Drawing from an unrelated generator in between changes nothing.
    unrelated = rng(99)
    unrelated.normal(size=1000)
    np.testing.assert_array_equal(train_val_split(y, 0.2, rng(5), task="binary")[1], a[1])


def test_regression_split_is_plain_shuffle():
    y = np.linspace(0, 1, 50)
    train, val = train_val_split(y, 0.2, rng(1), task="regression")
    assert len(val) == 10 and len(train) == 40
    expected_val = np.sort(np.random.default_rng(1).permutation(50)[:10])
    np.testing.assert_array_equal(val, expected_val)
    unstratified = train_val_split(np.arange(50) % 2, 0.2, rng(1), stratify=False, task="binary")
    np.testing.assert_array_equal(unstratified[1], expected_val)


def test_zero_fraction_small_data_and_bad_fraction():
    train, val = train_val_split(np.arange(10) % 2, 0.0, rng(0), task="binary")
    assert len(val) == 0 and train.tolist() == list(range(10))
    train, val = train_val_split(np.array([0, 1, 0, 1]), 0.05, rng(0), task="binary")
    assert len(val) == 1  # asked for validation: get at least one sample
    train, val = train_val_split(np.array([0, 0, 0, 1]), 0.9, rng(0), task="binary")
    assert 1 in np.asarray([0, 0, 0, 1])[train]  # the lone class-1 sample stays in training
    with pytest.raises(ValueError, match=r"val_fraction: expected a number in \[0, 1\), found 1"):
        train_val_split(np.arange(4), 1.0, rng(0))


# ------------------------------------------------------------------------------ standardizer


def test_standardizer_math():
    X = np.array([[1.0, 10.0, 5.0], [3.0, 20.0, 5.0], [5.0, 60.0, 5.0]])
    s = Standardizer().fit(X)
    np.testing.assert_allclose(s.mean, [3.0, 30.0, 5.0])
    # population std: sqrt(((1-3)^2 + 0 + (5-3)^2) / 3) = sqrt(8/3)
    np.testing.assert_allclose(s.scale, [np.sqrt(8 / 3), np.sqrt((400 + 100 + 900) / 3), 1.0])
    Z = s.transform(X)
    np.testing.assert_allclose(Z[:, 0], (X[:, 0] - 3) / np.sqrt(8 / 3))
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z[:, :2].std(axis=0), 1)
    np.testing.assert_array_equal(Z[:, 2], 0)  # constant column: scale 1, centred
    assert Z is not X and X[0, 0] == 1.0  # a new array; input untouched
    np.testing.assert_allclose(s.inverse_transform(Z), X)


def test_standardizer_constant_column_with_rounding_noise():
    X = np.full((7, 1), 0.1) * 3  # 0.30000000000000004 everywhere; std ~ 0 up to rounding
    assert Standardizer().fit(X).scale.tolist() == [1.0]


def test_standardizer_keeps_float32_and_checks_width():
    s = Standardizer().fit(np.array([[1.0, 2.0], [3.0, 6.0]]))
    out = s.transform(np.array([[1.0, 2.0]], dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[-1.0, -1.0]])
    with pytest.raises(UsageError, match="expected data with 2 feature columns"):
        s.transform(np.zeros((1, 3)))


def test_standardizer_dict_round_trip_through_json():
    X = np.random.default_rng(0).normal(size=(20, 3)) * [1, 100, 1e-3]
    s = Standardizer().fit(X)
    restored = Standardizer.from_dict(json.loads(json.dumps(s.to_dict())))
    np.testing.assert_array_equal(restored.mean, s.mean)
    np.testing.assert_array_equal(restored.scale, s.scale)
    np.testing.assert_array_equal(restored.transform(X), s.transform(X))
    with pytest.raises(
        UsageError, match="meta.scaling: 'mean' and 'scale' must be lists of the same length"
    ):
        Standardizer.from_dict({"mean": [0.0, 1.0], "scale": [1.0]}, "meta.scaling")
    with pytest.raises(UsageError, match="positive scales"):
        Standardizer.from_dict({"mean": [0.0], "scale": [0.0]})
    with pytest.raises(UsageError, match="expected a mapping"):
        Standardizer.from_dict([1, 2])
