"""TensorBoard logging (issue 24): the event files read back with TensorBoard's own reader hold
exactly the metrics.jsonl numbers at their epochs, the config and the hyper-parameters, also
after an interrupted run is resumed (no epoch twice) and for every run of a comparison; the
setting (`logging: {tensorboard: true}`, `--tensorboard`) is refused before any run when
tensorboardX is missing; nothing is imported unless used.

Runs are trained and interrupted through the public door (nnctl.train / nnctl.resume with the
caller's callbacks) or as `nnctl` processes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import run_nnctl

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
    "logging": {"tensorboard": True},
}


def train_run(cfg: dict, run: Path, callbacks=()):
    import nnctl

    return nnctl.train(cfg, out=run, callbacks=callbacks).summary


def resume_run(run: Path):
    import nnctl

    return nnctl.resume(run).summary


def without_tensorboardx(tmp_path) -> dict:
    """The environment of an `nnctl` process in which tensorboardX cannot be imported (as if
    the extra were not installed): a sitecustomize that blocks it."""
    blocker = tmp_path / "no-tensorboardx"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['tensorboardX'] = None\n")
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": str(blocker) + (os.pathsep + path if path else "")}


def events(run: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def saved_config(run: Path) -> dict:
    import yaml

    return yaml.safe_load((run / "config.yaml").read_text())


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


def test_a_run_logs_every_metrics_number_the_config_and_the_hyper_parameters(tmp_path):
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


def test_full_batch_iterations_log_their_own_columns(tmp_path):
    cfg = {
        "seed": 0,
        "data": {"name": "diabetes", "val_fraction": 0.2},
        "model": {"kind": "linreg"},
        "optimizer": {"name": "lbfgs"},
        "train": {"epochs": 4},
        "logging": {"tensorboard": True},
    }
    run = tmp_path / "run"
    train_run(cfg, run)
    assert "lr" not in events(run).Tags()["scalars"]  # None in every row: nothing to draw
    assert_scalars_are_the_metrics(run, FULL_BATCH_TAGS)


def test_an_interrupted_run_resumed_logs_each_epoch_once(tmp_path, monkeypatch):
    """The worst case: the process wrote (and flushed) epochs 3 and 4 after its last checkpoint
    at epoch 2 and died; the resumed run trains epochs 3 and 4 again. TensorBoard's reader must
    show one event per epoch, with the numbers of the resumed run's metrics.jsonl."""
    from nnctl.errors import Interrupted
    from nnctl.training.callbacks import checkpointing

    monkeypatch.setattr(checkpointing, "CHECKPOINT_INTERVAL_S", 0.0)  # a checkpoint every epoch
    run = tmp_path / "run"
    stale = tmp_path / "epoch2.npz"

    class KeepEpoch2AndStopAt4:
        def on_epoch_end(self, state, row):
            if row["epoch"] == 2:
                shutil.copy(run / "checkpoints" / "last.npz", stale)
            if row["epoch"] == 4:
                state.stop_signal = signal.SIGINT

    with pytest.raises(Interrupted):
        train_run(MLP_IRIS, run, callbacks=[KeepEpoch2AndStopAt4()])
    assert len(rows(run)) >= 4
    assert [s.step for s in events(run).Scalars("loss/train")][:4] == [1, 2, 3, 4]
    shutil.copy(stale, run / "checkpoints" / "last.npz")  # the checkpoint a kill -9 left

    resume_run(run)
    assert [row["epoch"] for row in rows(run)] == list(range(1, 8))
    # One file per session, even when both start within the same second.
    assert len(list((run / "tb").glob("events.out.tfevents.*"))) == 2
    assert_scalars_are_the_metrics(run, EXPECTED_TAGS)
    assert len(events(run).Scalars("final/loss/val")) == 1


def test_a_plain_interrupt_and_resume_continues_after_the_last_logged_epoch(tmp_path):
    from nnctl.errors import Interrupted

    class StopAt3:
        def on_epoch_end(self, state, row):
            if row["epoch"] == 3:
                state.stop_signal = signal.SIGINT

    run = tmp_path / "run"
    with pytest.raises(Interrupted):
        train_run(MLP_IRIS, run, callbacks=[StopAt3()])
    assert [s.step for s in events(run).Scalars("loss/train")] == [1, 2, 3]
    resume_run(run)
    assert_scalars_are_the_metrics(run, EXPECTED_TAGS)
    resume_run(run)  # a finished run: nothing more to log, hyper-parameters not twice
    assert_scalars_are_the_metrics(run, EXPECTED_TAGS)
    assert len(events(run).Scalars("final/loss/val")) == 1


def test_a_run_stopped_mid_epoch_resumes_and_logs_each_epoch_once(tmp_path):
    """A caller's callback stops the run at its 20th step, in the middle of epoch 3 (8 steps an
    epoch). nnctl.resume continues from that step; the event files hold each epoch once, with
    the numbers of the run's metrics.jsonl."""
    from nnctl.errors import Interrupted

    class StopAtStep20:
        def on_batch_end(self, state):
            if state.counters.step == 20:
                state.stop_signal = signal.SIGINT

    run = tmp_path / "run"
    with pytest.raises(Interrupted, match="after step 20"):
        train_run(MLP_IRIS, run, callbacks=[StopAtStep20()])
    assert [row["epoch"] for row in rows(run)] == [1, 2]
    assert [s.step for s in events(run).Scalars("loss/train")] == [1, 2]
    resume_run(run)
    assert [row["epoch"] for row in rows(run)] == list(range(1, 8))
    assert_scalars_are_the_metrics(run, EXPECTED_TAGS)
    assert len(events(run).Scalars("final/loss/val")) == 1


def multi_run_with_tensorboard(tmp_path, command, *args) -> list[Path]:
    """Runs `command` (compare-optimizers or sweep) on the MLP with --tensorboard into
    tmp_path/cmp; returns the run folders in the order the command lists them."""
    config = tmp_path / "iris.yaml"
    config.write_text(json.dumps({k: v for k, v in MLP_IRIS.items() if k != "logging"}))
    out = tmp_path / "cmp"
    proc = run_nnctl(
        command,
        config,
        *args,
        "--tensorboard",
        "--out",
        out,
        "--no-plot",
        "-q",
        "--json",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return [out / run["run"] for run in json.loads(proc.stdout)["runs"]]


def test_a_comparison_writes_one_event_log_per_run_with_its_own_numbers(tmp_path):
    out = tmp_path / "cmp"
    runs = multi_run_with_tensorboard(tmp_path, "compare-optimizers", "-o", "sgd", "-o", "adam")
    assert [run.name for run in runs] == ["sgd", "adam"]
    curves = []
    for run in runs:
        assert len(list((run / "tb").glob("events.out.tfevents.*"))) == 1
        assert_scalars_are_the_metrics(run, EXPECTED_TAGS)
        curves.append([s.value for s in events(run).Scalars("loss/train")])
    assert curves[0] != curves[1]  # each log holds its own run's numbers
    assert not (out / "tb").exists()  # tensorboard --logdir cmp overlays the runs' logs


def test_a_sweep_with_tensorboard_logs_every_run(tmp_path):
    runs = multi_run_with_tensorboard(tmp_path, "sweep", "optimizer.lr=0.05,0.2", "train.epochs=2")
    assert len(runs) == 2
    for run in runs:
        assert_scalars_are_the_metrics(run, EXPECTED_TAGS)


def test_train_tensorboard_flag_is_the_config_key(tmp_path):
    proc = run_nnctl("train", "iris-softmax", "--tensorboard", "--out", "on", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert saved_config(tmp_path / "on")["logging"] == {"tensorboard": True}
    assert len(events(tmp_path / "on").Scalars("loss/train")) == len(rows(tmp_path / "on"))
    proc = run_nnctl("train", "iris-softmax", "--out", "off", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert saved_config(tmp_path / "off")["logging"] == {"tensorboard": False}
    assert not (tmp_path / "off" / "tb").exists()


def test_without_tensorboardx_the_setting_is_refused_before_any_run(tmp_path, monkeypatch):
    from nnctl.errors import UsageError

    hint = 'pip install "nnctl[tensorboard]"'
    env = without_tensorboardx(tmp_path)
    proc = run_nnctl(
        "train", "iris-softmax", "--tensorboard", "--out", "run", cwd=tmp_path, env=env
    )
    assert proc.returncode == 2
    assert hint in proc.stderr and "logging.tensorboard" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()
    proc = run_nnctl(
        "compare-optimizers", "iris-softmax", "-o", "sgd", "-o", "adam", "--tensorboard",
        "--out", "cmp", "--no-plot", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.returncode == 2 and hint in proc.stderr
    assert not (tmp_path / "cmp").exists()

    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # the same inside this process
    with pytest.raises(UsageError, match=r'pip install "nnctl\[tensorboard\]"'):
        train_run(MLP_IRIS, tmp_path / "api-run")
    assert not (tmp_path / "api-run").exists()


def test_a_run_logged_to_tensorboard_is_used_without_tensorboardx(tmp_path):
    """eval, predict and export rebuild the model only: they need no extra; resuming would
    train (and log), so it is refused with the hint before anything runs."""
    proc = run_nnctl("train", "iris-softmax", "--tensorboard", "--out", "run", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    env = without_tensorboardx(tmp_path)
    data = tmp_path / "rows.csv"
    data.write_text(
        "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm\n5.1,3.5,1.4,0.2\n"
    )
    for args in (["eval", "run"], ["predict", "run", data], ["export", "run", "--format", "json"]):
        proc = run_nnctl(*args, cwd=tmp_path, env=env)
        assert proc.returncode == 0, (args, proc.stderr)
    proc = run_nnctl("train", "--resume", "run", cwd=tmp_path, env=env)
    assert proc.returncode == 2 and 'pip install "nnctl[tensorboard]"' in proc.stderr


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
