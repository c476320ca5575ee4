"""What makes two nnctl installations give the same numbers: the version and the engine's
source. A Dask worker running another nnctl (another version, or a copy with a changed update
rule) would give silently different numbers, so the client compares both before the first run.

    engine_fingerprint()   # a short hash of every .py file of the installed nnctl package
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path


@functools.cache
def engine_fingerprint() -> str:
    """sha256 (16 hex digits) over the relative path and bytes of every nnctl/**/*.py."""
    root = Path(__file__).resolve().parents[2]  # the nnctl package folder
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


# Evaluated on a worker with the builtin eval (pickled by name, so it reaches a worker that has
# no nnctl at all, where it raises ModuleNotFoundError, which is then named).
WORKER_VERSION_EXPRESSION = "__import__('nnctl').__version__"
WORKER_FINGERPRINT_EXPRESSION = (
    "__import__('nnctl.compare.executors.fingerprint', fromlist=['_']).engine_fingerprint()"
)
