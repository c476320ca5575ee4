"""Data file formats as a registry: `FORMATS`, like DATASETS and OPTIMIZERS.

A format is one `FileFormat` registered with `register_format`: how it is recognised (file
name suffixes or a name pattern, magic bytes, a content test, plain text), what it holds (named
columns that go through the column rules and pipeline, or arrays X and y), its reader, whether
`data convert` can stream it, and the optional extra it needs. The config's `data.format`
choices, the CLI's `--format` help, `load_file`, eval/predict input, `config init` and `data
convert` all ask this registry, so a new format is its reader plus one `register_format` call
(in `format_builtin.py` for nnctl's own, anywhere for a program that adds one).

This module imports no NumPy: the CLI help and the config schema list the formats at startup.
Readers and tests given as "module:function" text are imported only when they are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# nnctl's own formats are registered before anything can be asked (and before a program's own).
import nnctl.data.format_builtin  # noqa: F401
from nnctl.data.format_types import (  # noqa: F401  (FileFormat, ...: this module's API too)
    AUTO,
    FORMATS,
    FileFormat,
    ReadRequest,
    register_format,
)


def get_format(name: str, where: str = "data.format") -> FileFormat:
    """The registered format `name` (a UsageError naming `where` when unknown)."""
    return FORMATS.get(name, where).build


def all_formats() -> list[FileFormat]:
    return [entry.build for entry in FORMATS.entries()]


def format_choices() -> tuple[str, ...]:
    """What data.format and --format accept: "auto", then every registered format."""
    return (AUTO, *FORMATS.names())


def format_listing(formats: Sequence[FileFormat] | None = None, conjunction: str = "or") -> str:
    """'csv, npz, npy, idx or parquet' (for help texts and messages)."""
    names = [f.name for f in (all_formats() if formats is None else formats)]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


class FormatChoices(Sequence):
    """The current `format_choices()` as a sequence that is read each time it is used: the
    config schema declares data.format's choices with it, so a format registered after the
    schema was built is accepted, listed in the JSON Schema and in the reference."""

    def __getitem__(self, index):
        return format_choices()[index]

    def __len__(self) -> int:
        return len(format_choices())

    def __repr__(self) -> str:
        return repr(format_choices())


def format_rows() -> list[dict]:
    """One plain dict per format, for `nnctl data formats` (name, doc, what recognises it,
    columns or arrays, streams, extra and its install hint)."""
    rows = []
    for f in all_formats():
        found_by = [f"name matching {f.name_pattern}"] if f.name_pattern else []
        found_by += [f"magic bytes {m!r}" for m in f.magic]
        found_by += ["its content"] if f.sniff is not None else []
        found_by += ["a folder of its files"] if f.folder is not None else []
        found_by += ["plain text"] if f.text else []
        rows.append(
            {
                "name": f.name,
                "doc": f.doc,
                "suffixes": list(f.suffixes),
                "found_by": found_by,
                "columns": f.columns,
                "labels_file": f.labels_file,
                "streams": f.streams,
                "extra": f.extra,
                "install_hint": f.install_hint or None,
            }
        )
    return rows


def format_help() -> str:
    """The one-line help of data.format and --format: the formats and the extras they need."""
    needs = "; ".join(
        f"{f.name} needs {f.install_hint}" for f in all_formats() if f.extra is not None
    )
    return f"file format: auto (from the name, else the content), {format_listing()}" + (
        f"; {needs}" if needs else ""
    )


def format_from_name(path: Path) -> FileFormat | None:
    """The format a path's name (or, for a folder, its files) selects, or None: suffixes
    first, then name patterns, so "mnist-idx.parquet" is Parquet."""
    if path.is_dir():
        for fmt in all_formats():
            if fmt.reads_folder(path):
                return fmt
        return None
    name = path.name
    for fmt in all_formats():
        if fmt.matches_suffix(name):
            return fmt
    for fmt in all_formats():
        if fmt.matches_pattern(name):
            return fmt
    return None


def format_from_content(head: bytes) -> FileFormat | None:
    """The format the first bytes of a file show (magic bytes, content tests, plain text)."""
    for fmt in all_formats():
        if fmt.claims_content(head):
            return fmt
    if head and b"\x00" not in head:
        for fmt in all_formats():
            if fmt.text:
                return fmt
    return None


def format_for(path, data_format: str) -> FileFormat | None:
    """The format a configured data path will be read as, judged without reading it: the one
    data.format names, else the one its name (or folder) selects; None when only its content
    can tell (or for standard input)."""
    if data_format != AUTO:
        return get_format(data_format)
    if path is None or str(path) == "-":
        return None
    return format_from_name(Path(path))
