"""`--out 'runs/{model.kind}-{optimizer.name}-lr{optimizer.lr}'`: a run folder name filled from
the resolved config, so a shell loop over settings names each run by them."""

from __future__ import annotations

import re

from nnctl.errors import UsageError

FIELD = re.compile(r"\{([^{}]*)\}")


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    if isinstance(value, dict):
        return value.get("name") or ",".join(f"{k}={_text(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _path_part(text: str) -> str:
    """A value as part of one folder name: no separator, and no value made only of dots (`..`
    would move the run out of the folder the template names)."""
    text = text.replace("/", "_").replace("\\", "_").replace("\0", "_")
    return "_" * len(text) if set(text) == {"."} else text


def fill(template: str, cfg: dict) -> str:
    """`template` with every {dotted.key} replaced by its value in `cfg`; a UsageError names a
    key the config does not have."""

    def value_of(match: re.Match) -> str:
        key = match.group(1).strip()
        node = cfg
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise UsageError(
                    f"--out {template!r}: {{{key}}} is not a config key (e.g. "
                    "{model.kind}, {optimizer.name}, {optimizer.lr}, {seed})"
                )
            node = node[part]
        return _path_part(_text(node))

    return FIELD.sub(value_of, template)
