"""`nnctl COMMAND --help` answered without parsing the command line.

Help is the text of the click command Typer builds; nothing on the command line needs converting
for it. Typer 0.29 converts every option value through pydantic before it looks at --help (the
unset ones too: about 120 ms of imports), and any Typer parses and checks the words first. So
when the words are command names followed by one help flag and nothing else, the help is printed
here, from that same command object, exactly as Typer would print it (tests compare the two for
every command). Anything else goes through Typer. Only click's documented Command and Context
API is used (context_class, context_settings, commands, help_option_names, get_help).
"""

from __future__ import annotations

import typer


def answer_help(command, args: list[str], prog_name: str) -> bool:
    """Print the help of the sub-command that `args` names and return True, when `args` are
    sub-command names followed by exactly one help flag; otherwise do nothing, return False.

    `command` is the click command Typer builds (typer.main.get_command); each context is made
    as its own `make_context` makes one, minus the parsing."""
    ctx = command.context_class(command, info_name=prog_name, **command.context_settings)
    *names, last = args or [""]
    for name in names:
        sub = getattr(command, "commands", {}).get(name)
        if sub is None:
            return False
        command = sub
        ctx = command.context_class(command, info_name=name, parent=ctx, **command.context_settings)
    if not names or last not in ctx.help_option_names:
        return False  # `nnctl --help` itself is fast already: no unset option is coerced first
    typer.echo(command.get_help(ctx), color=ctx.color)
    return True
