"""`nnctl train iris-softmax --lr 0.1`: an option that is not one, but a config key's last part.

A new user types `--lr 0.1` or `--epochs 5`; click would answer only "No such option: --lr".
Config keys are set as KEY=VALUE words, so the message says which key and how:
"No such option: --lr. Set config keys as KEY=VALUE: optimizer.lr=0.1 (or -s
optimizer.lr=0.1)". Any other unknown option is left to click (with its did-you-mean).

The words are looked at before click parses them (MetavarCommand.parse_args), with the command's
public parameter list, so this works alike on every Typer and click version nnctl supports.
"""

from __future__ import annotations

SHOWN = 3  # config keys named when an option's name is the last part of several


def option_names(params) -> tuple[set[str], set[str]]:
    """(every option name of a command, the names of options that take a value)."""
    names, taking_value = set(), set()
    for param in params:
        if param.param_type_name != "option":
            continue
        opts = [*param.opts, *param.secondary_opts]
        names.update(opts)
        if not param.is_flag and not getattr(param, "count", False):
            taking_value.update(opts)
    return names, taking_value


def unknown_long_options(args: list[str], params) -> list[tuple[str, str | None]]:
    """(name, value or None) of each `--name` / `--name=value` word in `args` that is none of
    the command's options; words that are values of the command's own options are skipped."""
    known, taking_value = option_names(params)
    found = []
    words = iter(range(len(args)))
    for i in words:
        word = args[i]
        if word == "--":
            break
        if word in taking_value:  # -s KEY=VALUE, -o SPEC, --out DIR: the next word is a value
            next(words, None)
            continue
        if not word.startswith("--"):
            continue
        name, has_value, value = word.partition("=")
        if name in known:
            continue
        if has_value:
            found.append((name, value))
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            found.append((name, args[i + 1]))
        else:
            found.append((name, None))
    return found


def matching_keys(option: str) -> list[str]:
    """Config keys whose last part is `option` without its dashes (`--batch-size` ->
    train.batch_size)."""
    from nnctl.cli.completion import setting_keys

    last = option.lstrip("-").replace("-", "_")
    return [key for key in setting_keys() if key.rpartition(".")[2] == last]


def config_key_hint(args: list[str], params) -> str | None:
    """The message for the first unknown option of `args` that is a config key's last part, or
    None (no such option: click reports the unknown ones itself)."""
    for name, value in unknown_long_options(args, params):
        keys = matching_keys(name)
        if not keys:
            continue
        shown = f"{keys[0]}={value if value is not None else 'VALUE'}"
        message = f"No such option: {name}. Set config keys as KEY=VALUE: {shown} (or -s {shown})"
        if len(keys) > 1:
            more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
            message += f"; {name} is the last part of {', '.join(keys[:SHOWN])}{more}"
        return message
    return None


def takes_settings(params) -> bool:
    """Whether a command reads config settings (-s KEY=VALUE): only there is the hint right."""
    return any("--set" in getattr(param, "opts", ()) for param in params)
