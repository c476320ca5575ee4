"""Runs on machines that share no file system with this one (the Dask executor).

Here, before submitting: `files_to_ship` reads the files a run's config names (data.path and
its labels, data.val_path and its labels, model.init_from), as the run would find them on this
machine. Built-in datasets ship nothing: the worker generates them from the seed as any run does.

On the worker: `run_shipped` writes those files into a temporary folder, points a copy of the
config at them, trains into another temporary folder, and returns what the run folder holds:
metrics.jsonl as bytes, summary.json as a dict, each checkpoint as (arrays, meta).

Here again, as results arrive: `write_run_folder` writes the run folder under a hidden name and
renames it into place, so a comparison folder only ever holds complete runs. The files are the
ones a local run writes: config.yaml and the checkpoints' meta hold the config as resolved here
(this machine's paths), and summary.json and messages name this machine's run folder.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from nnctl.compare.plan import RunTask

PARTIAL_SUFFIX = ".partial"  # `.<folder>.<random>.partial`: a run folder being written
FILE_KEYS = (
    ("data", "path"),
    ("data", "labels_path"),
    ("data", "val_path"),
    ("data", "val_labels_path"),
    ("model", "init_from"),
)


@dataclass(frozen=True)
class ShippedFiles:
    """The files of a run's config: "data.path" -> (path on this machine, content)."""

    files: dict
    digest: str  # of every path and content: runs with equal digests share one scatter

    @property
    def n_bytes(self) -> int:
        return sum(len(content) for _, content in self.files.values())


def files_to_ship(task: RunTask, cache: dict | None = None) -> ShippedFiles | None:
    """The files task.cfg names, read from where a local run would open them; None when the
    run reads no file. A file missing here is not shipped: the run then fails on the worker
    with the same "not found" a local run gives. `cache` (path -> bytes) reads each file once."""
    from nnctl.training.prepare import locate_files

    cfg = task.cfg
    base_dir = Path(task.base_dir) if task.base_dir else None
    found: dict[str, Path] = {}
    for which, labels_key in (("path", "labels_path"), ("val_path", "val_labels_path")):
        if cfg["data"][which] is not None:
            path, labels = locate_files(cfg["data"], which, base_dir)
            found[f"data.{which}"] = path
            if labels:
                found[f"data.{labels_key}"] = Path(labels)
    if cfg["model"]["init_from"]:
        found["model.init_from"] = Path(cfg["model"]["init_from"])
    cache = {} if cache is None else cache
    files = {}
    for key, path in found.items():
        if path.is_file():
            if str(path) not in cache:
                cache[str(path)] = path.read_bytes()
            files[key] = (str(path), cache[str(path)])
    if not files:
        return None
    digest = hashlib.sha256()
    for key in sorted(files):
        digest.update(f"{key}\0{files[key][0]}\0".encode())
        digest.update(hashlib.sha256(files[key][1]).digest())
    return ShippedFiles(files, digest.hexdigest())


def run_shipped(task: RunTask, shipped: ShippedFiles | None) -> dict:
    """On the worker: train `task` on the shipped files; the result and the run folder's
    content (see the module's docstring). Paths of this worker are listed under "paths" so the
    client can name its own instead."""
    import warnings

    from nnctl.compare.one_run import execute

    with tempfile.TemporaryDirectory(prefix="nnctl-run-") as tmp:
        tmp = Path(tmp)
        cfg = copy.deepcopy(task.cfg)
        paths = {}  # this worker's path -> the client's
        for i, key in enumerate(sorted(shipped.files if shipped else {})):
            client_path, content = shipped.files[key]
            local = tmp / "data" / str(i) / Path(client_path).name  # the name keeps the suffix
            local.parent.mkdir(parents=True)
            local.write_bytes(content)
            section, name = key.split(".")
            cfg[section][name] = str(local)
            paths[str(local)] = client_path
        out = tmp / "out"
        out.mkdir()
        # Workers run one task per thread (--nthreads 1 is the advice); with more, a warning
        # of a run on another thread may be listed here too: harmless, it is only shown.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            result = execute(replace(task, cfg=cfg), str(out))
        run_dir = out / task.folder
        folder = _read_folder(run_dir) if run_dir.is_dir() else None
    return {
        "result": result,
        "folder": folder,
        "paths": paths,
        "run_dir": str(run_dir),
        "warnings": list(dict.fromkeys(str(w.message) for w in caught)),
    }


def _read_folder(run_dir: Path) -> dict:
    """relative path -> ("npz", (arrays, meta)) | ("summary", None) | ("bytes", content).
    config.yaml and summary.json are left out: the client writes its own (its paths)."""
    from nnctl.runs import checkpoint

    content = {}
    for path in sorted(run_dir.rglob("*")):
        if not path.is_file() or path.name.startswith("."):  # `.` files: unfinished writes
            continue
        rel = path.relative_to(run_dir).as_posix()
        if rel in ("config.yaml", "summary.json"):
            continue
        if path.suffix == ".npz" and rel.startswith("checkpoints/"):  # split.npz: bytes
            content[rel] = ("npz", checkpoint.load(path))
        else:
            content[rel] = ("bytes", path.read_bytes())
    return content


def _translate(text, renames: dict):
    if not isinstance(text, str):
        return text
    for there, here in renames.items():
        text = text.replace(there, here)
    return text


def write_run_folder(out_dir: Path, task: RunTask, payload: dict) -> dict:
    """Write the run folder out_dir/task.folder from a worker's payload, atomically (a hidden
    folder renamed into place); returns the run's result with this machine's paths."""
    from nnctl.errors import UsageError
    from nnctl.runs import checkpoint, run_folder
    from nnctl.util.atomic import _fsync_folder, atomic_open

    final = Path(out_dir) / task.folder
    # The run folder's path first: the data files live inside the worker's temporary folder.
    renames = {payload["run_dir"]: str(final), **payload["paths"]}
    result = dict(payload["result"])
    result["message"] = _translate(result.get("message"), renames)
    if result.get("summary") is not None:
        summary = dict(result["summary"])
        summary["run_dir"] = str(final)
        summary["message"] = _translate(summary.get("message"), renames)
        result["summary"] = summary
    if payload["folder"] is None:
        return result
    check_returned_files(payload["folder"], final)  # before anything is written
    base_dir = None if task.base_dir is None else str(Path(task.base_dir).resolve())
    tmp = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".{task.folder}.", suffix=PARTIAL_SUFFIX))
    try:
        (tmp / "checkpoints").mkdir()
        cfg = _config_as_run(task.cfg, payload["folder"])
        run_folder.write_config(tmp, cfg)
        if result.get("summary") is not None:
            run_folder.write_summary(tmp, result["summary"])
        for rel, (kind, value) in payload["folder"].items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if kind == "npz":
                arrays, meta = value
                checkpoint.save(target, arrays, {**meta, "config": cfg, "base_dir": base_dir})
            else:
                with atomic_open(target, "wb") as handle:
                    handle.write(value)
        try:
            os.rename(tmp, final)
        except OSError as exc:
            raise UsageError(
                f"{final}: cannot put the finished run there ({exc.strerror}); "
                "is the folder in use?"
            ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_folder(Path(out_dir))
    return result


def _config_as_run(planned: dict, folder: dict) -> dict:
    """The planned config with what train.kernels `auto` became on the worker (numpy or numba,
    from the run's last.npz), as a local run records it. Only that key is taken from the worker:
    the choice never changes a number (the compiled loops give NumPy's bits)."""
    try:
        ran = folder["checkpoints/last.npz"][1][1]["config"]["train"]["kernels"]
    except (KeyError, IndexError, TypeError):
        return planned
    if ran not in ("numpy", "numba"):
        return planned
    return {**planned, "train": {**planned["train"], "kernels": ran}}


def returned_file_kind(rel) -> str | None:
    """The kind ("npz" or "bytes") a worker's file `rel` must come as, or None when `rel` is
    not a name training writes into a run folder. The names come from run_folder's lists:
    metrics.jsonl and split.npz as bytes, checkpoints/last.npz and best.npz as checkpoints,
    and plain file names inside a produced folder (tb/: TensorBoard names its own files)."""
    from nnctl.runs.run_folder import CHECKPOINT_FILES, PRODUCED_FOLDERS, RUN_FILES

    if not isinstance(rel, str) or "\\" in rel or "\0" in rel:
        return None
    parts = rel.split("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return None
    if len(parts) == 1 and rel in RUN_FILES and rel not in (*CLIENT_WRITTEN, "checkpoints"):
        return "bytes"
    if len(parts) == 2 and parts[0] == "checkpoints" and parts[1] in CHECKPOINT_FILES:
        return "npz"
    if len(parts) == 2 and parts[0] in PRODUCED_FOLDERS:
        return "bytes"
    return None


CLIENT_WRITTEN = ("config.yaml", "summary.json")  # the client writes these itself (its paths)


def check_returned_files(folder, final: Path) -> None:
    """UsageError naming the first file of a worker's payload that a run folder does not hold
    (a path out of the folder, a hidden or unknown name, a checkpoint sent as bytes): files a
    worker returns are written only under their own run folder, by names nnctl expects."""
    from nnctl.errors import UsageError, shown

    if not isinstance(folder, dict):
        raise UsageError(
            f"{final}: the Dask worker returned no list of run files (found a "
            f"{type(folder).__name__}); refused"
        )
    for rel, item in folder.items():
        expected = returned_file_kind(rel)
        kind = item[0] if isinstance(item, (tuple, list)) and len(item) == 2 else None
        if expected is None or kind != expected:
            what = "a name training does not write" if expected is None else f"not {expected}"
            raise UsageError(
                f"{final}: the Dask worker returned the file {shown(rel)} ({what}); refused "
                "(a run folder holds metrics.jsonl, split.npz, checkpoints/last.npz, "
                "checkpoints/best.npz and tb/)"
            )


def remove_partial_folders(out_dir: Path) -> None:
    """Hidden run folders a client stopped while writing them (never read, only in the way)."""
    for path in Path(out_dir).glob(f".*{PARTIAL_SUFFIX}"):
        shutil.rmtree(path, ignore_errors=True)
