"""The model: a stack of layers over one flat parameter vector, its loss, and the builder.

The model kinds (linreg, logreg, softmax, mlp) are objects in the `MODELS` registry (kinds.py):
each says its head, default loss, tasks, settings and layers. `build_model` trusts its
arguments: the config layer (nnctl/config/validation.py, and nnctl/training/prepare.py where the
data meets the config) has checked them and words the errors; a library caller gets a plain
ValueError.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from nnctl.errors import UsageError
from nnctl.nn.activations import ACTIVATIONS
from nnctl.nn.init import INITS, SYMMETRIC, auto_scheme
from nnctl.nn.kinds import ModelKind, model_kind
from nnctl.nn.layers import BatchNorm, Dropout, Linear
from nnctl.nn.losses import LOSSES
from nnctl.nn.params import allocate

if TYPE_CHECKING:  # imported by objective(): first-order training never needs it
    from nnctl.nn.curvature import ModelObjective

EVAL_CHUNK_ROWS = 4096  # eval-mode passes go through the data in chunks this big (bounds memory)


class Model:
    """Layers + loss over the flat `theta` / `grad`; see the module docstring of nn/__init__."""

    def __init__(
        self,
        layers,
        loss,
        *,
        kind: ModelKind,
        task,
        n_features,
        n_outputs,
        n_classes,
        l2,
        dtype,
        spec=None,
        dropout_rng=None,
    ):
        self.layers = list(layers)
        self.loss_fn = loss
        self.loss_name = loss.name
        self.model_kind = kind  # the kind object: what the curvature code asks about
        self.kind, self.task = kind.name, task
        self.n_features, self.n_outputs, self.n_classes = n_features, n_outputs, n_classes
        self.l2 = float(l2)
        self.dtype = np.dtype(dtype)
        self.spec = dict(spec or {})  # the build_model arguments (resolved), for astype()
        self._dropout_rng = dropout_rng
        self._params = allocate(self.layers, self.dtype)
        self._penalised = slice(0, self._params.n_penalised)
        self._penalty_scratch = np.empty(self._params.n_penalised, dtype=self.dtype)

    # -- parameters ------------------------------------------------------------------------
    @property
    def theta(self) -> np.ndarray:
        """The flat parameters (read-only attribute: update in place, `model.theta[:] = ...`)."""
        return self._params.theta

    @property
    def grad(self) -> np.ndarray:
        return self._params.grad

    @property
    def n_params(self) -> int:
        return self._params.size

    @property
    def weight_mask(self) -> np.ndarray:
        """Boolean over theta, True at the L2-penalised weights (they are theta[:n_penalised])."""
        return self._params.weight_mask

    @property
    def n_penalised(self) -> int:
        return self._params.n_penalised

    def named_parameters(self) -> dict[str, np.ndarray]:
        """Views into theta in layer order: linear0.weight [in, out], linear0.bias, batchnorm0.gamma, ..."""
        return dict(self._params.values)

    def named_gradients(self) -> dict[str, np.ndarray]:
        """Views into grad, same names and shapes as named_parameters()."""
        return dict(self._params.grads)

    def parameter_slices(self) -> dict[str, slice]:
        """Where each named block lives in theta."""
        return {s.name: self._params.slices[s.name] for s in self._params.specs}

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trained state (batch-norm running statistics); the arrays themselves, writable."""
        out = {}
        for layer in self.layers:
            if isinstance(layer, BatchNorm):
                out[f"{layer.name}.running_mean"] = layer.running_mean
                out[f"{layer.name}.running_var"] = layer.running_var
        return out

    # -- state: checkpoints, warm starts, best-weights snapshots ---------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters, then the buffers, under their checkpoint names."""
        return {
            name: value.copy()
            for name, value in {**self.named_parameters(), **self.buffers()}.items()
        }

    def load_state_dict(self, arrays: dict, source) -> None:
        """Copy every parameter and buffer from `arrays` (extra entries are ignored); UsageError
        naming `source` when one is missing, has another shape or holds no numbers, and then
        nothing is copied."""
        targets = {**self.named_parameters(), **self.buffers()}
        for name, view in targets.items():
            value = arrays.get(name)
            if value is None:
                raise UsageError(
                    f"{source}: no array {name!r}; the checkpoint does not match the "
                    "model of its own config"
                )
            if value.shape != view.shape:
                raise UsageError(
                    f"{source}: array {name!r} has shape {list(value.shape)}, the "
                    f"model built from the config and data expects {list(view.shape)}"
                )
            if value.dtype.kind not in "fiu":
                raise UsageError(f"{source}: array {name!r} holds {value.dtype}, expected numbers")
        for name, view in targets.items():
            view[...] = arrays[name]

    # -- inputs ----------------------------------------------------------------------------
    def _inputs(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.dtype != self.dtype:
            X = X.astype(self.dtype)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise UsageError(
                f"expected inputs of shape [n, {self.n_features}], found {list(X.shape)}"
            )
        return X

    def _targets(self, y, n_rows: int) -> np.ndarray:
        y = self.loss_fn.targets(y, self.n_outputs, self.dtype)
        if len(y) != n_rows:
            raise UsageError(f"expected {n_rows} targets (one per input row), found {len(y)}")
        return y

    # -- forward / backward ----------------------------------------------------------------
    def _forward(self, X, train: bool) -> np.ndarray:
        """Logits in a layer buffer (valid until the next forward)."""
        out = X
        for layer in self.layers:
            out = layer.forward(out, train)
        return out

    def forward(self, X, train: bool = False) -> np.ndarray:
        """Logits [n, n_outputs] (a fresh array). train=True: dropout on, batch-norm batch stats."""
        return self._forward(self._inputs(X), train).copy()

    def _loss_and_grad(self, X, y) -> float:
        logits = self._forward(X, True)
        # The gradient overwrites the logits: they are the head Linear's output buffer, which
        # its backward does not read (it needs its input), so no buffer and no copy for dL/dz.
        value, d = self.loss_fn.value_and_grad(logits, y, out=logits)
        for layer in reversed(self.layers):
            d = layer.backward(d)
        return self._add_penalty(value)

    def _add_penalty(self, value: float) -> float:
        """value + 0.5 l2 ||W||^2, and l2 W added to the weight entries of `grad`."""
        if self.l2:
            weights, scratch = self.theta[self._penalised], self._penalty_scratch
            np.multiply(weights, self.l2, out=scratch)
            self.grad[self._penalised] += scratch  # d/dW 0.5 l2 ||W||^2 = l2 W
            value += 0.5 * self.l2 * float(np.dot(weights, weights))
        return value

    def loss_and_grad(self, X, y) -> float:
        """Train-mode forward, loss + L2 penalty, backward; fills `grad`, returns the objective."""
        X = self._inputs(X)
        return self._loss_and_grad(X, self._targets(y, X.shape[0]))

    def penalty(self) -> float:
        """0.5 * l2 * ||W||^2 over the Linear weights."""
        if not self.l2:
            return 0.0
        weights = self.theta[self._penalised]
        return 0.5 * self.l2 * float(np.dot(weights, weights))

    def loss(self, X, y, train: bool = False) -> float:
        """Mean data loss (no penalty). Eval mode runs in chunks of EVAL_CHUNK_ROWS rows.
        train=True: one train-mode pass (batch statistics of the whole X, dropout with its last
        mask), the running statistics left untouched."""
        X = self._inputs(X)
        y = self._targets(y, X.shape[0])
        n = X.shape[0]
        if n == 0:
            raise UsageError("cannot compute a loss on 0 rows")
        if train:
            with self.frozen():
                return self.loss_fn.value(self._forward(X, True), y)
        total = 0.0
        for start in range(0, n, EVAL_CHUNK_ROWS):
            stop = min(start + EVAL_CHUNK_ROWS, n)
            total += self.loss_fn.value(self._forward(X[start:stop], False), y[start:stop]) * (
                stop - start
            )
        return total / n

    # -- predictions -----------------------------------------------------------------------
    def _eval_chunks(self, X):
        X = self._inputs(X)
        for start in range(0, max(X.shape[0], 1), EVAL_CHUNK_ROWS):  # 0 rows: one empty chunk
            stop = min(start + EVAL_CHUNK_ROWS, X.shape[0])
            yield start, stop, self._forward(X[start:stop], False)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities [n, n_classes] (binary: columns P(y=0), P(y=1)); eval mode."""
        if self.task == "regression":
            raise UsageError("predict_proba: a regression model has no class probabilities")
        X = np.asarray(X)
        out = np.empty((X.shape[0], self.n_classes), dtype=self.dtype)
        for start, stop, logits in self._eval_chunks(X):
            out[start:stop] = self.loss_fn.probabilities(logits)  # through the loss's link
        return out

    def predict(self, X) -> np.ndarray:
        """Class codes (int64, [n]) for classification; values for regression ([n] for one
        output, [n, k] for several). The loss turns logits into predictions."""
        chunks = [self.loss_fn.predict(logits) for _, _, logits in self._eval_chunks(X)]
        return np.concatenate(chunks)

    # -- modes, copies, objective ----------------------------------------------------------
    @contextmanager
    def frozen(self, running_momentum: float | None = None):
        """Make the train-mode loss a deterministic function of theta: dropout reuses its last
        mask, batch norm leaves its running statistics alone (or, with `running_momentum`,
        updates them with that momentum; 1.0 sets them to this batch's statistics)."""
        dropouts = [layer for layer in self.layers if isinstance(layer, Dropout)]
        norms = [layer for layer in self.layers if isinstance(layer, BatchNorm)]
        saved = (
            [d.freeze for d in dropouts],
            [(b.track_running, b.momentum_override) for b in norms],
        )
        for d in dropouts:
            d.freeze = True
        for b in norms:
            b.track_running = running_momentum is not None
            b.momentum_override = running_momentum
        try:
            yield self
        finally:
            for d, freeze in zip(dropouts, saved[0]):
                d.freeze = freeze
            for b, (track, override) in zip(norms, saved[1]):
                b.track_running, b.momentum_override = track, override

    @property
    def has_dropout(self) -> bool:
        return any(isinstance(layer, Dropout) and layer.p > 0 for layer in self.layers)

    def objective(self, X, y) -> ModelObjective:
        """The full-batch training objective (mean loss + penalty) as a function of theta."""
        from nnctl.nn.curvature import ModelObjective

        return ModelObjective(self, X, y)

    def astype(self, dtype) -> Model:
        """A copy with another dtype (same architecture, parameters and buffers)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            other = build_model(
                **self.spec,
                dtype=dtype,
                init_rng=np.random.default_rng(0),
                dropout_rng=self._dropout_rng,
            )
        other.theta[:] = self.theta
        for name, buf in other.buffers().items():
            buf[...] = self.buffers()[name]
        return other

    def describe(self) -> str:
        lines = [
            f"{self.kind} ({self.task}, loss {self.loss_name}, {self.n_params} parameters, "
            f"{self.dtype.name})"
        ]
        lines += [f"  {layer.name:<11} {layer!r}" for layer in self.layers]
        return "\n".join(lines)

    def __repr__(self):
        return f"<Model {self.kind} {self.task} {self.n_features}->{self.n_outputs} params={self.n_params}>"


# ------------------------------------------------------------------------------------------
# Builder


def _choose_loss(loss, kind: ModelKind, task: str, n_logits: int) -> str:
    """The loss's canonical name; the config layer checked that it fits the task and head."""
    if loss is None or loss == "auto":
        return kind.default_loss(task)
    entry = LOSSES.get(loss, "loss")
    if n_logits == 1 and "on_one_logit" in entry.info:
        return entry.info["on_one_logit"]  # cross-entropy on one logit: the sigmoid's
    return entry.name


def _check_arguments(kind: ModelKind, hidden, dropout, l2, task, n_features, n_outputs, dtype):
    """What the config layer guarantees, asserted for library callers (plain ValueErrors)."""
    if task not in kind.tasks:
        raise ValueError(
            f"{kind.name} does not take a {task} target (it takes: {', '.join(kind.tasks)})"
        )
    least = {"regression": 1, "binary": 2, "multiclass": 2}[task]
    if not (n_features >= 1 and n_outputs >= least and (task != "binary" or n_outputs == 2)):
        raise ValueError(
            f"expected n_features >= 1 and n_outputs fit for a {task} target, "
            f"found {n_features} and {n_outputs}"
        )
    if not (all(h >= 1 for h in hidden) and 0 <= dropout < 1 and l2 >= 0):
        raise ValueError(
            f"expected hidden sizes >= 1, dropout in [0, 1) and l2 >= 0, found "
            f"{list(hidden)}, {dropout} and {l2}"
        )
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"expected dtype float32 or float64, found {dtype}")


def build_model(
    kind: str,
    n_features: int,
    n_outputs: int,
    task: str,
    *,
    hidden=(),
    activation="relu",
    activation_params=None,
    dropout: float = 0.0,
    batch_norm: bool = False,
    loss=None,
    l2: float = 0.0,
    init="auto",
    init_params=None,
    bias_init: float = 0.0,
    dtype=np.float64,
    init_rng: np.random.Generator,
    dropout_rng: np.random.Generator | None = None,
) -> Model:
    """Build and initialise a model.

    n_outputs: the number of regression targets, or the number of classes (2 for binary); the
    head has n_outputs logits except for binary logreg/mlp (1 logit, BCE). hidden, activation,
    dropout and batch_norm apply to mlp (hidden/activation are ignored by the one-layer kinds).
    activation: a name, or a mapping {name: ..., <its settings>}. loss: None/"auto" picks the
    task's loss. init: a scheme name ("auto" by default) with `init_params` its settings;
    biases start at `bias_init`. Weights are drawn from `init_rng` in layer order (nothing else
    touches it); dropout masks from `dropout_rng`.
    """
    kind = model_kind(kind, "kind")
    hidden = tuple(hidden) if kind.takes_hidden else ()
    dtype = np.dtype(dtype)
    _check_arguments(kind, hidden, dropout, l2, task, n_features, n_outputs, dtype)

    if isinstance(activation, dict):
        activation_params = {
            **{k: v for k, v in activation.items() if k != "name"},
            **(activation_params or {}),
        }
        activation = activation.get("name", "relu")
    act_entry = ACTIVATIONS.get(activation, "activation")
    act_hypers = ACTIVATIONS.resolve(act_entry.name, activation_params, "activation")

    n_logits = kind.n_logits(task, n_outputs)
    n_classes = 0 if task == "regression" else n_outputs
    loss_name = _choose_loss(loss, kind, task, n_logits)

    init_entry = INITS.get(init, "init")
    init_hypers = INITS.resolve(init_entry.name, init_params, "init_params")
    scheme = init_entry.name
    if scheme == "auto":
        scheme = auto_scheme(len(hidden), act_entry.info["auto_init"])
    if dropout > 0 and dropout_rng is None:
        raise ValueError("dropout > 0 needs a random stream: pass dropout_rng")

    layers = kind.layers(
        int(n_features),
        int(n_logits),
        hidden=hidden,
        make_activation=lambda: act_entry.build(**act_hypers),
        dropout=float(dropout),
        batch_norm=bool(batch_norm),
        dropout_rng=dropout_rng,
    )
    spec = dict(
        kind=kind.name,
        n_features=int(n_features),
        n_outputs=int(n_outputs),
        task=task,
        hidden=hidden,
        activation=act_entry.name,
        activation_params=act_hypers,
        dropout=float(dropout),
        batch_norm=bool(batch_norm),
        loss=loss_name,
        l2=float(l2),
        init=scheme,
        init_params=init_hypers if scheme == init_entry.name else None,
        bias_init=float(bias_init),
    )
    model = Model(
        layers,
        LOSSES.get(loss_name).build(),
        kind=kind,
        task=task,
        n_features=int(n_features),
        n_outputs=int(n_logits),
        n_classes=n_classes,
        l2=float(l2),
        dtype=dtype,
        spec=spec,
        dropout_rng=dropout_rng,
    )
    model.init_scheme = scheme

    if hidden and scheme in SYMMETRIC:
        warnings.warn(
            f"init.scheme: {scheme} on an MLP starts every hidden unit identical; they get "
            "identical gradients and stay identical (the symmetry problem), so the hidden "
            "layer acts like one unit. Use a random scheme such as he_normal or "
            "xavier_uniform to break the symmetry.",
            UserWarning,
            stacklevel=2,
        )
    draw = INITS.get(scheme).build
    scheme_hypers = init_hypers if scheme == init_entry.name else {}
    for layer in layers:  # fixed order; only the init stream is used
        if isinstance(layer, Linear):
            fan_in, fan_out = layer.in_features, layer.out_features
            layer.weight[...] = draw(init_rng, (fan_in, fan_out), fan_in, fan_out, **scheme_hypers)
            if layer.has_bias:
                layer.bias[...] = bias_init
    return model
