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


# The top-level commands: (function, name, summary). The order here is the order of
# `nnctl --help` (sub-groups come after the commands).
COMMANDS = [
    (model_commands.train, "train", "Train a model from a config into a run folder."),
    (model_commands.eval_, "eval", "Loss and metrics of a trained model."),
    (model_commands.predict, "predict", "Predictions for new rows, CSV on stdout."),
    (export_commands.export, "export", "Write a trained model as ONNX, npz or json."),
    (model_commands.gradcheck, "gradcheck", "Backprop against finite differences."),
    (catalog_commands.datasets, "datasets", "List the built-in datasets."),
    (
        compare_commands.compare_optimizers,
        "compare-optimizers",
        "Every optimizer on one model, side by side.",
    ),
    (compare_commands.sweep, "sweep", "Train every combination of swept settings."),
    (compare_commands.plot, "plot", "Plot loss curves of runs (needs nnctl[plot])."),
    (version.version, "version", "Print the version (--json: with its dependencies)."),
]


def _root_app(only: str | None = None) -> typer.Typer:
    """The `nnctl` group with its --version option and every command and sub-group; or, with
    `only`, that one top-level command alone (what `nnctl ONLY ...` needs: Typer converts every
    command of a group it builds, about 10-30 ms for all of them)."""
    root = typer.Typer(
        name="nnctl",
        cls=PlainGroup,
        help="Train and compare the classic models of a first deep-learning course (linear, "
        "logistic and softmax regression, the MLP) from YAML configs, in NumPy.\n\n"
        "Start with: nnctl examples, then nnctl train iris-softmax",
        no_args_is_help=True,
        add_completion=True,
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    root.callback()(main)
    for function, name, short_help in COMMANDS:
        if only is None or name == only:
            _add(root, function, name, short_help)
    if only is None:
        root.add_typer(config_app, name="config")
        root.add_typer(examples_app, name="examples")
        root.add_typer(data_app, name="data")
    return root


_add(config_app, config_commands.config_show, "show")
_add(config_app, config_commands.config_validate, "validate")
_add(config_app, config_commands.config_init, "init")
_add(config_app, config_commands.config_schema, "schema")
_add(config_app, config_commands.config_reference, "reference")

examples_app.callback(invoke_without_command=True)(catalog_commands.examples_list)
_add(examples_app, catalog_commands.examples_copy, "copy")

_add(data_app, data_commands.data_convert, "convert", "Stream a CSV into .npy shards for big data.")
_add(data_app, data_commands.data_formats, "formats", "List the data file formats.")

app = _root_app()


def _app_for(args: list[str]) -> typer.Typer:
    """The app that runs `nnctl ARGS`: when the first word names a top-level command, one that
    holds only that command (its parsing, errors and help are the same: the group around it
    is the same group); otherwise, and while the shell asks for completions, the whole app."""
    import os

    names = {name for _, name, _ in COMMANDS}
    if args and args[0] in names and "_NNCTL_COMPLETE" not in os.environ:
        return _root_app(only=args[0])
    return app


def run() -> None:
    """The `nnctl` script: `nnctl COMMAND --help` printed straight from the command Typer builds
    (fast_help.py), everything else parsed and run by it."""
    from nnctl.cli.fast_help import answer_help

    command = typer.main.get_command(_app_for(sys.argv[1:]))
    if not answer_help(command, sys.argv[1:], "nnctl"):
        command(prog_name="nnctl")  # what app() does, with pretty exceptions off


if __name__ == "__main__":  # pragma: no cover
    run()
