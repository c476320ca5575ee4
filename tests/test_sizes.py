"""Sizes first (issue 22): a run's memory and checkpoint size are estimated from the config and
the data's shape before anything is allocated, and refused with the figures; upper bounds on
seeds, steps, budget, hidden units and columns name the option or key, the limit and the value.

Available memory is faked through NNCTL_MEMORY_AVAILABLE (documented in docs/big-data.md), so the
tests do not depend on the machine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import CONFIGS, assert_clean_error, run_nnctl
from nnctl.config import load_config
from nnctl.errors import UsageError
from nnctl.training.build import prepare_run
from nnctl.training.prepare import prepare_data, resolve_dtype
from nnctl.training.size_estimate import (
    MEMORY_VARIABLE,
    _extrapolate,
    available_memory,
    estimate_sizes,
    parse_bytes,
)
from nnctl.util.rng import make_streams

EXAMPLES = sorted(CONFIGS.glob("*.yaml"))
FAST = ["-s", "train.epochs=2"]


def _estimate(config: Path, overrides: dict | None = None):
    cfg = load_config(config)
    for key, value in (overrides or {}).items():
        section, name = key.split(".")
        cfg[section][name] = value
    data = prepare_data(cfg, make_streams(cfg["seed"]), config.parent)
    return estimate_sizes(cfg, data, resolve_dtype(cfg)), cfg


def _leaves_nothing(tmp_path: Path, *names: str) -> None:
    for name in names:
        assert not (tmp_path / name).exists(), sorted(p.name for p in tmp_path.iterdir())


# -- the estimate against what is really allocated ----------------------------------------------
@pytest.mark.parametrize("config", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_counts_its_parameters_exactly_and_fits_in_little_memory(config):
    estimate, cfg = _estimate(config)
    built = prepare_run(cfg, config.parent)
    assert estimate.n_params == built.model.n_params
    # The course's examples are small: none needs more than a few MB, so none is ever refused.
    assert 0 < estimate.memory < 20e6
    assert estimate.checkpoint < 2e6


def test_the_benchmark_mlp_784_512_512_10_needs_about_its_parameters_times_ten(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(2000, 784)), y=rng.integers(0, 10, 2000))
    config = tmp_path / "c.yaml"
    config.write_text(
        "data: {path: d.npz}\nmodel: {kind: mlp, hidden: [512, 512]}\n"
        "optimizer: {name: adam}\ntrain: {batch_size: 256}\n"
    )
    estimate, _ = _estimate(config)
    n = 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10
    assert estimate.n_params == n
    # float32: theta, grad, L2 scratch, best and save copies (5) + Adam's 3 arrays and their
    # saved copies (2): 10 copies of 4 bytes, plus the batch and the data copies.
    assert estimate.parameters + estimate.optimizer == pytest.approx(10 * 4 * n, rel=1e-3)
    assert estimate.memory < 100e6


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adadelta", "lbfgs", "bfgs", "cg"])
def test_the_optimizer_arrays_extrapolated_from_tiny_builds_match_a_real_build(name):
    from nnctl.optim import OPTIMIZERS
    from nnctl.training.size_estimate import _array_bytes

    entry = OPTIMIZERS.get(name)
    settings = OPTIMIZERS.resolve(name, {}, "optimizer")
    measured = [
        _array_bytes(vars(entry.build(n, np.float64, **settings)).values()) for n in (1, 2, 3)
    ]
    real = entry.build(57, np.float64, **settings)
    assert _extrapolate(measured, 57) == _array_bytes(vars(real).values())


@pytest.mark.parametrize("config", ["digits-mlp", "lesson-overfit", "digits-softmax-lbfgs"])
def test_the_checkpoint_estimate_bounds_the_file_training_writes(tmp_path, config):
    path = CONFIGS / f"{config}.yaml"
    proc = run_nnctl("train", path, *FAST, "--out", tmp_path / "run", "-q")
    assert proc.returncode == 0, proc.stderr
    estimate, _ = _estimate(path)
    written = (tmp_path / "run" / "checkpoints" / "last.npz").stat().st_size
    assert written <= estimate.checkpoint <= written + 128 * 1024


def test_data_read_from_disk_is_not_counted_only_its_batches(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20_000, 50))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", (X[:, 0] > 0).astype(np.int64))
    np.savez(tmp_path / "d.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    body = "model: {kind: logreg}\noptimizer: {name: sgd, lr: 0.1}\ntrain: {batch_size: 100}\n"
    (tmp_path / "disk.yaml").write_text("data: {path: X.npy, labels_path: y.npy}\n" + body)
    (tmp_path / "mem.yaml").write_text("data: {path: d.npz}\n" + body)
    on_disk, _ = _estimate(tmp_path / "disk.yaml")
    in_memory, _ = _estimate(tmp_path / "mem.yaml")
    assert on_disk.data_copies == 100 * 50 * 4  # one float32 batch buffer
    # In memory: the float32 copy of the training rows and the shuffled copy beside it.
    assert in_memory.data_copies >= 2 * 16_000 * 50 * 4


# -- refusals as real processes -----------------------------------------------------------------
def test_a_run_that_does_not_fit_is_refused_with_the_figures_and_writes_nothing(tmp_path):
    proc = run_nnctl(
        "train",
        CONFIGS / "digits-mlp.yaml",
        "--out",
        "run",
        cwd=tmp_path,
        env={MEMORY_VARIABLE: "1M"},
    )
    assert_clean_error(
        proc,
        2,
        "model.hidden [64] on 64 feature columns needs about",
        "for parameters, adam state and one batch",
        f"{MEMORY_VARIABLE} says 1.0 MB available",
    )
    _leaves_nothing(tmp_path, "run")


def test_the_limit_is_the_estimate_itself_one_byte_less_is_refused(tmp_path):
    estimate, _ = _estimate(CONFIGS / "iris-softmax.yaml", {"train.epochs": 2})
    args = ("train", CONFIGS / "iris-softmax.yaml", *FAST, "-q")
    fits = run_nnctl(*args, "--out", "a", cwd=tmp_path, env={MEMORY_VARIABLE: str(estimate.memory)})
    assert fits.returncode == 0, fits.stderr
    short = str(estimate.memory - 1)
    refused = run_nnctl(*args, "--out", "b", cwd=tmp_path, env={MEMORY_VARIABLE: short})
    assert_clean_error(refused, 2, "needs about", "available")
    _leaves_nothing(tmp_path, "b")


def test_the_issue_model_is_refused_before_anything_is_allocated(tmp_path):
    # 400 million parameters: Adam's arrays alone would be 4.8 GB; the refusal comes at once.
    big = ["-s", "model.hidden=[20000,20000]"]
    proc = run_nnctl(
        "train", CONFIGS / "digits-mlp.yaml", *big, "--out", "run", cwd=tmp_path,
        env={MEMORY_VARIABLE: "5.1G"},
    )  # fmt: skip
    assert_clean_error(
        proc,
        2,
        "model.hidden [20000, 20000] on 64 feature columns needs about 16.5 GB",
        f"{MEMORY_VARIABLE} says 5.1 GB available",
    )
    _leaves_nothing(tmp_path, "run")


def test_a_checkpoint_resume_would_refuse_is_never_written(tmp_path):
    # Memory enough (faked), but last.npz would be 6.4 GB, above what every reader accepts.
    config, big = CONFIGS / "digits-mlp.yaml", ["-s", "model.hidden=[20000,20000]"]
    for command in (["train", config, *big, "--out", "run"], ["config", "validate", config, *big]):
        proc = run_nnctl(*command, cwd=tmp_path, env={MEMORY_VARIABLE: "1T"})
        assert_clean_error(
            proc,
            2,
            "makes checkpoints of about 6.4 GB",
            "nnctl reads checkpoints up to 4 GiB, so this run could not be resumed",
        )
    _leaves_nothing(tmp_path, "run")


def test_resume_checks_the_same_sizes_and_leaves_the_run_as_it_was(tmp_path):
    config = CONFIGS / "iris-softmax.yaml"
    assert run_nnctl("train", config, *FAST, "--out", "run", "-q", cwd=tmp_path).returncode == 0
    last = tmp_path / "run" / "checkpoints" / "last.npz"
    before = last.read_bytes()
    proc = run_nnctl("train", "--resume", "run", cwd=tmp_path, env={MEMORY_VARIABLE: "1K"})
    assert_clean_error(proc, 2, "needs about", f"{MEMORY_VARIABLE} says 0.0 MB available")
    assert last.read_bytes() == before


def test_a_malformed_memory_figure_is_named(tmp_path):
    proc = run_nnctl(
        "config", "validate", CONFIGS / "iris-softmax.yaml", env={MEMORY_VARIABLE: "lots"}
    )
    assert_clean_error(proc, 2, f"{MEMORY_VARIABLE}: expected a number of bytes", "'lots'")


def test_memory_figures_parse_with_units_and_the_system_gives_one_here():
    assert parse_bytes("5.1G", "x") == 5_100_000_000
    assert parse_bytes("512MB", "x") == 512_000_000
    assert parse_bytes(" 2048 ", "x") == 2048
    with pytest.raises(UsageError, match="x: expected a number of bytes"):
        parse_bytes("-1G", "x")
    figure, source = available_memory()
    if Path("/proc/meminfo").exists():
        assert source == "the system" and figure > 0


def test_a_caller_can_pass_the_figure_as_a_parameter():
    cfg = load_config(CONFIGS / "iris-softmax.yaml")
    with pytest.raises(UsageError, match="the caller says 0.0 MB available"):
        prepare_run(cfg, CONFIGS, available_memory=10)
    assert prepare_run(cfg, CONFIGS, available_memory=10**9).model.n_params == 15


# -- upper bounds -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["--seeds", "100000"], "--seeds: at most 1000 seeds (runs per optimizer), found 100000"),
        (["-s", "compare.seeds=5000"], "compare.seeds: at most 1000 seeds"),
        (["--tune", "lr", "--budget", "5000"], "--budget: at most 1000 trials per tuned"),
    ],
)
def test_comparison_counts_have_upper_bounds(tmp_path, args, message):
    proc = run_nnctl(
        "compare-optimizers", CONFIGS / "iris-softmax.yaml", *args, "--out", "c", cwd=tmp_path
    )
    assert_clean_error(proc, 2, message)
    _leaves_nothing(tmp_path, "c")


def test_sweep_seeds_and_landscape_steps_have_upper_bounds(tmp_path):
    sweep = run_nnctl(
        "sweep", CONFIGS / "iris-softmax.yaml", "-s", "optimizer.lr=0.1,0.2", "--seeds", "2000",
        "--out", "s", cwd=tmp_path,
    )  # fmt: skip
    assert_clean_error(sweep, 2, "--seeds: at most 1000 seeds", "found 2000")
    steps = run_nnctl(
        "compare-optimizers", "--landscape", "rosenbrock", "--steps", "1000000000",
        "--out", "l", cwd=tmp_path,
    )  # fmt: skip
    assert_clean_error(steps, 2, "--steps: at most 100000 steps per optimizer, found 1000000000")
    _leaves_nothing(tmp_path, "s", "l")


def test_model_width_depth_and_feature_columns_have_upper_bounds(tmp_path):
    wide = run_nnctl(
        "train", CONFIGS / "digits-mlp.yaml", "-s", "model.hidden=[2000000]", "--out", "r",
        cwd=tmp_path,
    )  # fmt: skip
    assert_clean_error(wide, 2, "model.hidden[0]: at most 1000000 units per layer, found 2000000")
    deep = ", ".join(["2"] * 1001)
    (tmp_path / "deep.yaml").write_text(f"data: {{name: moons}}\nmodel: {{hidden: [{deep}]}}\n")
    proc = run_nnctl("config", "validate", "deep.yaml", cwd=tmp_path)
    assert_clean_error(proc, 2, "model.hidden: at most 1000 hidden layers, found 1001")
    np.save(tmp_path / "X.npy", np.zeros((2, 1_000_001), dtype=np.float32))
    np.save(tmp_path / "y.npy", np.array([0, 1]))
    (tmp_path / "c.yaml").write_text(
        "data: {path: X.npy, labels_path: y.npy, val_fraction: 0, standardize: false}\n"
        "model: {kind: logreg}\n"
    )
    columns = run_nnctl("train", "c.yaml", "--out", "r", cwd=tmp_path)
    assert_clean_error(columns, 2, "at most 1000000 feature columns, found 1000001")
    _leaves_nothing(tmp_path, "r")


def test_the_system_figure_is_memavailable_or_the_room_under_a_cgroup_limit(tmp_path):
    from nnctl.training.size_estimate import _cgroup_room, _meminfo_available

    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16000000 kB\nMemAvailable:    5000000 kB\n")
    assert _meminfo_available(meminfo) == 5_000_000 * 1024
    assert _meminfo_available(tmp_path / "absent") is None
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    (cgroup / "memory.max").write_text("max\n")
    (cgroup / "memory.current").write_text("1000\n")
    assert _cgroup_room(cgroup) is None  # no limit set
    (cgroup / "memory.max").write_text("3000000000\n")
    assert _cgroup_room(cgroup) == 3_000_000_000 - 1000
    assert _cgroup_room(tmp_path / "no-cgroup") is None
