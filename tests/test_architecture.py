"""The structure docs/architecture.md describes, held by tests: the layer rule (nn, optim and
data import only nnctl.errors and nnctl.util, never each other nor anything above them), no
import circles (lazy imports included), `nnctl --help` without NumPy, and a new model kind or
optimizer that needs only its own registration."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nnctl"
ENGINE = ("nn", "optim", "data")  # import only BELOW (and themselves)
BELOW = ("errors", "util", "kernels")  # imported by anyone; import nothing else of nnctl
ABOVE = ("api", "cli", "config", "runs", "report", "training", "compare", "estimators", "export")
PUBLIC_FACE = ("__init__", "__main__")  # nnctl/__init__.py (the API, lazily) and __main__.py
SHIPPED_FILES = ("examples",)  # the example configs shipped as package data, and their finder


def module_names(root: Path) -> dict[str, Path]:
    """Every module of the package at `root`, by dotted name (a package by its __init__)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imported_modules(path: Path, modules: dict[str, Path] | None = None) -> set[str]:
    """Every nnctl module `path` imports, at the top or inside a function (lazy imports count:
    they run all the same). `import a.b` imports a.b (its parents are not counted: importing
    any module imports them); `from nnctl.x import y` imports nnctl.x.y when y is a module (one
    of `modules`), else nnctl.x and, when nnctl.x exports y lazily (`lazy_exports(__name__,
    {"y": "module"})` in its __init__), the module that defines y."""
    modules = module_names(PACKAGE) if modules is None else modules
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            homes = lazy_homes(modules[node.module]) if node.module in modules else {}
            for alias in node.names:
                inner = f"{node.module}.{alias.name}"
                if inner in modules:
                    found.add(inner)  # like `import nnctl.x.y`: the parents are implied
                    continue
                found.add(node.module)  # a name its __init__ defines, or one it exports lazily
                if alias.name in homes:
                    found.add(f"{node.module}.{homes[alias.name]}")
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            raise AssertionError(f"{path}: relative import; nnctl imports absolutely")
    return {name for name in found if name == "nnctl" or name.startswith("nnctl.")}


def lazy_homes(path: Path) -> dict[str, str]:
    """{name: module} of a package __init__ that calls lazy_exports(__name__, HOMES), HOMES a
    dict literal or a module-level name bound to one; {} for any other module."""
    if path.name != "__init__.py":
        return {}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assigned = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "lazy_exports":
            homes = node.args[1] if len(node.args) == 2 else None
            if isinstance(homes, ast.Name):
                homes = assigned.get(homes.id)
            if isinstance(homes, ast.Dict):
                return {
                    k.value: v.value
                    for k, v in zip(homes.keys, homes.values, strict=True)
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
                }
    return {}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def import_graph(root: Path) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports (see imported_modules)."""
    modules = module_names(root)
    return {name: imported_modules(path, modules) & set(modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None (depth-first search, in sorted order)."""
    state: dict[str, str] = {}  # "open" while on the current path, then "done"
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def _engine_and_below_files():
    for package in (*ENGINE, *BELOW):
        home = PACKAGE / package
        yield package, sorted(home.rglob("*.py")) if home.is_dir() else [home.with_suffix(".py")]


@pytest.mark.parametrize("package", ENGINE + BELOW)
def test_the_engine_and_the_base_import_only_below_them(package):
    """nn, optim and data import only errors and util (never each other); errors and util
    import only each other."""
    allowed = {package, *BELOW}
    files = dict(_engine_and_below_files())[package]
    assert files and all(path.exists() for path in files), package
    offenders = {
        f"{path.relative_to(PACKAGE.parent)} imports {module}"
        for path in files
        for module in imported_modules(path)
        if layer_of(module) not in allowed
    }
    assert not offenders, sorted(offenders)


def test_every_part_of_the_package_has_a_layer():
    """A new top-level module or package is placed in the map (and docs/architecture.md)."""
    placed = {*ENGINE, *BELOW, *ABOVE, *PUBLIC_FACE, *SHIPPED_FILES}
    parts = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.name for p in PACKAGE.iterdir() if p.is_dir() and any(p.rglob("*.py"))
    }
    assert parts <= placed, sorted(parts - placed)


def test_the_layer_check_sees_lazy_imports(tmp_path):
    """The check above would catch what it looks for, even inside a function."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from nnctl.optim import OPTIMIZERS\n    from nnctl import config\n"
    )
    assert {layer_of(m) for m in imported_modules(sample)} == {"optim", "config"}


def test_no_import_circles():
    """No module of nnctl imports, directly or through others, a module that imports it back:
    lazy imports (inside functions) and lazy exports count, since they run all the same."""
    cycle = find_cycle(import_graph(PACKAGE))
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_circle_check_finds_a_lazy_circle(tmp_path):
    """The check above would catch a circle closed by a function-level import or through a
    lazy export, and names it."""
    pkg = tmp_path / "nnctl"
    (pkg / "x").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from nnctl.x import thing\n")
    (pkg / "x" / "__init__.py").write_text(
        "from nnctl.util.lazy import lazy_exports\n"
        "HOMES = {'thing': 'b'}\n"
        "__getattr__, __dir__ = lazy_exports(__name__, HOMES)\n"
    )
    (pkg / "x" / "b.py").write_text("def f():\n    from nnctl import c\n")
    (pkg / "c.py").write_text("def g():\n    import nnctl.a\n")
    graph = import_graph(pkg)
    assert graph["nnctl.a"] == {"nnctl.x", "nnctl.x.b"}  # the package and thing's home
    assert find_cycle(graph) == ["nnctl.a", "nnctl.x.b", "nnctl.c", "nnctl.a"]
    (pkg / "c.py").write_text("def g():\n    from nnctl import x\n")  # x alone imports no b
    assert find_cycle(import_graph(pkg)) is None


def test_a_new_optimizer_is_one_registration(monkeypatch):
    """A first-order rule registered with its facts (here lr_scale) is a config choice, in the
    schema and the reference, in a comparison's default set and the landscapes' default set
    with the landscape's suggested rate, and trains: nothing else names the optimizers."""
    import numpy as np

    from nnctl import config
    from nnctl.compare.landscapes import LANDSCAPES, default_optimizers, run_optimizer
    from nnctl.compare.plan import CompareSection, chosen_specs
    from nnctl.config.optimizer_specs import parse_spec
    from nnctl.optim import OPTIMIZERS
    from nnctl.optim.first_order.rule import (
        FirstOrderRule,
        lr_hyper,
        register_rule,
        weight_decay_hyper,
    )
    from nnctl.training.prepare import optimizer_from_config

    class SignDescent(FirstOrderRule):  # steps of lr along the sign of the gradient
        def _update(self, theta, g, lr):
            theta -= lr * np.sign(g)

    monkeypatch.setattr(OPTIMIZERS, "_entries", dict(OPTIMIZERS._entries))
    monkeypatch.setattr(OPTIMIZERS, "_aliases", dict(OPTIMIZERS._aliases))
    hypers = (lr_hyper(0.01), weight_decay_hyper())
    register_rule("signsgd", "sign descent", SignDescent, hypers, lr_scale="step")

    raw = {"data": {"name": "iris"}, "optimizer": {"name": "signsgd", "lr": 0.5}}
    cfg = config.resolve(raw)
    assert cfg["optimizer"] == {"name": "signsgd", "lr": 0.5, "weight_decay": 0.0}
    assert "signsgd" in config.json_schema()["properties"]["optimizer"]["anyOf"][0]["enum"]
    assert "### `signsgd`" in config.reference_markdown()
    assert "signsgd" in [spec.name for spec in chosen_specs([], CompareSection())]
    assert default_optimizers()[-1] == "signsgd"

    canyon = LANDSCAPES["canyon"]  # grad (x, 100 y): positive at (1, 1)
    run = run_optimizer(canyon, parse_spec("signsgd"), (1.0, 1.0), 2)
    assert run.settings == {"lr": canyon.rates.step}
    np.testing.assert_allclose(run.path[-1], [1.0 - 2 * canyon.rates.step] * 2)

    rule = optimizer_from_config(cfg, 3, np.float64)
    theta = np.zeros(3)
    rule.step(theta, np.array([2.0, -3.0, 0.0]))
    np.testing.assert_array_equal(theta, [-0.5, 0.5, 0.0])


def test_a_new_loss_is_one_registration(monkeypatch):
    """A loss registered with its tasks is a config choice and in the schema; the data checks
    accept it for its task and refuse it, by name, for another: nothing else names losses."""
    import numpy as np

    from nnctl import config
    from nnctl.errors import UsageError
    from nnctl.nn import LOSSES
    from nnctl.nn.losses import MeanSquaredError
    from nnctl.training.prepare import check_model_fits_data, model_from_config
    from nnctl.util.rng import make_streams

    class HalfSquaredError(MeanSquaredError):  # 0.5 (z - y)^2: half of mse, value and gradient
        name = "half_mse"

        def value_and_grad(self, logits, y, out=None):
            value, grad = super().value_and_grad(logits, y, out)
            grad *= 0.5
            return 0.5 * value, grad

    monkeypatch.setattr(LOSSES, "_entries", dict(LOSSES._entries))
    monkeypatch.setattr(LOSSES, "_aliases", dict(LOSSES._aliases))
    LOSSES.register("half_mse", "half the squared error", tasks=("regression",))(HalfSquaredError)

    raw = {"data": {"name": "diabetes"}, "model": {"kind": "linreg"}, "loss": "half_mse"}
    cfg = config.resolve(raw)
    assert cfg["loss"] == {"name": "half_mse", "l2": 0.0}
    assert "half_mse" in config.json_schema()["properties"]["loss"]["anyOf"][0]["enum"]
    check_model_fits_data(cfg, 2, 1, "regression")
    with pytest.raises(UsageError, match="loss.name: half_mse does not fit a binary target"):
        check_model_fits_data({**cfg, "model": {**cfg["model"], "kind": "mlp"}}, 2, 2, "binary")
    model = model_from_config(cfg, 1, 1, "regression", make_streams(0), np.float64)
    model.theta[:] = [2.0, 0.0]  # z = 2 x
    X, y = np.array([[1.0], [2.0]]), np.array([0.0, 0.0])
    assert model.loss_and_grad(X, y) == 0.5 * (4.0 + 16.0) / 2


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
    from nnctl.training.prepare import model_from_config
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
