"""`train.threads: auto`: 1 thread where the run's matrix products are too small for a second
one to pay, the cores from the measured crossover on; decided from the config and the data's
shape only, recorded as a number in config.yaml and the checkpoints; a number given is kept."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import yaml

from nnctl.util.threads import CROSSOVER_PRODUCT, default_blas_threads
from tests.conftest import assert_clean_error, run_nnctl

SMALL = {  # lesson-overfit's shapes: batch 16 x 128 x 128, far below the crossover
    "seed": 0,
    "data": {"name": "moons", "params": {"n_samples": 160, "noise": 0.35}, "val_fraction": 0.5},
    "model": {"kind": "mlp", "hidden": [128, 128], "activation": "relu"},
    "optimizer": {"name": "adam", "lr": 0.01},
    "train": {"epochs": 2, "batch_size": 16},
}
WIDTH = 512


def big_config() -> dict:
    """An MLP whose first product (batch x WIDTH x WIDTH) reaches the crossover, one step."""
    batch = math.ceil(CROSSOVER_PRODUCT / (WIDTH * WIDTH))
    return {
        "seed": 0,
        "data": {
            "name": "blobs",
            "params": {"n_samples": batch, "n_features": WIDTH},
            "val_fraction": 0.0,
        },
        "model": {"kind": "mlp", "hidden": [WIDTH], "activation": "relu"},
        "optimizer": {"name": "sgd", "lr": 0.01},
        "train": {"epochs": 1, "batch_size": batch},
    }


def train_threads(tmp_path, cfg: dict, *overrides: str, name: str = "run") -> int:
    """Train `cfg` with `nnctl train`; the thread count its config.yaml and last.npz record."""
    config = tmp_path / f"{name}.yaml"
    config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "runs" / name
    args = [x for o in overrides for x in ("-s", o)]
    proc = run_nnctl("train", config, "--out", out, "-q", *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    recorded = yaml.safe_load((out / "config.yaml").read_text())["train"]["threads"]
    with np.load(out / "checkpoints" / "last.npz", allow_pickle=False) as arrays:
        saved = json.loads(str(arrays["meta"]))["config"]["train"]["threads"]
    assert recorded == saved
    return recorded


def test_small_run_resolves_auto_to_one_thread(tmp_path):
    assert train_threads(tmp_path, SMALL) == 1
    assert train_threads(tmp_path, SMALL, "train.threads=auto", name="spelled") == 1


def test_run_at_the_crossover_resolves_auto_to_the_cores(tmp_path):
    assert train_threads(tmp_path, big_config()) == default_blas_threads()


def test_a_number_given_is_kept(tmp_path):
    assert train_threads(tmp_path, SMALL, "train.threads=2") == 2
    assert train_threads(tmp_path, big_config(), "train.threads=1", name="big") == 1


def test_config_show_keeps_auto_and_bad_values_are_refused(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(SMALL))
    shown = run_nnctl("config", "show", config, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert yaml.safe_load(shown.stdout)["train"]["threads"] == "auto"  # the data decides
    proc = run_nnctl("train", config, "-s", "train.threads=many", cwd=tmp_path)
    assert_clean_error(proc, 2, "train.threads=many: expected auto or an integer >= 1")
    assert not (tmp_path / "runs").exists()


def test_a_replay_of_config_yaml_gives_the_same_bits(tmp_path):
    """The run's recorded number (and the build on one thread) make config.yaml a replay."""
    train_threads(tmp_path, SMALL)
    replay = tmp_path / "runs" / "run" / "config.yaml"
    proc = run_nnctl("train", replay, "--out", tmp_path / "replay", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with (
        np.load(tmp_path / "runs" / "run" / "checkpoints" / "last.npz") as first,
        np.load(tmp_path / "replay" / "checkpoints" / "last.npz") as second,
    ):
        weights = [k for k in first.files if k != "meta"]
        assert weights and all(np.array_equal(first[k], second[k]) for k in weights)


def test_a_busy_core_changes_nothing(tmp_path):
    """The same config resolves to the same number with one core kept busy."""
    quiet = train_threads(tmp_path, SMALL, name="quiet")
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = train_threads(tmp_path, SMALL, name="busy")
    finally:
        spinner.kill()
        spinner.wait()
    assert quiet == busy == 1


# The rule in-process, on built runs: the data's shape and the model, with a pretended machine.


def built(tmp_path, cfg: dict, *overrides: str):
    from nnctl.config import apply_overrides, resolve
    from nnctl.training.build import build_state

    return build_state(resolve(apply_overrides(cfg, list(overrides))), tmp_path)


@pytest.mark.parametrize("cores", [1, 3, 16])
def test_only_the_core_count_above_the_crossover_depends_on_the_machine(
    tmp_path, monkeypatch, cores
):
    import os

    from nnctl.training.thread_count import resolve_run_threads
    from nnctl.util import threads

    small, big = built(tmp_path, SMALL), built(tmp_path, big_config())
    monkeypatch.setattr(threads, "default_blas_threads", lambda: cores)
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    monkeypatch.setattr(os, "getloadavg", lambda: (50.0, 50.0, 50.0))  # a machine in trouble
    assert resolve_run_threads(small) == 1
    assert resolve_run_threads(big) == cores


def test_the_product_is_the_batch_or_every_row_through_the_widest_layer(tmp_path):
    from nnctl.training.thread_count import step_product

    linear = {
        "seed": 0,
        "data": {"name": "linear", "params": {"n_samples": 500, "n_features": 40}},
        "model": {"kind": "linreg"},
        "train": {"batch_size": 32, "epochs": 1},
    }
    n_train = len(built(tmp_path, linear).data.X_train)
    assert n_train < 500  # a validation split is held out: the training rows count
    assert step_product(built(tmp_path, linear, "optimizer.name=sgd")) == 32 * 40 * 1
    assert step_product(built(tmp_path, linear, "optimizer.name=gd")) == n_train * 40 * 1
    # A batch larger than the data: the rows there are.
    assert step_product(built(tmp_path, linear, "train.batch_size=4096")) == n_train * 40
    assert step_product(built(tmp_path, SMALL)) == 16 * 128 * 128
    # Newton assembles a dense Hessian of the 41 parameters over every training row.
    newton = built(tmp_path, linear, "optimizer.name=newton")
    assert step_product(newton) == n_train * 41 * 41


def test_the_rule_at_the_boundary(monkeypatch):
    from nnctl.util import threads

    monkeypatch.setattr(threads, "default_blas_threads", lambda: 4)
    assert threads.threads_for_product(CROSSOVER_PRODUCT - 1) == 1
    assert threads.threads_for_product(CROSSOVER_PRODUCT) == 4
    assert threads.largest_product(16, [(2, 128), (128, 128), (128, 1)]) == 16 * 128 * 128
