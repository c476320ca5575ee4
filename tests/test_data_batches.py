"""BatchIterator: coverage, sizes, views, dtype, exact mid-epoch resume."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.data import BatchIterator
from nnctl.errors import UsageError


def make(n=23, d=3, batch_size=5, seed=0, **kwargs):
    X = np.arange(n * d, dtype=np.float64).reshape(n, d)
    y = np.arange(n, dtype=np.int64)  # y[i] == i identifies the sample
    return X, y, BatchIterator(X, y, batch_size, rng=np.random.default_rng(seed), **kwargs)


def test_every_sample_once_per_epoch_in_fresh_order():
    X, y, it = make()
    orders = []
    for _ in range(3):
        seen = []
        for _index, xb, yb in it.epoch():
            np.testing.assert_array_equal(xb, X[yb])  # rows and targets stay paired
            seen.extend(yb.tolist())
        assert sorted(seen) == list(range(23))
        assert np.array_equal(seen, it.permutation)
        orders.append(seen)
    assert orders[0] != orders[1] != orders[2]


def test_batch_sizes_and_count():
    _, _, it = make(n=23, batch_size=5)
    sizes = [len(yb) for _, _, yb in it.epoch()]
    assert sizes == [5, 5, 5, 5, 3] and len(it) == 5
    _, _, big = make(n=4, batch_size=10)
    assert [len(yb) for _, _, yb in big.epoch()] == [4]


def test_permutation_comes_from_the_rng():
    _, _, it = make(seed=3)
    list(it.epoch())
    np.testing.assert_array_equal(it.permutation, np.random.default_rng(3).permutation(23))


def test_batches_are_views_of_one_buffer():
    X, y, it = make()
    buffers = set()
    for _, xb, _yb in it.epoch():
        assert xb.base is not None and not xb.flags.owndata
        buffers.add(id(xb.base))
    assert len(buffers) == 1


def test_no_shuffle_yields_views_of_the_data_in_order():
    X, y, _ = make()
    it = BatchIterator(X, y, 10, shuffle=False)
    batches = list(it.epoch())
    assert [b[2].tolist() for b in batches] == [list(range(10)), list(range(10, 20)), [20, 21, 22]]
    assert np.shares_memory(batches[0][1], it.X) and it.X is X  # float64 in, no copy
    assert list(it.epoch())[1][2].tolist() == list(range(10, 20))


def test_float32_cast_once_and_targets():
    X, y, _ = make()
    it = BatchIterator(
        X, y.astype(np.float64) / 2, 4, rng=np.random.default_rng(0), dtype=np.float32
    )
    assert it.X.dtype == np.float32 and it.y.dtype == np.float32
    _, xb, yb = next(iter(it.epoch()))
    assert xb.dtype == np.float32 and yb.dtype == np.float32
    codes = BatchIterator(X, y, 4, rng=np.random.default_rng(0), dtype=np.float32)
    assert codes.y.dtype == np.int64  # class codes stay integers
    positional = BatchIterator(
        X, y, 4, True, np.random.default_rng(0), np.float32
    )  # (X, y, size, shuffle, rng, dtype)
    assert positional.X.dtype == np.float32 and positional.shuffle
    none = BatchIterator(X, None, 4, rng=np.random.default_rng(0))
    assert all(yb is None for _, _, yb in none.epoch())


def _run(it, epochs):
    return [(i, yb.copy()) for _ in range(epochs) for i, _, yb in it.epoch()]


@pytest.mark.parametrize("stop_after", [0, 1, 3, 5])
def test_resume_mid_epoch_gives_identical_remaining_batches(stop_after):
    # Reference: an uninterrupted run of 3 epochs.
    _, _, reference = make(seed=11)
    expected = _run(reference, 3)

    # Interrupted run: epoch 1 fully, then `stop_after` batches of epoch 2, then save.
    X, y, it = make(seed=11)
    got = _run(it, 1)
    epoch = it.epoch()
    for _ in range(stop_after):
        i, _, yb = next(epoch)
        got.append((i, yb.copy()))
    state = it.state_dict()
    rng_state = it.rng.bit_generator.state
    saved = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()}

    # A fresh process: new iterator, rng restored, state loaded.
    rng = np.random.default_rng(12345)
    rng.bit_generator.state = rng_state
    resumed = BatchIterator(X, y, 5, rng=rng)
    resumed.load_state_dict(saved)
    got += _run(resumed, 2)  # finishes epoch 2 (maybe with no batches left), then epoch 3
    assert [i for i, _ in got] == [i for i, _ in expected]
    for (_, a), (_, b) in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_state_dict_position_override_replays_an_unfinished_batch():
    X, y, it = make(seed=2)
    epoch = it.epoch()
    next(epoch)
    index, _, interrupted = next(epoch)  # its step did not complete
    state = it.state_dict(position=index)
    assert state["position"] == 1
    resumed = BatchIterator(X, y, 5, rng=np.random.default_rng(0))
    resumed.load_state_dict(state)
    first_index, _, first = next(iter(resumed.epoch()))
    assert first_index == 1
    np.testing.assert_array_equal(first, interrupted)


def test_explicit_start_and_state_at_epoch_boundary():
    X, y, it = make(seed=4)
    full = [yb.copy() for _, _, yb in it.epoch()]
    state = it.state_dict()
    assert state["position"] == 5
    later = [(i, yb.copy()) for i, _, yb in it.epoch(start=0)]
    assert len(later) == 5  # a new epoch (the last one was complete)
    assert state["in_epoch"] is False
    again = BatchIterator(X, y, 5, rng=np.random.default_rng(5))
    again.load_state_dict(state)  # complete epoch: the next epoch() draws a new permutation
    list(again.epoch())
    np.testing.assert_array_equal(again.permutation, np.random.default_rng(5).permutation(23))
    third = BatchIterator(X, y, 5, rng=np.random.default_rng(4))
    tail = [(i, yb.copy()) for i, _, yb in third.epoch(start=3)]
    assert [i for i, _ in tail] == [3, 4]
    np.testing.assert_array_equal(tail[0][1], full[3])


def test_load_state_dict_rejects_mismatched_state():
    X, y, it = make()
    list(it.epoch())
    state = it.state_dict()
    other = BatchIterator(X, y, 7, rng=np.random.default_rng(0))
    with pytest.raises(UsageError, match="batches of 5; this run has 23 in batches of 7"):
        other.load_state_dict(state)
    broken = dict(state, permutation=np.zeros(23, dtype=np.int64), position=2, in_epoch=True)
    with pytest.raises(UsageError, match="not a permutation"):
        BatchIterator(X, y, 5, rng=np.random.default_rng(0)).load_state_dict(broken, "run/last.npz")
    fresh = BatchIterator(X, y, 5, rng=np.random.default_rng(0))
    fresh.load_state_dict(BatchIterator(X, y, 5, rng=np.random.default_rng(1)).state_dict())
    assert len(list(fresh.epoch())) == 5
