"""Issue 11 at the level of single functions: values worked out by hand or in closed form."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from nnctl.config import parse_yaml_text
from nnctl.data.scaling import Standardizer
from nnctl.errors import UsageError
from nnctl.util.registry import INT_LIMIT, Hyper

# -- scaling of features near the float64 limit (class 9) -----------------------------------------


def test_a_column_of_plus_minus_1e308_gets_its_exact_mean_and_std():
    # Two values +-1e308, three of each: mean 0 and population std 1e308, by hand. The plain
    # formula overflows (the squares are inf) and used to zero the column.
    column = np.array([1e308, -1e308, 1e308, -1e308, 1e308, -1e308])
    X = np.c_[column, np.arange(6.0)]
    scaler = Standardizer().fit(X)
    assert scaler.mean[0] == 0.0 and scaler.scale[0] == pytest.approx(1e308, rel=1e-15)
    Z = scaler.transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(Z[:, 0], [1, -1, 1, -1, 1, -1], rtol=1e-15)
    # The ordinary column keeps the bits of the plain formula.
    plain = (X[:, 1] - X[:, 1].mean()) / X[:, 1].std()
    assert np.array_equal(Z[:, 1], plain)
    again = Standardizer.from_dict(scaler.to_dict())  # what eval and predict load: accepted
    assert np.array_equal(again.transform(X), Z)


def test_a_column_near_the_limit_with_a_large_mean():
    # 1.5e308 and 0.5e308: mean 1e308, std 0.5e308 (by hand); x - mean does not overflow here,
    # but the sum does.
    X = np.array([[1.5e308], [0.5e308]])
    scaler = Standardizer().fit(X)
    assert scaler.mean[0] == pytest.approx(1e308, rel=1e-15)
    assert scaler.scale[0] == pytest.approx(0.5e308, rel=1e-15)
    np.testing.assert_allclose(scaler.transform(X)[:, 0], [1.0, -1.0], rtol=1e-15)


def test_non_finite_features_are_refused_by_column():
    with pytest.raises(UsageError, match="feature column 1: expected finite values"):
        Standardizer().fit(np.array([[1.0, np.inf], [2.0, 3.0]]))


# -- settings (classes 5, 8, 10) --------------------------------------------------------------------


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), "1e400", 10**400])
def test_float_settings_must_be_finite(value):
    with pytest.raises(UsageError, match=r"optimizer\.lr: expected a number \(finite\)"):
        Hyper("lr", "float", 0.1, "rate").convert(value, "optimizer.lr")


def test_integer_settings_are_bounded_by_an_int32():
    epochs = Hyper("epochs", "int", 1, "passes")
    assert epochs.convert(INT_LIMIT, "train.epochs") == 2**31 - 1
    with pytest.raises(
        UsageError,
        match=r"train\.epochs: expected an integer, at most 2147483647, "
        r"found 2147483648",
    ):
        epochs.convert(2**31, "train.epochs")
    with pytest.raises(UsageError, match="an integer of 1329 bits"):
        epochs.convert(10**400, "train.epochs")


# -- YAML (classes 4 and 11) ----------------------------------------------------------------------


def test_a_merge_key_may_still_be_overridden_but_a_key_not_given_twice():
    merged = parse_yaml_text(
        "base: &b {lr: 0.1, momentum: 0.9}\nopt: {<<: *b, lr: 0.5}\n", "c.yaml"
    )
    assert merged["opt"] == {"lr": 0.5, "momentum": 0.9}
    with pytest.raises(UsageError, match=r"c\.yaml:3: duplicate key 'lr' \(first at line 2\)"):
        parse_yaml_text("opt:\n  lr: 0.1\n  lr: 0.5\n", "c.yaml")
    # 1 and 1.0 are the same key once loaded: also a duplicate
    with pytest.raises(UsageError, match="duplicate key"):
        parse_yaml_text("{1: a, 1.0: b}", "c.yaml")


def test_nesting_is_refused_at_101_levels_and_accepted_at_100():
    assert parse_yaml_text("[" * 100 + "]" * 100, "c.yaml") is not None
    with pytest.raises(UsageError, match=r"c\.yaml:1:101: YAML nested more than 100 levels"):
        parse_yaml_text("[" * 101 + "]" * 101, "c.yaml")


# -- the divergence message (class 8) ---------------------------------------------------------------


def test_the_divergence_message_never_names_a_missing_last_npz(tmp_path):
    from nnctl.config import resolve
    from nnctl.errors import TrainingFailed
    from nnctl.report.progress import QuietReporter
    from nnctl.training import Trainer
    from nnctl.training.callbacks.checkpointing import Checkpointing
    from nnctl.training.callbacks.divergence import DivergenceGuard
    from nnctl.training.loop import NonFinite

    cfg = resolve(
        {
            "data": {"name": "iris"},
            "model": {"kind": "softmax"},
            "optimizer": {"name": "sgd", "lr": 0.1},
            "train": {"epochs": 1},
        }
    )
    (tmp_path / "checkpoints").mkdir()
    state = Trainer(cfg, tmp_path, QuietReporter()).state
    guard = DivergenceGuard("stop", None, cfg["optimizer"])
    event = NonFinite("the training loss became nan", float("nan"), 0.1)
    start = state.model.theta.copy()
    state.model.theta[0] = np.nan  # nothing finite to save: last.npz is never written
    Checkpointing(tmp_path, []).save(state)
    with pytest.raises(TrainingFailed) as caught:
        guard.on_nonfinite(state, event)
    assert not (tmp_path / "checkpoints" / "last.npz").exists()
    assert "last.npz" not in str(caught.value)
    assert "no checkpoint was written" in str(caught.value)
    # Once a finite state was saved, the message points to it.
    state.model.theta[...] = start
    Checkpointing(tmp_path, []).save(state)
    with pytest.raises(TrainingFailed) as caught:
        guard.on_nonfinite(state, event)
    assert f"{tmp_path / 'checkpoints' / 'last.npz'} keeps the last finite state" in str(
        caught.value
    )


# -- signals while the interrupt's state is saved (class 12) --------------------------------------


def _interruptible_trainer(tmp_path, extra_callback):
    """A Trainer whose callbacks run `extra_callback` right after StopOnSignal (so its
    on_exception runs before the checkpoints are written)."""
    from nnctl.config import resolve
    from nnctl.report.progress import QuietReporter
    from nnctl.training import Trainer
    from nnctl.training.callbacks import CallbackList

    cfg = resolve(
        {
            "data": {"name": "iris"},
            "model": {"kind": "softmax"},
            "optimizer": {"name": "sgd", "lr": 0.1},
            "train": {"epochs": 3, "batch_size": 16},
        }
    )
    (tmp_path / "checkpoints").mkdir()
    trainer = Trainer(cfg, tmp_path, QuietReporter())
    stop_on_signal, *rest = trainer.callbacks
    trainer.callbacks = CallbackList([stop_on_signal, extra_callback, *rest])
    return trainer


def test_a_second_signal_during_the_interrupt_save_is_ignored_until_the_process_exits(tmp_path):
    """A real SIGINT after step 3, then another while the state is being saved: the save
    completes, the run stops with Interrupted(by_signal), and signals stay ignored after it
    (the process is on its way out)."""
    from nnctl.runs import checkpoint
    from nnctl.training import Interrupted
    from nnctl.training.callbacks import Callback

    class SignalTwice(Callback):
        def on_batch_end(self, state):
            if state.counters.step == 3:
                os.kill(os.getpid(), signal.SIGINT)

        def on_exception(self, state, exc):
            os.kill(os.getpid(), signal.SIGINT)  # lands before the checkpoints are written

    before = signal.getsignal(signal.SIGINT)
    trainer = _interruptible_trainer(tmp_path, SignalTwice())
    try:
        with pytest.raises(Interrupted, match="SIGINT received: state saved after step 3") as got:
            trainer.run()
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    except KeyboardInterrupt:  # a failure of this test, not a reason to stop the session
        pytest.fail("the second SIGINT cut the interrupt's save short (KeyboardInterrupt)")
    finally:
        signal.signal(signal.SIGINT, before)
    assert got.value.by_signal
    _, meta = checkpoint.load(tmp_path / "checkpoints" / "last.npz")
    assert meta["step"] == 3
    assert '"status": "interrupted"' in (tmp_path / "summary.json").read_text()


def test_a_stop_not_caused_by_a_signal_puts_the_handlers_back(tmp_path):
    """Code (a test's fault injection) raising the stop flag is no reason to leave signals
    ignored: the handlers are the ones from before training, and by_signal is False."""
    from nnctl.training import Interrupted
    from nnctl.training.callbacks import Callback

    class StopAtStep3(Callback):
        def on_batch_end(self, state):
            if state.counters.step == 3:
                state.stop_signal = signal.SIGINT

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as got:
        _interruptible_trainer(tmp_path, StopAtStep3()).run()
    assert not got.value.by_signal
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


# -- a Ctrl-C that C code turned into another exception (class 12) -----------------------------------


def test_a_swallowed_interrupt_during_the_csv_parse_is_raised_after_the_chunk(
    tmp_path, monkeypatch
):
    """Emulates a conversion that catches the KeyboardInterrupt its signal handler raised and
    carries on (as a C conversion turning it into ValueError, then a fallback, would): the
    parse must still stop with KeyboardInterrupt."""
    from nnctl.data import csv_reader

    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None):
        pytest.skip("SIGINT is ignored in this process")
    real = csv_reader.convert_cells  # the per-column conversion of a chunk with missing cells

    def swallowing(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs at the next bytecode boundary
                pass
        except KeyboardInterrupt:
            pass
        return real(*args, **kwargs)

    monkeypatch.setattr(csv_reader, "convert_cells", swallowing)
    # "NA" keeps the chunk off the all-numbers shortcut, so convert_cells does the conversion.
    rows = "".join(f"{'NA' if i == 3 else i},{i % 2}\n" for i in range(10))
    (tmp_path / "d.csv").write_text("a,target\n" + rows)
    with pytest.raises(KeyboardInterrupt):
        csv_reader.read_csv(tmp_path / "d.csv", target=None, require_target=True, max_bytes=1 << 20)


def test_a_run_on_plus_minus_1e308_features_exits_0_and_its_checkpoint_is_accepted(tmp_path):
    """Class 9 end to end: the run used to exit 0 with the column zeroed, then eval and predict
    refused its own checkpoint (a scale of 0 or inf)."""
    from conftest import run_nnctl

    rows = [f"{(-1) ** i * 1e308!r},{i % 5},{i % 2}" for i in range(40)]
    (tmp_path / "big.csv").write_text("a,b,target\n" + "\n".join(rows) + "\n")
    (tmp_path / "big.yaml").write_text(
        "data: {path: big.csv}\nmodel: {kind: logreg}\ntrain: {epochs: 2}\n"
    )
    assert run_nnctl("train", "big.yaml", "--out", "run", "-q", cwd=tmp_path).returncode == 0
    for args in (["eval", "run", "--json"], ["predict", "run", "big.csv"]):
        proc = run_nnctl(*args, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
