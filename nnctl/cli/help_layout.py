"""How help looks: plain text in click's layout, arguments shown by their metavar.

Typer prints an argument with a metavar as `CONFIG <path>` in the Arguments section and as
`{CONFIG}` in the usage line: placeholders the user cannot act on. `MetavarCommand` is the
command class every nnctl command is declared with (Typer's documented `cls=` extension point);
it overrides two public methods of click's Command, the usage pieces and the options section,
so the help reads `Usage: nnctl train [OPTIONS] [CONFIG] [KEY=VALUE]...` and lists `CONFIG` and
`KEY=VALUE` alone. Everything else (the help text, the extras such as `[required]`, the options)
is the parameters' own, unchanged.

Both classes also lay help out as click does (usage, text, options, epilog), as Typer itself does
with `rich_markup_mode=None` in recent versions; older ones (the oldest nnctl supports is in
ci/oldest.txt) draw Rich panels whenever Rich is installed, and nnctl's help would look
otherwise there.
"""

from __future__ import annotations

from typer.core import TyperCommand, TyperGroup

from nnctl.cli.option_hints import config_key_hint, takes_settings


def plain_help(command, ctx, formatter) -> None:
    """click's layout of a command's help, from its public parts."""
    command.format_usage(ctx, formatter)
    command.format_help_text(ctx, formatter)
    command.format_options(ctx, formatter)
    command.format_epilog(ctx, formatter)


def usage_name(param) -> str:
    """An argument in the usage line: CONFIG when required, [CONFIG] when not, and `...` after
    it when it takes several words."""
    name = param.metavar or param.name.upper()
    name = name if param.required else f"[{name}]"
    return name + ("..." if param.nargs != 1 else "")


class MetavarCommand(TyperCommand):
    """A Typer command whose help names each argument by its metavar alone, and whose parsing
    answers `--lr 0.1` with the config key to set (option_hints.py)."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        params = self.get_params(ctx)
        if takes_settings(params):
            hint = config_key_hint(args, params)
            if hint is not None:
                ctx.fail(hint)  # click's usage error: the usage line, the message, exit 2
        return super().parse_args(ctx, args)

    def format_help(self, ctx, formatter) -> None:
        plain_help(self, ctx, formatter)

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(usage_name(param))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx, formatter) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                name, help_text = record
                arguments.append((param.metavar or name, help_text))
            elif param.param_type_name == "option":
                options.append(record)
        for title, records in (("Arguments", arguments), ("Options", options)):
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


class PlainGroup(TyperGroup):
    """A Typer group (nnctl, nnctl config, ...) whose help is click's plain layout, with its
    commands in the order they were declared (older Typers sort them by name)."""

    def list_commands(self, ctx) -> list[str]:
        return list(self.commands)

    def format_help(self, ctx, formatter) -> None:
        plain_help(self, ctx, formatter)
