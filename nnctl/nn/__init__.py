"""The NumPy engine: flat parameters, layers, activations, losses, init schemes, models.

A `Model` owns one flat `theta` and one flat `grad`; every layer's weight and bias are reshaped
views into them, so optimizers update the whole model through the two vectors:

    model = build_model("mlp", n_features=784, n_outputs=10, task="multiclass", hidden=[256],
                        dtype=np.float32, init_rng=streams["init"], dropout_rng=streams["dropout"])
    loss = model.loss_and_grad(Xb, yb)   # fills model.grad (loss + L2 penalty)
    model.theta -= lr * model.grad        # in place: the layers see it

Registries (names usable in configs): ACTIVATIONS, LOSSES, INITS, MODELS.
"""

# Imported now, not lazily: the function shares its module's name, and a lazy lookup would find
# the module instead whenever nnctl.nn.gradcheck had been imported first.
from nnctl.nn.gradcheck import gradcheck
from nnctl.util.lazy import lazy_exports

# Each name and the module that defines it, imported when the name is first used: building a
# model does not import the curvature code, which a first-order run never needs.
_HOMES = {
    "ACTIVATIONS": "activations",
    "sigmoid": "activations",
    "ModelObjective": "curvature",
    "INITS": "init",
    "auto_scheme": "init",
    "MODELS": "kinds",
    "ModelKind": "kinds",
    "model_kind": "kinds",
    "BatchNorm": "layers",
    "Dropout": "layers",
    "Layer": "layers",
    "Linear": "layers",
    "LOSSES": "losses",
    "make_loss": "losses",
    "EVAL_CHUNK_ROWS": "model",
    "Model": "model",
    "build_model": "model",
    "FlatParameters": "params",
    "ParamSpec": "params",
    "allocate": "params",
}
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "INITS",
    "MODELS",
    "EVAL_CHUNK_ROWS",
    "Model",
    "ModelKind",
    "ModelObjective",
    "build_model",
    "gradcheck",
    "model_kind",
    "Layer",
    "Linear",
    "Dropout",
    "BatchNorm",
    "FlatParameters",
    "ParamSpec",
    "allocate",
    "sigmoid",
    "make_loss",
    "auto_scheme",
]
