"""Optimizer specs and sweep axes, as typed on the command line.

The spec grammar (`adam`, `sgd:lr=0.1,momentum=0.9`) lives in the config layer,
nnctl.config.optimizer_specs, because the config's `compare:` section uses it too; it is re-exported
here for the comparison code. Sweep axes:

    -s optimizer.lr=0.001,0.01,0.1         a sweep axis: one run per value
    -s model.hidden=[8,8]                  one value (the comma is inside brackets)
    -s model.hidden=[8],[16,16]            an axis of two lists

Commas split only at the top level: not inside [...] or {...} and not inside quotes.
"""

from __future__ import annotations

from dataclasses import dataclass

from nnctl.config.optimizer_specs import (
    OptimizerSpec,
    parse_spec,
    safe_name,
    spec_from_entry,
    spec_from_mapping,
    split_top_level,
    yaml_value,
)
from nnctl.errors import UsageError
from nnctl.util.registry import SCIENTIFIC_NUMBER

__all__ = [
    "OptimizerSpec",
    "SweepAxis",
    "axis_labels",
    "parse_spec",
    "parse_sweep_option",
    "safe_name",
    "spec_from_entry",
    "spec_from_mapping",
    "split_top_level",
    "unique_labels",
    "yaml_value",
]


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
    if SCIENTIFIC_NUMBER.fullmatch(text):
        mantissa, _, exponent = text.lower().partition("e")
        return f"{mantissa if '.' in mantissa else mantissa + '.0'}e{exponent}"
    yaml_value(text, where)  # a YAML error names the key now, not after other runs
    return text


def parse_sweep_option(text: str) -> SweepAxis:
    """'-s optimizer.lr=0.001,0.01' -> SweepAxis('optimizer.lr', ['0.001', '0.01'])."""
    key, eq, value = text.partition("=")
    key = key.strip()
    if not eq or not key or any(not p for p in key.split(".")):
        raise UsageError(
            f"-s {text!r}: expected KEY.PATH=VALUE[,VALUE...], e.g. -s optimizer.lr=0.01,0.1"
        )
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
