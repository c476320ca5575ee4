"""A run far slower than its first epochs predicted says why, once, on stderr (issue 21, part
2). Epoch durations come from an injected clock: no test here waits or measures real time."""

from __future__ import annotations

import io

import pytest

from nnctl.training.callbacks import make_callbacks
from nnctl.training.callbacks.slow_run import SlowRunNote


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run_epochs(durations, threads=2):
    """The lines SlowRunNote says over epochs that take `durations` seconds each."""
    clock, said = FakeClock(), []
    note = SlowRunNote(threads, said.append, clock)
    note.on_train_start(state=None)
    for epoch, seconds in enumerate(durations, 1):
        clock.now += seconds
        note.on_epoch_end(state=None, row={"epoch": epoch})
    return said


def test_a_sustained_slowdown_is_said_once_with_the_cause_and_the_fix():
    said = run_epochs([1.0, 0.8, 1.2, 1.0, 9.0, 9.0, 9.0, 9.0, 12.0, 9.0])
    assert said == [
        "note: epochs are taking 9x longer than at the start; another program may be using "
        "the cores (BLAS threads: 2); -s train.threads=1 may help"
    ]


def test_said_when_the_third_slow_epoch_in_a_row_ends():
    said = run_epochs([1.0, 1.0, 1.0, 5.0, 5.0])
    assert said == []
    said = run_epochs([1.0, 1.0, 1.0, 5.0, 5.0, 5.0])
    assert len(said) == 1 and "5x longer" in said[0]


def test_hiccups_and_mild_slowdowns_say_nothing():
    # single slow epochs (a checkpoint save, a garbage collection) between normal ones
    assert run_epochs([1.0, 1.0, 1.0, 8.0, 1.0, 8.0, 8.0, 1.0, 8.0, 1.0] * 3) == []
    # 3.9x, sustained: slower, but within what a busy machine does
    assert run_epochs([1.0, 1.0, 1.0] + [3.9] * 20) == []


def test_tiny_epochs_are_not_worth_a_note():
    # full-batch iterations of microseconds: 10x slower still costs no one a second
    assert run_epochs([1e-4] * 3 + [1e-3] * 50) == []


def test_one_thread_names_the_cause_without_suggesting_threads():
    (line,) = run_epochs([0.5, 0.5, 0.5, 3.0, 3.0, 3.0], threads=1)
    assert line == (
        "note: epochs are taking 6x longer than at the start; another program may be using "
        "the cores (BLAS threads: 1)"
    )


def test_the_baseline_is_the_median_of_the_first_three_epochs():
    # a slow first epoch (imports, warm-up) does not hide the later slowdown
    said = run_epochs([10.0, 1.0, 1.0, 6.0, 6.0, 6.0])
    assert len(said) == 1 and "6x longer" in said[0]


def test_no_say_function_means_no_note():
    clock = FakeClock()
    note = SlowRunNote(2, None, clock)
    note.on_train_start(None)
    for _ in range(10):
        clock.now += 1.0 if not note.durations or len(note.durations) < 3 else 50.0
        note.on_epoch_end(None, {})
    assert not note.said


def test_every_run_has_the_note_and_it_reaches_the_reporters_stream(tmp_path):
    from types import SimpleNamespace

    from nnctl.report.progress import PlainReporter, QuietReporter

    stream = io.StringIO()
    cfg = {
        "train": {
            "threads": 2,
            "early_stopping": None,
            "on_nonfinite": "stop",
            "clip_grad_norm": None,
        },
        "optimizer": {"name": "sgd"},
        "logging": {"tensorboard": False},
    }
    state = SimpleNamespace(cfg=cfg, run_dir=tmp_path)
    callbacks = make_callbacks(state, PlainReporter(stream))
    (note,) = [c for c in callbacks if isinstance(c, SlowRunNote)]
    note.say("note: test line")
    assert stream.getvalue() == "note: test line\n"
    # -q: the quiet reporter says nothing
    quiet = make_callbacks(state, QuietReporter())
    (quiet_note,) = [c for c in quiet if isinstance(c, SlowRunNote)]
    assert quiet_note.say("note: test line") is None


@pytest.mark.parametrize("threads", [1, 4])
def test_a_real_training_run_with_a_stalling_clock_prints_the_note(threads, tmp_path, monkeypatch):
    """Through the trainer: the run's own clock is replaced, so epochs 'take' 1 s, then 20 s;
    the note is one line on the progress stream."""
    from nnctl.config import resolve
    from nnctl.report.progress import PlainReporter
    from nnctl.runs import run_folder
    from nnctl.training import train
    from nnctl.training.callbacks import slow_run

    ticks = iter([float(i) for i in range(3)] + [2.0 + 20.0 * i for i in range(1, 200)])
    monkeypatch.setattr(slow_run, "wall_clock", lambda: next(ticks))
    cfg = resolve(
        {
            "data": {"name": "iris"},
            "model": {"kind": "softmax"},
            "optimizer": {"name": "sgd", "lr": 0.1},
            "train": {"epochs": 8, "threads": threads},
        }
    )
    stream = io.StringIO()
    run_dir = run_folder.create(tmp_path / "run", unique=False)
    summary = train(cfg, run_dir, PlainReporter(stream))
    assert summary["status"] == "completed"
    notes = [line for line in stream.getvalue().splitlines() if line.startswith("note:")]
    assert notes == [
        "note: epochs are taking 20x longer than at the start; another program may be using "
        f"the cores (BLAS threads: {threads})" + ("; -s train.threads=1 may help" * (threads > 1))
    ]


def test_the_median_is_statistics_median():
    # slow_run keeps its own median (statistics costs start-up time): the same numbers.
    import statistics

    from nnctl.training.callbacks.slow_run import _median

    for values in ([3.0], [0.2, 0.1, 0.3], [4.0, 1.0, 3.0, 2.0], [0.5, 0.5, 9.0, 0.25, 7.0, 1.0]):
        assert _median(values) == statistics.median(values)
    assert _median([4.0, 1.0, 3.0, 2.0]) == 2.5
