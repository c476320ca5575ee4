"""Numbers and choices typed on the command line, read with nnctl's messages.

Given to options as Typer's documented `parser=`: a malformed value is a usage error (exit 2)
naming the option, what it expects and what was typed ("Invalid value for '--jobs' / '-j':
expected an integer, found 'two'"), whichever Typer version does the parsing. A parser may also
receive the option's default, which it returns as it is.
"""

from __future__ import annotations

import typer


def whole_number(value) -> int:
    """An integer: `3`, ` 4 `, `-2`; not `1.5` or `two`."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise typer.BadParameter(f"expected an integer, found {value!r}") from None


def real_number(value) -> float:
    """A number: `0.5`, `1e-3`, `3`, `inf`; not `abc` or `1,5`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise typer.BadParameter(f"expected a number, found {value!r}") from None


def choice_of(*choices: str):
    """A parser for one of the words `choices` (`--split val`), matched exactly."""

    def parse(value) -> str:
        if value in choices:
            return value
        expected = ", ".join(repr(choice) for choice in choices)
        raise typer.BadParameter(f"{value!r} is not one of {expected}.")

    return parse


def completion_of(*choices: str):
    """The shell completion of an option that takes one of `choices`."""

    def complete(incomplete: str) -> list[str]:
        return [choice for choice in choices if choice.startswith(incomplete)]

    return complete
