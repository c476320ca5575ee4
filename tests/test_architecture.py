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


# ------------------------------------------------------------------------------------------------
# The command line stands on Typer's and click's public API only (issue 20).

LIBRARIES = ("typer", "click")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _root_name(node: ast.AST) -> str | None:
    """`typer` for `typer.core.TyperArgument.x`; None when the chain starts elsewhere."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def private_library_uses(source: str) -> list[str]:
    """Every use of a private part of Typer or click in `source`: an import of an underscore
    module or name, an underscore attribute reached from them, an attribute of theirs assigned
    (or set with setattr), and any object's private attribute assigned from outside it (as
    `param._runtime_param = ...` would be). Each as 'line N: what'."""
    tree = ast.parse(source)
    library_names = set()  # names this file binds to Typer or click (modules, classes)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in LIBRARIES:
                    library_names.add((alias.asname or alias.name).split(".")[0])
                    if any(map(_is_private, alias.name.split("."))):
                        found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in LIBRARIES:
            for alias in node.names:
                library_names.add(alias.asname or alias.name)
                if any(map(_is_private, [*node.module.split("."), alias.name])):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            if _root_name(node) in library_names:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "delattr")
            and node.args
        ):
            targets = [ast.Attribute(value=node.args[0], attr="?", lineno=node.lineno)]
        for target in targets:
            if not isinstance(target, ast.Attribute):
                continue
            root = _root_name(target)
            outside = not (
                isinstance(target.value, ast.Name) and target.value.id in ("self", "cls")
            )
            if root in library_names or (_is_private(target.attr) and outside):
                found.append(f"line {target.lineno}: assigns {ast.unparse(target)}")
    return sorted(set(found))


def test_nnctl_uses_only_the_public_api_of_typer_and_click():
    offenders = {
        str(path.relative_to(PACKAGE.parent)): uses
        for path in sorted(PACKAGE.rglob("*.py"))
        if (uses := private_library_uses(path.read_text(encoding="utf-8")))
    }
    assert not offenders, offenders


def test_the_public_api_check_sees_private_imports_and_patches():
    """What the CLI used to do (issue 20), each caught, and public use left alone."""
    caught = private_library_uses(
        "import typer\n"
        "from typer.core import TyperArgument, TyperCommand\n"
        "def f(param, ctx):\n"
        "    from typer._coercion import RuntimeParam\n"
        "    from typer.core import _TyperParameter\n"
        "    import click._compat as compat\n"
        "    TyperArgument.display_type_rich = None\n"
        "    setattr(TyperArgument, '_usage_display_name', None)\n"
        "    param._runtime_param = RuntimeParam()\n"
        "    return typer._click.Context, typer.main.get_command\n"
        "class Fine(TyperCommand):\n"
        "    def format_options(self, ctx, formatter):\n"
        "        self._cache = ctx.command.get_params(ctx)\n"
    )
    assert caught == [
        "line 10: typer._click",
        "line 4: from typer._coercion import RuntimeParam",
        "line 5: from typer.core import _TyperParameter",
        "line 6: import click._compat",
        "line 7: assigns TyperArgument.display_type_rich",
        "line 8: assigns TyperArgument.?",
        "line 9: assigns param._runtime_param",
    ]
