"""A trained model as plain data: the schema and the arrays every export format is built from.

    schema = {
      "inputs":   [{"name", "kind": numeric | categorical | matrix, "fill", "categories",
                    "width"}, ...]      the raw columns, in the model's order
      "missing_values": [...]           cell texts that mean "missing" in a categorical column
      "features": [...]                 the feature names after one-hot encoding
      "scaler":   {"mean", "scale"} or None       (x - mean) / scale on the features
      "dtype":    float32 | float64     the network's arithmetic (preprocessing is float64)
      "layers":   [{"type": linear, "weight", "bias"} | {"type": batchnorm, "gamma", "beta",
                    "running_mean", "running_var", "eps"} | {"type": activation, "name",
                    "params"}, ...]     array entries name arrays in `arrays`
      "head":     {"task", "link": identity | sigmoid | softmax, "classes",
                   "target_scaler": {"mean", "scale"} or None}
    }

Dropout is left out (it is the identity at prediction time). The arrays are the checkpoint's
own (`linear0.weight` as [in, out], ...), in the model's dtype.
"""

from __future__ import annotations

SCHEMA_FORMAT = "nnctl-model"
SCHEMA_VERSION = 1


def describe(loaded) -> tuple[dict, dict]:
    """(schema, arrays) of a nnctl.training.inference.LoadedModel."""
    meta, model = loaded.meta, loaded.model
    arrays: dict = {}
    layers = [spec for layer in model.layers if (spec := _layer(layer, arrays)) is not None]
    scaler = meta.get("scaler")
    target_scaler = meta.get("target_scaler")
    schema = {
        "format": SCHEMA_FORMAT,
        "version": SCHEMA_VERSION,
        "checkpoint": str(loaded.path),
        "model": model.kind,
        "inputs": _inputs(loaded),
        "missing_values": list(loaded.cfg["data"].get("na_values") or []),
        "features": _feature_names(loaded),
        "scaler": None if scaler is None else {k: scaler[k] for k in ("mean", "scale")},
        "dtype": str(model.dtype),
        "layers": layers,
        "head": {
            "task": meta["task"],
            "link": model.loss_fn.link,
            "classes": meta.get("classes") if meta["task"] != "regression" else None,
            "outputs": int(meta["n_outputs"]),
            "target_scaler": (
                None if target_scaler is None else {k: target_scaler[k] for k in ("mean", "scale")}
            ),
        },
    }
    return schema, arrays


def _inputs(loaded) -> list[dict]:
    """The raw columns a user feeds: named columns, or one matrix "X" (data without names)."""
    columns = loaded.columns
    if columns is None:
        return [{"name": "X", "kind": "matrix", "width": int(loaded.meta["n_features"])}]
    return [
        {
            "name": spec.name,
            "kind": spec.kind,
            "fill": spec.fill,
            "categories": list(spec.categories) if spec.kind == "categorical" else None,
        }
        for spec in columns.specs
    ]


def _feature_names(loaded) -> list[str]:
    columns = loaded.columns
    if columns is not None:
        return columns.output_names
    names = loaded.meta.get("feature_names")
    return list(names) if names else [f"x{j}" for j in range(loaded.meta["n_features"])]


def _layer(layer, arrays: dict) -> dict | None:
    """One layer's schema entry (its arrays added to `arrays`); None for dropout."""
    from nnctl.nn.activations import Activation
    from nnctl.nn.layers import BatchNorm, Dropout, Linear

    if isinstance(layer, Dropout):
        return None
    if isinstance(layer, Linear):
        arrays[f"{layer.name}.weight"] = layer.weight.copy()
        entry = {"type": "linear", "weight": f"{layer.name}.weight", "bias": None}
        if layer.has_bias:
            arrays[f"{layer.name}.bias"] = layer.bias.copy()
            entry["bias"] = f"{layer.name}.bias"
        return entry
    if isinstance(layer, BatchNorm):
        entry = {"type": "batchnorm", "eps": layer.eps}
        for part in ("gamma", "beta", "running_mean", "running_var"):
            arrays[f"{layer.name}.{part}"] = getattr(layer, part).copy()
            entry[part] = f"{layer.name}.{part}"
        return entry
    if isinstance(layer, Activation):
        name, params = _activation(layer)
        return {"type": "activation", "name": name, "params": params}
    raise ValueError(f"cannot export a layer of type {type(layer).__name__}")


def _activation(layer) -> tuple[str, dict]:
    """The registry name of an activation layer and its settings (leaky_relu's slope, ...)."""
    from nnctl.nn.activations import ACTIVATIONS

    for entry in ACTIVATIONS.entries():
        if type(layer) is entry.build:
            return entry.name, {h.name: getattr(layer, h.name) for h in entry.hypers}
    raise ValueError(f"cannot export the activation {type(layer).__name__}")
