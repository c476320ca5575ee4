"""The stderr console: colour only on a terminal and when NO_COLOR is unset."""

from __future__ import annotations

import os
import sys


def use_rich(stream=None) -> bool:
    stream = stream or sys.stderr
    return stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def stderr_console():
    from rich.console import Console

    rich_ok = use_rich()
    return Console(stderr=True, no_color=not rich_ok, highlight=False,
                   force_terminal=rich_ok, soft_wrap=not rich_ok)


def warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr, flush=True)


def route_warnings() -> None:
    """Python warnings read like nnctl's own: one `warning: ...` line on stderr, no source line.
    Set in the CLI process and in every compare worker, so both look the same."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        warn(str(message))

    warnings.showwarning = show
