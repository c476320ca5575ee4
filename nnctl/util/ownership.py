"""What nnctl may delete or replace: only folders it can recognise as its own, or empty ones.

Every folder nnctl makes for its output gets a small stamp file, `.nnctl`, holding the kind
("run", "comparison", "shards"). A folder is nnctl's own when its stamp names the expected kind,
or, for folders written before stamps existed, when its layout is one nnctl writes (a run
folder: config.yaml beside metrics.jsonl or checkpoints/, holding nothing else). Either way it
must hold only names nnctl writes there: a file a user added is never deleted with the rest.

Paths a user gives as an output folder (`--out`) are checked by `check_out_path`: the current
folder, the home folder, the file system root, a folder holding the current one, and a folder
holding (or being) the input data are refused before anything is written.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nnctl.errors import UsageError
from nnctl.util.input_files import check_output_path

STAMP_FILE = ".nnctl"
TEMP_FILE = re.compile(r"^\..+\.tmp$")  # an atomic write cut short (nnctl.util.atomic)
SHOWN = 5  # entries named in a refusal


def stamp(folder: str | os.PathLike, kind: str) -> None:
    """Mark `folder` as nnctl's own output of `kind` (written atomically)."""
    from nnctl.util.atomic import write_text

    write_text(Path(folder) / STAMP_FILE, json.dumps({"kind": kind}) + "\n")


def stamped_kind(folder: str | os.PathLike) -> str | None:
    """The kind the folder's stamp names; None without a readable stamp."""
    path = Path(folder) / STAMP_FILE
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > 4096:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def entries(folder: Path) -> list[str]:
    """The names in `folder`, sorted."""
    return sorted(entry.name for entry in os.scandir(folder))


def is_real_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def is_real_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


@dataclass(frozen=True)
class Layout:
    """How to recognise one kind of nnctl folder: `written_before_stamps(folder)` tells a folder
    of an nnctl that wrote no stamp; `foreign(folder)` lists the names in it nnctl does not
    write there (a stamp and cut-short temporary files are always nnctl's)."""

    kind: str
    written_before_stamps: Callable[[Path], bool]
    foreign: Callable[[Path], list[str]]


def _shown(names: list[str]) -> str:
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def check_replaceable(folder: str | os.PathLike, layout: Layout, option: str = "--force") -> None:
    """Return when nnctl may delete `folder` to write a new folder of `layout`'s kind there: it
    does not exist, is empty, or is nnctl's own folder of that kind holding only nnctl's files.
    UsageError otherwise, naming the folder and what it holds."""
    folder = Path(folder)
    kind = layout.kind
    if folder.is_symlink():
        raise UsageError(
            f"{folder}: is a symbolic link; {option} replaces only folders nnctl wrote"
        )
    if not folder.exists():
        return
    if not folder.is_dir():
        raise UsageError(
            f"{folder}: is a file, not a folder nnctl wrote; {option} does not replace it"
        )
    names = entries(folder)
    if not names:
        return
    found = stamped_kind(folder)
    if found is not None and found != kind:
        raise UsageError(
            f"{folder}: is an nnctl {found} folder, not a {kind} folder; {option} does not "
            "replace it (choose another folder)"
        )
    if found is None and not layout.written_before_stamps(folder):
        raise UsageError(
            f"{folder}: not a {kind} folder nnctl wrote (it holds {_shown(names)}); {option} "
            "replaces only nnctl's own folders or empty ones: choose another folder"
        )
    foreign = [
        name for name in layout.foreign(folder) if name != STAMP_FILE and not TEMP_FILE.match(name)
    ]
    if foreign:
        raise UsageError(
            f"{folder}: holds files nnctl did not write ({_shown(foreign)}); {option} does "
            "not delete them: move them away or choose another folder"
        )


def is_own(folder: str | os.PathLike, layout: Layout) -> bool:
    """True when nnctl may delete `folder` (see check_replaceable)."""
    try:
        check_replaceable(folder, layout)
    except UsageError:
        return False
    return True


def check_out_path(path: str | os.PathLike, option: str = "--out", inputs=()) -> Path:
    """`path` as an output folder, or UsageError when writing (or replacing) it could destroy
    what is not output: '', the current folder or one holding it, the home folder, the root,
    or a path that is, or holds, one of `inputs` (the source data)."""
    text = os.fspath(path)
    if not str(text).strip():
        raise UsageError(f"{option} '': expected a folder name, found an empty path")
    check_output_path(
        text, option, "a folder name"
    )  # a device, or a folder in /dev: refused by name
    real = Path(os.path.realpath(os.path.abspath(text)))
    here = Path(os.path.realpath(os.getcwd()))
    home = Path(os.path.realpath(os.path.expanduser("~")))
    if real == Path(real.anchor):
        raise UsageError(f"{option} {text}: the file system root; choose a new folder")
    # '~' reaches nnctl unexpanded when quoted: it still means the home folder to the user
    if real == home or Path(os.path.realpath(os.path.expanduser(text))) == home:
        raise UsageError(f"{option} {text}: the home folder; choose a new folder inside it")
    if real == here or real in here.parents:
        raise UsageError(
            f"{option} {text}: the current folder or one holding it; choose a new folder "
            "(e.g. runs/NAME)"
        )
    for source in inputs:
        source_real = Path(os.path.realpath(source))
        if real == source_real or real in source_real.parents:
            raise UsageError(
                f"{option} {text}: is or holds the input {source}; choose another folder"
            )
    return Path(text)


def inside(folder: str | os.PathLike, relative, what: str) -> Path:
    """folder/relative for a `relative` path read from one of nnctl's own files (plan.json):
    plain names joined by `/`, never a path that leads out of `folder` (absolute, `.`, `..`,
    an empty part, a backslash) nor one through a symbolic link. UsageError names `what`."""
    parts = relative.split("/") if isinstance(relative, str) else []
    if (
        not parts
        or any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts)
        or os.path.isabs(relative)
    ):
        raise UsageError(
            f"{what}: expected a folder name inside {folder} (names joined by /, no .. and "
            f"not absolute), found {relative!r}"
        )
    path = Path(folder)
    for part in parts:
        path = path / part
        if path.is_symlink():
            raise UsageError(f"{what}: {path} is a symbolic link; expected a folder nnctl wrote")
    return path
