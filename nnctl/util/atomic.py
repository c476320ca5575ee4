"""Durable writes: a temporary file in the same folder, flushed, fsynced, then renamed over the
target, so a crash mid-write leaves either the old file or the new one, never a torn one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from nnctl.errors import write_failed
from nnctl.util.input_files import check_output_path

TEMP_SUFFIX = ".tmp"  # temporary files are ".<name>.<random><TEMP_SUFFIX>" beside the target


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb"):
    """`with atomic_open(p, "w") as f: f.write(...)`: p appears complete or not at all."""
    path = Path(path)
    check_output_path(path, "output file")  # never a device, nor a rename over /dev/stdout
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    except OSError as exc:  # read-only or missing folder, a file where the folder should be
        raise write_failed(path, exc) from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; follow the umask as open() does
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            # A full disk mid-write: the old file (if any) is untouched, the temporary is gone.
            raise write_failed(path, exc) from None
        raise
    _fsync_folder(path.parent)


def _umask() -> int:
    """The process umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def append_line(path: str | os.PathLike, line: str) -> None:
    """Append one line. A crash can at worst leave a partial last line, which readers drop;
    the checkpoint records how many lines belong to the run, so a resume truncates to it."""
    check_output_path(path, "output file")
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line.rstrip("\n") + "\n")
    except OSError as exc:
        raise write_failed(path, exc) from None
