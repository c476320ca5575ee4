"""The training loop and its hooks: evaluation, early stopping, checkpoints, divergence,
interruption and exact resume.

Mini-batch (first-order) training: one epoch = one pass over the shuffled training set; the
rate comes from the schedule, stepped once per epoch. Full-batch methods (gd, newton, cg, bfgs,
lbfgs, exact): one "epoch" row = one iteration of the method on the whole training objective.
Every row of metrics.jsonl carries `sample_grads` (per-sample gradient evaluations so far:
one epoch or one full gradient = n_train), which puts both kinds on one axis.
"""

from __future__ import annotations

import math
import os
import signal
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl import checkpoint, run_folder
from nnctl.errors import NnctlError, TrainingFailed, UsageError
from nnctl.metrics import PRIMARY, is_improvement, task_metrics
from nnctl.rng import get_states, make_streams, set_states

BEST_PREFIX = "best."  # last.npz holds the best weights (early-stopping state) under best.<name>
CHECKPOINT_INTERVAL_S = 2.0  # last.npz / best.npz are rewritten at most this often (and at the end)

# Testing hook, not a user setting: NNCTL_TEST_INTERRUPT_AT_STEP=N raises the stop flag right
# after optimizer step N (a full-batch iteration counts as one step), exactly as a SIGINT
# arriving during that step would. The resume tests use it to interrupt at a chosen point,
# mid-epoch, deterministically; a real signal is tested too.
TEST_INTERRUPT_ENV = "NNCTL_TEST_INTERRUPT_AT_STEP"


def _test_interrupt_step() -> int | None:
    value = os.environ.get(TEST_INTERRUPT_ENV, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"{TEST_INTERRUPT_ENV}: expected a step number, found {value!r}") from None


class Interrupted(NnctlError):
    """SIGINT/SIGTERM: the state was saved; exit 130."""

    exit_code = 130


@dataclass
class Progress:
    """Everything that changes during training, besides parameters and optimizer state."""

    epoch: int = 0  # epochs (or iterations) completed
    step: int = 0  # optimizer steps taken
    position: int = 0  # batches of the current epoch already done (mid-epoch interrupt)
    loss_sum: float = 0.0  # running sums of the current epoch's train loss
    loss_count: int = 0
    sample_grads: int = 0
    best_value: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0
    rows: int = 0  # metrics.jsonl rows written
    skipped_batches: int = 0
    elapsed_before: float = 0.0  # seconds spent by earlier sessions of a resumed run
    stop_reason: str | None = None


class StopFlag:
    """Set by SIGINT/SIGTERM; the loop finishes the current step, saves and stops."""

    def __init__(self):
        self.signal: int | None = None
        self.saving = False  # the interrupt's save is under way: a second signal must not cut it
        self.by_signal = False  # set by a real signal (not the testing hook)

    def __bool__(self) -> bool:
        return self.signal is not None


@contextmanager
def catch_signals(flag: StopFlag):
    def handler(signum, frame):
        if flag.saving:  # stopping already: let the state be saved
            return
        if flag.signal is not None:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        flag.signal, flag.by_signal = signum, True

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread: no handlers, plain behaviour
            pass
    try:
        yield flag
    finally:
        for sig, old in previous.items():
            # Stopping on a signal, the process is on its way out: a late second signal (two
            # SIGTERMs 20 ms apart) must not kill it with 143 or raise into the exit path.
            signal.signal(sig, signal.SIG_IGN if flag.by_signal else old)


def _check_data_fits(data, dtype) -> None:
    """Features beyond the training dtype (1e300 under float32) would become inf in the cast
    and then pass for a divergence: exit 2 naming the column, before training."""
    largest = float(np.finfo(dtype).max)
    for X in (data.X_train, data.X_val):
        if X.size == 0 or X.dtype == dtype:
            continue
        peak = np.maximum(X.max(axis=0), -X.min(axis=0))  # |X| without a copy of the data
        if np.any(peak > largest):
            j = int(np.argmax(peak > largest))
            name = data.feature_names[j] if data.feature_names else f"x{j}"
            raise UsageError(f"{data.source}: column {name!r} holds {float(peak[j]):.3g}, beyond "
                             f"{np.dtype(dtype).name} (largest {largest:.3g}); set "
                             "data.standardize: true or train.dtype: float64")


def _check_initial_parameters(model, cfg: dict, dtype) -> None:
    """Starting from a NaN or inf is bad input, not a divergence: exit 2 before training, naming
    the setting (init.bias 1e300 does not fit float32) or the model.init_from file."""
    for name, value in {**model.named_parameters(), **model.buffers()}.items():
        if np.all(np.isfinite(value)):
            continue
        kind = np.dtype(dtype).name
        if cfg["model"]["init_from"]:
            raise UsageError(f"{cfg['model']['init_from']}: model.init_from: array {name!r} holds "
                             f"values that are NaN, infinite or beyond {kind}")
        bias = cfg["init"].get("bias", 0.0)
        if name.endswith(".bias") and abs(bias) > float(np.finfo(dtype).max):
            raise UsageError(f"init.bias: {bias:g} does not fit in {kind} (largest "
                             f"{float(np.finfo(dtype).max):.3g}); use a smaller value")
        raise UsageError(f"init: the initial parameters {name!r} are not finite in {kind}; check "
                         "the init settings (init.scheme and its scale)")


class Trainer:
    """One training run from a resolved config into a run folder."""

    def __init__(self, cfg: dict, run_dir: Path, reporter, base_dir: Path | None = None):
        from nnctl.optim import OPTIMIZERS, SCHEDULES
        from nnctl.prepare import build_model, prepare_data, resolve_dtype

        self.cfg, self.run_dir, self.reporter = cfg, Path(run_dir), reporter
        self.base_dir = None if base_dir is None else Path(base_dir).resolve()
        self._interrupt_at = _test_interrupt_step()
        self.streams = make_streams(cfg["seed"])
        self.data = prepare_data(cfg, self.streams, base_dir)
        self.dtype = resolve_dtype(cfg)
        d = self.data
        _check_data_fits(d, self.dtype)
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below, by name
            self.model = build_model(cfg, d.X_train.shape[1], d.n_outputs, d.task, self.streams,
                                     self.dtype, data_source=d.source)
        _check_initial_parameters(self.model, cfg, self.dtype)
        opt_cfg = dict(cfg["optimizer"])
        self.opt_entry = OPTIMIZERS.get(opt_cfg.pop("name"))
        self.full_batch = self.opt_entry.info.get("family") == "full_batch"
        self.max_iter = opt_cfg.get("max_iter") if self.full_batch else None
        self.optimizer = self.opt_entry.build(self.model.n_params, self.dtype, **opt_cfg)
        sched_cfg = dict(cfg["schedule"])
        self.schedule = SCHEDULES.get(sched_cfg.pop("name")).build(
            opt_cfg.get("lr", 1.0), cfg["train"]["epochs"], **sched_cfg)
        self.progress = Progress()
        self.stop = StopFlag()
        es = cfg["train"]["early_stopping"]
        self.has_val = len(d.X_val) > 0
        if es is not None and not self.has_val:
            raise UsageError("train.early_stopping: needs validation data; set data.val_fraction > 0 "
                             "or data.val_path")
        self.monitor = es["metric"] if es else ("val_loss" if self.has_val else "train_loss")
        self.best_theta = None
        self.best_buffers = None
        self.batches = None
        self._last_save = 0.0
        self._saved_at_epoch = -1
        self._warned_skip = False
        self._t0 = time.perf_counter()
        if not self.full_batch:
            from nnctl.data import BatchIterator

            self.batches = BatchIterator(d.X_train, d.y_train, cfg["train"]["batch_size"],
                                         cfg["train"]["shuffle"], self.streams["shuffle"], self.dtype)
        self.X_val = d.X_val.astype(self.dtype, copy=False)
        self.y_val = d.y_val

    # ------------------------------------------------------------------------------------------
    @property
    def total_epochs(self) -> int:
        return self.max_iter or self.cfg["train"]["epochs"]

    def elapsed(self) -> float:
        return self.progress.elapsed_before + time.perf_counter() - self._t0

    def run(self) -> dict:
        title = (f"{self.cfg['model']['kind']} on {self.data.source}: {self.opt_entry.name}, "
                 f"{self.model.n_params} parameters, {len(self.data.X_train)} train / "
                 f"{len(self.data.X_val)} val")
        self.reporter.start(self.total_epochs, title)
        status = "completed"
        try:
            # Overflow and NaN are detected and reported as divergence below; NumPy's own
            # warnings about them would only add noise to that message.
            with catch_signals(self.stop), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                if self.progress.step == 0 and not (self.run_dir / "checkpoints" / "last.npz").exists():
                    # The starting point, so last.npz exists (and is finite) even if the very
                    # first steps diverge or the process is killed before the first epoch ends.
                    self._save_checkpoints(last_only=True)
                    self._last_save = 0.0  # and the first epoch's end is saved too
                if self.full_batch:
                    status = self._fit_full_batch()
                else:
                    status = self._fit_mini_batch()
        except Interrupted:
            self.reporter.close()
            raise
        except TrainingFailed as exc:
            self.reporter.close()
            self._finish("diverged", str(exc))
            raise
        self.reporter.close()
        return self._finish(status)

    # ------------------------------------------------------------------------------------------
    def _fit_mini_batch(self) -> str:
        model, opt, p = self.model, self.optimizer, self.progress
        train_cfg = self.cfg["train"]
        clip = train_cfg["clip_grad_norm"]
        skip_nonfinite = train_cfg["on_nonfinite"] == "skip_batch"
        n_batches = self.batches.n_batches
        from nnctl.optim import clip_grad_norm

        while p.epoch < self.total_epochs:
            lr = self.schedule.lr
            for index, Xb, yb in self.batches.epoch(start=p.position):
                loss = model.loss_and_grad(Xb, yb)
                finite = math.isfinite(loss)
                norm = None
                if finite:
                    # One dot product per step: a NaN/inf gradient with a finite loss would
                    # otherwise poison the parameters silently before the loss shows it.
                    norm = clip_grad_norm(model.grad, clip) if clip else float(np.sqrt(np.dot(model.grad, model.grad)))
                    finite = math.isfinite(norm)
                if not finite:
                    what = (f"the training loss became {loss}" if not math.isfinite(loss)
                            else f"the gradient norm became {norm}")
                    if not skip_nonfinite:
                        self._diverged(loss, lr, what)
                    p.skipped_batches += 1
                    self._warn_skip(what)
                    if p.skipped_batches > 10 * n_batches:
                        self._diverged(loss, lr, f"{what}, and {p.skipped_batches} batches were skipped "
                                                 "(more than 10 epochs' worth)")
                else:
                    opt.step(model.theta, model.grad, lr)
                    p.loss_sum += loss * len(yb)
                    p.loss_count += len(yb)
                p.step += 1
                p.position = index + 1
                self.reporter.batch(p.epoch + 1, p.position, n_batches,
                                    p.loss_sum / max(p.loss_count, 1))
                if p.step == self._interrupt_at:
                    self.stop.signal = signal.SIGINT  # testing hook, see TEST_INTERRUPT_ENV
                if self.stop:
                    self._interrupt()
            p.sample_grads += len(self.data.X_train)
            train_loss = p.loss_sum / p.loss_count if p.loss_count else float("nan")
            p.epoch += 1
            p.position, p.loss_sum, p.loss_count = 0, 0.0, 0
            row = self._epoch_row(train_loss, lr)
            # reduce_on_plateau watches a loss (mode min): the validation loss, else the train loss.
            self.schedule.step(row.get("val_loss", row["train_loss"]))
            if self._end_epoch(row):
                return "early_stopped"
        return "completed"

    def _fit_full_batch(self) -> str:
        model, p = self.model, self.progress
        objective = model.objective(self.data.X_train, self.data.y_train)
        # The optimizer works on its own copy: trial points of a line search are written into
        # model.theta by the objective, so the iterate must not share that memory.
        x = model.theta.astype(np.float64, copy=True)
        if p.epoch == 0:
            f0 = objective.value(x)
            if not math.isfinite(f0):
                self._diverged(f0, None, f"the objective at the initial parameters is {f0}")
        while p.epoch < self.total_epochs:
            # The iterate and the optimizer's state before the step: a step that ends on a
            # non-finite point is undone, so last.npz keeps the last finite state.
            x_before, state_before = x.copy(), self.optimizer.state_dict()
            info = self.optimizer.step(x, objective)
            if not (math.isfinite(info.loss) and math.isfinite(info.grad_norm) and np.all(np.isfinite(x))):
                x[...] = x_before
                model.theta[...] = x_before
                self.optimizer.load_state_dict(state_before)
                if not math.isfinite(info.loss):
                    what = f"the objective became {info.loss}"
                elif not math.isfinite(info.grad_norm):
                    what = f"the gradient norm became {info.grad_norm}"
                else:
                    what = f"the parameters became non-finite (objective {info.loss})"
                self._diverged(info.loss, self.cfg["optimizer"].get("lr"), what)
            model.theta[...] = x
            p.step += 1
            p.epoch += 1
            p.sample_grads = info.n_gev * len(self.data.X_train)
            row = self._epoch_row(info.loss, None, extra={
                "grad_norm": info.grad_norm, "step_size": info.step_size,
                "n_fev": info.n_fev, "n_gev": info.n_gev})
            p.stop_reason = info.stop_reason
            if self._end_epoch(row):
                return "early_stopped"
            if info.stop_reason:
                return "converged"
            if p.step == self._interrupt_at:
                self.stop.signal = signal.SIGINT  # testing hook, see TEST_INTERRUPT_ENV
            if self.stop:
                self._interrupt()
        if self.max_iter is not None or self.cfg["train"]["epochs"]:
            p.stop_reason = p.stop_reason or "max_iter"
        return "completed"

    # ------------------------------------------------------------------------------------------
    def _evaluate(self, X, y) -> dict:
        """Validation loss and the task's metrics, batched, in eval mode."""
        model = self.model
        out = {"loss": model.loss(X, y)}
        prediction = model.predict(X)
        out.update(task_metrics(self.data.task, y, prediction))
        return out

    def _epoch_row(self, train_loss: float, lr, extra: dict | None = None) -> dict:
        p = self.progress
        row = {"epoch": p.epoch, "step": p.step, "train_loss": float(train_loss)}
        if self.has_val:
            row.update({f"val_{k}": v for k, v in self._evaluate(self.X_val, self.y_val).items()})
        row["lr"] = lr
        row["sample_grads"] = p.sample_grads
        if extra:
            row.update(extra)
        row["elapsed_s"] = round(self.elapsed(), 4)
        return row

    def _end_epoch(self, row: dict) -> bool:
        """Record the row, track the best, save; True when early stopping says stop."""
        p = self.progress
        run_folder.append_metrics(self.run_dir, row)
        p.rows += 1
        self.reporter.epoch(row)
        value = row.get(self.monitor)
        es = self.cfg["train"]["early_stopping"]
        min_delta = es["min_delta"] if es else 0.0
        improved = value is not None and is_improvement(self.monitor, value, p.best_value, min_delta)
        if improved:
            p.best_value, p.best_epoch, p.bad_epochs = float(value), p.epoch, 0
            self.best_theta = self.model.theta.copy()
            self.best_buffers = {k: v.copy() for k, v in self.model.buffers().items()}
        else:
            p.bad_epochs += 1
        stop = es is not None and p.bad_epochs >= es["patience"]
        last = stop or p.epoch >= self.total_epochs
        if last or time.monotonic() - self._last_save >= CHECKPOINT_INTERVAL_S:
            self._save_checkpoints()
        return stop

    # ------------------------------------------------------------------------------------------
    def _warn_skip(self, what: str) -> None:
        if not self._warned_skip:
            self._warned_skip = True
            p = self.progress
            warnings.warn(f"epoch {p.epoch + 1}, step {p.step + 1}: {what}; batch skipped "
                          "(train.on_nonfinite: skip_batch); the count is in summary.json")

    def _diverged(self, value, lr, why: str | None = None):
        """Stop with exit 1. The current state is the last finite one (a non-finite step is
        never applied, or is undone): it goes to last.npz, unless somehow not finite, when the
        previous last.npz (finite when written) stays."""
        p = self.progress
        self._save_checkpoints()
        detail = why or f"the training loss became {value}"
        train_cfg = self.cfg["train"]
        if lr is not None:
            options = [f"lower optimizer.lr (now {lr:g})"]
            if self.full_batch and "armijo" in self.cfg["optimizer"]:
                options.append("set optimizer.armijo: true")
            if not self.full_batch and train_cfg["clip_grad_norm"] is None:
                options.append("set train.clip_grad_norm")
            if not self.full_batch and train_cfg["on_nonfinite"] == "stop":
                options.append("set train.on_nonfinite: skip_batch")
            hint = ", ".join(options[:-1]) + (" or " if len(options) > 1 else "") + options[-1]
        else:
            hint = "standardize the data, add loss.l2, or try another optimizer"
        last = self.run_dir / "checkpoints" / "last.npz"
        # Name last.npz only when it is there: never claim a file the run could not write.
        kept = (f"{last} keeps the last finite state" if last.exists()
                else "no checkpoint was written (no finite state to keep)")
        raise TrainingFailed(f"training diverged at epoch {p.epoch + 1}, step {p.step + 1}: {detail}; "
                             f"{hint}. {kept}")

    def _interrupt(self):
        self.stop.saving = True
        self._save_checkpoints()
        self._write_summary("interrupted")
        name = signal.Signals(self.stop.signal).name
        stopped = Interrupted(f"{name} received: state saved after step {self.progress.step} in "
                              f"{self.run_dir}; resume with: nnctl train --resume {self.run_dir}")
        stopped.by_signal = self.stop.by_signal  # the CLI then ignores a late second signal
        raise stopped

    # ------------------------------------------------------------------------------------------
    def state_meta(self) -> dict:
        p = self.progress
        d = self.data
        return {
            "config": self.cfg,
            "epoch": p.epoch, "step": p.step,
            "progress": dict(vars(p)),
            "rng": get_states(self.streams),
            "scaler": d.scaler.to_dict() if d.scaler is not None else None,
            "classes": d.classes, "task": d.task, "n_features": int(d.X_train.shape[1]),
            "feature_names": d.feature_names, "n_outputs": d.n_outputs,
            "dtype": np.dtype(self.dtype).name,
            "schedule": self.schedule.state_dict(),
            "elapsed_s": self.elapsed(),
            # Relative data paths in the config were found next to the config file: a resume
            # from another working folder looks there too.
            "base_dir": None if self.base_dir is None else str(self.base_dir),
        }

    def _arrays(self, theta=None, buffers=None) -> dict:
        model = self.model
        arrays = {}
        if theta is not None:
            saved = model.theta.copy()
            model.theta[...] = theta
        arrays.update({k: v.copy() for k, v in model.named_parameters().items()})
        if theta is not None:
            model.theta[...] = saved
        arrays.update({k: v.copy() for k, v in (buffers or model.buffers()).items()})
        return arrays

    def _save_checkpoints(self, last_only: bool = False) -> bool:
        """Write last.npz (the full state) and best.npz; False, writing nothing, when the
        parameters are not all finite: a finite last.npz is never replaced by a diverged one."""
        ckpt_dir = self.run_dir / "checkpoints"
        arrays = self._arrays()
        if not all(np.all(np.isfinite(v)) for v in arrays.values()):
            return False
        meta = self.state_meta()
        arrays.update({f"optim.{k}": np.asarray(v) for k, v in self.optimizer.state_dict().items()})
        if self.batches is not None:
            arrays.update({f"data.{k}": np.asarray(v) for k, v in self.batches.state_dict().items()})
        if self.best_theta is not None:
            # The early-stopping state includes the best weights: kept inside last.npz too, so
            # a resume never depends on best.npz having been written at the same moment.
            best = self._arrays(self.best_theta, self.best_buffers)
            arrays.update({f"{BEST_PREFIX}{k}": v for k, v in best.items()})
        checkpoint.save(ckpt_dir / "last.npz", arrays, meta)
        if not last_only and self.best_theta is not None:
            best_meta = {**meta, "best": True, "epoch": self.progress.best_epoch}
            checkpoint.save(ckpt_dir / "best.npz", best, best_meta)
        self._last_save = time.monotonic()
        self._saved_at_epoch = self.progress.epoch
        return True

    def restore(self, arrays: dict, meta: dict, source: Path | str = "checkpoint") -> None:
        """Continue from a last.npz: parameters, optimizer, schedule, RNG, batch order, counters,
        early-stopping state. UsageError naming `source` when it does not fit this run."""
        model = self.model
        n_features = int(self.data.X_train.shape[1])
        if meta.get("n_features") not in (None, n_features):
            raise UsageError(f"{self.data.source}: has {n_features} feature columns, the checkpoint "
                             f"{source} was trained on {meta['n_features']} (has the data changed?)")
        self._load_arrays(arrays, source)
        try:
            self.optimizer.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("optim.")})
            if self.batches is not None:
                self.batches.load_state_dict({k[5:]: v for k, v in arrays.items() if k.startswith("data.")},
                                             str(source))
            self.schedule.load_state_dict(meta["schedule"])
            set_states(self.streams, meta["rng"])
            prog = dict(meta["progress"])
            prog["elapsed_before"] = float(meta["elapsed_s"])
            self.progress = self._checked_progress(prog)
        except UsageError as exc:
            raise UsageError(f"{source}: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
            # A damaged or hand-edited meta (the arrays were checked above): refuse it by name.
            raise UsageError(f"{source}: not a resumable nnctl checkpoint (bad or missing state: "
                             f"{type(exc).__name__} {exc})") from None
        if any(k.startswith(BEST_PREFIX) for k in arrays):
            best = {k[len(BEST_PREFIX):]: v for k, v in arrays.items() if k.startswith(BEST_PREFIX)}
            best_source = source
        else:  # older checkpoints: the best weights are only in best.npz
            best_path = self.run_dir / "checkpoints" / "best.npz"
            best, best_source = (checkpoint.load(best_path)[0], best_path) if best_path.exists() else (None, None)
        if best is not None and self.progress.best_value is not None:
            saved_theta = model.theta.copy()
            saved_buffers = {k: v.copy() for k, v in model.buffers().items()}
            self._load_arrays(best, best_source)
            self.best_theta = model.theta.copy()
            self.best_buffers = {k: v.copy() for k, v in model.buffers().items()}
            model.theta[...] = saved_theta
            for k, v in saved_buffers.items():
                model.buffers()[k][...] = v
        run_folder.truncate_metrics(self.run_dir, self.progress.rows)

    def _checked_progress(self, prog: dict) -> Progress:
        """Progress from a checkpoint's meta, every counter of the right type and in range."""
        progress = Progress(**prog)
        for name, value in vars(progress).items():
            if name in ("loss_sum", "elapsed_before", "best_value", "stop_reason"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"progress.{name} is {value!r}, expected a count >= 0")
        for name in ("loss_sum", "elapsed_before", "best_value"):
            value = getattr(progress, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"progress.{name} is {value!r}, expected a number")
        if progress.stop_reason is not None and not isinstance(progress.stop_reason, str):
            raise ValueError(f"progress.stop_reason is {progress.stop_reason!r}, expected a string")
        n_batches = self.batches.n_batches if self.batches is not None else 0
        if progress.position > n_batches:
            raise ValueError(f"progress.position is {progress.position}, expected at most {n_batches}")
        return progress

    def _load_arrays(self, arrays: dict, source) -> None:
        """Copy the model's parameters and buffers from `arrays`, checking names and shapes."""
        for name, view in {**self.model.named_parameters(), **self.model.buffers()}.items():
            value = arrays.get(name)
            if value is None:
                raise UsageError(f"{source}: no array {name!r}; the checkpoint does not match the "
                                 "model of its own config")
            if value.shape != view.shape:
                raise UsageError(f"{source}: array {name!r} has shape {list(value.shape)}, the model "
                                 f"built from the config and data expects {list(view.shape)}")
            if value.dtype.kind not in "fiu":
                raise UsageError(f"{source}: array {name!r} holds {value.dtype}, expected numbers")
            view[...] = value

    # ------------------------------------------------------------------------------------------
    def _finish(self, status: str, message: str | None = None) -> dict:
        if status != "diverged":
            if self.best_theta is None:  # no epoch ran (or none was finite): best is the start
                self.best_theta = self.model.theta.copy()
                self.best_buffers = {k: v.copy() for k, v in self.model.buffers().items()}
            if self._saved_at_epoch != self.progress.epoch or not (
                    self.run_dir / "checkpoints" / "best.npz").exists():
                self._save_checkpoints()
            es = self.cfg["train"]["early_stopping"]
            if es is not None and es["restore_best"]:
                self.model.theta[...] = self.best_theta
                for k, v in self.best_buffers.items():
                    self.model.buffers()[k][...] = v
        return self._write_summary(status, message)

    def _write_summary(self, status: str, message: str | None = None) -> dict:
        p, d = self.progress, self.data
        rows = run_folder.read_metrics(self.run_dir)
        best_row = next((r for r in rows if r["epoch"] == p.best_epoch), None)
        final = {"train_loss": self.model.loss(d.X_train.astype(self.dtype, copy=False), d.y_train)}
        if self.has_val and status != "diverged":
            final.update({f"val_{k}": v for k, v in self._evaluate(self.X_val, self.y_val).items()})
        summary = {
            "status": status,
            "message": message,
            "stop_reason": p.stop_reason,
            "run_dir": str(self.run_dir),
            "model": self.cfg["model"]["kind"], "optimizer": self.opt_entry.name,
            "task": d.task, "classes": d.classes, "n_params": int(self.model.n_params),
            "n_train": int(len(d.X_train)), "n_val": int(len(d.X_val)),
            "dtype": np.dtype(self.dtype).name,
            "epochs": p.epoch, "steps": p.step, "sample_grads": p.sample_grads,
            "skipped_batches": p.skipped_batches,  # non-finite batches (train.on_nonfinite: skip_batch)
            "monitor": self.monitor, "primary_metric": f"val_{PRIMARY[d.task]}",
            "best_epoch": p.best_epoch, "best": best_row,
            "final": final,
            "elapsed_s": round(self.elapsed(), 4),
        }
        run_folder.write_summary(self.run_dir, summary)
        return summary


def train(cfg: dict, run_dir: Path, reporter, base_dir: Path | None = None) -> dict:
    """Train a resolved config into a fresh run folder; returns summary.json's content."""
    run_dir = Path(run_dir)
    run_folder.write_config(run_dir, cfg)
    trainer = Trainer(cfg, run_dir, reporter, base_dir)
    return trainer.run()


def resume(run_dir: Path, reporter, base_dir: Path | None = None) -> dict:
    """Continue an interrupted (or crashed) run from its checkpoints/last.npz."""
    from nnctl.config import resolve

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir}: --resume expects a run folder (with checkpoints/last.npz), "
                         + ("found a file" if run_dir.exists() else "found nothing there"))
    last = run_dir / "checkpoints" / "last.npz"
    if not last.exists():
        raise UsageError(f"{run_dir}: no checkpoints/last.npz to resume from (not an nnctl run folder, "
                         "or the run was stopped before it saved anything)")
    run_folder.lock(run_dir)  # a second process resuming (or --force on) this run: exit 2
    # Temporary files of writes a crash cut short: never read, only in the way.
    run_folder.remove_stale_temp_files(run_dir)
    arrays, meta = checkpoint.load(last)
    if not isinstance(meta.get("config"), dict):
        raise UsageError(f"{last}: not a resumable nnctl checkpoint (its meta has no config)")
    try:
        cfg = resolve(meta["config"], str(last))
    except UsageError as exc:
        raise UsageError(f"{last}: the saved config: {exc}") from None
    if base_dir is None and isinstance(meta.get("base_dir"), str):
        base_dir = Path(meta["base_dir"])
    trainer = Trainer(cfg, run_dir, reporter, base_dir)
    trainer.restore(arrays, meta, last)
    return trainer.run()
