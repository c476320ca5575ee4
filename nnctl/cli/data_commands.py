"""`nnctl data convert`: a CSV streamed into .npy shards for data bigger than memory.

No `from __future__ import annotations`: Typer reads these annotations at every start.
"""

from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.options import JsonOption
from nnctl.cli.process import command, print_json, write_stdout


@command
def data_convert(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="CSV",
            help="A CSV file (.csv, .tsv, .txt, or gzipped), a Parquet file or folder: a format "
            "that streams (nnctl data formats).",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder for the shards (new or empty).")
    ],
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="COLUMN",
            help="The target column (default: 'target' if present, else the last).",
        ),
    ] = None,
    drop: Annotated[
        list[str] | None,
        typer.Option("--drop", metavar="COLUMN", help="A column to leave out (repeatable)."),
    ] = None,
    missing: Annotated[
        str,
        typer.Option(
            "--missing", metavar="MODE", help="Missing cells: error, drop_rows or impute."
        ),
    ] = "error",
    categorical: Annotated[
        list[str] | None,
        typer.Option(
            "--categorical",
            metavar="COLUMN",
            help="auto, none, or a column to one-hot encode (repeatable).",
        ),
    ] = None,
    na_values: Annotated[
        list[str] | None,
        typer.Option(
            "--na-values",
            metavar="TEXT",
            help="Cell texts read as missing (repeatable; default: the usual).",
        ),
    ] = None,
    delimiter: Annotated[
        str, typer.Option("--delimiter", metavar="CHAR", help="auto, , ; tab or |.")
    ] = "auto",
    dtype: Annotated[
        str, typer.Option("--dtype", metavar="DTYPE", help="float64 or float32 features.")
    ] = "float64",
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
    json_: JsonOption = False,
):
    """Stream a CSV into .npy shards (X-00000.npy, y-00000.npy, ...) and dataset.json, applying
    the column rules of training; train on the folder with data.path: FOLDER.

    Example: nnctl data convert big.csv.gz --target price --out big/"""
    from nnctl.api.commands import convert_data

    result = convert_data(
        source, out, target, drop, missing, categorical, na_values, delimiter, dtype, force
    )
    if json_:
        print_json(result)
    else:
        write_stdout(
            f"{result['rows']} rows, {len(result['feature_names'])} features in "
            f"{result['shards']} shards: {out}\n"
        )


@command
def data_formats(json_: JsonOption = False):
    """List the data file formats data.format and --format accept: how each is recognised,
    what it holds, whether data convert streams it and the extra it needs.

    Example: nnctl data formats --json"""
    from nnctl.data.format_registry import format_rows

    rows = format_rows()
    if json_:
        print_json(rows)
        return
    for row in rows:
        found_by = ", ".join(row["suffixes"] + row["found_by"]) or "data.format only"
        facts = ["named columns" if row["columns"] else "arrays X, y"]
        facts += ["streamed by data convert"] if row["streams"] else []
        facts += [f"needs {row['install_hint']}"] if row["extra"] else []
        write_stdout(f"{row['name']:<10} {row['doc']}\n{'':<10} {found_by}; {'; '.join(facts)}\n")
