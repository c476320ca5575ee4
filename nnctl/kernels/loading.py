"""Loading the compiled kernels: the numba import on a thread, the on-disk cache, first use.

numba compiles each kernel once per dtype and caches the machine code on disk (`cache=True`),
next to the kernel modules, or in a user cache folder when the package folder is read-only
(an installed package): NUMBA_CACHE_DIR must be set before numba is imported, so it is set here,
and only here is numba imported.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from types import SimpleNamespace

_lock = threading.Lock()
_loaded: dict[str, object] = {}
_importer: threading.Thread | None = None
_PACKAGE_DIR = Path(__file__).resolve().parent


def user_cache_dir() -> Path:
    """Where compiled kernels go when the package folder cannot be written."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nnctl" / "numba"


def _point_cache() -> None:
    """Set NUMBA_CACHE_DIR (unless the user did) when the package folder is read-only."""
    if "NUMBA_CACHE_DIR" in os.environ:
        return
    cache = _PACKAGE_DIR / "__pycache__"
    writable = os.access(cache if cache.is_dir() else _PACKAGE_DIR, os.W_OK)
    if not writable:
        os.environ["NUMBA_CACHE_DIR"] = str(user_cache_dir())


def cache_folder() -> Path:
    """Where numba keeps these kernels: NUMBA_CACHE_DIR/<folder name>_<sha1 of the folder path>
    (numba's layout for a user-given cache folder) when set, else the package's __pycache__."""
    _point_cache()
    given = os.environ.get("NUMBA_CACHE_DIR")
    if not given:
        return _PACKAGE_DIR / "__pycache__"
    folder = os.path.abspath(str(_PACKAGE_DIR))
    hashed = hashlib.sha1(folder.encode()).hexdigest()
    return Path(given) / f"{os.path.basename(folder)}_{hashed}"


def is_compiled() -> bool:
    """Whether an earlier run left compiled kernels in the cache (else the first use compiles
    them: seconds)."""
    folder = cache_folder()
    return folder.is_dir() and any(folder.glob("*_kernels.*.nbi"))


def load() -> SimpleNamespace:
    """The kernel modules (`.optimizer`, `.activation`), imported once per process."""
    kernels = _loaded.get("kernels")
    if kernels is not None:  # every step asks: no lock once loaded
        return kernels
    with _lock:
        if "kernels" not in _loaded:
            _point_cache()
            from nnctl.kernels import activation_kernels, optimizer_kernels

            _loaded["kernels"] = SimpleNamespace(
                optimizer=optimizer_kernels, activation=activation_kernels
            )
        return _loaded["kernels"]


def start_loading() -> None:
    """Import numba and the kernels on a thread (the data loads meanwhile); load() waits."""
    global _importer
    with _lock:
        if _importer is not None or "kernels" in _loaded:
            return
        _importer = threading.Thread(target=_load_quietly, name="nnctl-kernels", daemon=True)
        _importer.start()


def _load_quietly() -> None:
    try:
        warm_up(load())
    except Exception:  # load() on the main thread raises it again, where it is reported
        pass


def warm_up(kernels) -> None:
    """One tiny call: the first call into numba's cache sets up LLVM (~1.4 s measured), which
    this moves off the critical path when it runs on the loading thread."""
    import numpy as np

    one = np.ones(1, np.float32)
    kernels.activation.relu_backward(one, one.copy(), np.float32(1.0), np.float32(0.0))
