"""Consoles for the two streams.

A live display (Rich progress bar, boxed tables) needs a terminal: the stream is a TTY and TERM
is not `dumb`. Colour needs that too, and NO_COLOR unset: NO_COLOR removes colour, never the live
bar (https://no-color.org). Everything else gets plain, greppable lines.
"""

from __future__ import annotations

import os
import sys


def is_live(stream=None) -> bool:
    """True when `stream` (default stderr) is a terminal that can redraw a line."""
    stream = stream or sys.stderr
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (ValueError, AttributeError):  # closed or not a real file
        return False


def use_colour(stream=None) -> bool:
    return is_live(stream) and "NO_COLOR" not in os.environ


def use_rich(stream=None) -> bool:
    """Rich output (live bar, boxed table) on `stream`: a terminal, coloured or not."""
    return is_live(stream)


def console_for(stream):
    from rich.console import Console

    live = is_live(stream)
    # color_system None: no escape codes for styles either (bold, italic), only the live
    # redraw; "auto" lets Rich pick what the terminal supports.
    return Console(
        file=stream,
        color_system="auto" if use_colour(stream) else None,
        highlight=False,
        force_terminal=live,
        soft_wrap=not live,
    )


def stderr_console():
    return console_for(sys.stderr)


def stdout_console():
    return console_for(sys.stdout)


def warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr, flush=True)


def route_warnings() -> None:
    """Python warnings read like nnctl's own: one `warning: ...` line on stderr, no source line.
    Set in the CLI process and in every compare worker, so both look the same."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        warn(str(message))

    warnings.showwarning = show
