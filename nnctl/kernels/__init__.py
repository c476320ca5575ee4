"""Compiled kernels (the `fast` extra, numba): the hot elementwise work as fused loops that give
the same bits as the NumPy code, which stays the reference and the fallback.

`train.kernels` picks them: numpy, numba, or auto (numba when it is installed and the run is
big enough for loading them to pay; see choice.py). Nothing here imports numba or NumPy at
import time: loading.py imports numba only for a run that uses it.

* choice.py: validation of the setting and the `auto` decision (recorded in config.yaml).
* loading.py: the numba import (on a thread), its cache folder, the compiled modules.
* optimizer_kernels.py, activation_kernels.py: the loops (they import numba).
"""

from __future__ import annotations

CHOICES = ("auto", "numpy", "numba")
INSTALL_HINT = 'pip install "nnctl[fast]"'


def numba_installed() -> bool:
    """Whether numba can be imported (found, not imported: no start-up cost)."""
    from importlib.util import find_spec

    return find_spec("numba") is not None


__all__ = ["CHOICES", "INSTALL_HINT", "numba_installed"]
