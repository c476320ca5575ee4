"""The command line: the Typer apps, the table of commands, and `run()` (the `nnctl` script).

Each command lives in the module of its group (model_commands, export_commands,
compare_commands, config_commands, data_commands, catalog_commands) as a plain function; this
file names it, gives it its one-line summary and its place in `nnctl --help`. Every command is a
`MetavarCommand` and every group a `PlainGroup` (help_layout.py): plain help, arguments shown by
their metavar.

No `from __future__ import annotations`: Typer reads the parameters' annotations at every start.
Imports of NumPy and the engine happen inside the commands, so `nnctl --help` stays fast.
"""

import sys
from typing import Annotated

import typer

from nnctl.cli import (
    catalog_commands,
    compare_commands,
    config_commands,
    data_commands,
    export_commands,
    model_commands,
    version,
)
from nnctl.cli.help_layout import MetavarCommand, PlainGroup

app = typer.Typer(
    name="nnctl",
    cls=PlainGroup,
    help="Train and compare the classic models of a first deep-learning course (linear, logistic "
    "and softmax regression, the MLP) from YAML configs, in NumPy.\n\n"
    "Start with: nnctl examples, then nnctl train iris-softmax",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(
    cls=PlainGroup,
    help="Show, validate or describe configs.\n\n"
    "Example: nnctl config show iris-softmax optimizer.lr=0.1",
    short_help="Show, validate or describe configs.",
    no_args_is_help=True,
)
examples_app = typer.Typer(
    cls=PlainGroup,
    help="List the example configs shipped with nnctl (with no command), "
    "or copy them.\n\nExample: nnctl examples copy examples",
    short_help="The example configs: list, or copy to a folder.",
)
data_app = typer.Typer(cls=PlainGroup, help="Prepare data files.", no_args_is_help=True)


def _version(value: bool):
    if value:
        print(version.version_line())
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_version,
            is_eager=True,
            help="Print the version and exit (nnctl version --json: with its dependencies).",
        ),
    ] = False,
):
    pass


def _add(group: typer.Typer, function, name: str | None = None, short_help: str | None = None):
    group.command(name, short_help=short_help, cls=MetavarCommand)(function)


# The order here is the order of `nnctl --help` (sub-groups come after the commands).
_add(app, model_commands.train, short_help="Train a model from a config into a run folder.")
_add(app, model_commands.eval_, "eval", "Loss and metrics of a trained model.")
_add(app, model_commands.predict, short_help="Predictions for new rows, CSV on stdout.")
_add(app, export_commands.export, short_help="Write a trained model as ONNX, npz or json.")
_add(app, model_commands.gradcheck, short_help="Backprop against finite differences.")
_add(app, catalog_commands.datasets, short_help="List the built-in datasets.")
_add(
    app,
    compare_commands.compare_optimizers,
    "compare-optimizers",
    "Every optimizer on one model, side by side.",
)
_add(app, compare_commands.sweep, short_help="Train every combination of swept settings.")
_add(app, compare_commands.plot, short_help="Plot loss curves of runs (needs nnctl[plot]).")
_add(app, version.version, short_help="Print the version (--json: with its dependencies).")

app.add_typer(config_app, name="config")
_add(config_app, config_commands.config_show, "show")
_add(config_app, config_commands.config_validate, "validate")
_add(config_app, config_commands.config_init, "init")
_add(config_app, config_commands.config_schema, "schema")
_add(config_app, config_commands.config_reference, "reference")

app.add_typer(examples_app, name="examples")
examples_app.callback(invoke_without_command=True)(catalog_commands.examples_list)
_add(examples_app, catalog_commands.examples_copy, "copy")

app.add_typer(data_app, name="data")
_add(data_app, data_commands.data_convert, "convert", "Stream a CSV into .npy shards for big data.")
_add(data_app, data_commands.data_formats, "formats", "List the data file formats.")


def run() -> None:
    """The `nnctl` script: `nnctl COMMAND --help` printed straight from the command Typer builds
    (fast_help.py), everything else parsed and run by it."""
    from nnctl.cli.fast_help import answer_help

    command = typer.main.get_command(app)  # built once: about 40 ms
    if not answer_help(command, sys.argv[1:], "nnctl"):
        command(prog_name="nnctl")  # what app() does, with pretty exceptions off


if __name__ == "__main__":  # pragma: no cover
    run()
