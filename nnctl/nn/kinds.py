"""Model kinds (`MODELS` registry): what each kind of model is, in one object per kind.

A kind knows the tasks it accepts and its default loss for each, its head (how many logits a
task needs), which settings it takes (hidden sizes and activation, dropout, batch norm), which
structure-specific shortcuts apply (closed-form curvature, the least-squares closed form) and
how to build its layers. Nothing outside this file branches on a kind's name: the model
builder, the config checks (config/validation.py, training/prepare.py: they word the errors), the
starter config (config/starter.py) and the curvature code ask the kind.

    linreg   Linear, MSE (multi-output allowed)
    logreg   Linear to 1 logit, BCE
    softmax  Linear to one logit per class, cross-entropy
    mlp      [Linear, (BatchNorm), activation, (Dropout)] per hidden layer, then a Linear head

Adding a kind: a subclass of ModelKind below, registered with `@_register`.
"""

from __future__ import annotations

from nnctl.nn.layers import BatchNorm, Dropout, Linear
from nnctl.util.registry import Entry, Registry

MODELS = Registry("model kind")


class ModelKind:
    """A kind of model. Subclasses set the class attributes and, beyond one Linear layer,
    override `layers`."""

    name: str
    doc: str
    default_losses: dict[str, str]  # task -> loss name; its keys are the tasks the kind accepts
    target: str = ""  # the target it needs, as messages say it ("a binary")
    one_logit_for_binary = False  # binary head: one logit (BCE) instead of one per class
    takes_hidden = False  # model.hidden and model.activation (ignored by the others)
    takes_dropout = False
    takes_batch_norm = False
    one_linear_layer = True  # exact Hessian, cached logits and gram blocks (curvature.py)
    least_squares = False  # with MSE a least-squares problem: the closed form (exact) solves it
    starter_for: tuple[str, ...] = ()  # tasks `nnctl config init` picks this kind for by default

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.default_losses)

    def n_logits(self, task: str, n_outputs: int) -> int:
        """The head's width: n_outputs (targets or classes), or 1 for a one-logit binary head."""
        return 1 if task == "binary" and self.one_logit_for_binary else n_outputs

    def default_loss(self, task: str) -> str:
        return self.default_losses[task]

    @property
    def has_dense_hessian(self) -> bool:
        """The objective offers `hessian()` (newton's dense mode needs it); today exactly the
        one-linear-layer kinds, whose Hessian has a closed form."""
        return self.one_linear_layer

    def layers(
        self, n_features, n_logits, *, hidden, make_activation, dropout, batch_norm, dropout_rng
    ) -> list:
        return [Linear(n_features, n_logits, "linear0", needs_input_grad=False)]


def _register(cls: type[ModelKind]) -> type[ModelKind]:
    kind = cls()
    MODELS.add(Entry(kind.name, kind, kind.doc))
    return cls


@_register
class LinearRegression(ModelKind):
    name = "linreg"
    doc = "linear regression: X W + b, mean squared error (multi-output allowed)"
    default_losses = {"regression": "mse"}
    target = "a regression"
    least_squares = True
    starter_for = ("regression",)


@_register
class LogisticRegression(ModelKind):
    name = "logreg"
    doc = "logistic regression: X w + b to one logit, binary cross-entropy"
    default_losses = {"binary": "binary_cross_entropy"}
    target = "a binary"
    one_logit_for_binary = True
    starter_for = ("binary",)


@_register
class SoftmaxRegression(ModelKind):
    name = "softmax"
    doc = "softmax regression: X W + b to one logit per class, cross-entropy"
    default_losses = {"binary": "cross_entropy", "multiclass": "cross_entropy"}
    target = "a classification"
    starter_for = ("multiclass",)


@_register
class MultiLayerPerceptron(ModelKind):
    name = "mlp"
    doc = (
        "multi-layer perceptron: [Linear, (BatchNorm), activation, (Dropout)] per hidden "
        "layer, then a Linear head chosen by the task"
    )
    default_losses = {
        "regression": "mse",
        "binary": "binary_cross_entropy",
        "multiclass": "cross_entropy",
    }
    one_logit_for_binary = True
    takes_hidden = takes_dropout = takes_batch_norm = True
    one_linear_layer = False  # even with no hidden layer: the general path, as always

    def layers(
        self, n_features, n_logits, *, hidden, make_activation, dropout, batch_norm, dropout_rng
    ) -> list:
        layers, width = [], n_features
        for i, size in enumerate(hidden):
            # batch norm's beta replaces the bias of the Linear before it (which it would cancel)
            layers.append(
                Linear(width, size, f"linear{i}", bias=not batch_norm, needs_input_grad=i > 0)
            )
            if batch_norm:
                layers.append(BatchNorm(size, f"batchnorm{i}"))
            layers.append(make_activation())
            if dropout > 0:
                layers.append(Dropout(dropout, dropout_rng, f"dropout{i}"))
            width = size
        layers.append(
            Linear(width, n_logits, f"linear{len(hidden)}", needs_input_grad=bool(hidden))
        )
        return layers


def model_kind(name: str, where: str = "model.kind") -> ModelKind:
    """The kind registered under `name` (a UsageError naming `where` if there is none)."""
    return MODELS.get(name, where).build


def kinds() -> list[ModelKind]:
    return [entry.build for entry in MODELS.entries()]


def describe_target(task: str, n_outputs: int) -> str:
    if task == "multiclass":
        return f"a multiclass target with {n_outputs} classes"
    return f"a {task} target"


def or_list(names: list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
