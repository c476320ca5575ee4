"""The config: schema, YAML loading, `-s key=value` overrides, validation and error texts.

The schema is declared once, as `Hyper`s for the fixed sections (`sections.py`) and by
reference to the registries for the named parts (dataset, activation, init scheme, loss,
optimizer, schedule): `resolve` (`validation.py`) fills every default and validates;
`json_schema` (`schema.py`) and `reference_markdown` (`reference.py`) are generated from the
same declarations. YAML in and out is `yaml_io.py`, `-s` overrides `overrides.py`. A resolved
config is a plain dict that replays the run as is.

Every name is imported from its module on first use, so `import nnctl.config` loads nothing.
"""

from nnctl.util.lazy import lazy_exports

# Each name and the module that defines it.
_HOMES = {
    "COMPARE": "sections",
    "DATA": "sections",
    "EARLY_STOPPING": "sections",
    "INIT": "sections",
    "LOGGING": "sections",
    "LOSS": "sections",
    "OUTPUT": "sections",
    "SECTIONS": "sections",
    "SEED": "sections",
    "TRAIN": "sections",
    "fixed_sections": "sections",
    "MAX_CONFIG_BYTES": "yaml_io",
    "MAX_YAML_DEPTH": "yaml_io",
    "MAX_YAML_NODES": "yaml_io",
    "dump_yaml": "yaml_io",
    "load_yaml": "yaml_io",
    "parse_yaml_text": "yaml_io",
    "apply_overrides": "overrides",
    "parse_override": "overrides",
    "load_config": "validation",
    "resolve": "validation",
    "json_schema": "schema",
    "schema_json": "schema",
    "reference_markdown": "reference",
}
__getattr__, __dir__ = lazy_exports(__name__, _HOMES)

__all__ = sorted(_HOMES)
