"""Plain-weights export, for users who write their own inference (schema: describe.py).

    npz   the arrays under their checkpoint names ("linear0.weight" [in, out], ...) and
          "schema", a JSON string: numpy.load(path, allow_pickle=False)
    json  {"schema": ..., "arrays": {name: {"dtype", "shape", "data": nested lists}}}: any
          language reads it; float32 values are written exactly (as float64 decimals)

The prediction path the schema describes, for one row x of raw values:
    features  numeric: x (missing -> fill); categorical: one 0/1 per category (missing -> fill,
              unseen -> all zeros); matrix input: the row as is
    z = (features - scaler.mean) / scaler.scale, in float64, then cast to `dtype`
    layers    linear: z @ weight + bias; batchnorm: (z - running_mean) / sqrt(running_var +
              eps) * gamma + beta; activation: as named (params: leaky_relu slope, elu alpha)
    head      identity: z * target_scaler.scale + target_scaler.mean; sigmoid (one logit):
              P(classes[1]) = sigmoid(z), P(classes[0]) = 1 - that; softmax: softmax(z); the
              label is classes[first argmax of the probabilities]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nnctl.util.atomic import atomic_open


def write_npz(schema: dict, arrays: dict, path: Path) -> None:
    payload = {name: np.asarray(value) for name, value in arrays.items()}
    payload["schema"] = np.array(json.dumps(schema))
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **payload)


def write_json(schema: dict, arrays: dict, path: Path) -> None:
    document = {
        "schema": schema,
        "arrays": {
            name: {
                "dtype": str(value.dtype),
                "shape": list(value.shape),
                "data": value.astype(np.float64).tolist(),
            }
            for name, value in arrays.items()
        },
    }
    with atomic_open(path, "w") as handle:
        json.dump(document, handle, indent=1)
        handle.write("\n")
