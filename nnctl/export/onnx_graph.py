"""A small builder over onnx.helper: nodes, constants, inputs and outputs of one graph, with
internal value names that cannot clash with a user's column names ("nnctl/<hint>_<n>")."""

from __future__ import annotations

import numpy as np

OPSET = 17  # ai.onnx; onnxruntime 1.14 and later run it
ML_OPSET = 3  # ai.onnx.ml: LabelEncoder-2 (string keys to int64 codes)
ML_DOMAIN = "ai.onnx.ml"
IR_VERSION = 8  # the IR version of opset 17 (a newer one would shut out older runtimes)


class GraphBuilder:
    def __init__(self):
        import onnx

        self.onnx = onnx
        self.nodes: list = []
        self.initializers: list = []
        self.inputs: list = []
        self.outputs: list = []
        self.uses_ml = False
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"nnctl/{hint}_{self._count}"

    def constant(self, value, hint: str, dtype=None) -> str:
        """An initializer holding `value` (strings become a STRING tensor)."""
        array = np.asarray(value, dtype=dtype)
        if array.dtype.kind in "US":
            array = array.astype(object)
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs) -> str:
        """One node with one output; returns the output's name. domain= for ai.onnx.ml."""
        domain = attrs.pop("domain", "")
        self.uses_ml |= domain == ML_DOMAIN
        out = self.fresh(hint or op_type.lower())
        self.nodes.append(
            self.onnx.helper.make_node(op_type, inputs, [out], name=out, domain=domain, **attrs)
        )
        return out

    def add_input(self, name: str, elem_type: int, shape: list) -> str:
        self.inputs.append(self.onnx.helper.make_tensor_value_info(name, elem_type, shape))
        return name

    def add_output(self, value: str, name: str, elem_type: int, shape: list) -> None:
        """Expose `value` under the public `name`."""
        self.nodes.append(self.onnx.helper.make_node("Identity", [value], [name], name=name))
        self.outputs.append(self.onnx.helper.make_tensor_value_info(name, elem_type, shape))

    def model(self, graph_name: str, doc: str):
        helper = self.onnx.helper
        graph = helper.make_graph(
            self.nodes, graph_name, self.inputs, self.outputs, self.initializers
        )
        opsets = [helper.make_opsetid("", OPSET)]
        if self.uses_ml:
            opsets.append(helper.make_opsetid(ML_DOMAIN, ML_OPSET))
        model = helper.make_model(
            graph, opset_imports=opsets, producer_name="nnctl", doc_string=doc
        )
        model.ir_version = IR_VERSION
        return model
