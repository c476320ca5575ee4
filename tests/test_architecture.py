"""The structure docs/architecture.md describes, held by tests: the layer rule (nn, optim and
data never import each other nor anything above them), `nnctl --help` without NumPy, and a new
model kind that needs only nn/kinds.py."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nnctl"
ENGINE = ("nn", "optim", "data")
ABOVE = (
    "train",
    "compare",
    "cli",
    "commands",
    "report",
    "prepare",
    "config",
    "diagnostics",
    "inference",
    "checkpoint",
    "run_folder",
)


def imported_modules(path: Path) -> set[str]:
    """Every nnctl module `path` imports, at the top or inside a function (lazy imports
    count: they run all the same)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from nnctl import x` imports nnctl.x when x is a module
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            raise AssertionError(f"{path}: relative import; nnctl imports absolutely")
    return {name for name in found if name == "nnctl" or name.startswith("nnctl.")}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


@pytest.mark.parametrize("package", ENGINE)
def test_engine_packages_import_neither_each_other_nor_the_layers_above(package):
    forbidden = (set(ENGINE) - {package}) | set(ABOVE)
    files = sorted((PACKAGE / package).rglob("*.py"))
    assert files, package
    offenders = {
        f"{path.relative_to(PACKAGE.parent)} imports {module}"
        for path in files
        for module in imported_modules(path)
        if layer_of(module) in forbidden
    }
    assert not offenders, sorted(offenders)


def test_the_layer_check_sees_lazy_imports(tmp_path):
    """The check above would catch what it looks for, even inside a function."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from nnctl.optim import OPTIMIZERS\n    from nnctl import config\n"
    )
    assert {layer_of(m) for m in imported_modules(sample)} == {"optim", "config", None}


def test_help_does_not_import_numpy_or_the_config_layer():
    probe = (
        "import sys, runpy; sys.argv = ['nnctl', '--help']\n"
        "try:\n    runpy.run_module('nnctl', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('numpy', 'nnctl.config', 'nnctl.nn') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_a_new_model_kind_is_one_class_in_kinds_py(monkeypatch):
    """Registered in MODELS, a kind is a `model.kind` choice of the config, in its schema and
    reference, and builds and trains through the same code: nothing else names the kinds."""
    import numpy as np

    from nnctl import config
    from nnctl.errors import UsageError
    from nnctl.nn import kinds
    from nnctl.train.prepare import model_from_config
    from nnctl.util.rng import make_streams

    class NoBias(kinds.ModelKind):  # a regression kind whose one Linear has no bias
        name = "nobias"
        doc = "linear regression through the origin"
        default_losses = {"regression": "mse"}
        target = "a regression"

        def layers(self, n_features, n_logits, **_):
            return [
                kinds.Linear(n_features, n_logits, "linear0", bias=False, needs_input_grad=False)
            ]

    monkeypatch.setattr(kinds.MODELS, "_entries", dict(kinds.MODELS._entries))
    kinds._register(NoBias)
    cfg = config.resolve({"data": {"name": "iris"}, "model": {"kind": "nobias"}})
    assert cfg["model"]["kind"] == "nobias"
    assert "nobias" in config.json_schema()["properties"]["model"]["properties"]["kind"]["enum"]
    assert "linreg, logreg, softmax, mlp or nobias" in config.reference_markdown()
    model = model_from_config(cfg, 3, 1, "regression", make_streams(0), np.float64)
    assert list(model.named_parameters()) == ["linear0.weight"]
    X = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    model.theta[:] = [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(model.predict(X), [1.0, 4.0])  # X w, no intercept
    with pytest.raises(UsageError, match="model.kind: nobias needs a regression target"):
        model_from_config(cfg, 3, 3, "multiclass", make_streams(0), np.float64)
