"""Optimizer specs: `NAME` or `NAME:KEY=VALUE,...`, as `--optimizer` and `compare.optimizers`
take them (the config layer: a spec is validated against the optimizer registry here, once).

    adam                                   an optimizer with its defaults
    sgd:lr=0.1,momentum=0.9,nesterov=true  a name and settings (values typed as YAML)
    adam:betas=[0.9,0.99],lr=0.01          commas inside brackets belong to the value
    {name: sgd, lr: 0.1}                   the same as a mapping, in a config's compare: section

Commas split only at the top level: not inside [...] or {...} and not inside quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nnctl.errors import UsageError
from nnctl.util.registry import SCIENTIFIC_NUMBER


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """`text` split at each `sep` that is outside brackets, braces and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(depth - 1, 0)
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def yaml_value(text: str, where: str):
    """`text` typed as YAML; `1e-3` (a string to YAML 1.1) is the number 0.001."""
    from nnctl.config.yaml_io import parse_yaml_text

    if not text.strip():
        raise UsageError(f"{where}: expected a value, found nothing")
    if SCIENTIFIC_NUMBER.fullmatch(text.strip()):
        return float(text)
    return parse_yaml_text(text, where)


def safe_name(text: str) -> str:
    """A folder name made from a label: anything but letters, digits, `.`, `=`, `+`, `-`
    becomes `_`."""
    name = re.sub(r"[^A-Za-z0-9.=+\-]+", "_", text).strip("_.")
    return name or "run"


@dataclass
class OptimizerSpec:
    """One optimizer of a comparison: its canonical name and the settings given for it."""

    label: str  # what the user wrote (or the name); shown in tables and plots
    name: str  # the registry's canonical name
    settings: dict = field(default_factory=dict)
    explicit: bool = True  # asked for by the user (vs. "every optimizer that applies")

    @property
    def folder(self) -> str:
        return safe_name(self.label.replace(":", "_").replace(",", "_"))


def _check_settings(name: str, settings: dict, where: str) -> str:
    """Validates a spec's settings against the registry; returns the canonical name."""
    from nnctl.optim import OPTIMIZERS

    entry = OPTIMIZERS.get(name, where)
    try:
        resolved = OPTIMIZERS.resolve(entry.name, settings, "optimizer")
        if "validate" in entry.info:
            entry.info["validate"](resolved, "optimizer")
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None
    return entry.name


def parse_spec(text: str, where: str | None = None) -> OptimizerSpec:
    """'sgd:lr=0.1,momentum=0.9' -> OptimizerSpec('sgd:lr=0.1,momentum=0.9', 'sgd', {...})."""
    where = where or f"--optimizer {text!r}"
    name, colon, rest = text.strip().partition(":")
    name = name.strip()
    if not name:
        raise UsageError(f"{where}: expected NAME or NAME:KEY=VALUE,..., found no name")
    settings: dict = {}
    if colon:
        for item in split_top_level(rest):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or not key:
                raise UsageError(
                    f"{where}: expected KEY=VALUE after '{name}:', found {item.strip()!r}"
                )
            if key in settings:
                raise UsageError(f"{where}: {key} is given twice")
            settings[key] = yaml_value(value, f"{where}: {key}")
    canonical = _check_settings(name, settings, where)
    return OptimizerSpec(text.strip(), canonical, settings)


def spec_from_mapping(value: dict, where: str) -> OptimizerSpec:
    """A `compare.optimizers` entry written as a mapping: {name: sgd, lr: 0.1}."""
    settings = dict(value)
    name = settings.pop("name", None)
    if not isinstance(name, str):
        raise UsageError(f"{where}.name: expected the name of an optimizer, found {name!r}")
    canonical = _check_settings(name, settings, where)
    label = name + (
        ":" + ",".join(f"{k}={_text(v)}" for k, v in settings.items()) if settings else ""
    )
    return OptimizerSpec(label, canonical, settings)


def spec_from_entry(item, where: str) -> OptimizerSpec:
    """One entry of `compare.optimizers`: a spec string or a mapping."""
    if isinstance(item, str):
        return parse_spec(item, where)
    if isinstance(item, dict):
        return spec_from_mapping(item, where)
    raise UsageError(
        f'{where}: expected a spec like "sgd:lr=0.1" or a mapping '
        f"{{name: sgd, lr: 0.1}}, found {item!r}"
    )


def _text(value) -> str:
    """A setting's value written back as compact YAML (for labels)."""
    import yaml

    if isinstance(value, (list, tuple, dict)):
        return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().replace(" ", "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
