"""Memory-mapped and sharded data (issue 16): the same numbers as in memory.

Mini-batch training reads the same rows in the same order and scales them the same way, so a
run on an .npy file, on a folder of shards and on the same arrays in an .npz (loaded whole) is
identical bit for bit. Full-batch passes sum over chunks, so they agree to float rounding
(checked at 1e-10 relative with chunks small enough that every pass has several).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_resume import _arrays, _rows, assert_same_run

from conftest import assert_clean_error, run_nnctl, run_nnctl_with_fault
from nnctl import nn
from nnctl.data import ondisk
from nnctl.data.ondisk import DiskRows, RowView, column_moments, open_npy
from nnctl.data.scaling import Standardizer
from nnctl.nn.chunked import ChunkedObjective
from nnctl.optim.closed_form import solve_least_squares
from nnctl.optim.normal_equations import solve_normal_equations


def _write_data(folder, n=300, d=5, seed=0):
    """X.npy + y.npy, the same in shards (two uneven ones) and in an .npz."""
    rng = np.random.default_rng(seed)
    X = rng.normal(2.0, 3.0, (n, d)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 4).astype(np.int64)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    np.savez(folder / "d.npz", X=X, y=y)
    (folder / "shards").mkdir()
    for i, (lo, hi) in enumerate([(0, 120), (120, n)]):
        np.save(folder / "shards" / f"X-{i:05d}.npy", X[lo:hi])
        np.save(folder / "shards" / f"y-{i:05d}.npy", y[lo:hi])
    return X, y


SOURCES = {
    "npy": "path: X.npy, labels_path: y.npy",
    "shards": "path: shards",
    "memory": "path: d.npz",
}


def _config(folder, source, body, name="c.yaml"):
    path = folder / f"{source}-{name}"
    path.write_text(f"seed: 3\ndata: {{{SOURCES[source]}, val_fraction: 0.2}}\n{body}")
    return path


def _model_arrays(run):
    arrays, _ = _arrays(run / "checkpoints" / "last.npz")
    return {k: v for k, v in arrays.items() if not k.startswith("data.")}


MLP_SGD = """model: {kind: mlp, hidden: [8]}
optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
train: {epochs: 3, batch_size: 16}
"""


def test_mini_batch_training_is_bit_identical_on_npy_shards_and_in_memory(tmp_path):
    _write_data(tmp_path)
    runs = {}
    for source in SOURCES:
        runs[source] = tmp_path / f"run-{source}"
        proc = run_nnctl(
            "train", _config(tmp_path, source, MLP_SGD), "--out", runs[source], "-q", cwd=tmp_path
        )
        assert proc.returncode == 0, proc.stderr
    reference = _model_arrays(runs["memory"])
    for source in ("npy", "shards"):
        arrays = _model_arrays(runs[source])
        assert sorted(arrays) == sorted(reference)
        for key in reference:
            assert np.array_equal(arrays[key], reference[key]), (source, key)
        assert _rows(runs[source]) == _rows(runs["memory"])
        finals = [
            json.loads((runs[name] / "summary.json").read_text())["final"]
            for name in (source, "memory")
        ]
        assert finals[0] == finals[1]


def test_full_batch_lbfgs_on_npy_matches_in_memory(tmp_path):
    _write_data(tmp_path)
    body = "model: {kind: logreg}\nloss: {l2: 0.01}\noptimizer: {name: lbfgs}\ntrain: {epochs: 6}\n"
    finals = {}
    for source in ("npy", "memory"):
        run = tmp_path / f"run-{source}"
        proc = run_nnctl("train", _config(tmp_path, source, body), "--out", run, "-q", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        finals[source] = json.loads((run / "summary.json").read_text())["final"]
    for key, value in finals["memory"].items():
        assert finals["npy"][key] == pytest.approx(value, rel=1e-10), key


LBFGS = "model: {kind: logreg}\nloss: {l2: 0.01}\noptimizer: {name: lbfgs}\ntrain: {epochs: 8}\n"


@pytest.mark.parametrize("source, body, step", [("npy", MLP_SGD, 20), ("shards", LBFGS, 3)])
def test_resume_on_memory_mapped_data_is_exact(tmp_path, source, body, step):
    _write_data(tmp_path)
    cfg = _config(tmp_path, source, body)
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert run_nnctl("train", cfg, "--out", full, "-q", cwd=tmp_path).returncode == 0
    proc = run_nnctl_with_fault(
        "interrupt-at-step", step, "train", cfg, "--out", cut, "-q", cwd=tmp_path
    )
    assert proc.returncode == 130, proc.stderr
    proc = run_nnctl("train", "--resume", cut, "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert_same_run(full, cut)


# -- chunked passes, in process, with chunks small enough to make several -------------------


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(ondisk, "CHUNK_BYTES", 8 * 5 * 37)  # 37 rows of 5 features a chunk


def _view(tmp_path, X, scaler=None):
    np.save(tmp_path / "X.npy", X)
    return RowView(DiskRows([open_npy(tmp_path / "X.npy")], ["X.npy"]), scaler=scaler)


def test_chunked_statistics_merge_to_numpys_values(tmp_path, small_chunks):
    rng = np.random.default_rng(1)
    X = rng.normal(1e4, 2.0, (300, 5))  # a big mean: a naive sum of squares would cancel
    view = _view(tmp_path, X)
    assert len(list(view.chunks())) == 9  # 300 rows in chunks of 37
    mean, variance = column_moments(block for _, _, block in view.chunks())
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(variance, X.var(axis=0), rtol=1e-10)
    fitted = Standardizer().fit(view)
    np.testing.assert_allclose(fitted.scale, X.std(axis=0), rtol=1e-10)


def test_one_block_statistics_are_numpys_exactly():
    X = np.random.default_rng(2).normal(3.0, 2.0, (200, 4))
    fitted = Standardizer().fit(X)
    assert np.array_equal(fitted.mean, X.mean(axis=0))
    assert np.array_equal(fitted.scale, X.std(axis=0))


def test_batches_come_in_the_seeded_order_scaled_as_gathered(tmp_path):
    X = np.random.default_rng(3).normal(size=(50, 5))
    scaler = Standardizer().fit(X)
    view = _view(tmp_path, X, scaler).subset(np.arange(10, 50))
    positions = np.array([7, 2, 39, 0, 2])
    assert np.array_equal(view.take(positions), scaler.transform(X[10:])[positions])


@pytest.mark.parametrize(
    "kind, n_outputs, task",
    [
        ("logreg", 2, "binary"),
        ("softmax", 3, "multiclass"),
        ("linreg", 2, "regression"),
        ("mlp", 3, "multiclass"),
    ],
)
def test_chunked_objective_equals_the_in_memory_one(tmp_path, small_chunks, kind, n_outputs, task):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 5))
    y = (
        rng.normal(size=(300, 2))
        if task == "regression"
        else rng.integers(0, max(2, n_outputs), 300)
    )
    hidden = (6,) if kind == "mlp" else ()
    model = nn.build_model(
        kind,
        5,
        n_outputs,
        task,
        hidden=hidden,
        activation="tanh",
        l2=0.01,
        dtype=np.float64,
        init_rng=np.random.default_rng(0),
    )
    theta = rng.normal(scale=0.3, size=model.n_params)
    v = rng.normal(size=model.n_params)
    whole = model.objective(X, y)
    chunked = ChunkedObjective(model, _view(tmp_path, X), y)
    assert sum(1 for _ in chunked._parts()) == 9  # 300 rows in chunks of 37
    f, g = chunked.value_and_grad(theta)
    f0, g0 = whole.value_and_grad(theta)
    assert f == pytest.approx(f0, rel=1e-10)
    np.testing.assert_allclose(g, g0, rtol=1e-10, atol=1e-12 * np.abs(g0).max())
    hv, hv0 = chunked.hvp(theta, v), whole.hvp(theta, v)
    scale = np.abs(hv0).max()
    tolerance = 1e-10 if kind != "mlp" else 1e-6  # mlp: finite differences of the gradients
    np.testing.assert_allclose(hv, hv0, rtol=tolerance, atol=tolerance * scale)
    if kind != "mlp":
        np.testing.assert_allclose(
            chunked.hessian(theta), whole.hessian(theta), rtol=1e-10, atol=1e-12
        )


@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_exact_solution_from_accumulated_sums_equals_lstsq(tmp_path, small_chunks, l2):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 5))
    Y = X @ rng.normal(size=(5, 2)) + rng.normal(scale=0.1, size=(300, 2)) + 3.0
    model = nn.build_model(
        "linreg", 5, 2, "regression", l2=l2, dtype=np.float64, init_rng=np.random.default_rng(0)
    )
    G, B, n, penalty = ChunkedObjective(model, _view(tmp_path, X), Y).normal_equations()
    expected = solve_least_squares(X, Y, l2)
    np.testing.assert_allclose(solve_normal_equations(G, B, n, penalty), expected, rtol=1e-10)


# -- refusals ---------------------------------------------------------------------------------


def test_a_non_finite_value_is_named_by_index_and_column(tmp_path):
    X, y = _write_data(tmp_path)
    X[17, 3] = np.nan
    np.save(tmp_path / "X.npy", X)
    proc = run_nnctl(
        "train", _config(tmp_path, "npy", MLP_SGD), "--out", tmp_path / "r", cwd=tmp_path
    )
    assert_clean_error(proc, 2, "X.npy: index 17, column 'x3'", "expected a finite number")


def test_a_shard_without_its_labels_is_refused(tmp_path):
    _write_data(tmp_path)
    (tmp_path / "shards" / "y-00001.npy").unlink()
    proc = run_nnctl(
        "train", _config(tmp_path, "shards", MLP_SGD), "--out", tmp_path / "r", cwd=tmp_path
    )
    assert_clean_error(proc, 2, "y-00001.npy: label shard missing")


def test_materialising_a_big_view_is_refused_with_the_size(tmp_path, monkeypatch):
    monkeypatch.setattr(ondisk, "MAX_MATERIALISE_BYTES", 1000)
    view = _view(tmp_path, np.zeros((300, 5)))
    with pytest.raises(Exception, match=r"needs 11\.7 KiB of memory"):
        np.asarray(view)


def test_images_are_flattened_and_bad_files_named(tmp_path):
    images = np.arange(6 * 2 * 3, dtype=np.uint8).reshape(6, 2, 3)
    np.save(tmp_path / "img.npy", images)
    view = RowView(DiskRows([open_npy(tmp_path / "img.npy")], ["img.npy"]))
    assert np.array_equal(np.asarray(view), images.reshape(6, 6).astype(np.float64))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(Exception, match="would need pickle"):
        open_npy(tmp_path / "obj.npy")
    (tmp_path / "c.yaml").write_text(
        "data: {path: X.npy, labels_path: nothere.npy}\nmodel: {kind: logreg}\n"
    )
    np.save(tmp_path / "X.npy", np.zeros((4, 2)))
    proc = run_nnctl("train", "c.yaml", "--out", "r", cwd=tmp_path)
    assert_clean_error(proc, 2, "nothere.npy: labels file not found")


def test_batch_norm_full_batch_works_in_one_chunk_and_is_refused_beyond(tmp_path, monkeypatch):
    X = np.random.default_rng(6).normal(size=(300, 5))
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.build_model(
        "mlp",
        5,
        2,
        "binary",
        hidden=(4,),
        batch_norm=True,
        dtype=np.float64,
        init_rng=np.random.default_rng(0),
    )
    theta = model.theta.astype(np.float64)
    f, g = ChunkedObjective(model, _view(tmp_path, X), y).value_and_grad(theta)
    f0, g0 = model.objective(X, y).value_and_grad(theta)
    assert f == f0 and np.array_equal(g, g0)
    monkeypatch.setattr(ondisk, "CHUNK_BYTES", 8 * 5 * 37)
    with pytest.raises(Exception, match="over 300 memory-mapped rows reads them in chunks of 37"):
        ChunkedObjective(model, _view(tmp_path, X), y)
