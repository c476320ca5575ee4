"""The two training loops. They take steps and count them; callbacks do everything else.

Mini-batch (first-order) training: one epoch = one pass over the shuffled training set; the
rate comes from the schedule. Full-batch methods (gd, newton, cg, bfgs, lbfgs, exact): one
"epoch" row = one iteration of the method on the whole training objective. Every row carries
`sample_grads` (per-sample gradient evaluations so far: one epoch or one full gradient =
n_train), which puts both kinds on one axis.
"""

from __future__ import annotations

import math
import signal
from dataclasses import dataclass

import numpy as np

from nnctl.errors import Interrupted, TrainingFailed
from nnctl.optim import clip_grad_norm


@dataclass
class NonFinite:
    """A step not taken: what became non-finite, its value, and the learning rate (None:
    no rate to blame)."""

    what: str
    value: float
    lr: float | None


def fit_mini_batch(state, callbacks) -> str:
    """Epochs of mini-batch steps; returns the status: completed or early_stopped."""
    c, model = state.counters, state.model
    while c.epoch < state.total_epochs:
        lr = state.schedule.lr
        for index, Xb, yb in state.batches.epoch(start=c.position):
            loss, problem = _loss_and_gradient(state, Xb, yb)
            if problem is None:
                state.optimizer.step(model.theta, model.grad, lr)
                c.loss_sum += loss * len(yb)
                c.loss_count += len(yb)
            else:
                callbacks.on_nonfinite(state, NonFinite(problem, loss, lr))  # stop, or skip it
            c.step += 1
            c.position = index + 1
            callbacks.on_batch_end(state)
            _stop_if_signalled(state)
        c.sample_grads += len(state.data.X_train)
        c.epoch += 1
        c.position, c.loss_sum, c.loss_count = 0, 0.0, 0
        # train_loss and objective are added by the Evaluation callback, at the epoch's final
        # weights (the running mean of batch losses is only the progress bar's live number).
        callbacks.on_epoch_end(
            state, {"epoch": c.epoch, "step": c.step, "lr": lr, "sample_grads": c.sample_grads}
        )
        if state.stop_training:
            return "early_stopped"
    return "completed"


def fit_full_batch(state, callbacks) -> str:
    """Iterations of a full-batch method; returns completed, early_stopped or converged."""
    c, model = state.counters, state.model
    objective = _objective(model, state.data.X_train, state.data.y_train)
    state.train_loss_at = getattr(objective, "train_loss_at", None)
    # The optimizer works on its own copy: trial points of a line search are written into
    # model.theta by the objective, so the iterate must not share that memory.
    x = model.theta.astype(np.float64, copy=True)
    if c.epoch == 0:
        f0 = objective.value(x)
        if not math.isfinite(f0):
            what = f"the objective at the initial parameters is {f0}"
            _cannot_go_on(state, callbacks, NonFinite(what, f0, None))
    while c.epoch < state.total_epochs:
        info = _iterate(state, callbacks, objective, x)
        c.step += 1
        c.epoch += 1
        c.sample_grads = info.n_gev * len(state.data.X_train)
        c.stop_reason = info.stop_reason
        callbacks.on_epoch_end(
            state,
            {
                "epoch": c.epoch,
                "step": c.step,
                "lr": None,
                "sample_grads": c.sample_grads,
                "grad_norm": info.grad_norm,
                "step_size": info.step_size,
                "n_fev": info.n_fev,
                "n_gev": info.n_gev,
            },
        )
        if state.stop_training:
            return "early_stopped"
        if info.stop_reason:
            return "converged"
        _stop_if_signalled(state)
    if state.total_epochs:
        c.stop_reason = c.stop_reason or "max_iter"
    return "completed"


def _objective(model, X, y):
    """The full-batch objective; memory-mapped rows are summed over chunks (nnctl.nn.chunked)."""
    from nnctl.data.ondisk import is_on_disk
    from nnctl.nn.chunked import ChunkedObjective

    return ChunkedObjective(model, X, y) if is_on_disk(X) else model.objective(X, y)


def _loss_and_gradient(state, Xb, yb) -> tuple[float, str | None]:
    """The batch's loss, its gradient in model.grad (clipped to clip_grad_norm), and what is
    not finite about them (None: nothing)."""
    model = state.model
    loss = model.loss_and_grad(Xb, yb)
    if not math.isfinite(loss):
        return loss, f"the training loss became {loss}"
    # One dot product per step: a NaN/inf gradient with a finite loss would otherwise poison
    # the parameters silently before the loss shows it.
    grad, clip = model.grad, state.clip_grad_norm
    norm = clip_grad_norm(grad, clip) if clip else float(np.sqrt(np.dot(grad, grad)))
    if not math.isfinite(norm):
        return loss, f"the gradient norm became {norm}"
    return loss, None


def _iterate(state, callbacks, objective, x):
    """One full-batch iteration from x (updated in place, and copied into model.theta). One
    that ends on a non-finite point is undone, so last.npz keeps the last finite state."""
    x_before, optimizer_before = x.copy(), state.optimizer.state_dict()
    info = state.optimizer.step(x, objective)
    if not (math.isfinite(info.loss) and math.isfinite(info.grad_norm) and np.all(np.isfinite(x))):
        x[...] = x_before
        state.model.theta[...] = x_before
        state.optimizer.load_state_dict(optimizer_before)
        if not math.isfinite(info.loss):
            what = f"the objective became {info.loss}"
        elif not math.isfinite(info.grad_norm):
            what = f"the gradient norm became {info.grad_norm}"
        else:
            what = f"the parameters became non-finite (objective {info.loss})"
        _cannot_go_on(state, callbacks, NonFinite(what, info.loss, state.configured_lr))
    state.model.theta[...] = x
    return info


def _cannot_go_on(state, callbacks, event: NonFinite) -> None:
    """A full-batch iteration cannot be skipped: the divergence guard stops the run with its
    advice; without one, stop all the same."""
    callbacks.on_nonfinite(state, event)
    raise TrainingFailed(f"training diverged: {event.what}")


def _stop_if_signalled(state) -> None:
    """A signal arrived during the step: stop now that the state is consistent (the callbacks
    save it on the way out)."""
    if state.stop_signal is not None:
        state.saving = True  # from here a second signal must not cut the save short
        name = signal.Signals(state.stop_signal).name
        raise Interrupted(
            f"{name} received: state saved after step {state.counters.step} in "
            f"{state.run_dir}; resume with: nnctl train --resume {state.run_dir}",
            by_signal=state.stop_by_signal,
        )
