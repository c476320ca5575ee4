"""The run folder contract: config.yaml, metrics.jsonl, summary.json, checkpoints/{last,best}.npz."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from nnctl.atomic import TEMP_SUFFIX, append_line, write_text
from nnctl.errors import UsageError

RUN_FILES = ("config.yaml", "metrics.jsonl", "summary.json", "checkpoints")


def default_dir(config_path: str | Path | None, cfg: dict) -> Path:
    if cfg["output"]["dir"]:
        from nnctl.out_template import fill

        return Path(fill(cfg["output"]["dir"], cfg))
    stem = Path(config_path).stem if config_path else "run"
    return Path("runs") / stem


def create(path: Path, force: bool = False, unique: bool = True) -> Path:
    """Make the run folder. An existing non-empty one is never overwritten silently: with `unique`
    a suffix -2, -3, ... is added; with `force` the old run files are removed first."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: exists and is not a folder; choose another --out")
    if path.exists() and any(path.iterdir()):
        if force:
            for name in RUN_FILES:
                target = path / name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        elif unique:
            n = 2
            while (candidate := path.with_name(f"{path.name}-{n}")).exists():
                n += 1
            path = candidate
        else:
            raise UsageError(f"{path}: run folder exists and is not empty; use --force to replace it")
    (path / "checkpoints").mkdir(parents=True, exist_ok=True)
    return path


def remove_stale_temp_files(run_dir: Path) -> list[Path]:
    """Delete the temporary files (`.NAME.XXXX.tmp`, see nnctl.atomic) that writes cut short by
    a crash left in the run folder and its checkpoints; the real files are never touched."""
    removed = []
    for folder in (Path(run_dir), Path(run_dir) / "checkpoints"):
        if folder.is_dir():
            for path in folder.glob(f".*{TEMP_SUFFIX}"):
                try:
                    path.unlink()
                    removed.append(path)
                except OSError:
                    pass
    return removed


def _finite(value):
    """JSON has no NaN/inf: write them as null so every reader (jq, JS) can parse the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def to_json(obj, **kwargs) -> str:
    return json.dumps(_finite(obj), allow_nan=False, **kwargs)


def append_metrics(run_dir: Path, row: dict) -> None:
    append_line(run_dir / "metrics.jsonl", to_json(row))


def read_metrics(run_dir: Path) -> list[dict]:
    """Rows of metrics.jsonl; a partial last line (a crash mid-append) is dropped."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return rows


def truncate_metrics(run_dir: Path, n_rows: int) -> None:
    """Keep the first n_rows rows (those the checkpoint being resumed had seen)."""
    rows = read_metrics(run_dir)[:n_rows]
    write_text(Path(run_dir) / "metrics.jsonl", "".join(to_json(r) + "\n" for r in rows))


def write_summary(run_dir: Path, summary: dict) -> None:
    write_text(Path(run_dir) / "summary.json", to_json(summary, indent=2) + "\n")


def write_config(run_dir: Path, cfg: dict) -> None:
    from nnctl.config import dump_yaml

    write_text(Path(run_dir) / "config.yaml", dump_yaml(cfg))
