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
from pathlib import Path

import numpy as np

from nnctl import CHECKPOINT_FORMAT, __version__
from nnctl.errors import UsageError
from nnctl.util.atomic import atomic_open
from nnctl.util.input_files import stat_regular_file

MAX_CHECKPOINT_BYTES = 4 << 30


def save(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict) -> None:
    meta = {**meta, "format_version": CHECKPOINT_FORMAT, "nnctl_version": __version__}
    # np.asarray, not np.ascontiguousarray: that one turns 0-d arrays (step counters) into 1-d.
    payload = {name: np.asarray(value) for name, value in arrays.items()}
    payload["meta"] = np.array(json.dumps(meta))
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **payload)


ZIP_MAGIC = b"PK\x03\x04"  # an .npz is a zip archive of .npy files


def _read_npz(path: Path, role: str) -> dict[str, np.ndarray]:
    """Every array of the .npz at `path`, loaded without pickle; UsageError naming `role`
    ("checkpoint", "model.init_from") for anything that is not a readable .npz of plain arrays."""
    size = stat_regular_file(path, role, f"a {role} file (.npz)").st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise UsageError(f"{path}: {role} is larger than {MAX_CHECKPOINT_BYTES >> 30} GiB; refused")
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(ZIP_MAGIC))
    except OSError as exc:
        raise UsageError(f"{path}: {role} cannot be read ({exc.strerror})") from None
    if head != ZIP_MAGIC:
        found = (
            "an empty file"
            if size == 0
            else ".npy data"
            if head.startswith(b"\x93NUM")
            else "other data"
        )
        raise UsageError(
            f"{path}: {role} is not a readable .npz (a zip archive of arrays); found {found}"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise UsageError(
                f"{path}: {role} holds object arrays, which would need pickle to load; "
                "refused (nnctl checkpoints never do)"
            ) from None
        raise UsageError(f"{path}: {role} is not a readable .npz ({exc})") from None
    except MemoryError:
        raise UsageError(
            f"{path}: {role} declares arrays too large to load (corrupt?); refused"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a hostile file must not escape as a traceback
        # Zip-level damage reaches us as whatever zipfile raises: BadZipFile, and also
        # NotImplementedError (an unknown compression method), RuntimeError (the encrypted flag),
        # zlib.error, EOFError, OSError, struct.error, KeyError, ...
        raise UsageError(
            f"{path}: {role} is not a readable .npz (truncated or corrupt: {_reason(exc)})"
        ) from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text:.160}" if text else type(exc).__name__


def load(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) of an nnctl checkpoint; UsageError for anything else."""
    path = Path(path)
    arrays = _read_npz(path, "checkpoint")
    if "meta" not in arrays:
        raise UsageError(
            f"{path}: not an nnctl checkpoint (no 'meta' entry); to warm-start from "
            "plain parameter arrays use model.init_from"
        )
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except (json.JSONDecodeError, TypeError, ValueError):
        raise UsageError(f"{path}: not an nnctl checkpoint ('meta' is not JSON)") from None
    if not isinstance(meta, dict) or "format_version" not in meta:
        raise UsageError(f"{path}: not an nnctl checkpoint ('meta' has no format_version)")
    version = meta["format_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise UsageError(
            f"{path}: not an nnctl checkpoint (format_version {version!r} is not a number)"
        )
    if version > CHECKPOINT_FORMAT:
        raise UsageError(
            f"{path}: checkpoint format {version} is newer than this "
            f"nnctl ({__version__}) reads (format {CHECKPOINT_FORMAT}); upgrade nnctl"
        )
    for key, kind in (
        ("config", dict),
        ("n_features", int),
        ("n_outputs", int),
        ("task", str),
        ("dtype", str),
    ):
        if not isinstance(meta.get(key), kind):
            raise UsageError(
                f"{path}: not a usable nnctl checkpoint (meta.{key} is missing or not "
                f"a {kind.__name__})"
            )
    return arrays, meta


def load_parameter_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Parameter arrays from an nnctl checkpoint or any .npz holding them by name (init_from)."""
    arrays = _read_npz(Path(path), "model.init_from")
    return {
        n: v
        for n, v in arrays.items()
        if n != "meta" and not n.startswith(("optim.", "data.", "best."))
    }


def find_checkpoint(run_or_ckpt: str | os.PathLike, prefer: str = "best") -> Path:
    """A run folder means its checkpoints/<prefer>.npz (falling back to last.npz)."""
    path = Path(run_or_ckpt)
    if path.is_dir():
        for name in (prefer, "last", "best"):
            candidate = path / "checkpoints" / f"{name}.npz"
            if candidate.exists():
                return candidate
        raise UsageError(f"{path}: not a run folder with checkpoints/{prefer}.npz or last.npz")
    if not path.exists() and not path.is_symlink():  # a symlink loop is named when it is read
        raise UsageError(f"{path}: no such run folder or checkpoint")
    return path
