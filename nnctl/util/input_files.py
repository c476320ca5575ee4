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

from nnctl.errors import UsageError

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
        raise UsageError(f"{path!r}: {role}: not a usable path ({exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{path}: expected {expected or 'a ' + role}, found a folder")
    for test, kind in _KINDS:
        if test(info.st_mode):
            raise UsageError(
                f"{path}: expected a regular file as the {role}, found {kind}; refused"
            )
    return info
