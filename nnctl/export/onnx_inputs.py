"""The preprocessing part of the ONNX graph: raw columns in, the scaled feature matrix out.

As nnctl predict does it, in float64: a numeric column's missing value (NaN) takes the stored
fill (the training median; without one, NaN goes through and the prediction is NaN, where
predict leaves the row empty); a categorical column (strings) becomes one 0/1 column per stored
category (ai.onnx.ml LabelEncoder to a code, then Equal against the codes), a missing cell (""
or any data.na_values spelling) takes the stored fill, an unseen category is all zeros; then
(X - mean) / scale. A string is matched as nnctl reads a cell: stripped, and a number written
the one canonical way ("2", not "2.0", though "2.0" is accepted for a numeric category).
"""

from __future__ import annotations

import numpy as np

from nnctl.export.onnx_graph import ML_DOMAIN, GraphBuilder

UNSEEN = -1  # LabelEncoder's code for a category not in the training data: all zeros
MISSING = -2  # a missing cell without a fill: NaN features (predict: an empty row)


def features(graph: GraphBuilder, schema: dict) -> str:
    """Declare the inputs of `schema` and return the float64 [N, features] value."""
    from onnx import TensorProto

    blocks = []
    for spec in schema["inputs"]:
        name = spec["name"]
        if spec["kind"] == "matrix":
            blocks.append(graph.add_input(name, TensorProto.DOUBLE, ["N", spec["width"]]))
        elif spec["kind"] == "numeric":
            blocks.append(
                _numeric(graph, graph.add_input(name, TensorProto.DOUBLE, ["N", 1]), spec)
            )
        else:
            column = graph.add_input(name, TensorProto.STRING, ["N", 1])
            if spec["categories"]:
                blocks.append(_one_hot(graph, column, spec, schema["missing_values"]))
    X = blocks[0] if len(blocks) == 1 else graph.op("Concat", blocks, "features", axis=1)
    if schema["scaler"] is not None:
        X = graph.op("Sub", [X, graph.constant(schema["scaler"]["mean"], "mean", np.float64)])
        X = graph.op("Div", [X, graph.constant(schema["scaler"]["scale"], "scale", np.float64)])
    return X


def _numeric(graph: GraphBuilder, column: str, spec: dict) -> str:
    if spec["fill"] is None:
        return column
    missing = graph.op("IsNaN", [column], "missing")
    fill = graph.constant([[spec["fill"]]], "fill", np.float64)
    return graph.op("Where", [missing, fill, column], "imputed")


def _one_hot(graph: GraphBuilder, column: str, spec: dict, na_values: list[str]) -> str:
    categories = spec["categories"]
    codes = {c: k for k, c in enumerate(categories)}
    for k, category in enumerate(categories):
        alias = _float_spelling(category)
        if alias is not None:
            codes.setdefault(alias, k)
    missing_code = MISSING if spec["fill"] is None else categories.index(spec["fill"])
    for text in ["", *na_values]:
        codes.setdefault(text, missing_code)
    code = graph.op(
        "LabelEncoder",
        [column],
        "code",
        domain=ML_DOMAIN,
        keys_strings=list(codes),
        values_int64s=list(codes.values()),
        default_int64=UNSEEN,
    )
    positions = graph.constant(np.arange(len(categories), dtype=np.int64), "positions")
    hot = graph.op("Equal", [code, positions], "is_category")
    block = graph.op("Cast", [hot], "one_hot", to=_double())
    if spec["fill"] is None:
        is_missing = graph.op(
            "Equal", [code, graph.constant(np.int64(MISSING), "missing_code")], "missing"
        )
        nan = graph.constant(np.float64(np.nan), "nan")
        block = graph.op("Where", [is_missing, nan, block], "one_hot_or_nan")
    return block


def _float_spelling(category: str) -> str | None:
    """'2.0' for the category '2' (how a float column prints it), else None."""
    try:
        value = float(category)
    except ValueError:
        return None
    spelling = repr(value)
    return spelling if spelling != category else None


def _double() -> int:
    from onnx import TensorProto

    return TensorProto.DOUBLE
