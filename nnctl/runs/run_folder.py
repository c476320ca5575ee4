"""The run folder contract: config.yaml, metrics.jsonl, summary.json, split.npz,
checkpoints/{last,best}.npz."""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from nnctl.errors import UsageError, write_failed
from nnctl.util import ownership
from nnctl.util.atomic import TEMP_SUFFIX, append_line, atomic_open, write_text
from nnctl.util.input_files import stat_regular_file

SPLIT_FILE = "split.npz"
RUN_FILES = ("config.yaml", "metrics.jsonl", "summary.json", SPLIT_FILE, "checkpoints")
CHECKPOINT_FILES = ("last.npz", "best.npz")
# What other nnctl commands write into a run folder by default: `plot RUN` (curves.png,
# boundary.png/.json, weights.png/.json), `export RUN` (model.onnx/.npz/.json) and the
# TensorBoard log (tb/). Still nnctl's own: --force replaces them with the run they describe.
PRODUCED_FILES = (
    *(f"{name}.{ext}" for name in ("boundary", "weights") for ext in ("png", "json")),
    "curves.png",
    *(f"model.{ext}" for ext in ("onnx", "npz", "json")),
)
PRODUCED_FOLDERS = ("tb",)


def _written_by_nnctl(folder: Path) -> bool:
    """A run folder has config.yaml beside metrics.jsonl or checkpoints/ (no stamp: the run
    folder's files are a contract scripts glob, and runs of every nnctl version look alike)."""
    return ownership.is_real_file(folder / "config.yaml") and (
        ownership.is_real_file(folder / "metrics.jsonl")
        or ownership.is_real_folder(folder / "checkpoints")
    )


def _not_run_files(folder: Path) -> list[str]:
    """Names in a run folder (and its checkpoints/) that training does not write."""
    foreign = []
    for name in ownership.entries(folder):
        path = folder / name
        if name == "checkpoints" and ownership.is_real_folder(path):
            foreign += [
                f"checkpoints/{inner}"
                for inner in ownership.entries(path)
                if not ownership.is_real_file(path / inner)
                or (inner not in CHECKPOINT_FILES and not ownership.TEMP_FILE.match(inner))
            ]
        elif name in PRODUCED_FOLDERS and ownership.is_real_folder(path):
            continue  # written by nnctl's own writer (tensorboardX): its names are not ours to list
        elif (
            name not in (*RUN_FILES, *PRODUCED_FILES)
            or name == "checkpoints"
            or not ownership.is_real_file(path)
        ):
            foreign.append(name)
    return foreign


RUN_LAYOUT = ownership.Layout("run", _written_by_nnctl, _not_run_files)


def is_own_run_folder(folder: str | os.PathLike) -> bool:
    """True when `folder` is empty or a run folder holding only what training writes: one
    nnctl may delete (a comparison's unfinished run, `--force`)."""
    return ownership.is_own(folder, RUN_LAYOUT)


def refuse_links(run_dir: str | os.PathLike, what: str = "--resume") -> None:
    """UsageError when a file or folder the run writes into (checkpoints/, its checkpoints,
    metrics.jsonl, ...) is a symbolic link: nnctl never writes through a link that leads
    elsewhere (found by the long adversarial mode: a resume rewrote the checkpoints a linked
    checkpoints/ pointed to, outside the run folder)."""
    names = (*RUN_FILES, *(f"checkpoints/{name}" for name in CHECKPOINT_FILES))
    for name in names:
        path = Path(run_dir) / name
        if path.is_symlink():
            raise UsageError(
                f"{path}: is a symbolic link (to {os.readlink(path)}); {what} writes the "
                "run's files in place, never through a link: put the real file or folder there"
            )


def default_dir(config_path: str | Path | None, cfg: dict) -> Path:
    if cfg["output"]["dir"]:
        from nnctl.runs.out_template import fill

        return Path(fill(cfg["output"]["dir"], cfg))
    stem = Path(config_path).stem if config_path and str(config_path) != "-" else "run"
    return Path("runs") / stem


def create(path: Path, force: bool = False, unique: bool = True) -> Path:
    """Make the run folder, locked for this process (see `lock`). An existing non-empty one is
    never overwritten silently: with `unique` a suffix -2, -3, ... is added; with `force` the
    old run files are removed first, when the folder is a run folder holding nothing else
    (refused while another process writes them). The current folder, the home folder, the
    root and folders holding the current one are refused (ownership.check_out_path)."""
    path = ownership.check_out_path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: exists and is not a folder; choose another --out")
    if path.exists() and any(path.iterdir()):
        if force:
            lock(path)  # first: another nnctl still writing it is "in use", not "foreign"
            ownership.check_replaceable(path, RUN_LAYOUT)
            for name in (*RUN_FILES, *PRODUCED_FILES, *PRODUCED_FOLDERS):
                target = path / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        elif unique:
            n = 2
            while (candidate := path.with_name(f"{path.name}-{n}")).exists():
                n += 1
            path = candidate
        else:
            raise UsageError(
                f"{path}: run folder exists and is not empty; use --force to replace it"
            )
    try:
        (path / "checkpoints").mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # read-only, full, or a file where a parent folder should be
        raise write_failed(path, exc) from None
    lock(path)
    return path


_locked: dict[str, int] = {}  # real path of a run folder -> the descriptor holding its lock


def lock(run_dir: str | os.PathLike, what: str = "run folder") -> None:
    """Hold an exclusive lock on the run folder until this process ends, or UsageError when
    another process holds it ("in use"): two trainings never write one folder.

    The lock is flock(2) on the folder itself (no lock file joins the run's files): the OS
    drops it when the process dies, even by SIGKILL, so a killed run can be resumed at once.
    Where flock does not exist (Windows) this is a no-op."""
    if fcntl is None:
        return
    key = os.path.realpath(run_dir)
    if key in _locked:
        return
    try:
        fd = os.open(run_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise UsageError(f"{run_dir}: cannot open the {what} ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise UsageError(
                f"{run_dir}: {what} in use by another nnctl process; wait for "
                "it to finish (or stop it, then --resume) or choose another "
                "--out"
            ) from None
        return  # a file system without flock (some network mounts): run unlocked, as before
    _locked[key] = fd


def unlock(run_dir: str | os.PathLike | None = None) -> None:
    """Release this process's lock on `run_dir` (all its locks when None): for a long-lived
    process that trains many runs one after another (a comparison, a test session)."""
    keys = list(_locked) if run_dir is None else [os.path.realpath(run_dir)]
    for key in keys:
        fd = _locked.pop(key, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock


def remove_stale_temp_files(run_dir: Path) -> list[Path]:
    """Delete the temporary files (`.NAME.XXXX.tmp`, see nnctl.util.atomic) that writes cut short by
    a crash left in the run folder and its checkpoints; the real files are never touched."""
    removed = []
    for folder in (Path(run_dir), Path(run_dir) / "checkpoints"):
        if folder.is_dir():
            for path in folder.glob(f".*{TEMP_SUFFIX}"):
                try:
                    path.unlink()
                    removed.append(path)
                except OSError:
                    pass
    return removed


def _finite(value):
    """JSON has no NaN/inf: write them as null so every reader (jq, JS) can parse the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def to_json(obj, **kwargs) -> str:
    return json.dumps(_finite(obj), allow_nan=False, **kwargs)


def append_metrics(run_dir: Path, row: dict) -> None:
    append_line(run_dir / "metrics.jsonl", to_json(row))


def read_metrics(run_dir: Path) -> list[dict]:
    """Rows of metrics.jsonl; a partial last line (a crash mid-append) is dropped."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    stat_regular_file(path, "metrics file")  # a FIFO planted in a run folder would hang here
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def truncate_metrics(run_dir: Path, n_rows: int) -> None:
    """Keep the first n_rows rows (those the checkpoint being resumed had seen)."""
    rows = read_metrics(run_dir)[:n_rows]
    write_text(Path(run_dir) / "metrics.jsonl", "".join(to_json(r) + "\n" for r in rows))


def write_summary(run_dir: Path, summary: dict) -> None:
    write_text(Path(run_dir) / "summary.json", to_json(summary, indent=2) + "\n")


def write_config(run_dir: Path, cfg: dict) -> None:
    from nnctl.config import dump_yaml

    write_text(Path(run_dir) / "config.yaml", dump_yaml(cfg))


def write_split(run_dir: Path, data) -> None:
    """split.npz: the run's train and validation rows as 0-based row numbers of the source
    table (int64 arrays `train` and `val`; `val_from_file` 1 when the validation rows are those
    of data.val_path), so another tool can rebuild the same split."""
    import numpy as np

    if data.train_rows is None:
        return
    with atomic_open(Path(run_dir) / SPLIT_FILE) as handle:
        np.savez(
            handle,
            train=np.asarray(data.train_rows, dtype=np.int64),
            val=np.asarray(data.val_rows, dtype=np.int64),
            val_from_file=np.int64(data.val_from_file),
        )


def read_split(run_dir: Path):
    """(train_rows, val_rows) recorded in a run folder, or None when it has no split.npz (a run
    folder of an older nnctl) or its validation rows come from data.val_path."""
    import numpy as np

    path = Path(run_dir) / SPLIT_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            train, val = archive["train"], archive["val"]
            from_file = bool(archive["val_from_file"])
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"{path}: not a readable split record ({exc})") from None
    if train.dtype != np.int64 or val.dtype != np.int64 or train.ndim != 1 or val.ndim != 1:
        raise UsageError(f"{path}: expected int64 row arrays 'train' and 'val'")
    return None if from_file else (train, val)
