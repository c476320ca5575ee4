"""Error types that map to the exit codes of the CLI contract.

Library code raises these with a message that names the file, the key path or the row/column,
what was expected and what was found; the CLI prints the message (no traceback) and exits.
"""


class NnctlError(Exception):
    """Base class; `exit_code` is what the CLI returns."""

    exit_code = 2


class UsageError(NnctlError):
    """Bad usage, config, data or checkpoint: exit 2."""

    exit_code = 2


class TrainingFailed(NnctlError):
    """Training could not go on (diverged, non-finite loss): exit 1. `summary` is the run's
    summary.json content once it is written (the CLI prints it with --json)."""

    exit_code = 1
    summary: dict | None = None


class Interrupted(NnctlError):
    """SIGINT/SIGTERM stopped training between two steps: the state was saved and the run can
    be resumed (nnctl.resume, `nnctl train --resume`); exit 130. `by_signal`: a real signal
    stopped the run (the CLI then keeps ignoring late ones until the process exits)."""

    exit_code = 130

    def __init__(self, message: str, by_signal: bool = False):
        super().__init__(message)
        self.by_signal = by_signal


def shown(value) -> str:
    """A value as a message shows it to a person: text quoted ('abc'), numbers as written (nan,
    3, 0.5), paths as their text, containers of these likewise; never a NumPy or Path repr such
    as np.float64(nan), np.int64(3), array([1, 2]) or PosixPath('x')."""
    return repr(_plain(value))


def _plain(value):
    """`value` with NumPy scalars and arrays as Python numbers / lists, paths as strings."""
    import os

    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # a NumPy scalar or array
        return _plain(value.tolist())
    return value


def closest(word: str, choices) -> str:
    """' (did you mean "x"?)' for the closest choice, or '' when nothing is close."""
    import difflib

    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f' (did you mean "{match[0]}"?)' if match else ""


def unknown_name(kind: str, name, choices, where: str = "") -> UsageError:
    """The one error text for an unknown registry name, with a suggestion and the choices."""
    prefix = f"{where}: " if where else ""
    listing = ", ".join(sorted(str(c) for c in choices))
    return UsageError(
        f"{prefix}unknown {kind} {shown(name)}{closest(name, choices)}; expected one of: {listing}"
    )


def os_error_text(exc: OSError, action: str = "") -> str:
    """'PATH: cannot write (No space left on device)' for an OSError, naming its file(s).

    `action` ("cannot write", "cannot read", ...) says what was being done, when known."""
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    reason = exc.strerror or str(exc) or type(exc).__name__
    what = f"{action} ({reason})" if action else reason
    return f"{' -> '.join(paths)}: {what}" if paths else what


def write_failed(path, exc: OSError) -> UsageError:
    """The one error for a write the OS refused (full disk, read-only folder, not a folder):
    'runs/x/summary.json: cannot write (No space left on device)'."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    culprit = exc.filename
    if culprit is not None and str(culprit) != str(path) and not str(culprit).endswith(".tmp"):
        reason = f"{reason}: {culprit}"  # a parent that is a file, a folder that is read-only
    return UsageError(f"{path}: cannot write ({reason})")
