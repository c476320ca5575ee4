"""ONNX export (the optional extra `nnctl[onnx]`): one graph with the whole prediction path.

Inputs: one per raw training column, by its name (numeric: float64 [N, 1], NaN = missing;
categorical: string [N, 1]), or one float64 matrix "X" [N, features] when the data had no column
names (built-in array datasets). Outputs: "prediction" (the class label as stored: int64,
float64 or string; or the regression values in the target's units, float64 [N, outputs]) and,
for classification, "probabilities" [N, classes] in the model's dtype. An output name that a
column already uses gets a trailing underscore. Pieces: onnx_inputs.py (imputation, one-hot,
scaling), onnx_network.py (layers and head), onnx_graph.py (the node builder).

    import onnxruntime as ort, pandas as pd
    session = ort.InferenceSession("runs/my-run/model.onnx")
    table = pd.read_csv("new.csv")  # text cells are matched as nnctl reads them; NaN = missing
    text = lambda name: table[[name]].fillna("").astype(str).to_numpy(object)  # "" = missing
    feed = {i.name: text(i.name) if i.type == "tensor(string)" else
            table[[i.name]].to_numpy(float) for i in session.get_inputs()}
    labels, probabilities = session.run(None, feed)
"""

from __future__ import annotations

from pathlib import Path

from nnctl.errors import UsageError
from nnctl.util.atomic import atomic_open

INSTALL_HINT = 'ONNX export needs the onnx package, the optional extra: pip install "nnctl[onnx]"'


def require_onnx() -> None:
    """UsageError with the install hint when the `onnx` package cannot be imported."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None


def build_model(schema: dict, arrays: dict):
    """The onnx.ModelProto of an exported model (schema, arrays: nnctl.export.describe)."""
    from nnctl.export.onnx_graph import GraphBuilder
    from nnctl.export.onnx_inputs import features
    from nnctl.export.onnx_network import head, network

    graph = GraphBuilder()
    X = features(graph, schema)
    logits = network(graph, X, schema, arrays)
    taken = {spec["name"] for spec in schema["inputs"]}
    head(graph, logits, schema, {k: _free_name(k, taken) for k in ("prediction", "probabilities")})
    kind, task = schema["model"], schema["head"]["task"]
    return graph.model(
        f"nnctl_{kind}",
        f"nnctl {kind} ({task}) exported from {schema['checkpoint']}: raw columns in, "
        "what nnctl predict prints out",
    )


def write_onnx(schema: dict, arrays: dict, path: Path) -> None:
    """Build, check (onnx.checker, full check) and write the model atomically."""
    import onnx

    model = build_model(schema, arrays)
    onnx.checker.check_model(model, full_check=True)
    data = model.SerializeToString()
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def _free_name(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    return name
