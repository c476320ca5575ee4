"""Where a config's files are: paths tried as given (the working folder), then beside the config
file; shared by the in-memory and the on-disk preparation, the run's replayable config.yaml and
the Dask executor, which ships the same files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

PATH_KEYS = (
    ("data", "path"),
    ("data", "labels_path"),
    ("data", "val_path"),
    ("data", "val_labels_path"),
    ("model", "init_from"),
)


def absolute_paths(cfg: Mapping, base_dir: Path | None = None) -> dict:
    """The config with its file paths made absolute, found as load_dataset finds them (the
    working folder, then the config's folder), so a run's config.yaml replays from anywhere.
    Works on a resolved config and on a raw one (sections may be missing)."""
    out = dict(cfg)
    for section, key in PATH_KEYS:
        part = out.get(section)
        value = part.get(key) if isinstance(part, Mapping) else None
        if not isinstance(value, str) or value == "-" or Path(value).is_absolute():
            continue
        found = Path(value)
        if not found.exists() and base_dir is not None and (Path(base_dir) / value).exists():
            found = Path(base_dir) / value
        if found.exists():
            out[section] = {**part, key: str(found.resolve())}
    return out


def locate_files(
    data_cfg: dict, which: str = "path", base_dir: Path | None = None
) -> tuple[Path, str | None]:
    """(data file, labels file or None) that `data.<which>` names, as they will be opened.

    Paths in a config are tried as given (relative to the working folder), then relative to
    the config file, so a config next to its data works from anywhere. The Dask executor ships
    the same files (nnctl.compare.executors.shipping).
    """
    path = Path(data_cfg[which])
    labels = data_cfg["labels_path" if which == "path" else "val_labels_path"]
    if base_dir is not None and not path.is_absolute() and not path.exists():
        if (base_dir / path).exists():
            path = base_dir / path
            labels = str(base_dir / labels) if labels and not Path(labels).is_absolute() else labels
    return path, labels
