"""`nnctl config ...`: show, validate, init (a starter config for a CSV), schema, reference.

No `from __future__ import annotations`: Typer reads these annotations at every start.
"""

from typing import Annotated

import typer

from nnctl.cli.completion import complete_model_kind
from nnctl.cli.options import ConfigArgument, OverridesArgument, SetOption, config_path, settings
from nnctl.cli.process import command, write_stdout


@command
def config_show(
    config: ConfigArgument, overrides: OverridesArgument = None, set_: SetOption = None
):
    """Print the fully resolved config (every default filled in) as YAML on stdout.

    Example: nnctl config show digits-mlp model.hidden=[128,64]"""
    from nnctl.config import dump_yaml, load_config

    write_stdout(dump_yaml(load_config(config_path(config), settings(set_, overrides))))


@command
def config_validate(
    config: ConfigArgument, overrides: OverridesArgument = None, set_: SetOption = None
):
    """Check a config, its data and its model without training (exit 0 when valid).

    Example: nnctl config validate my.yaml"""
    from nnctl.config import load_config
    from nnctl.training.diagnostics import check_config

    config = config_path(config)
    facts = check_config(
        load_config(config, settings(set_, overrides)), base_dir=config.resolve().parent
    )
    write_stdout(f"{config}: valid ({facts})\n")  # the answer asked for: stdout


@command
def config_init(
    data: Annotated[
        str,
        typer.Option("--data", metavar="FILE", help="Your CSV file (header row of column names)."),
    ],
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="COLUMN",
            help="The column to predict (default: `target`, else the last column).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="KIND",
            autocompletion=complete_model_kind,
            help="linreg, logreg, softmax or mlp (default: the linear model of the task).",
        ),
    ] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            metavar="COLUMN",
            help="Use this column as a feature although it looks like an id (mostly distinct "
            "values, or a name like id or *_id) and would be left out (repeatable).",
        ),
    ] = None,
):
    """Print a complete, commented starter config for a CSV on stdout: the columns used, those
    left out and why, the inferred task, missing-value counts, and settings that train well.

    Example: nnctl config init --data biopsy.csv --target class > biopsy.yaml"""
    from nnctl.config.starter import starter_config
    from nnctl.errors import UsageError
    from nnctl.nn.kinds import MODELS

    kinds = MODELS.names()
    if model is not None and model not in kinds:
        expected = f"{', '.join(kinds[:-1])} or {kinds[-1]}" if len(kinds) > 1 else kinds[0]
        raise UsageError(f"--model: expected {expected}, found {model!r}")
    write_stdout(starter_config(data, target, model, keep=keep or []))


@command
def config_schema():
    """Print the JSON Schema of configs (for editors that check YAML).

    Example: nnctl config schema > nnctl.schema.json"""
    from nnctl.config import schema_json

    write_stdout(schema_json() + "\n")


@command
def config_reference():
    """Print the config reference (every key, default and choice) as Markdown.

    Example: nnctl config reference > config-reference.md"""
    from nnctl.config import reference_markdown

    write_stdout(reference_markdown())
