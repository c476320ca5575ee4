"""Shell completion: settings (`-s optim<TAB>` offers `optimizer.name=`, `optimizer.lr=`, ...
and `-s optimizer.name=<TAB>` the choices), configs (`nnctl train iris<TAB>`: the examples'
names and .yaml files), optimizer names (`-o <TAB>`), dataset names (`--data`, `-s data.name=`)
and the other options' choices. The keys and choices come from the config's JSON Schema and the
registries, so they are the ones `config validate` accepts, listed once.

Each function is an option's `autocompletion=` (Typer's documented hook): it gets the word typed
so far and returns the words that complete it. It runs only when the shell asks, so it may
import what it needs."""

from __future__ import annotations

import os

CONFIG_SUFFIXES = (".yaml", ".yml")


def _branches(node: dict):
    """`node` and the alternatives it nests (anyOf, oneOf, allOf), depth first."""
    yield node
    for branch in node.get("anyOf", []) + node.get("oneOf", []) + node.get("allOf", []):
        yield from _branches(branch)


def _walk(node: dict, prefix: str, keys: dict[str, set]) -> None:
    """Every key path under `node` (a JSON Schema), with the string choices its value has. A
    section that may also be a bare name (`optimizer: adam`) is a key with choices too."""
    for name, child in {
        n: c for b in _branches(node) for n, c in (b.get("properties") or {}).items()
    }.items():
        path = f"{prefix}{name}"
        alternatives = list(_branches(child))
        choices = {c for b in alternatives for c in b.get("enum", []) if isinstance(c, str)}
        objects = [b for b in alternatives if b.get("properties")]
        if objects:
            for branch in objects:
                _walk(branch, f"{path}.", keys)
        if choices or not objects:
            keys.setdefault(path, set()).update(choices)


def setting_keys() -> dict[str, list[str]]:
    """{dotted key: its string choices (maybe none)} for every setting of a config."""
    from nnctl.config import json_schema

    keys: dict[str, set] = {}
    _walk(json_schema(), "", keys)
    return {key: sorted(choices) for key, choices in sorted(keys.items())}


def value_choices() -> dict[str, list[str]]:
    """Choices of keys whose schema takes any text but that usually name a registry entry."""
    return {"data.name": dataset_names()}


def complete_setting(incomplete: str) -> list[str]:
    """Completions of a `-s KEY=VALUE` word: keys (with their `=`) while the key is typed, then
    the key's choices."""
    keys = setting_keys()
    if "=" in incomplete:
        key, _, value = incomplete.partition("=")
        choices = keys.get(key) or value_choices().get(key, [])
        return [f"{key}={c}" for c in choices if c.startswith(value)]
    return [f"{key}=" for key in keys if key.startswith(incomplete)]


def matching_paths(incomplete: str, suffixes: tuple[str, ...] | None) -> list[str]:
    """Folders (ending in /) and files (with one of `suffixes`; None: any) whose path starts with
    `incomplete`, as the shell would list them."""
    folder, slash, start = incomplete.rpartition("/")
    where = (folder or "/") if slash else "."
    try:
        names = sorted(os.listdir(where))
    except OSError:
        return []
    found = []
    for name in names:
        if not name.startswith(start) or (name.startswith(".") and not start.startswith(".")):
            continue
        path = f"{folder}{slash}{name}"
        if os.path.isdir(os.path.join(where, name)):
            found.append(path + "/")
        elif suffixes is None or name.endswith(suffixes):
            found.append(path)
    return found


def complete_config(incomplete: str) -> list[str]:
    """CONFIG: the example configs' names, and .yaml files and folders."""
    from nnctl import examples

    names = [name for name in examples.names() if name.startswith(incomplete)]
    return names + matching_paths(incomplete, CONFIG_SUFFIXES)


def complete_config_or_setting(incomplete: str) -> list[str]:
    """compare-optimizers' words: configs, then KEY=VALUE overrides."""
    if "=" in incomplete:
        return complete_setting(incomplete)
    settings = complete_setting(incomplete) if incomplete else []
    return complete_config(incomplete) + settings


def complete_optimizer(incomplete: str) -> list[str]:
    """-o SPEC: the optimizers' names (settings after `:` are the user's)."""
    from nnctl.config.sections import registries

    return [name for name in registries()["optimizer"].names() if name.startswith(incomplete)]


def dataset_names() -> list[str]:
    from nnctl.config.sections import registries

    return registries()["dataset"].names()


def complete_dataset_or_file(incomplete: str) -> list[str]:
    """--data FILE|NAME: the built-in datasets' names, and files and folders."""
    names = [name for name in dataset_names() if name.startswith(incomplete)]
    return names + matching_paths(incomplete, None)


def complete_landscape(incomplete: str) -> list[str]:
    from nnctl.compare.landscapes import LANDSCAPES

    return [name for name in LANDSCAPES if name.startswith(incomplete)]


def complete_model_kind(incomplete: str) -> list[str]:
    from nnctl.nn.kinds import MODELS

    return [name for name in MODELS.names() if name.startswith(incomplete)]
