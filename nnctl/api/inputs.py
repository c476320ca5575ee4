"""What the Python API accepts, turned into what the CLI's engine takes: a config (file, example
name or dict), overrides (a mapping or "key=value" strings) and sweep axes.

Imports are inside the functions: `import nnctl` must not pay for NumPy or YAML.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from nnctl.errors import UsageError, shown


def config_path(config) -> Path | None:
    """The config file `config` names (a path, or a packaged example such as "iris-softmax"),
    or None when `config` is a dict. Anything else is a UsageError."""
    if isinstance(config, Mapping):
        return None
    if not isinstance(config, (str, os.PathLike)):
        raise UsageError(
            "config: expected a YAML file path, an example name (e.g. 'iris-softmax') or a "
            f"dict, found {type(config).__name__}"
        )
    from nnctl.examples import find_config

    return find_config(Path(config))


def override_texts(overrides, what: str = "overrides") -> list[str]:
    """["optimizer.lr=0.1", ...] of a mapping {"optimizer.lr": 0.1} (a Python value is used as
    is: it is written as YAML that reads back as the same value) or of a list of strings."""
    if overrides is None:
        return []
    if isinstance(overrides, Mapping):
        return [f"{key}={yaml_text(value, f'{what}[{key!r}]')}" for key, value in overrides.items()]
    if isinstance(overrides, (str, bytes)):
        raise UsageError(
            f"{what}: expected a mapping {{'optimizer.lr': 0.1}} or a list of 'key=value' "
            f"strings, found the single string {overrides!r} (put it in a list)"
        )
    texts = list(overrides)
    bad = [t for t in texts if not isinstance(t, str) or "=" not in t]
    if bad:
        raise UsageError(f"{what}: expected 'key=value' strings, found {bad[0]!r}")
    return texts


def axis_texts(axes) -> list[str]:
    """["optimizer.lr=0.01,0.1", ...] of a mapping {"optimizer.lr": [0.01, 0.1]} (each value
    written as YAML) or of a list of "KEY=V1,V2" strings."""
    if isinstance(axes, Mapping):
        texts = []
        for key, values in axes.items():
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                raise UsageError(
                    f"axes[{key!r}]: expected a list of values to sweep, found {shown(values)}"
                )
            values = list(values)
            if not values:
                raise UsageError(f"axes[{key!r}]: expected at least one value, found none")
            # One value is a plain override (the same run for every point).
            texts.append(f"{key}={','.join(yaml_text(v, f'axes[{key!r}]') for v in values)}")
        return texts
    return override_texts(axes, "axes")


def yaml_text(value, where: str) -> str:
    """`value` as one line of YAML that reads back as the same value (flow style)."""
    import yaml

    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()  # a NumPy scalar: its Python value
    value = paths_as_text(value)
    try:
        text = yaml.safe_dump(value, default_flow_style=True, width=float("inf"))
    except yaml.YAMLError:
        raise UsageError(
            f"{where}: expected a YAML value (number, string, bool, None, list or dict), "
            f"found {type(value).__name__}"
        ) from None
    text = text.strip()
    return text[: -len("...")].strip() if text.endswith("\n...") else text


def dict_config_name(raw: Mapping) -> str:
    """The default run name of a dict config: its data and model, e.g. "iris-softmax"."""
    data = raw.get("data") if isinstance(raw.get("data"), Mapping) else {}
    model = raw.get("model") if isinstance(raw.get("model"), Mapping) else {}
    source = data.get("name") or (Path(str(data["path"])).stem if data.get("path") else "run")
    source = str(source).split(".")[0]  # iris.csv.gz -> iris
    kind = model.get("kind")
    return f"{source}-{kind}" if kind else str(source)


def paths_as_text(value):
    """`value` with every path object (pathlib.Path, any os.PathLike) in it, in dicts and lists
    too, replaced by its text: a config written in Python names its files either way."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        return {key: paths_as_text(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [paths_as_text(item) for item in value]
    return value


def resolve_dict(raw: Mapping, overrides: list[str]) -> dict:
    """A dict config after the overrides, validated as a YAML file's would be."""
    from nnctl.config import apply_overrides, resolve

    try:
        return resolve(apply_overrides(paths_as_text(raw), overrides), "config")
    except UsageError as exc:
        raise UsageError(f"config (dict): {exc}") from None
