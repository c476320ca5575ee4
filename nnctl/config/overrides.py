"""`-s KEY.PATH=VALUE` overrides on a raw config, and the bare-name shorthand of the named
sections (`optimizer: adam`)."""

from __future__ import annotations

import copy
import json
from typing import Any

from nnctl.config.sections import registries
from nnctl.config.yaml_io import parse_yaml_text
from nnctl.errors import UsageError


def parse_override(text: str) -> tuple[list[str], Any]:
    """'optimizer.lr=0.1' -> (['optimizer', 'lr'], 0.1); the value is typed as YAML."""
    if "=" not in text:
        raise UsageError(f"-s {text!r}: expected KEY.PATH=VALUE, e.g. -s optimizer.lr=0.01")
    key, _, value = text.partition("=")
    parts = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in parts):
        raise UsageError(f"-s {text!r}: expected KEY.PATH=VALUE, found an empty key")
    return parts, parse_yaml_text(value, f"-s {key}") if value.strip() else None


# Sections that may be written as a bare name: `optimizer: adam` means `optimizer: {name: adam}`.
NAME_KEY = {"optimizer": "name", "schedule": "name", "loss": "name", "init": "scheme"}


def expand_shorthand(raw: dict) -> dict:
    raw = dict(raw)
    for section, key in NAME_KEY.items():
        if isinstance(raw.get(section), str):
            raw[section] = {key: raw[section]}
    return raw


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply `-s` overrides to a raw config; returns a new dict.

    Changing `optimizer.name` (or `schedule.name`) drops the old entry's settings that the new
    one does not have (e.g. adam's `betas` when switching to sgd), so `-s optimizer.name=lbfgs`
    works on any config; `model.kind` likewise drops the MLP settings a one-layer kind does not
    take. Settings given with `-s` are always kept (and validated).
    """
    out = expand_shorthand(copy.deepcopy(raw))
    renamed: set[str] = set()  # sections whose entry name was overridden
    set_keys: dict[str, set[str]] = {}  # settings given with -s, per section
    for text in overrides:
        parts, value = parse_override(text)
        if parts[0] in NAME_KEY and len(parts) == 1 and isinstance(value, str):
            parts = [parts[0], NAME_KEY[parts[0]]]
        node = out
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                where = ".".join(parts[: depth + 1])
                raise UsageError(f"-s {text}: {where} is {child!r}, not a section with keys")
            node = child
        node[parts[-1]] = value
        if parts[0] in ("optimizer", "schedule", "model") and len(parts) >= 2:
            if parts[1] == ("kind" if parts[0] == "model" else "name"):
                renamed.add(parts[0])
            else:
                set_keys.setdefault(parts[0], set()).add(parts[1])
    if "model" in renamed:
        _drop_model_settings(out, set_keys.get("model", set()))
        renamed.discard("model")
    for section in renamed:
        if not isinstance(out.get(section), dict):
            continue  # a later -s replaced the section (-s optimizer=null): resolve() reports it
        entry_name = out[section].get("name")
        registry = registries()[section]
        if entry_name not in registry:
            continue  # resolve() reports the unknown name
        known = {h.name for h in registry.get(entry_name).hypers} | {"name"}
        keep = set_keys.get(section, set())
        dropped = [
            f"{key}={json.dumps(out[section][key])}"
            for key in out[section]
            if key not in known and key not in keep
        ]
        for text in dropped:
            del out[section][text.partition("=")[0]]
        if dropped:
            import warnings

            warnings.warn(
                f"-s {section}.name={entry_name}: dropped the settings {entry_name} does "
                f"not take: {', '.join(dropped)}",
                stacklevel=2,
            )
    return out


def _drop_model_settings(out: dict, kept: set[str]) -> None:
    """-s model.kind=logreg on an MLP config: its hidden/activation/dropout/batch_norm would
    be refused (a setting that does nothing); they are dropped, with one line saying so."""
    model = out.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("kind"), str):
        return
    from nnctl.nn.kinds import MODELS, model_kind

    if model["kind"] not in MODELS:
        return  # resolve() reports the unknown kind
    kind = model_kind(model["kind"])
    takes = {
        "hidden": kind.takes_hidden,
        "activation": kind.takes_hidden,
        "dropout": kind.takes_dropout,
        "batch_norm": kind.takes_batch_norm,
    }
    dropped = [
        f"{key}={json.dumps(model[key])}"
        for key, taken in takes.items()
        if not taken and key in model and key not in kept
    ]
    for text in dropped:
        del model[text.partition("=")[0]]
    if dropped:
        import warnings

        warnings.warn(
            f"-s model.kind={kind.name}: dropped the settings {kind.name} does not "
            f"take: {', '.join(dropped)}",
            stacklevel=3,
        )
