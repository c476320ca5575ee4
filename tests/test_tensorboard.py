"""TensorBoard logging (issue 24): the event files read back with TensorBoard's own reader hold
exactly the metrics.jsonl numbers at their epochs, the config and the hyper-parameters, also
after an interrupted run is resumed (no epoch twice), and nothing is imported unless used.

Until the config wiring exists (`logging: {tensorboard: true}`), the callback is put into a
run's callbacks where it belongs (after MetricsLog) by wrapping make_callbacks, as
tests/fault_launch.py does for its interrupts.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("tensorboardX", "tensorboard")),
    reason="tensorboardX and tensorboard are not installed (pip install -e '.[dev]')",
)

# metrics.jsonl column -> the tag it must have
EXPECTED_TAGS = {
    "train_loss": "loss/train",
    "objective": "loss/objective",
    "val_loss": "loss/val",
    "val_accuracy": "metric/val_accuracy",
    "lr": "lr",
    "step": "progress/step",
    "sample_grads": "progress/sample_grads",
    "elapsed_s": "time/elapsed_s",
}
FULL_BATCH_TAGS = {
    "train_loss": "loss/train",
    "objective": "loss/objective",
    "val_loss": "loss/val",
    "val_r2": "metric/val_r2",
    "val_mse": "metric/val_mse",
    "val_rmse": "metric/val_rmse",
    "val_mae": "metric/val_mae",
    "grad_norm": "grad_norm",
    "step_size": "step_size",
    "step": "progress/step",
    "sample_grads": "progress/sample_grads",
    "n_fev": "progress/n_fev",
    "n_gev": "progress/n_gev",
    "elapsed_s": "time/elapsed_s",
}

MLP_IRIS = {
    "seed": 4,
    "data": {"name": "iris", "val_fraction": 0.2},
    "model": {"kind": "mlp", "hidden": [8], "activation": "tanh"},
    "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
    "schedule": {"name": "step", "step_size": 2, "gamma": 0.5},
    "train": {"epochs": 7, "batch_size": 16},
}


@pytest.fixture
def with_tensorboard(monkeypatch):
    """Every run trained in the test gets a TensorBoardLog after its MetricsLog; callbacks put
    in the returned list are appended after the run's own."""
    from nnctl.training import callbacks
    from nnctl.training.callbacks.metrics_log import MetricsLog
    from nnctl.training.callbacks.tensorboard import TensorBoardLog

    real = callbacks.make_callbacks
    extra = []

    def wired(state, reporter, *args, **kwargs):
        run_callbacks = real(state, reporter, *args, **kwargs)
        at = next(i for i, cb in enumerate(run_callbacks) if isinstance(cb, MetricsLog)) + 1
        run_callbacks.insert(at, TensorBoardLog(state.run_dir))
        run_callbacks.extend(extra)
        return run_callbacks

    monkeypatch.setattr(callbacks, "make_callbacks", wired)
    return extra


def train_run(cfg: dict, run: Path):
    from nnctl.config import resolve
    from nnctl.report.progress import QuietReporter
    from nnctl.runs import run_folder
    from nnctl.training.trainer import train

    run = run_folder.create(run, unique=False)
    try:
        return train(resolve(cfg, "test"), run, QuietReporter())
    finally:
        run_folder.unlock(run)


def resume_run(run: Path):
    from nnctl.report.progress import QuietReporter
    from nnctl.runs import run_folder
    from nnctl.training.trainer import resume

    try:
        return resume(run, QuietReporter())
    finally:
        run_folder.unlock(run)


def events(run: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def assert_scalars_are_the_metrics(run: Path, tags: dict):
    """Each tag holds exactly its column's numbers (as float32, TensorBoard's scalar type), one
    event per epoch, at step = epoch; no other per-epoch tag."""
    accumulator, metrics = events(run), rows(run)
    epochs = [row["epoch"] for row in metrics]
    assert epochs == list(range(1, len(metrics) + 1))
    per_epoch = {t for t in accumulator.Tags()["scalars"] if not t.startswith(("final/", "best/"))}
    assert per_epoch == set(tags.values())
    for column, tag in tags.items():
        scalars = accumulator.Scalars(tag)
        assert [s.step for s in scalars] == epochs, tag
        got = np.array([s.value for s in scalars], dtype=np.float32)
        expected = np.array([row[column] for row in metrics], dtype=np.float32)
        assert np.array_equal(got, expected), (tag, got, expected)


def test_a_run_logs_every_metrics_number_the_config_and_the_hyper_parameters(
    with_tensorboard, tmp_path
):
    from tensorboard.plugins.hparams import plugin_data_pb2

    run = tmp_path / "run"
    summary = train_run(MLP_IRIS, run)
    assert_scalars_are_the_metrics(run, EXPECTED_TAGS)
    accumulator = events(run)
    lr = np.array([s.value for s in accumulator.Scalars("lr")], dtype=np.float32)
    schedule = np.array([0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.00625], dtype=np.float32)
    assert np.array_equal(lr, schedule)  # the step schedule, epoch by epoch

    (config_tag,) = [t for t in accumulator.Tags()["tensors"] if t.startswith("config")]
    text = accumulator.Tensors(config_tag)[0].tensor_proto.string_val[0].decode()
    assert [line[4:] for line in text.splitlines()] == (
        run / "config.yaml"
    ).read_text().splitlines()

    last = rows(run)[-1]
    assert accumulator.Scalars("final/loss/val")[0].value == np.float32(last["val_loss"])
    assert accumulator.Scalars("final/metric/val_accuracy")[0].value == np.float32(
        last["val_accuracy"]
    )
    assert accumulator.Scalars(f"best/{summary['monitor']}")[0].value == np.float32(
        summary["best"][summary["monitor"]]
    )
    content = accumulator.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hparams = start.session_start_info.hparams
    assert hparams["optimizer.name"].string_value == "sgd"
    assert hparams["optimizer.lr"].number_value == 0.05
    assert hparams["model.hidden"].string_value == "[8]"
    assert hparams["train.batch_size"].number_value == 16
    assert hparams["seed"].number_value == 4


def test_full_batch_iterations_log_their_own_columns(with_tensorboard, tmp_path):
    cfg = {
        "seed": 0,
        "data": {"name": "diabetes", "val_fraction": 0.2},
        "model": {"kind": "linreg"},
        "optimizer": {"name": "lbfgs"},
        "train": {"epochs": 4},
    }
    run = tmp_path / "run"
    train_run(cfg, run)
    assert "lr" not in events(run).Tags()["scalars"]  # None in every row: nothing to draw
    assert_scalars_are_the_metrics(run, FULL_BATCH_TAGS)


def test_an_interrupted_run_resumed_logs_each_epoch_once(with_tensorboard, tmp_path, monkeypatch):
    """The worst case: the process wrote (and flushed) epochs 3 and 4 after its last checkpoint
    at epoch 2 and died; the resumed run trains epochs 3 and 4 again. TensorBoard's reader must
    show one event per epoch, with the numbers of the resumed run's metrics.jsonl."""
    from nnctl.training.callbacks import Callback, checkpointing
    from nnctl.training.loop import Interrupted

    monkeypatch.setattr(checkpointing, "CHECKPOINT_INTERVAL_S", 0.0)  # a checkpoint every epoch
    run = tmp_path / "run"
    stale = tmp_path / "epoch2.npz"

    class KeepEpoch2AndStopAt4(Callback):
        def on_epoch_end(self, state, row):
            if row["epoch"] == 2:
                shutil.copy(run / "checkpoints" / "last.npz", stale)
            if row["epoch"] == 4:
                state.stop_signal = signal.SIGINT

    with_tensorboard.append(KeepEpoch2AndStopAt4())
    with pytest.raises(Interrupted):
        train_run(MLP_IRIS, run)
    with_tensorboard.clear()
    assert len(rows(run)) >= 4
    assert [s.step for s in events(run).Scalars("loss/train")][:4] == [1, 2, 3, 4]
    shutil.copy(stale, run / "checkpoints" / "last.npz")  # the checkpoint a kill -9 left

    resume_run(run)
    assert [row["epoch"] for row in rows(run)] == list(range(1, 8))
    # One file per session, even when both start within the same second.
    assert len(list((run / "tb").glob("events.out.tfevents.*"))) == 2
    assert_scalars_are_the_metrics(run, EXPECTED_TAGS)
    assert len(events(run).Scalars("final/loss/val")) == 1


def test_a_plain_interrupt_and_resume_continues_after_the_last_logged_epoch(
    with_tensorboard, tmp_path
):
    from nnctl.training.callbacks import Callback
    from nnctl.training.loop import Interrupted

    class StopAt3(Callback):
        def on_epoch_end(self, state, row):
            if row["epoch"] == 3:
                state.stop_signal = signal.SIGINT

    run = tmp_path / "run"
    with_tensorboard.append(StopAt3())
    with pytest.raises(Interrupted):
        train_run(MLP_IRIS, run)
    with_tensorboard.clear()
    resume_run(run)
    assert_scalars_are_the_metrics(run, EXPECTED_TAGS)
    resume_run(run)  # a finished run: nothing more to log, hyper-parameters not twice
    assert_scalars_are_the_metrics(run, EXPECTED_TAGS)
    assert len(events(run).Scalars("final/loss/val")) == 1


def test_without_tensorboardx_the_run_is_refused_with_the_install_hint(
    with_tensorboard, tmp_path, monkeypatch
):
    from nnctl.errors import UsageError
    from nnctl.training.callbacks.tensorboard import require_tensorboardx

    real_import = builtins.__import__

    def without(name, *args, **kwargs):
        if name == "tensorboardX" or name.startswith("tensorboardX."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without)
    with pytest.raises(UsageError, match=r'pip install "nnctl\[tensorboard\]"'):
        require_tensorboardx()
    with pytest.raises(UsageError, match=r'pip install "nnctl\[tensorboard\]"'):
        train_run(MLP_IRIS, tmp_path / "run")
    assert not (tmp_path / "run" / "tb").exists()


def test_the_callback_module_imports_no_tensorboard_until_a_run_starts():
    probe = (
        "import sys\n"
        "import nnctl.training.callbacks.tensorboard as tb\n"
        "cb = tb.TensorBoardLog('unused')\n"
        "print(sorted(m for m in ('tensorboardX', 'tensorboard') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
