"""Memory-mapped data files must not change under a run.

A `.npy` file (or a shard of a folder) is memory-mapped: its bytes are read when a block of rows
is handed out, long after the file was opened. A file truncated meanwhile makes that read touch
a page past its new end, and the kernel kills the process with SIGBUS (exit 135, no message); a
file rewritten in place silently feeds other numbers into the same run.

`watch(path)` records the file's identity (device, inode, size, modification time) when it is
opened; `check_unchanged(path)` compares it again just before each block is read and raises a
UsageError naming the file and what changed. One `os.stat` per block read: small beside the
read itself.

What remains (honestly): the check and the read are two steps. A truncation that lands after
the check and during that block's read still ends in SIGBUS. A Python signal handler cannot turn
it into a message: the faulting load in C code re-executes when the handler returns, so the
process would fault forever. The window is one block's read; keep the data still, or train on a
copy, while a run reads it.
"""

from __future__ import annotations

import os
import time

_IDENTITY: dict[str, tuple[int, int, int, int]] = {}  # path -> (dev, inode, size, mtime_ns)


def _identity(path: str) -> tuple[int, int, int, int]:
    info = os.stat(path)
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def watch(path: str | os.PathLike) -> None:
    """Remember `path`'s identity as it is now (call it right after mapping the file)."""
    key = os.fspath(path)
    try:
        _IDENTITY[key] = _identity(key)
    except OSError:
        _IDENTITY.pop(key, None)  # cannot stat: the open itself reports the problem


def forget(path: str | os.PathLike) -> None:
    _IDENTITY.pop(os.fspath(path), None)


def forget_folder(folder: str | os.PathLike) -> None:
    """Stop watching every file inside `folder`: for nnctl's own scratch files, removed on
    purpose once mapped (their pages stay; with no name left nothing else can change them)."""
    prefix = os.path.join(os.fspath(folder), "")
    for key in [key for key in _IDENTITY if key.startswith(prefix)]:
        del _IDENTITY[key]


def check_unchanged(path: str | os.PathLike) -> None:
    """UsageError when the watched file at `path` was truncated, grown, rewritten, replaced or
    removed since `watch(path)`; nothing for a path that is not watched."""
    key = os.fspath(path)
    before = _IDENTITY.get(key)
    if before is None:
        return
    try:
        now = _identity(key)
    except OSError as exc:
        change = f"it can no longer be read ({exc.strerror or exc})"
        if isinstance(exc, FileNotFoundError):
            change = "it was removed or renamed"
        raise _changed(key, change) from None
    if now != before:
        raise _changed(key, describe_change(before, now))


def describe_change(before: tuple, now: tuple) -> str:
    """'its size went from 8128 to 4032 bytes', 'it was replaced by another file', ..."""
    if now[:2] != before[:2]:
        return "it was replaced by another file"
    if now[2] != before[2]:
        return f"its size went from {before[2]} to {now[2]} bytes"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now[3] / 1e9))
    return f"it was rewritten (modified at {stamp}, same size)"


def _changed(path: str, change: str):
    from nnctl.errors import UsageError

    forget(path)  # reported once; a caller that goes on must open the file again
    return UsageError(
        f"{path}: the memory-mapped data file changed during the run: {change}; nnctl reads "
        "it block by block, so it must stay as it was: restore it (or train on a copy) and "
        "run again"
    )
