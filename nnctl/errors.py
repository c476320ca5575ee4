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


def closest(word: str, choices) -> str:
    """' (did you mean "x"?)' for the closest choice, or '' when nothing is close."""
    import difflib

    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f' (did you mean "{match[0]}"?)' if match else ""


def unknown_name(kind: str, name, choices, where: str = "") -> UsageError:
    """The one error text for an unknown registry name, with a suggestion and the choices."""
    prefix = f"{where}: " if where else ""
    listing = ", ".join(sorted(str(c) for c in choices))
    return UsageError(f"{prefix}unknown {kind} {name!r}{closest(name, choices)}; expected one of: {listing}")
