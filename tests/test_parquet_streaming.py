"""A Parquet file too big to load trains as it streams (issue 23): its conversion is
memory-mapped, and the run's numbers are those of the same table loaded whole.

The limit is files.MAX_FILE_BYTES (1 GiB); here it is lowered so that a small file takes the
streamed road in this process (benchmarks/bench_parquet_big.py runs a real 2 GB file).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

import nnctl
from nnctl.data import files, parquet_rows

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

BODIES = {
    "mlp-sgd": "model: {kind: mlp, hidden: [6]}\noptimizer: {name: sgd, lr: 0.05, momentum: 0.9}\n"
    "train: {epochs: 3, batch_size: 16}\n",
    "softmax-lbfgs": "model: {kind: softmax}\noptimizer: {name: lbfgs}\ntrain: {epochs: 4}\n",
}


def _write_table(path, n=240, d=4, target=None):
    rng = np.random.default_rng(11)
    X = rng.normal(0.5, 2.0, (n, d))
    y = (X[:, 0] > 0.5).astype(np.int64) + (X[:, 1] > 1.0).astype(np.int64)
    columns = {f"f{j}": X[:, j] for j in range(d)}
    columns["label"] = pa.array(y if target is None else target)
    pq.write_table(pa.table(columns), path, row_group_size=50)


def _checkpoint_arrays(run):
    with np.load(Path(run.dir) / "checkpoints" / "last.npz") as archive:
        return {name: archive[name] for name in archive.files if name != "meta"}


def _train(tmp_path, name, body, big: bool, monkeypatch, streamed=None):
    """A run on t.parquet; big: above the in-memory limit. streamed: a list that gets the path
    of each table opened as it streams."""
    if big:
        monkeypatch.setattr(files, "MAX_FILE_BYTES", 1000)
    if streamed is not None:
        opener = parquet_rows.open_streamed_parquet

        def spy(path, **kwargs):
            streamed.append(path.name)
            return opener(path, **kwargs)

        monkeypatch.setattr(parquet_rows, "open_streamed_parquet", spy)
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        f"seed: 4\ndata: {{path: t.parquet, target: label, val_fraction: 0.25}}\n{body}"
    )
    try:
        return nnctl.train(config, out=tmp_path / f"run-{name}-{'big' if big else 'loaded'}")
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("name", sorted(BODIES))
def test_a_streamed_parquet_trains_to_the_numbers_of_the_loaded_table(tmp_path, monkeypatch, name):
    _write_table(tmp_path / "t.parquet")
    assert (tmp_path / "t.parquet").stat().st_size > 1000
    opened = []
    loaded = _train(tmp_path, name, BODIES[name], False, monkeypatch, opened)
    assert opened == []  # under the limit: loaded whole
    streamed = _train(tmp_path, name, BODIES[name], True, monkeypatch, opened)
    assert opened == ["t.parquet"]
    reference, arrays = _checkpoint_arrays(loaded), _checkpoint_arrays(streamed)
    assert sorted(arrays) == sorted(reference)
    for key in reference:
        assert np.array_equal(arrays[key], reference[key]), key
    assert streamed.summary["n_train"] == 180 and streamed.summary["n_val"] == 60
    for split in ("train", "val"):
        with (
            np.load(Path(loaded.dir) / "split.npz") as a,
            np.load(Path(streamed.dir) / "split.npz") as b,
        ):
            assert np.array_equal(a[split], b[split])


@pytest.mark.filterwarnings("ignore:.*rows have no value in the target column")
def test_a_streamed_parquet_that_would_lose_rows_is_refused(tmp_path, monkeypatch):
    target = [None if i % 7 == 0 else i % 3 for i in range(240)]
    _write_table(tmp_path / "t.parquet", target=target)
    with pytest.raises(nnctl.UsageError, match=r"t\.parquet: 35 of 240 rows .* data convert"):
        _train(tmp_path, "gaps", BODIES["mlp-sgd"], True, monkeypatch)
    # The scratch conversion is gone, refused or not (mapped shards need no folder).
    assert not list(Path(tempfile.gettempdir()).glob("nnctl-parquet-rows-*"))
