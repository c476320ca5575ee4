"""Export (issue 24): an ONNX model that gives nnctl predict's answers on raw columns, and plain
weights whose schema is enough to write the forward pass by hand.

The reference is always `nnctl predict` (a real process on real files) or the function behind
it (nnctl.training.inference.load_model, for the many small models of the kind x activation grid).
onnxruntime is the reference runtime; the ONNX tests skip when it or onnx is not installed (the
dev extra has both).
"""

from __future__ import annotations

import builtins
import csv
import importlib.util
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import CONFIGS, REPO, run_nnctl

HAS_ONNX = all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))
needs_onnx = pytest.mark.skipif(
    not HAS_ONNX, reason="onnx and onnxruntime are not installed (pip install -e '.[dev]')"
)
NA_SPELLINGS = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "?")
PROBA_TOLERANCE = 1e-5  # predict prints 6 significant digits: 5e-7 at most of that is printing
REGRESSION_RTOL = 1e-5


# -- helpers -----------------------------------------------------------------------------------


def train(cfg_path, run, *overrides, cwd=None):
    args = ["train", cfg_path, "--out", run, "-q", "--force"]
    for override in overrides:
        args += ["-s", override]
    proc = run_nnctl(*args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return Path(run)


def predict(run, data, *extra, cwd=None):
    """nnctl predict's CSV output as (header, rows)."""
    proc = run_nnctl("predict", run, data, *extra, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    return rows[0], rows[1:]


def read_csv(path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def onnx_feed(session, header, rows) -> dict:
    """The graph's inputs from raw CSV cells, as a user would make them: a numeric column as
    float64 (a missing-value spelling as NaN), a string column as its text, a matrix "X" as
    all the columns in order."""
    feed = {}
    for spec in session.get_inputs():
        if spec.name == "X" and spec.name not in header:
            feed["X"] = np.array([[float(c) for c in row] for row in rows], dtype=np.float64)
            continue
        j = header.index(spec.name)
        cells = [row[j].strip() for row in rows]
        if spec.type == "tensor(string)":
            feed[spec.name] = np.array(cells, dtype=object).reshape(-1, 1)
        else:
            values = [np.nan if c in NA_SPELLINGS else float(c) for c in cells]
            feed[spec.name] = np.array(values, dtype=np.float64).reshape(-1, 1)
    return feed


def run_onnx(model_path, feed) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feed)))


def session_of(model_path):
    import onnxruntime as ort

    return ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])


def check_model(path):
    """The ONNX checker's full check, and no constant left unused (runtimes warn about it)."""
    import onnx

    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    used = {name for node in model.graph.node for name in node.input}
    assert [i.name for i in model.graph.initializer if i.name not in used] == []


def assert_matches_predict(model_path, run, data_path, cwd=None):
    """onnxruntime on the raw rows of `data_path` gives what nnctl predict prints."""
    header, rows = read_csv(data_path)
    session = session_of(model_path)
    outputs = dict(
        zip(
            [o.name for o in session.get_outputs()],
            session.run(None, onnx_feed(session, header, rows)),
        )
    )
    meta_task = json.loads((Path(run) / "summary.json").read_text())["task"]
    if meta_task == "regression":
        out_header, printed = predict(run, data_path, cwd=cwd)
        expected = np.array([[float(v) for v in row] for row in printed])
        got = outputs["prediction"]
        scale = np.max(np.abs(expected))  # relative to the predictions' magnitude
        np.testing.assert_allclose(
            got, expected, rtol=REGRESSION_RTOL, atol=REGRESSION_RTOL * scale
        )
        return outputs
    out_header, printed = predict(run, data_path, "--proba", cwd=cwd)
    labels = [row[0] for row in printed]
    proba = np.array([[float(v) for v in row[1:]] for row in printed])
    assert [str(v) for v in outputs["prediction"]] == labels
    assert outputs["probabilities"].shape == proba.shape
    np.testing.assert_allclose(outputs["probabilities"], proba, rtol=0, atol=PROBA_TOLERANCE)
    return outputs


def example_data(cfg_name: str, run: Path, tmp_path: Path) -> Path:
    """A CSV of raw rows for the model of an example: the bundled dataset's own file, or (data
    without column names) random rows x0, x1, ... of the model's width."""
    from nnctl.data.builtin import BUNDLED

    cfg = (CONFIGS / cfg_name).read_text()
    for name, file_name, *_ in BUNDLED:
        if f"name: {name}" in cfg:
            return REPO / "datasets" / file_name
    width = json.loads(str(np.load(run / "checkpoints" / "last.npz")["meta"]))["n_features"]
    rng = np.random.default_rng(5)
    X = rng.normal(scale=2.0, size=(60, width))
    path = tmp_path / "rows.csv"
    path.write_text(
        ",".join(f"x{j}" for j in range(width))
        + "\n"
        + "".join(",".join(repr(float(v)) for v in row) + "\n" for row in X)
    )
    return path


# -- ONNX against nnctl predict ----------------------------------------------------------------


@needs_onnx
@pytest.mark.filterwarnings("ignore:init.scheme. zeros on an MLP")  # lesson-zeros-init
@pytest.mark.parametrize("cfg_name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_every_example_exports_and_onnxruntime_gives_predicts_answers(cfg_name, tmp_path):
    from nnctl.export import export_run

    run = train(CONFIGS / cfg_name, tmp_path / "run", "train.epochs=3", cwd=tmp_path)
    model = export_run(run, "onnx")
    assert model == run / "model.onnx"
    check_model(model)
    assert_matches_predict(model, run, example_data(cfg_name, run, tmp_path), cwd=tmp_path)


# -- a messy table: missing cells, strings, an id, numbers used as categories -----------------

COLORS = ("red", "green", "blue")
CITIES = ("Paris", "Lyon", "Nantes", "Lille")


def messy_table(path: Path, n: int, seed: int, *, unseen: bool = False) -> Path:
    """id (unique), age (numeric, some missing), color and city (text, some missing), zone (the
    numbers 1-3, used as categories), income (numeric), label (yes/no) and score (a number in
    the thousands). `unseen`: also categories never seen in training, "2.0" for zone 2 and
    every missing-value spelling."""
    rng = np.random.default_rng(seed)
    lines = ["id,age,color,zone,income,city,label,score"]
    for i in range(n):
        age = 20 + 50 * rng.random()
        color = COLORS[rng.integers(3)]
        zone = int(rng.integers(1, 4))
        income = 20000 + 60000 * rng.random()
        city = CITIES[rng.integers(4)]
        latent = (age - 45) / 15 + (color == "red") - 0.8 * (zone == 3) + rng.normal(0, 0.5)
        label = "yes" if latent > 0 else "no"
        score = 1000 + 40 * age + 0.01 * income + 300 * (city == "Paris") + rng.normal(0, 50)
        cells = [f"r{i:04d}", f"{age:.1f}", color, str(zone), f"{income:.2f}", city, label]
        cells.append(f"{score:.3f}")
        if rng.random() < 0.15:
            cells[1] = NA_SPELLINGS[rng.integers(len(NA_SPELLINGS))]
        if rng.random() < 0.15:
            cells[2] = "?"
        if rng.random() < 0.1:
            cells[5] = ""
        if unseen and i % 7 == 0:
            cells[2], cells[5] = "purple", "Marseille"
        if unseen and i % 5 == 1 and cells[3] == "2":
            cells[3] = "2.0"
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def messy_config(folder: Path, target: str, missing: str = "impute", **model) -> Path:
    drop = ["id", "score" if target == "label" else "label"]
    model = {"kind": "mlp", "hidden": [6], "activation": "elu", "batch_norm": True, **model}
    cfg = {
        "seed": 3,
        "data": {
            "path": str(messy_table(folder / "train.csv", 160, seed=1)),
            "target": target,
            "drop": drop,
            "missing": missing,
            "categorical": ["color", "zone", "city"],
            "val_fraction": 0.25,
        },
        "model": model,
        "optimizer": {"name": "adam", "lr": 0.02},
        "train": {"epochs": 6, "batch_size": 16},
    }
    path = folder / f"messy-{target}.yaml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return path


@needs_onnx
@pytest.mark.parametrize("target", ["label", "score"])
def test_a_messy_table_gives_predicts_answers_from_raw_columns(target, tmp_path):
    from nnctl.export import export_run

    run = train(messy_config(tmp_path, target), tmp_path / "run", cwd=tmp_path)
    model = export_run(run, "onnx", out=tmp_path / "messy.onnx")
    check_model(model)
    inputs = {i.name: i.type for i in session_of(model).get_inputs()}
    assert inputs == {
        "age": "tensor(double)",
        "color": "tensor(string)",
        "zone": "tensor(string)",
        "income": "tensor(double)",
        "city": "tensor(string)",
    }  # the id and the other target are not inputs
    new_rows = messy_table(tmp_path / "new.csv", 70, seed=9, unseen=True)
    outputs = assert_matches_predict(model, run, new_rows, cwd=tmp_path)
    if target == "label":
        assert set(outputs["prediction"]) <= {"yes", "no"}
    else:  # in the target's units (thousands), not standardised
        assert np.all(outputs["prediction"] > 500)


@needs_onnx
def test_without_imputation_a_row_with_a_missing_cell_gets_nan_where_predict_leaves_it_empty(
    tmp_path,
):
    from nnctl.export import export_run

    run = train(messy_config(tmp_path, "label", "drop_rows"), tmp_path / "run", cwd=tmp_path)
    model = export_run(run, "onnx")
    header, rows = read_csv(messy_table(tmp_path / "new.csv", 60, seed=4))
    session = session_of(model)
    outputs = run_onnx(model, onnx_feed(session, header, rows))
    _, printed = predict(run, tmp_path / "new.csv", "--proba", cwd=tmp_path)
    empty = np.array([row[0] == "" for row in printed])
    assert 0 < empty.sum() < len(rows)
    proba = outputs["probabilities"]
    assert np.all(np.isnan(proba[empty]))
    expected = np.array([[float(v) for v in row[1:]] for row, e in zip(printed, empty) if not e])
    np.testing.assert_allclose(proba[~empty], expected, rtol=0, atol=PROBA_TOLERANCE)
    labels = [str(v) for v, e in zip(outputs["prediction"], empty) if not e]
    assert labels == [row[0] for row in printed if row[0]]


# -- every model kind and activation, with and without batch norm ------------------------------


def train_in_process(cfg: dict, run: Path) -> Path:
    from nnctl.config import resolve
    from nnctl.report.progress import QuietReporter
    from nnctl.runs import run_folder
    from nnctl.training.trainer import train as train_run

    run = run_folder.create(run, unique=False)
    try:
        train_run(resolve(cfg, "test"), run, QuietReporter())
    finally:
        run_folder.unlock(run)
    return run


def grid():
    """(kind, activation, batch_norm, dataset, dtype): each kind on each task it takes, each
    activation with and without batch norm, heads and dtypes rotating through them."""
    cases = [
        ("logreg", None, False, "breast_cancer", "float32"),
        ("softmax", None, False, "iris", "float64"),
        ("softmax", None, False, "breast_cancer", "float32"),  # two logits for a binary task
        ("linreg", None, False, "diabetes", "float64"),
    ]
    activations = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "identity")
    datasets = ("iris", "breast_cancer", "diabetes")
    for i, activation in enumerate(activations):
        for batch_norm in (False, True):
            dataset = datasets[(i + batch_norm) % 3]
            dtype = ("float32", "float64")[(i + 2 * batch_norm) % 2]
            cases.append(("mlp", activation, batch_norm, dataset, dtype))
    return cases


@needs_onnx
@pytest.mark.parametrize("kind, activation, batch_norm, dataset, dtype", grid())
def test_each_kind_and_activation_exports_with_predicts_numbers(
    kind, activation, batch_norm, dataset, dtype, tmp_path
):
    from nnctl.export import export_run
    from nnctl.training.inference import predict_rows

    model = {"kind": kind}
    if kind == "mlp":
        settings = {"leaky_relu": {"slope": 0.2}, "elu": {"alpha": 0.7}}.get(activation, {})
        model.update(
            hidden=[7, 5], batch_norm=batch_norm, activation={"name": activation, **settings}
        )
    cfg = {
        "seed": 1,
        "data": {"name": dataset, "val_fraction": 0.2},
        "model": model,
        "optimizer": {"name": "adam", "lr": 0.05},
        "train": {"epochs": 4, "batch_size": 32, "dtype": dtype},
    }
    run = train_in_process(cfg, tmp_path / "run")
    path = export_run(run, "onnx")
    check_model(path)
    data = REPO / "datasets" / f"{dataset}.csv"
    header, rows = read_csv(data)
    outputs = run_onnx(path, onnx_feed(session_of(path), header, rows))
    regression = dataset == "diabetes"
    _, printed = predict_rows(run, str(data), proba=not regression)
    if regression:
        expected = np.array([[float(v) for v in row] for row in printed])
        scale = np.max(np.abs(expected))
        np.testing.assert_allclose(
            outputs["prediction"], expected, rtol=REGRESSION_RTOL, atol=REGRESSION_RTOL * scale
        )
    else:
        assert [str(v) for v in outputs["prediction"]] == [row[0] for row in printed]
        expected = np.array([[float(v) for v in row[1:]] for row in printed])
        np.testing.assert_allclose(outputs["probabilities"], expected, atol=PROBA_TOLERANCE)
        assert outputs["probabilities"].dtype == np.dtype(dtype)


@needs_onnx
def test_large_inputs_stay_finite_through_every_activation(tmp_path):
    """softplus, elu and sigmoid written to avoid overflow, as nnctl computes them."""
    from nnctl.export import export_run
    from nnctl.training.inference import load_model

    for activation in ("softplus", "elu", "sigmoid", "leaky_relu"):
        cfg = {
            "seed": 2,
            "data": {"name": "moons", "params": {"n_samples": 200}},
            "model": {"kind": "mlp", "hidden": [4], "activation": activation},
            "optimizer": {"name": "sgd", "lr": 0.1},
            "train": {"epochs": 2, "batch_size": 50},
        }
        run = train_in_process(cfg, tmp_path / activation)
        path = export_run(run, "onnx")
        X = np.array([[1e6, -1e6], [-3e4, 5e4], [0.0, 0.0]])
        outputs = run_onnx(path, {"X": X})
        loaded = load_model(run)
        expected = loaded.model.predict_proba(loaded.scale(X).astype(np.float32))
        assert np.all(np.isfinite(outputs["probabilities"])), activation
        np.testing.assert_allclose(outputs["probabilities"], expected, atol=PROBA_TOLERANCE)


# -- plain weights: a forward pass written from the schema alone -------------------------------


def forward_from_schema(schema: dict, arrays: dict, header: list[str], rows: list[list[str]]):
    """What a user writes from the schema: (labels or None, probabilities or values)."""
    blocks = []
    for spec in schema["inputs"]:
        if spec["kind"] == "matrix":
            blocks.append(np.array([[float(c) for c in row] for row in rows]))
            continue
        cells = [row[header.index(spec["name"])].strip() for row in rows]
        missing = [c in schema["missing_values"] for c in cells]
        if spec["kind"] == "numeric":
            values = np.array([np.nan if m else float(c) for c, m in zip(cells, missing)])
            if spec["fill"] is not None:
                values[np.isnan(values)] = spec["fill"]
            blocks.append(values[:, None])
        else:
            texts = [spec["fill"] if m else c for c, m in zip(cells, missing)]
            texts = [str(int(float(t))) if t.replace(".0", "").isdigit() else t for t in texts]
            blocks.append(np.array([[float(t == c) for c in spec["categories"]] for t in texts]))
    X = np.concatenate(blocks, axis=1)
    if schema["scaler"] is not None:
        X = (X - np.array(schema["scaler"]["mean"])) / np.array(schema["scaler"]["scale"])
    z = X.astype(schema["dtype"])
    for layer in schema["layers"]:
        if layer["type"] == "linear":
            z = z @ arrays[layer["weight"]]
            if layer["bias"] is not None:
                z = z + arrays[layer["bias"]]
        elif layer["type"] == "batchnorm":
            std = np.sqrt(arrays[layer["running_var"]] + layer["eps"])
            z = (z - arrays[layer["running_mean"]]) / std * arrays[layer["gamma"]]
            z = z + arrays[layer["beta"]]
        else:
            z = activate(layer["name"], layer["params"], z)
    head = schema["head"]
    if head["link"] == "identity":
        scaler = head["target_scaler"]
        values = z.astype(np.float64)
        if scaler is not None:
            values = values * np.array(scaler["scale"]) + np.array(scaler["mean"])
        return None, values
    if head["link"] == "sigmoid":
        p1 = 1 / (1 + np.exp(-z[:, 0]))
        proba = np.stack([1 - p1, p1], axis=1)
    else:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        proba = e / e.sum(axis=1, keepdims=True)
    return [str(head["classes"][k]) for k in proba.argmax(axis=1)], proba


def activate(name: str, params: dict, z: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "elu":
        return np.where(z > 0, z, params["alpha"] * np.expm1(np.minimum(z, 0)))
    assert name == "identity", name
    return z


def load_plain(path: Path) -> tuple[dict, dict]:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        return json.loads(str(arrays.pop("schema"))), arrays
    document = json.loads(path.read_text())
    arrays = {
        name: np.array(entry["data"], dtype=entry["dtype"]).reshape(entry["shape"])
        for name, entry in document["arrays"].items()
    }
    return document["schema"], arrays


@pytest.mark.filterwarnings("ignore:.*categories not seen in training")
@pytest.mark.parametrize("fmt", ["npz", "json"])
@pytest.mark.parametrize("target", ["label", "score"])
def test_plain_weights_and_schema_reproduce_predict(fmt, target, tmp_path):
    from nnctl.export import export_run
    from nnctl.training.inference import predict_rows

    run = train(messy_config(tmp_path, target), tmp_path / "run", cwd=tmp_path)
    path = export_run(run, fmt)
    assert path == run / f"model.{fmt}"
    schema, arrays = load_plain(path)
    assert [layer["type"] for layer in schema["layers"]] == [
        "linear",
        "batchnorm",
        "activation",
        "linear",
    ]
    assert [spec["name"] for spec in schema["inputs"]] == ["age", "color", "zone", "income", "city"]
    data = messy_table(tmp_path / "new.csv", 50, seed=8, unseen=True)
    header, rows = read_csv(data)
    labels, values = forward_from_schema(schema, arrays, header, rows)
    _, printed = predict_rows(run, str(data), proba=target == "label")
    if target == "label":
        assert labels == [row[0] for row in printed]
        expected = np.array([[float(v) for v in row[1:]] for row in printed])
        np.testing.assert_allclose(values, expected, atol=PROBA_TOLERANCE)
    else:
        expected = np.array([[float(v) for v in row] for row in printed])
        np.testing.assert_allclose(values, expected, rtol=REGRESSION_RTOL)


def test_plain_export_of_data_without_column_names_takes_one_matrix(tmp_path):
    from nnctl.export import export_run
    from nnctl.training.inference import load_model

    cfg = {
        "seed": 0,
        "data": {"name": "moons", "params": {"n_samples": 100}},
        "model": {"kind": "logreg"},
        "optimizer": {"name": "gd", "lr": 0.5},
        "train": {"epochs": 5},
    }
    run = train_in_process(cfg, tmp_path / "run")
    schema, arrays = load_plain(export_run(run, "json", out=tmp_path / "w.json"))
    assert schema["inputs"] == [{"name": "X", "kind": "matrix", "width": 2}]
    X = np.random.default_rng(0).normal(size=(20, 2))
    labels, proba = forward_from_schema(schema, arrays, [], X.astype(str).tolist())
    loaded = load_model(run)
    expected = loaded.model.predict_proba(loaded.scale(X))
    np.testing.assert_allclose(proba, expected, rtol=1e-12)


# -- bad input -------------------------------------------------------------------------------


def small_run(tmp_path) -> Path:
    cfg = {
        "seed": 0,
        "data": {"name": "iris"},
        "model": {"kind": "softmax"},
        "optimizer": {"name": "gd", "lr": 0.5},
        "train": {"epochs": 2},
    }
    return train_in_process(cfg, tmp_path / "run")


def test_a_folder_without_a_checkpoint_is_refused_by_name(tmp_path):
    from nnctl.errors import UsageError
    from nnctl.export import export_run

    folder = tmp_path / "not-a-run"
    folder.mkdir()
    with pytest.raises(UsageError, match=r"not-a-run: not a run folder with checkpoints/"):
        export_run(folder, "json")
    with pytest.raises(UsageError, match=r"nowhere: no such run folder or checkpoint"):
        export_run(tmp_path / "nowhere", "npz")
    assert os.listdir(folder) == []


def test_a_missing_onnx_package_is_refused_with_the_install_hint(tmp_path, monkeypatch):
    from nnctl.errors import UsageError
    from nnctl.export import export_run

    run = small_run(tmp_path)
    real_import = builtins.__import__

    def without_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_onnx)
    with pytest.raises(UsageError, match=r'pip install "nnctl\[onnx\]"'):
        export_run(run, "onnx")
    assert not (run / "model.onnx").exists()
    export_run(run, "npz")  # the plain formats need no extra
    assert (run / "model.npz").exists()


@pytest.mark.parametrize("fmt", ["npz", "json"] + (["onnx"] if HAS_ONNX else []))
def test_an_unwritable_out_is_refused_and_nothing_is_left(fmt, tmp_path):
    from nnctl.errors import UsageError
    from nnctl.export import export_run

    run = small_run(tmp_path)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(UsageError, match=r"a-file/model\.\w+: cannot write \(Not a directory"):
        export_run(run, fmt, out=a_file / f"model.{fmt}")
    with pytest.raises(UsageError, match=r"missing/model\.\w+: cannot write \(No such file"):
        export_run(run, fmt, out=tmp_path / "missing" / f"model.{fmt}")
    with pytest.raises(UsageError, match=r"--out is a folder"):
        export_run(run, fmt, out=tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["a-file", "run"]
    assert not any(name.startswith(".model") for name in os.listdir(run))


def test_bad_format_and_checkpoint_choices_are_refused(tmp_path):
    from nnctl.errors import UsageError
    from nnctl.export import export_run

    run = small_run(tmp_path)
    with pytest.raises(UsageError, match=r"--format: expected one of onnx, npz, json, found 'csv'"):
        export_run(run, "csv")
    with pytest.raises(
        UsageError, match=r"--checkpoint: expected delivered, best, last or a checkpoint"
    ):
        export_run(run, "json", checkpoint=tmp_path / "nope.npz")
    (run / "checkpoints" / "best.npz").unlink()
    with pytest.raises(
        UsageError, match=r"--checkpoint best: expected checkpoints/best\.npz, found no such file"
    ):
        export_run(run, "json", checkpoint="best")


def test_the_checkpoint_argument_chooses_the_weights(tmp_path):
    from nnctl.export import export_run

    run = small_run(tmp_path)
    last = load_plain(export_run(run, "npz", out=tmp_path / "last.npz", checkpoint="last"))[1]
    given = load_plain(
        export_run(run, "npz", out=tmp_path / "f.npz", checkpoint=run / "checkpoints" / "last.npz")
    )[1]
    with np.load(run / "checkpoints" / "last.npz", allow_pickle=False) as archive:
        stored = archive["linear0.weight"]
    assert np.array_equal(last["linear0.weight"], stored)
    assert np.array_equal(given["linear0.weight"], stored)


@needs_onnx
def test_a_column_named_like_an_output_keeps_its_name_and_the_output_moves_aside(tmp_path):
    from nnctl.export import export_run

    rng = np.random.default_rng(0)
    lines = ["prediction,probabilities,label"]
    for _ in range(80):
        a, b = rng.normal(size=2)
        lines.append(f"{a:.4f},{b:.4f},{'up' if a + b > 0 else 'down'}")
    data = tmp_path / "odd.csv"
    data.write_text("\n".join(lines) + "\n")
    cfg = {
        "seed": 0,
        "data": {"path": str(data), "target": "label"},
        "model": {"kind": "logreg"},
        "optimizer": {"name": "gd", "lr": 0.5},
        "train": {"epochs": 5},
    }
    run = train_in_process(cfg, tmp_path / "run")
    model = export_run(run, "onnx")
    session = session_of(model)
    assert [i.name for i in session.get_inputs()] == ["prediction", "probabilities"]
    assert [o.name for o in session.get_outputs()] == ["prediction_", "probabilities_"]
    header, rows = read_csv(data)
    got = run_onnx(model, onnx_feed(session, header, rows))
    _, printed = predict(run, data, "--proba", cwd=tmp_path)
    assert [str(v) for v in got["prediction_"]] == [row[0] for row in printed]


@needs_onnx
def test_the_documented_pandas_example_feeds_a_raw_table(tmp_path):
    """The example in nnctl/export/onnx.py's docstring, run as written (paths aside) on a table
    with missing cells, text columns and unseen categories."""
    pytest.importorskip("pandas", reason="the example reads the table with pandas")
    import nnctl.export.onnx as onnx_export
    from nnctl.export import export_run

    run = train(messy_config(tmp_path, "label"), tmp_path / "run", cwd=tmp_path)
    model = export_run(run, "onnx")
    # The documented missing spellings pandas does not know by default: "?" here.
    data = messy_table(tmp_path / "new.csv", 50, seed=6, unseen=True)
    data.write_text(data.read_text().replace(",?,", ",,"))
    example = "\n".join(
        line[4:] for line in onnx_export.__doc__.splitlines() if line.startswith("    ")
    )
    example = example.replace("runs/my-run/model.onnx", str(model)).replace("new.csv", str(data))
    namespace: dict = {}
    exec(example, namespace)
    _, printed = predict(run, data, "--proba", cwd=tmp_path)
    assert [str(v) for v in namespace["labels"]] == [row[0] for row in printed]
    expected = np.array([[float(v) for v in row[1:]] for row in printed])
    np.testing.assert_allclose(namespace["probabilities"], expected, atol=PROBA_TOLERANCE)


# -- the command (nnctl export) and the API (Run.export) -----------------------------------------


def without_module(tmp_path, module: str) -> dict:
    """The environment of an `nnctl` process in which `module` cannot be imported (as if its
    extra were not installed): a sitecustomize that blocks it."""
    blocker = tmp_path / f"no-{module}"
    blocker.mkdir(exist_ok=True)
    (blocker / "sitecustomize.py").write_text(f"import sys\nsys.modules[{module!r}] = None\n")
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": str(blocker) + (os.pathsep + path if path else "")}


@needs_onnx
def test_the_export_command_writes_onnx_that_gives_predicts_answers(tmp_path):
    run = train("iris-softmax", tmp_path / "run", cwd=tmp_path)
    proc = run_nnctl("export", "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{Path('run') / 'model.onnx'}\n"
    check_model(run / "model.onnx")
    assert_matches_predict(run / "model.onnx", run, REPO / "datasets" / "iris.csv", cwd=tmp_path)


def test_the_export_command_json_output_names_the_file_and_format(tmp_path):
    from nnctl.export import export_run

    run = train("iris-softmax", tmp_path / "run", cwd=tmp_path)
    proc = run_nnctl(
        "export", "run", "--format", "npz", "--out", "w.npz", "--checkpoint", "best", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"path": "w.npz", "format": "npz"}
    schema, arrays = load_plain(tmp_path / "w.npz")
    expected_schema, expected = load_plain(
        export_run(run, "npz", out=tmp_path / "lib.npz", checkpoint="best")
    )
    # The schema names the checkpoint as it was given: relative here, absolute there.
    assert Path(schema.pop("checkpoint")) == Path("run") / "checkpoints" / "best.npz"
    assert Path(expected_schema.pop("checkpoint")) == run / "checkpoints" / "best.npz"
    assert schema == expected_schema
    assert sorted(arrays) == sorted(expected)
    assert all(np.array_equal(arrays[name], expected[name]) for name in arrays)


def test_the_export_command_refuses_bad_input_with_exit_2_and_writes_nothing(tmp_path):
    run = train("iris-softmax", tmp_path / "run", cwd=tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("x")
    cases = [
        (["export", "empty", "--format", "json"], "empty: not a run folder with checkpoints/", {}),
        (["export", "run", "--out", "a-file/m.json", "--format", "json"], "cannot write", {}),
        (["export", "run", "--format", "csv"], "'csv' is not one of 'onnx', 'npz', 'json'", {}),
        (["export", "run", "--checkpoint", "nope.npz"], "--checkpoint: expected delivered", {}),
        (["export", "run"], 'pip install "nnctl[onnx]"', without_module(tmp_path, "onnx")),
    ]
    before = sorted(os.listdir(run))
    for args, reason, env in cases:
        proc = run_nnctl(*args, cwd=tmp_path, env=env)
        assert proc.returncode == 2, (args, proc.stderr)
        assert reason in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert sorted(os.listdir(run)) == before
    assert os.listdir(tmp_path / "empty") == []
    assert (tmp_path / "a-file").read_text() == "x"


def test_run_export_writes_what_the_command_writes(tmp_path):
    import nnctl

    run = train("iris-softmax", tmp_path / "run", cwd=tmp_path)
    path = nnctl.load_run(run).export("json")
    assert path == run / "model.json"
    proc = run_nnctl("export", run, "--format", "json", "--out", "cli.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == (tmp_path / "cli.json").read_bytes()
    last = nnctl.load_run(run).export("npz", out=tmp_path / "last.npz", checkpoint="last")
    with np.load(run / "checkpoints" / "last.npz", allow_pickle=False) as archive:
        assert np.array_equal(load_plain(last)[1]["linear0.weight"], archive["linear0.weight"])
    if HAS_ONNX:
        model = nnctl.load_run(run).export()
        assert model == run / "model.onnx"
        check_model(model)
