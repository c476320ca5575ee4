"""Write docs/api-reference.md from the docstrings of nnctl's public Python API.

    python scripts/api_reference.py            # rewrites docs/api-reference.md
    python scripts/api_reference.py --check    # exit 1 when the file is out of date

The public names are nnctl.__all__ and the estimators; for classes, their public methods and
properties defined by nnctl itself (not those inherited from scikit-learn or object). Signatures
come from inspect, text from the docstrings: the page says nothing the code does not.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "api-reference.md"


def _signature(obj, method: bool = False) -> str:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    if method:  # as called on an instance: without self
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    return str(signature)


def _doc(obj) -> str:
    return inspect.getdoc(obj) or "(no docstring)"


def _members(cls) -> list[tuple[str, object]]:
    """Public methods and properties that nnctl's own classes define (in source order)."""
    found = []
    for klass in reversed(cls.__mro__):
        if not klass.__module__.startswith("nnctl"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in dict(found):
                continue
            if isinstance(value, property) or inspect.isfunction(value):
                found.append((name, value))
    return found


def _class_section(name: str, cls) -> list[str]:
    lines = [f"### `{name}{_signature(cls)}`", "", _doc(cls), ""]
    for member, value in _members(cls):
        if isinstance(value, property):
            lines += [f"#### `{name}.{member}` (property)", "", _doc(value), ""]
        else:
            lines += [
                f"#### `{name}.{member}{_signature(value, method=True)}`",
                "",
                _doc(value),
                "",
            ]
    return lines


def render() -> str:
    import nnctl
    import nnctl.errors

    lines = [
        "# nnctl Python API reference",
        "",
        "Generated from the docstrings by `python scripts/api_reference.py`; do not edit by hand.",
        'The tutorial is the README\'s "From Python" section.',
        "",
        "## The module `nnctl`",
        "",
        _doc(nnctl),
        "",
    ]
    functions = [n for n in nnctl.__all__ if inspect.isfunction(getattr(nnctl, n))]
    classes = [
        n
        for n in nnctl.__all__
        if inspect.isclass(getattr(nnctl, n)) and not issubclass(getattr(nnctl, n), Exception)
    ]
    errors = [n for n in nnctl.__all__ if n not in functions and n not in classes]
    lines += ["## Functions", ""]
    for name in functions:
        obj = getattr(nnctl, name)
        lines += [f"### `nnctl.{name}{_signature(obj)}`", "", _doc(obj), ""]
    lines += ["## Classes", ""]
    for name in classes:
        lines += _class_section(name, getattr(nnctl, name))
    lines += ["## Errors (`nnctl.errors`)", ""]
    for name in errors:
        obj = getattr(nnctl, name)
        if inspect.isclass(obj):
            code = getattr(obj, "exit_code", None)
            lines += [f"### `{name}` (exit code {code} on the command line)", "", _doc(obj), ""]
    lines += ["## scikit-learn estimators (`nnctl.estimators`)", ""]
    try:
        from nnctl import estimators
    except ImportError as exc:  # scikit-learn missing: say so rather than write half a page
        raise SystemExit(f"the estimators need scikit-learn to document: {exc}") from None
    for name in ("NNClassifier", "NNRegressor"):
        lines += _class_section(name, getattr(estimators, name))
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run python scripts/api_reference.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
