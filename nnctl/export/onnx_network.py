"""The network and the head of the ONNX graph.

Linear layers are Gemm (W stored [in, out], as nnctl's x @ W + b). A batch norm (inference
mode: running statistics) is folded into the Linear before it, in float64:
    g = gamma / sqrt(running_var + eps),  W' = W * g,  b' = (b - running_mean) * g + beta.
Activations: Sigmoid, Tanh, Relu as operators; leaky_relu, elu and softplus written out with
Where / Exp / Log (see _activation). Dropout is absent (the identity at prediction time). The head turns logits into what nnctl
predict prints: probabilities (sigmoid of one logit as [1 - s, s], or softmax) and the label of
the first most probable class; or, for regression, the output in the target's units.
"""

from __future__ import annotations

import numpy as np

from nnctl.export.onnx_graph import GraphBuilder


def network(graph: GraphBuilder, X: str, schema: dict, arrays: dict) -> str:
    """Logits [N, outputs] in the model's dtype from the float64 features `X`."""
    from onnx import helper

    dtype = np.dtype(schema["dtype"])
    z = graph.op("Cast", [X], "network_input", to=helper.np_dtype_to_tensor_dtype(dtype))
    layers = schema["layers"]
    i = 0
    while i < len(layers):
        layer = layers[i]
        if layer["type"] == "linear":
            norm = layers[i + 1] if i + 1 < len(layers) else None
            if norm is not None and norm["type"] == "batchnorm":
                weight, bias = _folded(layer, norm, arrays)
                i += 1
            else:
                weight = arrays[layer["weight"]].astype(np.float64)
                bias = (
                    arrays[layer["bias"]].astype(np.float64)
                    if layer["bias"] is not None
                    else np.zeros(weight.shape[1])
                )
            z = graph.op(
                "Gemm",
                [
                    z,
                    graph.constant(weight.astype(dtype), "weight"),
                    graph.constant(bias.astype(dtype), "bias"),
                ],
                "linear",
            )
        elif layer["type"] == "activation":
            z = _activation(graph, z, layer["name"], layer["params"], dtype)
        else:
            raise ValueError(f"a {layer['type']} layer that follows no linear layer")
        i += 1
    return z


def _folded(linear: dict, norm: dict, arrays: dict) -> tuple[np.ndarray, np.ndarray]:
    weight = arrays[linear["weight"]].astype(np.float64)
    bias = (
        arrays[linear["bias"]].astype(np.float64)
        if linear["bias"] is not None
        else np.zeros(weight.shape[1])
    )
    gamma, beta, mean, var = (
        arrays[norm[k]].astype(np.float64) for k in ("gamma", "beta", "running_mean", "running_var")
    )
    g = gamma / np.sqrt(var + norm["eps"])
    return weight * g, (bias - mean) * g + beta


def _activation(graph: GraphBuilder, z: str, name: str, params: dict, dtype) -> str:
    """Sigmoid, Tanh and Relu are ONNX operators for float and double; leaky_relu, elu and
    softplus are written out (onnxruntime's LeakyRelu, Elu and Softplus take float only), in
    nnctl's own overflow-free forms."""
    simple = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
    if name in simple:
        return graph.op(simple[name], [z], name)
    if name == "identity":
        return z
    if name == "softplus":  # max(z, 0) + log(1 + e^-|z|)
        tail = graph.op("Exp", [graph.op("Neg", [graph.op("Abs", [z])])])
        tail = graph.op("Log", [graph.op("Add", [tail, graph.constant(np.ones((), dtype), "one")])])
        return graph.op("Add", [graph.op("Relu", [z]), tail], name)
    zero = graph.constant(np.zeros((), dtype), "zero")
    if name == "leaky_relu":  # z if z > 0 else slope * z
        negative = graph.op("Mul", [z, graph.constant(np.array(params["slope"], dtype), "slope")])
        positive = graph.op("Greater", [z, zero], "positive")
        return graph.op("Where", [positive, z, negative], name)
    if name == "elu":  # z if z > 0 else alpha * (e^min(z, 0) - 1)
        exp = graph.op("Exp", [graph.op("Min", [z, zero])])
        negative = graph.op("Sub", [exp, graph.constant(np.ones((), dtype), "one")])
        negative = graph.op(
            "Mul", [negative, graph.constant(np.array(params["alpha"], dtype), "alpha")]
        )
        positive = graph.op("Greater", [z, zero], "positive")
        return graph.op("Where", [positive, z, negative], name)
    raise ValueError(f"no ONNX form for the activation {name!r}")


def head(graph: GraphBuilder, logits: str, schema: dict, output_names: dict) -> None:
    """The graph's outputs: "prediction" (label or value) and, for classification,
    "probabilities" (one column per stored class, in their order)."""
    from onnx import TensorProto, helper

    spec = schema["head"]
    dtype = helper.np_dtype_to_tensor_dtype(np.dtype(schema["dtype"]))
    if spec["task"] == "regression":
        values = graph.op("Cast", [logits], "values", to=TensorProto.DOUBLE)
        scaler = spec["target_scaler"]
        if scaler is not None:  # the target's own units, computed as nnctl does, in float64
            values = graph.op("Mul", [values, graph.constant(scaler["scale"], "target_scale")])
            values = graph.op("Add", [values, graph.constant(scaler["mean"], "target_mean")])
        graph.add_output(
            values, output_names["prediction"], TensorProto.DOUBLE, ["N", spec["outputs"]]
        )
        return
    if spec["link"] == "sigmoid":
        p1 = graph.op("Sigmoid", [logits], "p1")
        one = graph.constant(np.ones((1, 1), dtype=np.dtype(schema["dtype"])), "one")
        p0 = graph.op("Sub", [one, p1], "p0")
        proba = graph.op("Concat", [p0, p1], "probabilities", axis=1)
    else:
        proba = graph.op("Softmax", [logits], "probabilities", axis=1)
    code = graph.op("ArgMax", [proba], "class_code", axis=1, keepdims=0, select_last_index=0)
    classes, label_type = _class_constant(spec["classes"])
    label = graph.op("Gather", [graph.constant(classes, "classes"), code], "label", axis=0)
    graph.add_output(label, output_names["prediction"], label_type, ["N"])
    graph.add_output(proba, output_names["probabilities"], dtype, ["N", len(spec["classes"])])


def _class_constant(classes: list) -> tuple[np.ndarray, int]:
    """The stored class labels as a tensor: int64 when all are integers, float64 when all
    are numbers, else strings (as predict prints them)."""
    from onnx import TensorProto

    if all(isinstance(c, int) for c in classes):
        return np.array(classes, dtype=np.int64), TensorProto.INT64
    if all(isinstance(c, (int, float)) for c in classes):
        return np.array(classes, dtype=np.float64), TensorProto.DOUBLE
    return np.array([str(c) for c in classes], dtype=object), TensorProto.STRING
