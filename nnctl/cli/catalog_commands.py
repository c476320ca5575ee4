"""What nnctl ships: the example configs (list, copy) and the built-in datasets.

No `from __future__ import annotations`: Typer reads these annotations at every start.
"""

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.options import JsonOption
from nnctl.cli.process import command, print_json, write_stdout


def examples_list(ctx: typer.Context):
    """List the example configs: train one by name from any folder.

    Example: nnctl train iris-softmax"""
    if ctx.invoked_subcommand is not None:
        return
    import textwrap

    from nnctl import examples

    names = examples.names()
    width = max(map(len, names))
    # On a terminal a description wraps under itself (never cut: a cut sentence misleads);
    # in a pipe each example stays one line (grep sees the name with every word).
    room = shutil.get_terminal_size().columns - width - 2 if sys.stdout.isatty() else None
    lines = []
    for name in names:
        text = examples.summary(name)
        if room is not None and room >= 20:
            text = "\n".join(textwrap.wrap(text, room, break_on_hyphens=False)).replace(
                "\n", "\n" + " " * (width + 2)
            )
        lines.append(f"{name.ljust(width)}  {text}\n")
    write_stdout("".join(lines))


@command
def examples_copy(
    folder: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="Folder to write them into (created; existing files not replaced)."
        ),
    ],
):
    """Write every example config into DIR, to read and edit.

    Example: nnctl examples copy examples && nnctl train examples/iris-softmax.yaml"""
    from nnctl.examples import copy_to

    written = copy_to(folder)
    print(f"wrote {len(written)} configs into {folder}", file=sys.stderr)


@command
def datasets(json_: JsonOption = False):
    """List the built-in datasets: size, features, task and source.

    Example: nnctl datasets | grep iris"""
    from nnctl.report.tables import print_datasets
    from nnctl.training.diagnostics import dataset_listing

    listing = dataset_listing()
    if json_:
        print_json(listing)
    else:
        print_datasets(listing)
