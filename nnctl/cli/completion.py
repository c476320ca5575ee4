"""Shell completion of settings: `-s optim<TAB>` offers `optimizer.name=`, `optimizer.lr=`, ...
and `-s optimizer.name=<TAB>` the choices. The keys and choices come from the config's JSON
Schema, so they are the ones `config validate` accepts, listed once (config.py)."""

from __future__ import annotations


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


def complete_setting(incomplete: str) -> list[str]:
    """Completions of a `-s KEY=VALUE` word: keys (with their `=`) while the key is typed, then
    the key's choices."""
    keys = setting_keys()
    if "=" in incomplete:
        key, _, value = incomplete.partition("=")
        return [f"{key}={c}" for c in keys.get(key, []) if c.startswith(value)]
    return [f"{key}=" for key in keys if key.startswith(incomplete)]
