"""`nnctl -V`, `nnctl --version` and `nnctl version [--json]`: which nnctl this is, and (--json)
what it runs on. Versions are read from the installed packages' metadata, so nothing is
imported: `nnctl -V` stays as fast as `nnctl --help` and loads no NumPy.

No `from __future__ import annotations`: Typer reads these annotations at every start.
"""

import platform

from nnctl import __version__
from nnctl.cli.options import JsonOption
from nnctl.cli.process import command, print_json, write_stdout

# The distributions behind nnctl's optional extras (pyproject.toml [project.optional-dependencies])
# and the core dependencies a bug report needs.
CORE = ("numpy", "typer", "pyyaml", "rich", "threadpoolctl")
EXTRAS = {
    "plot": ("matplotlib",),
    "dask": ("distributed",),
    "onnx": ("onnx",),
    "tensorboard": ("tensorboardX",),
}


def version_line() -> str:
    return f"nnctl {__version__}"


def installed_version(distribution: str) -> str | None:
    """The installed version of `distribution`, or None when it is not installed."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def version_facts() -> dict:
    """nnctl's version, Python's, the core dependencies' and every optional extra found."""
    extras = {}
    for extra, distributions in EXTRAS.items():
        found = {name: installed_version(name) for name in distributions}
        if all(found.values()):
            extras[extra] = found
    return {
        "nnctl": __version__,
        "python": platform.python_version(),
        "dependencies": {name: installed_version(name) for name in CORE},
        "extras": extras,
    }


@command
def version(json_: JsonOption = False):
    """Print nnctl's version (as -V does); --json adds Python's, NumPy's and the other
    dependencies' versions and the optional extras installed (for a bug report).

    Example: nnctl version --json"""
    if json_:
        print_json(version_facts())
    else:
        write_stdout(version_line() + "\n")
