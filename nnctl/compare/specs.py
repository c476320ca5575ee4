"""Optimizer specs and sweep axes, as typed on the command line.

    adam                                   an optimizer with its defaults
    sgd:lr=0.1,momentum=0.9,nesterov=true  a name and settings (values typed as YAML)
    adam:betas=[0.9,0.99],lr=0.01          commas inside brackets belong to the value

    -s optimizer.lr=0.001,0.01,0.1         a sweep axis: one run per value
    -s model.hidden=[8,8]                  one value (the comma is inside brackets)
    -s model.hidden=[8],[16,16]            an axis of two lists

Commas split only at the top level: not inside [...] or {...} and not inside quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nnctl.errors import UsageError


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


# YAML 1.1 (PyYAML) reads 1e-3 as a string; people type it as a number.
_EXPONENT_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def yaml_value(text: str, where: str):
    """`text` typed as YAML; `1e-3` (a string to YAML 1.1) is the number 0.001."""
    from nnctl.config import parse_yaml_text

    if not text.strip():
        raise UsageError(f"{where}: expected a value, found nothing")
    if _EXPONENT_NUMBER.match(text.strip()):
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
                raise UsageError(f"{where}: expected KEY=VALUE after '{name}:', found {item.strip()!r}")
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
    label = name + (":" + ",".join(f"{k}={_text(v)}" for k, v in settings.items()) if settings else "")
    return OptimizerSpec(label, canonical, settings)


def _text(value) -> str:
    """A setting's value written back as compact YAML (for labels)."""
    import yaml

    if isinstance(value, (list, tuple, dict)):
        return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().replace(" ", "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def unique_labels(specs: list[OptimizerSpec]) -> list[OptimizerSpec]:
    """A label given twice gets `#2`, `#3`, ... so run folders and table rows stay apart."""
    seen: dict[str, int] = {}
    for spec in specs:
        count = seen.get(spec.label, 0) + 1
        seen[spec.label] = count
        if count > 1:
            spec.label = f"{spec.label}#{count}"
    return specs


# ----------------------------------------------------------------------------------------------
# Sweeps


@dataclass
class SweepAxis:
    key: str  # dotted key path, e.g. optimizer.lr
    texts: list[str]  # the values as typed, one run each (labels)
    yaml_texts: list[str]  # the same for the config loader (YAML 1.1: 1e-3 becomes 1.0e-3)

    def override(self, i: int) -> str:
        return f"{self.key}={self.yaml_texts[i]}"


def _yaml_text(text: str, where: str) -> str:
    """The value as the YAML 1.1 loader reads it as intended: `1e-3` -> `1.0e-3`."""
    if _EXPONENT_NUMBER.match(text):
        mantissa, _, exponent = text.lower().partition("e")
        return f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent}"
    yaml_value(text, where)  # a YAML error names the key now, not after other runs
    return text


def parse_sweep_option(text: str) -> SweepAxis:
    """'-s optimizer.lr=0.001,0.01' -> SweepAxis('optimizer.lr', ['0.001', '0.01'])."""
    key, eq, value = text.partition("=")
    key = key.strip()
    if not eq or not key or any(not p for p in key.split(".")):
        raise UsageError(f"-s {text!r}: expected KEY.PATH=VALUE[,VALUE...], e.g. -s optimizer.lr=0.01,0.1")
    texts = [t.strip() for t in split_top_level(value)]
    if any(not t for t in texts):
        raise UsageError(f"-s {text!r}: an empty value in the list (two commas, or one at an end)")
    if len(set(texts)) != len(texts):
        raise UsageError(f"-s {text!r}: a value is given twice")
    return SweepAxis(key, texts, [_yaml_text(t, f"-s {key}") for t in texts])


def axis_labels(axes: list[SweepAxis]) -> list[str]:
    """The shortest unambiguous name of each axis: its last key part (`lr`) unless two axes
    share it, then the whole path."""
    last = [a.key.split(".")[-1] for a in axes]
    return [name if last.count(name) == 1 else axis.key for name, axis in zip(last, axes)]
