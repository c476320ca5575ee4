"""What a path given as input must be before it is opened: an existing, regular file.

`os.stat` is asked before `open`, because opening a FIFO with no writer blocks forever, and a
device such as /dev/zero or /dev/urandom reports size 0 yet never ends: both are refused by
kind, with the path named. A symlink loop and a path through a regular file get their own words
instead of "not found".
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from nnctl.errors import UsageError, shown

_KINDS = (
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def stat_regular_file(
    path: str | os.PathLike, role: str, expected: str | None = None
) -> os.stat_result:
    """The stat of `path`, or a UsageError saying what it is instead of a regular file.

    role: how messages name the file ("data file", "checkpoint", "config file").
    expected: what the caller wants, for the "found a folder" message (default "a <role>")."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UsageError(f"{path}: {role} not found") from None
    except PermissionError:
        raise UsageError(f"{path}: {role} is not readable (permission denied)") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(
                f"{path}: {role}: the path is a symlink loop (too many levels of symbolic links)"
            ) from None
        if exc.errno == errno.ENOTDIR:
            raise UsageError(
                f"{path}: cannot read the {role}: a part of the path is a file, not a folder"
            ) from None
        if exc.errno == errno.ENAMETOOLONG:
            raise UsageError(f"{path!s:.80}...: {role}: the path is too long") from None
        raise UsageError(f"{path}: cannot read the {role} ({exc.strerror or exc})") from None
    except ValueError as exc:  # an embedded NUL byte in the path
        raise UsageError(f"{shown(path)}: {role}: not a usable path ({exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path}: expected {expected or 'a ' + role}, found a folder")
    for test, kind in _KINDS:
        if test(info.st_mode):
            raise UsageError(
                f"{path}: expected a regular file as the {role}, found {kind}; refused"
            )
    return info


# Folders of the system's device and process files: nothing nnctl writes belongs there, and an
# atomic write (a temporary beside the target, then a rename) would replace the device's entry.
# /dev/shm is an ordinary (memory) file system that users write to on purpose.
SYSTEM_FOLDERS = ("/dev", "/proc", "/sys")
WRITABLE_SYSTEM_FOLDERS = ("/dev/shm",)


def check_output_path(path: str | os.PathLike, role: str, expected: str = "a file name") -> None:
    """UsageError when writing `path` (a file or a folder nnctl creates) would write to, or
    replace, a device rather than make a file: a character or block device, a FIFO or a socket
    (also through a symlink, e.g. /dev/stdout when standard output is a pipe or a terminal), or
    any path in /dev, /proc or /sys (/dev/stdout redirected to a file included: the rename
    would replace the /dev/stdout link itself). role: how messages name it ("--out");
    expected: what it should be instead ("a file name", "a folder name")."""
    text = os.fspath(path)
    try:
        info = os.lstat(text)
    except (OSError, ValueError):
        info = None  # missing (a new file), or unusable: the write itself reports it
    if info is not None and stat.S_ISLNK(info.st_mode):
        try:
            info = os.stat(text)
        except (OSError, ValueError):
            info = None  # a dangling link
    if info is not None:
        for test, kind in _KINDS:
            if test(info.st_mode):
                raise UsageError(
                    f"{text}: {role}: expected {expected} to write, found {kind}; refused "
                    f"(nnctl writes regular files only: choose {expected})"
                )
    folder = os.path.realpath(os.path.dirname(os.path.abspath(text)))
    if any(_within(folder, shared) for shared in WRITABLE_SYSTEM_FOLDERS):
        return
    for system in SYSTEM_FOLDERS:
        if _within(folder, system):
            raise UsageError(
                f"{text}: {role}: a path in {system}, the system's device and process files; refused "
                f"(nnctl writes regular files only: choose {expected} elsewhere)"
            )


def _within(folder: str, top: str) -> bool:
    return folder == top or folder.startswith(top + os.sep)
