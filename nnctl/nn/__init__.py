"""The NumPy engine: flat parameters, layers, activations, losses, init schemes, models.

A `Model` owns one flat `theta` and one flat `grad`; every layer's weight and bias are reshaped
views into them, so optimizers update the whole model through the two vectors:

    model = build_model("mlp", n_features=784, n_outputs=10, task="multiclass", hidden=[256],
                        dtype=np.float32, init_rng=streams["init"], dropout_rng=streams["dropout"])
    loss = model.loss_and_grad(Xb, yb)   # fills model.grad (loss + L2 penalty)
    model.theta -= lr * model.grad        # in place: the layers see it

Registries (names usable in configs): ACTIVATIONS, LOSSES, INITS, MODELS.
"""

from nnctl.nn.activations import ACTIVATIONS, sigmoid
from nnctl.nn.curvature import ModelObjective
from nnctl.nn.gradcheck import gradcheck
from nnctl.nn.init import INITS, auto_scheme
from nnctl.nn.kinds import MODELS, ModelKind, model_kind
from nnctl.nn.layers import BatchNorm, Dropout, Layer, Linear
from nnctl.nn.losses import LOSSES, make_loss
from nnctl.nn.model import EVAL_CHUNK_ROWS, TASKS, Model, build_model
from nnctl.nn.params import FlatParameters, ParamSpec, allocate

__all__ = [
    "ACTIVATIONS", "LOSSES", "INITS", "MODELS", "TASKS", "EVAL_CHUNK_ROWS",
    "Model", "ModelKind", "ModelObjective", "build_model", "gradcheck", "model_kind",
    "Layer", "Linear", "Dropout", "BatchNorm",
    "FlatParameters", "ParamSpec", "allocate",
    "sigmoid", "make_loss", "auto_scheme",
]
