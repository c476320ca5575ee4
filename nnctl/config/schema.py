"""The config's JSON Schema (`nnctl config schema`), generated from the section declarations
and the registries."""

from __future__ import annotations

import json

from nnctl.config.sections import (
    INIT,
    LOSS,
    SECTIONS,
    SEED,
    FixedSection,
    fixed_sections,
    registries,
)
from nnctl.config.yaml_io import plain
from nnctl.util.registry import Hyper, Registry


def _hyper_schema(h: Hyper) -> dict:
    types = {
        "float": {"type": "number"},
        "int": {"type": "integer"},
        "bool": {"type": "boolean"},
        "str": {"type": "string"},
        "floats": {"type": "array", "items": {"type": "number"}},
        "ints": {"type": "array", "items": {"type": "integer"}},
        "any": {},
    }
    schema = dict(types[h.kind])
    if h.choices:
        schema["enum"] = list(h.choices)
    if h.nullable and schema:
        schema = {"anyOf": [schema, {"type": "null"}]}
    schema["description"] = h.doc + (f" ({h.expect})" if h.expect else "")
    if h.default is not None:
        schema["default"] = plain(h.default)
    return schema


def _object(hypers, extra: dict | None = None) -> dict:
    props = {h.name: _hyper_schema(h) for h in hypers}
    props.update(extra or {})
    return {"type": "object", "properties": props, "additionalProperties": False}


def _named_schema(registry: Registry, key: str, extra_hypers=()) -> dict:
    """oneOf over the registry's entries: each fixes `key` and lists its own settings."""
    variants = []
    for entry in registry.entries():
        obj = _object(
            entry.hypers + tuple(extra_hypers),
            {key: {"enum": [entry.name, *entry.aliases], "description": entry.doc}},
        )
        obj["required"] = [key] if key != "scheme" else []
        variants.append(obj)
    names = [n for e in registry.entries() for n in (e.name, *e.aliases)]
    return {"anyOf": [{"type": "string", "enum": names}, {"oneOf": variants}]}


def _fixed_shapes() -> dict[str, dict]:
    """Exact shapes of the fixed sections' keys declared as "any", by section."""
    names = {"type": "array", "items": {"type": "string"}}
    optimizer_specs = {"anyOf": [{"type": "string"}, {"type": "object", "required": ["name"]}]}
    return {
        "data": {
            "drop": names,
            "na_values": names,
            "categorical": {"anyOf": [{"enum": ["auto", "none"]}, names]},
            "standardize_target": {"anyOf": [{"enum": ["auto"]}, {"type": "boolean"}]},
        },
        "compare": {
            "optimizers": {
                "anyOf": [
                    {"type": "null"},
                    {"type": "array", "minItems": 1, "items": optimizer_specs},
                ]
            }
        },
    }


def _fixed_schema(section: FixedSection, shapes: dict) -> dict:
    """A fixed section's object: each key from its Hyper, refined by its exact shape."""
    schema = _object(section.hypers)
    shapes = {
        **shapes,
        **{key: {"anyOf": [{"type": "null"}, _object(h)]} for key, h in section.nested},
    }
    for key, shape in shapes.items():
        schema["properties"][key] = {**schema["properties"][key], **shape}
    return schema


def json_schema() -> dict:
    regs = registries()
    loss_names = ["auto"] + regs["loss"].all_names()
    shapes = _fixed_shapes()
    properties = {
        section.name: _fixed_schema(section, shapes.get(section.name, {}))
        for section in fixed_sections()
    }
    properties.update(
        {
            "seed": _hyper_schema(SEED),
            "init": _named_schema(regs["init"], "scheme", INIT),
            "loss": {
                "anyOf": [
                    {"type": "string", "enum": loss_names},
                    _object(LOSS, {"name": {"enum": loss_names}}),
                ]
            },
            "optimizer": _named_schema(regs["optimizer"], "name"),
            "schedule": _named_schema(regs["schedule"], "name"),
        }
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "nnctl training config",
        "type": "object",
        "additionalProperties": False,
        "properties": {name: properties[name] for name in SECTIONS},
    }


def schema_json() -> str:
    return json.dumps(json_schema(), indent=2)
