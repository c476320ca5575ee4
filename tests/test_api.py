"""The public Python API (nnctl.train, resume, load_run, Run): the CLI's numbers bit for bit,
metrics.jsonl as arrays, user callbacks (state kept across a resume), errors as exceptions."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnctl
from conftest import run_nnctl
from nnctl.errors import Interrupted, NnctlError, TrainingFailed, UsageError

REPO = Path(__file__).resolve().parents[1]

MLP_SGD = """\
seed: 3
data: {name: iris, val_fraction: 0.2}
model: {kind: mlp, hidden: [6], activation: tanh}
optimizer: {name: sgd, lr: 0.1, momentum: 0.9}
train: {epochs: 4, batch_size: 16}
"""


def arrays_of(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files if name != "meta"}


def assert_same_checkpoints(a: Path, b: Path) -> None:
    for name in ("last.npz", "best.npz"):
        left, right = arrays_of(a / "checkpoints" / name), arrays_of(b / "checkpoints" / name)
        assert sorted(left) == sorted(right), name
        for key in left:
            assert left[key].dtype == right[key].dtype, (name, key)
            assert np.array_equal(left[key], right[key]), (name, key)


def timeless(summary: dict) -> dict:
    """summary.json minus what differs between two runs of one config: wall time, folder."""
    summary = {k: v for k, v in summary.items() if k not in ("elapsed_s", "run_dir")}
    if summary.get("best"):
        summary["best"] = {k: v for k, v in summary["best"].items() if k != "elapsed_s"}
    return summary


def test_import_nnctl_loads_no_numpy_and_shows_the_api():
    code = (
        "import sys, nnctl\n"
        "assert 'numpy' not in sys.modules, 'numpy imported'\n"
        "names = dir(nnctl)\n"
        "for name in ('train', 'resume', 'load_run', 'compare_optimizers', 'sweep', 'Run',\n"
        "             'Comparison', 'UsageError', 'TrainingFailed', 'Interrupted', 'NnctlError'):\n"
        "    assert name in names, name\n"
        "assert 'nnctl.train(' in nnctl.__doc__ and 'numpy' not in sys.modules\n"
        "assert nnctl.UsageError.__module__ == 'nnctl.errors' and 'numpy' not in sys.modules\n"
        "print(nnctl.__version__, nnctl.CHECKPOINT_FORMAT)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [nnctl.__version__, str(nnctl.CHECKPOINT_FORMAT)]


def test_nnctl_train_is_the_function_and_the_engine_package_is_nnctl_training():
    import nnctl.training.callbacks.tensorboard  # noqa: F401 (a dotted import reaches it)

    assert callable(nnctl.train) and nnctl.train.__module__ == "nnctl.api.training"
    assert nnctl.training.Trainer.__name__ == "Trainer"


def test_interrupted_lives_in_nnctl_errors_and_is_what_the_loop_raises():
    from nnctl.training.loop import Interrupted as raised_by_the_loop

    assert raised_by_the_loop is Interrupted is nnctl.Interrupted
    assert issubclass(Interrupted, NnctlError) and Interrupted("x").exit_code == 130


def test_train_gives_the_cli_numbers_bit_for_bit(tmp_path):
    config = tmp_path / "mlp.yaml"
    config.write_text(MLP_SGD)
    cli = run_nnctl("train", config, "-s", "train.epochs=3", "--out", "cli", "-q", cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    run = nnctl.train(config, overrides={"train.epochs": 3}, out=tmp_path / "api")
    assert run.dir == tmp_path / "api"
    cli_summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert timeless(run.summary) == timeless(cli_summary)
    assert_same_checkpoints(tmp_path / "cli", run.dir)
    assert run.status == "completed" and run.summary["epochs"] == 3


def test_train_from_an_example_name_with_overrides_as_a_list(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = nnctl.train("iris-softmax", overrides=["train.epochs=2", "optimizer.lr=0.05"])
    assert run.dir == Path("runs/iris-softmax")  # the CLI's default folder
    assert run.config["optimizer"]["lr"] == 0.05 and run.summary["epochs"] == 2
    again = nnctl.train("iris-softmax", overrides={"train.epochs": 1})
    assert again.dir == Path("runs/iris-softmax-2")  # made unique, never overwritten
    assert run.summary["epochs"] == 2


def test_train_from_a_dict_finds_relative_data_in_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = ["x1,x2,label"] + [
        f"{i % 7},{(i * 3) % 5},{'yes' if i % 7 > 3 else 'no'}" for i in range(60)
    ]
    Path("points.csv").write_text("\n".join(rows) + "\n")
    raw = {
        "data": {"path": "points.csv", "target": "label"},
        "model": {"kind": "logreg"},
        "optimizer": {"name": "adam", "lr": 0.5},
        "train": {"epochs": 3},
    }
    # A Python value is used as is: 1e-05 stays a float (YAML 1.1 would read "1e-05" as text).
    run = nnctl.train(raw, overrides={"optimizer.lr": 1e-05, "train.batch_size": 8})
    assert run.dir == Path("runs/points-logreg")
    assert run.config["optimizer"]["lr"] == 1e-05
    assert run.config["train"]["batch_size"] == 8
    assert run.config["data"]["path"] == str((tmp_path / "points.csv").resolve())
    assert set(run.predict({"x2": [1.0], "x1": [6.0]}).tolist()) <= {"yes", "no"}


def test_paths_in_a_dict_config_and_in_overrides_may_be_path_objects(tmp_path):
    """A notebook names files with pathlib: a Path is its text, in the config and overrides,
    for train and for a comparison (whose dict config is written as YAML)."""
    rows = ["x1,x2,label"] + [
        f"{i % 7},{(i * 3) % 5},{'yes' if i % 7 > 3 else 'no'}" for i in range(60)
    ]
    (tmp_path / "points.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "other.csv").write_text("\n".join(rows) + "\n")
    raw = {
        "data": {"path": tmp_path / "points.csv", "target": "label"},
        "model": {"kind": "logreg"},
        "train": {"epochs": 2},
    }
    run = nnctl.train(raw, out=tmp_path / "run")
    assert run.config["data"]["path"] == str(tmp_path / "points.csv")
    run = nnctl.train(raw, out=tmp_path / "run2", overrides={"data.path": tmp_path / "other.csv"})
    assert run.config["data"]["path"] == str(tmp_path / "other.csv")
    comparison = nnctl.compare_optimizers(raw, ["sgd", "adam"], out=tmp_path / "cmp")
    assert len(comparison.runs) == 2


def test_history_holds_metrics_jsonl_numbers(tmp_path):
    run = nnctl.train("iris-softmax", overrides={"train.epochs": 4}, out=tmp_path / "run")
    rows = [json.loads(line) for line in (run.dir / "metrics.jsonl").read_text().splitlines()]
    history = run.history
    assert len(rows) == 4 and set(history) == {k for row in rows for k in row}
    for name, values in history.items():
        assert values.dtype == np.float64 and values.shape == (4,)
        expected = [math.nan if row.get(name) is None else float(row[name]) for row in rows]
        np.testing.assert_array_equal(values, expected)
    assert history["epoch"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_load_run_reads_a_run_the_cli_trained(tmp_path):
    cli = run_nnctl(
        "train", "iris-softmax", "-s", "train.epochs=2", "--out", "r", "-q", cwd=tmp_path
    )
    assert cli.returncode == 0, cli.stderr
    run = nnctl.load_run(tmp_path / "r")
    assert run.summary == json.loads((tmp_path / "r" / "summary.json").read_text())
    assert run.status == "completed" and run.config["data"]["name"] == "iris"
    text = repr(run)
    assert "softmax" in text and "sgd" in text and "2 epochs" in text and "completed" in text
    assert "val_accuracy" in text and str(tmp_path / "r") in text
    with pytest.raises(UsageError, match="found nothing there"):
        nnctl.load_run(tmp_path / "missing")
    with pytest.raises(UsageError, match="not an nnctl run folder"):
        nnctl.load_run(tmp_path)


class StopAtStep:
    """Raises the stop flag after step `step`, as a Ctrl-C during that step would."""

    def __init__(self, step: int):
        self.step = step

    def on_batch_end(self, state):
        if state.counters.step == self.step:
            state.stop_signal = signal.SIGINT


class BatchCounter:
    """Counts batches across sessions: its state must come back on resume."""

    name = "batches"

    def __init__(self):
        self.count = 0
        self.rows = []

    def on_batch_end(self, state):
        self.count += 1

    def on_epoch_end(self, state, row):
        self.rows.append(dict(row))

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = state["count"]


def test_interrupted_run_resumes_to_the_uninterrupted_numbers(tmp_path):
    config = tmp_path / "mlp.yaml"
    config.write_text(MLP_SGD)
    full = nnctl.train(config, out=tmp_path / "full")
    counter = BatchCounter()
    with pytest.raises(Interrupted, match="state saved after step 11"):
        nnctl.train(config, out=tmp_path / "cut", callbacks=[StopAtStep(11), counter])
    assert counter.count == 11
    assert nnctl.load_run(tmp_path / "cut").status == "interrupted"
    # The handlers are back: Ctrl-C is not left ignored in a process that lives on.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    resumed_counter = BatchCounter()
    resumed = nnctl.resume(tmp_path / "cut", callbacks=[resumed_counter])
    assert resumed.status == "completed"
    assert resumed_counter.count == full.summary["steps"]  # 11 saved + the rest
    assert_same_checkpoints(full.dir, resumed.dir)
    assert timeless(resumed.summary) == timeless(full.summary)
    np.testing.assert_array_equal(resumed.history["val_loss"], full.history["val_loss"])


def test_a_saved_callback_state_not_given_back_on_resume_is_named_in_a_warning(tmp_path):
    config = tmp_path / "mlp.yaml"
    config.write_text(MLP_SGD)
    with pytest.raises(Interrupted):
        nnctl.train(config, out=tmp_path / "cut", callbacks=[StopAtStep(5), BatchCounter()])
    with pytest.warns(UserWarning, match="saved state of the callbacks batches not used"):
        assert nnctl.resume(tmp_path / "cut").status == "completed"


def test_callbacks_are_duck_typed_and_see_complete_rows(tmp_path):
    seen = []

    class EpochsOnly:
        def on_epoch_end(self, state, row):
            seen.append((row["epoch"], row["val_loss"]))
            if row["epoch"] == 2:
                state.stop_training = True

    run = nnctl.train("iris-softmax", out=tmp_path / "run", callbacks=[EpochsOnly()])
    assert [epoch for epoch, _ in seen] == [1, 2] and run.summary["epochs"] == 2
    assert [loss for _, loss in seen] == run.history["val_loss"].tolist()


def test_callbacks_with_one_key_or_no_hook_are_refused(tmp_path):
    with pytest.raises(UsageError, match="two callbacks are named 'batches'"):
        nnctl.train("iris-softmax", out=tmp_path / "a", callbacks=[BatchCounter(), BatchCounter()])
    with pytest.raises(UsageError, match="has none of the hooks"):
        nnctl.train("iris-softmax", out=tmp_path / "b", callbacks=[object()])
    # Two of one class are fine once named apart.
    first, second = BatchCounter(), BatchCounter()
    second.name = "batches-2"
    nnctl.train(
        "iris-softmax", overrides={"train.epochs": 1}, callbacks=[first, second], out=tmp_path / "c"
    )
    assert first.count == second.count == 8


def test_errors_are_exceptions_never_system_exit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no-such.yaml"):
        nnctl.train("no-such.yaml")
    with pytest.raises(UsageError, match="optimizer.lr"):
        nnctl.train("iris-softmax", overrides={"optimizer.lr": -1})
    with pytest.raises(UsageError, match="expected a mapping"):
        nnctl.train("iris-softmax", overrides="optimizer.lr=0.1")
    with pytest.raises(UsageError, match="config: expected a YAML file path"):
        nnctl.train(42)
    with pytest.raises(UsageError, match="found nothing there"):
        nnctl.resume(tmp_path / "nothing")
    with pytest.raises(TrainingFailed) as failed:
        nnctl.train(
            "linear-linreg-sgd", overrides={"optimizer.lr": 1e12, "train.epochs": 3}, out="div"
        )
    assert failed.value.summary["status"] == "diverged"
    assert nnctl.load_run(tmp_path / "div").status == "diverged"
    assert not Path("runs").exists()  # refused configs leave no folder behind


def test_silent_by_default_progress_on_stderr_when_asked(tmp_path, capfd):
    nnctl.train("iris-softmax", overrides={"train.epochs": 2}, out=tmp_path / "quiet")
    assert capfd.readouterr() == ("", "")
    nnctl.train(
        "iris-softmax", overrides={"train.epochs": 2}, out=tmp_path / "shown", progress=True
    )
    out, err = capfd.readouterr()
    assert out == "" and "softmax on iris" in err and "epoch" in err.lower()


def test_an_existing_out_folder_is_replaced_only_with_force(tmp_path):
    first = nnctl.train("iris-softmax", overrides={"train.epochs": 1}, out=tmp_path / "run")
    with pytest.raises(UsageError, match="run folder exists and is not empty; use --force"):
        nnctl.train("iris-softmax", overrides={"train.epochs": 2}, out=tmp_path / "run")
    assert first.summary["epochs"] == 1
    again = nnctl.train(
        "iris-softmax", overrides={"train.epochs": 2}, out=tmp_path / "run", force=True
    )
    assert again.dir == first.dir and again.summary["epochs"] == 2
