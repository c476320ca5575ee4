"""Package exports imported on first use (PEP 562), so importing one module of a package, or
the package itself, does not import all of its modules.

    __getattr__, __dir__ = lazy_exports(__name__, {"build_model": "model", ...})

in a package's __init__ makes `from package import build_model` import `package.model` at
that moment (and then keep the name as an ordinary attribute). Registries are safe to export
this way as long as each is filled by the module that defines it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, homes: dict[str, str]) -> tuple[Callable, Callable]:
    """`__getattr__` and `__dir__` for `package`, whose names live in its modules `homes`
    (name -> module name relative to the package)."""
    namespace = sys.modules[package].__dict__  # the package, still being initialised

    def __getattr__(name: str):
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{home}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *homes})

    return __getattr__, __dir__
