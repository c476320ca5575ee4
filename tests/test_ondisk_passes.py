"""How often full-batch training reads memory-mapped rows (issue 25, items 3 and 4).

Every row read from the files goes through DiskRows.read_sorted; these tests count them from the
start of training to the end of the run (summary.json included) and hold the claim: one pass
over the training rows per objective evaluation the optimizer reports (n_fev; the initial
check's pass is the first iteration's starting point), and one pass over the validation rows per
epoch - no pass of its own for train_loss, one for val_loss and the metrics together, none for
the final scores of the last epoch's weights. The numbers stay those of separate passes, bit for
bit, with chunks and loss pieces small enough that pieces straddle chunks.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import nnctl
from nnctl import nn
from nnctl.data import ondisk
from nnctl.nn import chunked, loss_tally
from nnctl.nn import model as nn_model
from nnctl.nn.loss_tally import LossTally

N_ROWS, N_FEATURES, VAL_FRACTION = 300, 5, 0.2
N_VAL = int(N_ROWS * VAL_FRACTION)
N_TRAIN = N_ROWS - N_VAL


@pytest.fixture
def small_pieces(monkeypatch):
    """Chunks of 37 rows and loss pieces of 50: pieces straddle chunks, passes have several."""
    monkeypatch.setattr(ondisk, "CHUNK_BYTES", 8 * N_FEATURES * 37)
    monkeypatch.setattr(nn_model, "EVAL_CHUNK_ROWS", 50)
    monkeypatch.setattr(loss_tally, "EVAL_CHUNK_ROWS", 50)


@pytest.fixture
def rows_read(monkeypatch):
    """{"rows": rows read from the files while counting is on}, and a callback that turns it on
    when training starts (it stays on: summary.json's final scores come after on_train_end)."""
    counted = {"rows": 0, "on": False}
    read_sorted = ondisk.DiskRows.read_sorted

    def counting_read(self, rows, out):
        if counted["on"]:
            counted["rows"] += len(rows)
        return read_sorted(self, rows, out)

    monkeypatch.setattr(ondisk.DiskRows, "read_sorted", counting_read)

    class CountDuringTraining:
        def on_train_start(self, state):
            counted["on"] = True

    return counted, CountDuringTraining()


def _write_npy(folder, task):
    rng = np.random.default_rng(7)
    X = rng.normal(1.0, 2.0, (N_ROWS, N_FEATURES)).astype(np.float32)
    score = X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=N_ROWS)
    y = np.digitize(score, [-1.0, 1.0]) if task == "multiclass" else (score > 0).astype(np.int64)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    np.savez(folder / "d.npz", X=X, y=y)


RUNS = {
    "lbfgs": ("logreg", "binary", {"name": "lbfgs"}),
    "lbfgs-float32": ("logreg", "binary", {"name": "lbfgs"}),
    "cg": ("softmax", "multiclass", {"name": "cg"}),
    "bfgs-mlp": ("mlp", "multiclass", {"name": "bfgs"}),
}
FULL_BATCH = sorted(RUNS)
RUNS["sgd-mlp"] = ("mlp", "multiclass", {"name": "sgd", "lr": 0.05})  # train_loss: its own pass


def _config(folder, name, path="X.npy", epochs=6):
    kind, task, optimizer = RUNS[name]
    data = {"path": str(folder / path), "val_fraction": VAL_FRACTION}
    if path.endswith(".npy"):
        data["labels_path"] = str(folder / "y.npy")
    model = {"kind": kind, **({"hidden": [4]} if kind == "mlp" else {})}
    _write_npy(folder, task)
    return {
        "seed": 2,
        "data": data,
        "model": model,
        "loss": {"l2": 0.01},
        "optimizer": optimizer,
        "train": {
            "epochs": epochs,
            **({"dtype": "float32"} if name.endswith("float32") else {}),
            **({"batch_size": 32} if name.startswith("sgd") else {}),
        },
    }


def _rows(run):
    rows = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k != "elapsed_s"} for row in rows]


@pytest.mark.parametrize("name", FULL_BATCH)
def test_one_pass_per_evaluation_and_one_validation_pass_per_epoch(
    tmp_path, small_pieces, rows_read, name
):
    counted, counter = rows_read
    run = nnctl.train(_config(tmp_path, name), out=tmp_path / "run", callbacks=[counter])
    rows = _rows(run)
    evaluations, epochs = rows[-1]["n_fev"], len(rows)
    assert epochs == 6 and evaluations >= epochs  # a real run: every iteration evaluated
    assert counted["rows"] == evaluations * N_TRAIN + epochs * N_VAL


def test_mini_batch_reads_the_rows_for_its_batches_train_loss_and_validation(
    tmp_path, small_pieces, rows_read
):
    counted, counter = rows_read
    nnctl.train(_config(tmp_path, "sgd-mlp", epochs=3), out=tmp_path / "run", callbacks=[counter])
    # Each epoch: the batches, the exact train_loss pass at the epoch's end, one validation pass.
    assert counted["rows"] == 3 * (N_TRAIN + N_TRAIN + N_VAL)


@pytest.mark.parametrize("name", FULL_BATCH)
def test_the_numbers_are_those_of_separate_passes(tmp_path, small_pieces, monkeypatch, name):
    config = _config(tmp_path, name)
    shared = nnctl.train(config, out=tmp_path / "shared")
    # The same run with every pass made on its own: no reused point, train_loss by model_loss.
    original_init = chunked.ChunkedObjective.__init__

    def without_reuse(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.reuses_passes = False

    monkeypatch.setattr(chunked.ChunkedObjective, "__init__", without_reuse)
    separate = nnctl.train(config, out=tmp_path / "separate")
    assert _rows(shared) == _rows(separate)
    assert shared.summary["final"] == separate.summary["final"]
    assert _weights(shared) == _weights(separate)


def test_mini_batch_losses_on_disk_are_the_in_memory_ones_bit_for_bit(tmp_path, small_pieces):
    """The train_loss and validation passes over blocks (pieces put together across them) give
    Model.loss's and predict's numbers on the same rows in memory."""
    disk = nnctl.train(_config(tmp_path, "sgd-mlp", epochs=2), out=tmp_path / "disk")
    memory = nnctl.train(_config(tmp_path, "sgd-mlp", "d.npz", epochs=2), out=tmp_path / "mem")
    assert _rows(disk) == _rows(memory)
    assert disk.summary["final"] == memory.summary["final"]


def _weights(run) -> dict:
    with np.load(run.dir / "checkpoints" / "last.npz") as arrays:
        return {k: arrays[k].tolist() for k in arrays.files if k.startswith("linear")}


@pytest.mark.parametrize("name", ["lbfgs", "cg"])
def test_on_disk_theta_matches_in_memory(tmp_path, name):
    config = _config(tmp_path, name, epochs=8)
    disk = nnctl.train(config, out=tmp_path / "disk")
    memory = nnctl.train(_config(tmp_path, name, path="d.npz", epochs=8), out=tmp_path / "memory")
    on_disk, in_memory = _weights(disk), _weights(memory)
    assert sorted(on_disk) == sorted(in_memory) != []
    for key, value in in_memory.items():
        np.testing.assert_allclose(on_disk[key], value, rtol=1e-8, atol=1e-10)
    for key, value in memory.summary["final"].items():
        assert disk.summary["final"][key] == pytest.approx(value, rel=1e-10), key


@pytest.mark.parametrize(
    "kind, n_outputs, task", [("softmax", 3, "multiclass"), ("mlp", 2, "binary")]
)
def test_loss_tally_gives_model_loss_for_any_blocking(monkeypatch, kind, n_outputs, task):
    monkeypatch.setattr(nn_model, "EVAL_CHUNK_ROWS", 16)
    monkeypatch.setattr(loss_tally, "EVAL_CHUNK_ROWS", 16)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(101, 4))
    y = rng.integers(0, 3 if task == "multiclass" else 2, 101)
    model = nn.build_model(
        kind,
        4,
        n_outputs,
        task,
        hidden=(5,) if kind == "mlp" else (),
        activation="tanh",
        l2=0.0,
        dtype=np.float64,
        init_rng=np.random.default_rng(0),
    )
    expected = model.loss(X, y)
    for cuts in ([101], [7, 16, 50, 51, 100], list(range(1, 101, 3)), [15, 17, 33, 48]):
        tally = LossTally(model, model._targets(y, 101))
        for start, stop in zip([0] + cuts, cuts + [101]):
            block = X[start:stop].copy()
            tally.add(block)
            block[...] = np.nan  # a reused buffer: the tally must have copied what it keeps
        assert tally.result() == expected, cuts  # bit for bit
    short = LossTally(model, model._targets(y, 101))
    short.add(X[:60])
    with pytest.raises(ValueError, match="60 of 101 rows"):
        short.result()


def test_the_chunked_objective_reuses_its_last_point_and_knows_the_train_loss(
    tmp_path, small_pieces
):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(N_TRAIN, N_FEATURES))
    y = rng.integers(0, 3, N_TRAIN)
    np.save(tmp_path / "X.npy", X)
    view = ondisk.RowView(ondisk.DiskRows([ondisk.open_npy(tmp_path / "X.npy")], ["X.npy"]))
    model = nn.build_model(
        "softmax", N_FEATURES, 3, "multiclass", l2=0.01, init_rng=np.random.default_rng(0)
    )
    objective = chunked.ChunkedObjective(model, view, y)
    theta = rng.normal(scale=0.3, size=model.n_params)
    f0 = objective.value(theta)  # the loop's initial check
    f, g = objective.value_and_grad(theta.copy())  # the optimizer's first point: no pass
    assert objective.passes == 1 and f == f0
    expected = g.copy()
    g[:] = 0.0  # the caller owns what it is given: the kept gradient is not changed
    assert np.array_equal(objective.value_and_grad(theta)[1], expected)
    assert objective.passes == 1
    assert objective.train_loss_at(model.theta) == model.loss(X, y)  # bit for bit
    other = theta + 0.1
    assert objective.train_loss_at(other) is None
    objective.value_and_grad(other)
    assert objective.passes == 2
    assert objective.train_loss_at(model.theta) == model.loss(X, y)  # model.theta is `other`
    model.theta[...] = theta
    assert objective.train_loss_at(model.theta) == model.loss(X, y)  # both points remembered
