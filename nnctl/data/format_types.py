"""The declaration of a data file format (`FileFormat`), the request its reader answers
(`ReadRequest`) and the registry that holds them (`FORMATS`, filled by `register_format`).

Queries (which format a path is, the choices of data.format) are in format_registry, which
also registers nnctl's own formats (format_builtin) first. This module imports no NumPy.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nnctl.errors import UsageError
from nnctl.util.registry import Entry, Registry

FORMATS = Registry("data format")
AUTO = "auto"


def _resolve(target: Callable | str | None) -> Callable | None:
    """A callable given as itself or as "package.module:name" (imported on first use)."""
    if target is None or callable(target):
        return target
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class ReadRequest:
    """What `load_file` asks of a reader, the same for every format.

    target: the target column (named-column formats) or array name (npz); None: the default.
    labels: the separate targets file (formats with `labels_file`), else None.
    require_target: False for prediction input (a missing target gives y None).
    settings: the data section's column settings (na_values, delimiter, ...).
    keep: columns whose original text is kept in the table's raw_text (predict --keep).
    """

    target: str | None = None
    labels: Path | None = None
    require_target: bool = True
    max_bytes: int = 1 << 30
    settings: dict = field(default_factory=dict)
    keep: tuple = ()


@dataclass(frozen=True)
class FileFormat:
    """One data file format.

    reader(path, request: ReadRequest) -> nnctl.data.files.RawTable: with `columns` True, a
      RawTable whose `table` holds the feature columns (X None), as read_csv gives; otherwise
      X (numbers, [n, d]) and y.
    suffixes: lower-case name endings that select the format (".csv", ".csv.gz").
    name_pattern: a regular expression searched in the lower-case file name, tried after every
      format's suffixes (IDX: "idx" or "-ubyte" anywhere in the name).
    magic: byte strings a file of this format starts with.
    sniff(head: bytes) -> bool: a content test for files without a known name or magic.
    text: a plain-text format, the choice for content without NUL bytes that nothing else
      claims (the first such format registered wins: csv).
    columns: named columns (the column rules and pipeline apply; models bind them by name).
    labels_file: the targets are in a separate file (data.labels_path), not in the data file.
    folder(path) -> bool: this format reads that folder (Parquet: a folder of *.parquet).
    chunks(path, target, settings): `data convert`'s reader of the file in chunks (see
      nnctl.data.convert); None when the format is read whole only.
    extra, requires: the optional extra of nnctl the format needs and the module it provides;
      without it the config is refused at validation with the install hint.
    label: how messages and `config init` name the format ("Parquet").
    """

    name: str
    doc: str
    reader: Callable | str
    suffixes: tuple[str, ...] = ()
    name_pattern: str | None = None
    magic: tuple[bytes, ...] = ()
    sniff: Callable | str | None = None
    text: bool = False
    columns: bool = False
    labels_file: bool = False
    folder: Callable | str | None = None
    chunks: Callable | str | None = None
    extra: str | None = None
    requires: str | None = None
    label: str = ""

    @property
    def streams(self) -> bool:
        """Whether `data convert` can read it a chunk at a time (files bigger than memory)."""
        return self.chunks is not None

    @property
    def install_hint(self) -> str:
        return f'pip install "nnctl[{self.extra}]"' if self.extra else ""

    @property
    def shown(self) -> str:
        return self.label or self.name

    def read(self, path: Path, request: ReadRequest):
        """The RawTable of `path` (after `check_available`)."""
        self.check_available(str(path))
        return _resolve(self.reader)(path, request)

    def chunk_reader(self) -> Callable | None:
        return _resolve(self.chunks)

    def matches_suffix(self, name: str) -> bool:
        return name.lower().endswith(self.suffixes) if self.suffixes else False

    def matches_pattern(self, name: str) -> bool:
        return bool(self.name_pattern) and re.search(self.name_pattern, name.lower()) is not None

    def reads_folder(self, path: Path) -> bool:
        return self.folder is not None and bool(_resolve(self.folder)(path))

    def claims_content(self, head: bytes) -> bool:
        if any(head.startswith(m) for m in self.magic):
            return True
        return self.sniff is not None and bool(_resolve(self.sniff)(head))

    def check_available(self, where: str) -> None:
        """UsageError naming `where` and the install hint when the required module is absent."""
        if self.requires is None:
            return
        try:
            importlib.import_module(self.requires)
        except ImportError:
            raise UsageError(
                f"{where}: {self.shown} files need {self.requires.split('.')[0]}, the optional "
                f"extra: {self.install_hint}"
            ) from None


def register_format(fmt: FileFormat) -> FileFormat:
    """Add a format to FORMATS (a ValueError if its name is taken); returns it."""
    if fmt.name == AUTO:
        raise ValueError(f"{AUTO!r} is not a format name: it means 'detect the format'")
    FORMATS.add(Entry(fmt.name, fmt, fmt.doc))
    return fmt
