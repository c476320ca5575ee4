"""Numbers and choices typed on the command line, read with nnctl's messages.

Given to options as Typer's documented `parser=`: a malformed value is a usage error (exit 2)
naming the option, what it expects and what was typed ("Invalid value for '--jobs' / '-j':
expected an integer, found 'two'"), whichever Typer version does the parsing. A parser also
receives the option's default (a number or an Enum member), which it returns as it is.
"""

from __future__ import annotations

from enum import Enum

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


def choice_of(kind: type[Enum]):
    """A parser for a member of the string Enum `kind`, typed as its value (`--split val`)."""

    def parse(value) -> Enum:
        if isinstance(value, kind):
            return value
        try:
            return kind(str(value))
        except ValueError:
            expected = ", ".join(repr(member.value) for member in kind)
            raise typer.BadParameter(f"{value!r} is not one of {expected}.") from None

    parse.__name__ = kind.__name__.lower()
    return parse
