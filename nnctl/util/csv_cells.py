"""Text stays text in the CSV files nnctl writes.

A spreadsheet opening a CSV runs a cell that begins with `=`, `+`, `-` or `@` as a formula (and
some also after a leading tab or carriage return): an id or class label such as
`=HYPERLINK(...)` taken from a user's data would become live. `safe_cell` prefixes such a cell
with an apostrophe, which spreadsheets show as plain text. A cell that reads as a number
(`-0.5`, `+3`, `1e-05`, `-inf`) is left alone: it is data, not a formula, and the numbers nnctl
computes must stay numbers.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity|nan)", re.I)


def safe_cell(value):
    """`value` as written to a CSV cell: text that a spreadsheet would run as a formula gets a
    leading apostrophe; numbers, and text starting otherwise, are returned unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _NUMBER.fullmatch(value):
        return value
    return "'" + value


def safe_row(cells, enabled: bool = True) -> list:
    """safe_cell on every cell of a row (unchanged when `enabled` is False)."""
    return [safe_cell(cell) for cell in cells] if enabled else list(cells)
