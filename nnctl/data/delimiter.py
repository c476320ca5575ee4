"""Which character separates the fields of a text table: `,` `;` tab or `|`.

European spreadsheets write `;` (the comma is their decimal mark), databases dump `|` or tab.
The guess reads the first lines only: the delimiter is the candidate that splits every line
(outside quotes) into the same number of fields, more than one; ties go to the order of
CANDIDATES. A `.tsv` name means tab whatever the content.
"""

from __future__ import annotations

import csv

from nnctl.errors import UsageError

CANDIDATES = (",", ";", "\t", "|")
NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SNIFF_LINES = 20
ALIASES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}


def parse_delimiter(value: str, where: str = "data.delimiter") -> str | None:
    """None for "auto", else the one character `value` names (",", "tab", "\\t", ";", "|")."""
    if value == "auto":
        return None
    char = ALIASES.get(value, value)
    if len(char) != 1 or char in '"\r\n':
        raise UsageError(
            f"{where}: expected auto, one character (, ; | or tab) or its name, found {value!r}"
        )
    return char


def _field_counts(lines: list[str], delimiter: str) -> list[int]:
    try:
        return [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
    except csv.Error:
        return []


def sniff_delimiter(lines: list[str], file_name: str = "") -> str:
    """The delimiter of a table whose first lines are `lines` (see the module docstring)."""
    if file_name.lower().endswith((".tsv", ".tsv.gz")):
        return "\t"
    lines = [line for line in lines[:SNIFF_LINES] if line.strip()]
    best, best_fields = ",", 1
    for candidate in CANDIDATES:
        counts = _field_counts(lines, candidate)
        # A quoted field may span lines, so rows can be fewer than lines; what matters is
        # that every row agrees with the header.
        if counts and counts[0] > best_fields and all(c == counts[0] for c in counts):
            best, best_fields = candidate, counts[0]
            if candidate == ",":
                break  # the standard wins whenever it splits the table consistently
    return best
