"""Command-line values turned into Python ones without pydantic.

Typer 0.29 converts every option and argument through a pydantic TypeAdapter, and importing
pydantic costs about 110 ms at every start of `nnctl`: a quarter of `nnctl train iris-softmax`
end to end. nnctl's parameters are of a few plain types (str, bool, int, float, Path, an Enum,
lists of these), so `convert_plainly` gives each such parameter a conversion of its own before
Typer would build its adapter. It uses Typer's extension point for this (the RuntimeParam a
parameter holds) and Typer's own functions for choices and paths, so the results are Typer's:
a test compares the two conversions on every parameter of the CLI. Only the messages for a
malformed number are nnctl's ("expected an integer, found 'abc'").

A parameter of another kind keeps Typer's conversion, and if Typer's internals are not what
this module expects (another Typer version), nothing is changed: the CLI is then only slower.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import get_args, get_origin

import typer

PLAIN = (str, bool, int, float, Path)


def convert_plainly(command) -> int:
    """Give every plain parameter of `command` and its sub-commands nnctl's conversion;
    returns how many were given it (0 when Typer's internals are not the expected ones)."""
    try:
        from typer._coercion import RuntimeParam
        from typer._param_types import coerce_cli_choice, coerce_cli_path
        from typer.core import _TyperParameter
    except ImportError:
        return 0
    if not hasattr(_TyperParameter, "get_runtime_param"):
        return 0

    class PlainRuntimeParam(RuntimeParam):
        def _coerce_value(self, value, param, ctx):
            if get_origin(self.annotation) is list:
                (item_type,) = get_args(self.annotation)
                items = value if isinstance(value, (list, tuple)) else [value]
                return [self._one(item_type, item, param, ctx) for item in items]
            return self._one(self.annotation, value, param, ctx)

        def _one(self, annotation, value, param, ctx):
            if annotation is str:
                return str(value)
            if annotation is bool:
                return value if isinstance(value, bool) else _boolean(value, param, ctx)
            if annotation in (int, float):
                return _number(annotation, value, param, ctx)
            if annotation is Path:
                path = value if isinstance(value, Path) else Path(value)
                return coerce_cli_path(
                    path, self.parameter_info, path_type=Path, param=param, ctx=ctx
                )
            try:  # an Enum
                return coerce_cli_choice(
                    value,
                    choices=tuple(annotation),
                    case_sensitive=self.parameter_info.case_sensitive,
                    ctx=ctx,
                )
            except ValueError as exc:
                raise typer.BadParameter(str(exc), ctx=ctx, param=param) from None

    count = 0
    for param in _parameters(command):
        if (
            not isinstance(param, _TyperParameter)
            or getattr(param, "_runtime_param", 0) is not None
        ):
            continue  # not Typer's, or not the attribute this module expects, or converted
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is not None and _is_plain(descriptor):
            param._runtime_param = PlainRuntimeParam(
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
            )
            count += 1
    return count


def _parameters(command, parent=None):
    """Every parameter of `command` and its sub-commands, with the help option that click
    makes on first use (each needs a context, chained as parsing chains them, for the help
    option's names; making one parses nothing)."""
    ctx = command.context_class(command, parent=parent, **command.context_settings)
    yield from command.get_params(ctx)
    for sub in getattr(command, "commands", {}).values():
        yield from _parameters(sub, ctx)


def _is_plain(descriptor) -> bool:
    info = descriptor.parameter_info
    if descriptor.is_file or descriptor.is_ranged or descriptor.is_datetime:
        return False
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None):
        return False
    annotation = descriptor.annotation
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    is_enum = isinstance(annotation, type) and issubclass(annotation, Enum)
    return annotation in PLAIN or is_enum


def _number(kind, value, param, ctx):
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    try:
        return kind(str(value).strip())
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise typer.BadParameter(
            f"expected {what}, found {value!r}", ctx=ctx, param=param
        ) from None


def _boolean(value, param, ctx):
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "yes", "y", "on"):
        return True
    if text in ("", "0", "false", "f", "no", "n", "off"):
        return False
    raise typer.BadParameter(f"expected true or false, found {value!r}", ctx=ctx, param=param)
