"""Checkpoints: one `.npz` loadable with `numpy.load(allow_pickle=False)`.

Arrays: the model's parameters under their names (`linear0.weight` as [in, out], `linear0.bias`,
`batchnorm0.gamma`, ...), its buffers (`batchnorm0.running_mean`, ...), optimizer state under
`optim.*`, the batch order under `data.*`; and `meta`, a JSON string holding the resolved
config, epoch, step, RNG states, scaling statistics, class labels, schedule and early-stopping
state, and the nnctl and format versions.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from nnctl import CHECKPOINT_FORMAT, __version__
from nnctl.atomic import atomic_open
from nnctl.errors import UsageError

MAX_CHECKPOINT_BYTES = 4 << 30


def save(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> None:
    meta = {**meta, "format_version": CHECKPOINT_FORMAT, "nnctl_version": __version__}
    payload = {name: np.ascontiguousarray(value) for name, value in arrays.items()}
    payload["meta"] = np.array(json.dumps(meta))
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **payload)


def load(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) of an nnctl checkpoint; UsageError for anything else."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: checkpoint not found")
    if path.is_dir():
        raise UsageError(f"{path}: expected a checkpoint file (.npz), found a folder")
    if path.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise UsageError(f"{path}: larger than {MAX_CHECKPOINT_BYTES >> 30} GiB; refused")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise UsageError(f"{path}: holds object arrays, which would need pickle to load; "
                             "refused (nnctl checkpoints never do)") from None
        raise UsageError(f"{path}: not a readable .npz checkpoint ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise UsageError(f"{path}: not a readable .npz checkpoint (truncated or corrupt: {exc})") from None
    if "meta" not in arrays:
        raise UsageError(f"{path}: not an nnctl checkpoint (no 'meta' entry); to warm-start from "
                         "plain parameter arrays use model.init_from")
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except (json.JSONDecodeError, TypeError):
        raise UsageError(f"{path}: not an nnctl checkpoint ('meta' is not JSON)") from None
    if not isinstance(meta, dict) or "format_version" not in meta:
        raise UsageError(f"{path}: not an nnctl checkpoint ('meta' has no format_version)")
    if meta["format_version"] > CHECKPOINT_FORMAT:
        raise UsageError(f"{path}: checkpoint format {meta['format_version']} is newer than this "
                         f"nnctl ({__version__}) reads (format {CHECKPOINT_FORMAT}); upgrade nnctl")
    return arrays, meta


def load_parameter_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Parameter arrays from an nnctl checkpoint or any .npz holding them by name (init_from)."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{path}: model.init_from file not found")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {n: archive[n] for n in archive.files if n != "meta" and not n.startswith(("optim.", "data."))}
    except ValueError as exc:
        raise UsageError(f"{path}: model.init_from: cannot load without pickle ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"{path}: model.init_from: not a readable .npz ({exc})") from None


def find_checkpoint(run_or_ckpt: str | os.PathLike, prefer: str = "best") -> Path:
    """A run folder means its checkpoints/<prefer>.npz (falling back to last.npz)."""
    path = Path(run_or_ckpt)
    if path.is_dir():
        for name in (prefer, "last", "best"):
            candidate = path / "checkpoints" / f"{name}.npz"
            if candidate.exists():
                return candidate
        raise UsageError(f"{path}: not a run folder with checkpoints/{prefer}.npz or last.npz")
    if not path.exists():
        raise UsageError(f"{path}: no such run folder or checkpoint")
    return path
