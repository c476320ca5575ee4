"""nnctl.compare_optimizers and nnctl.sweep: the CLI's commands of the same names from Python,
and Comparison, the folder they write seen from Python. No plots are drawn here (the CLI
draws curves.png; nnctl.report.plots can draw them from the folder)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from nnctl.api.run import Run
from nnctl.errors import UsageError, shown


class Comparison:
    """A comparison or sweep folder: comparison.json (`.data`), its rows as comparison.csv
    has them (`.table`), one Run per trained run (`.runs`) and the best of them (`.best`)."""

    def __init__(self, out_dir: str | os.PathLike):
        import json

        self.dir = Path(out_dir)
        listing = self.dir / "comparison.json"
        if not listing.is_file():
            raise UsageError(f"{self.dir}: not a comparison folder (no comparison.json in it)")
        try:
            self.data = json.loads(listing.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{listing}: not a JSON comparison ({exc})") from None

    @property
    def table(self) -> list[dict]:
        """One dict per run with comparison.csv's columns and values (settings as its cell
        text, e.g. "lr=0.1"; booleans, numbers and None as Python values; text as given,
        without the ' the CSV puts before a cell a spreadsheet would run as a formula)."""
        from nnctl.compare.aggregate import CSV_COLUMNS, settings_text

        return [
            {
                column: settings_text(r.get(column) or {})
                if column == "settings"
                else r.get(column)
                for column in CSV_COLUMNS
            }
            for r in self.data["runs"]
        ]

    @property
    def runs(self) -> list[Run]:
        """A Run for every run that trained (skipped runs have no folder), in table order."""
        return [Run(self.dir / r["run"]) for r in self.data["runs"] if r.get("run")]

    @property
    def select(self) -> str:
        """The selection metric: the tuning's (--select) when tuned, else the best validation
        loss when the runs have a validation split, else the final training loss."""
        tuning = self.data.get("tuning") or {}
        if tuning.get("select"):
            return tuning["select"]
        has_val = any(r.get("best_val_loss") is not None for r in self.data["runs"])
        return "val_loss" if has_val else "train_loss"

    @property
    def best(self) -> Run | None:
        """The Run with the best value of the selection metric (`select`: lowest best
        validation loss, or lowest final training loss without validation data; the first of
        equals); None when every run diverged or was skipped."""
        from nnctl.compare.tuning import higher_is_better, pick_best, selection_value

        records = [r for r in self.data["runs"] if r.get("run")]
        values = [selection_value(r, self.select) for r in records]
        index = pick_best(values, higher_is_better(self.select))
        return None if index is None else Run(self.dir / records[index]["run"])

    def __repr__(self) -> str:
        runs = self.data["runs"]
        labels = list(dict.fromkeys(r["label"] for r in runs))
        shown = ", ".join(labels[:6]) + (f", ... ({len(labels)} in all)" if len(labels) > 6 else "")
        best = self.best
        return (
            f"Comparison({self.data.get('kind')}: {len(runs)} runs of {shown}; best by "
            f"{self.select}: {best.dir.name if best else 'none'}; dir={str(self.dir)!r})"
        )


def compare_optimizers(
    config,
    optimizers: Iterable[str] | None = None,
    *,
    overrides: Mapping | Iterable[str] | None = None,
    seeds: int | None = 1,
    jobs: int = 1,
    tune: Iterable[str] | None = None,
    budget: int | None = None,
    out: str | os.PathLike | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    connect_timeout: float | None = None,
    worker_timeout: float | None = None,
    run_timeout: float | None = None,
    insecure: bool = False,
    force: bool = False,
    progress: bool = False,
) -> Comparison:
    """Train each optimizer on the config's model with the same split, init, batch order and
    budget (`nnctl compare-optimizers`); one run folder per optimizer and seed.

    config: a YAML file, an example name or a dict (as for nnctl.train).
    optimizers: specs such as "sgd", "adam:lr=0.01" (default: the config's compare section,
      else the standard set). overrides: as for nnctl.train. seeds: runs per optimizer.
    jobs: runs at a time (local executor); executor "local" or "dask" (scheduler: its address,
      default $DASK_SCHEDULER_ADDRESS). Dask only, as the CLI's options of the same names:
      connect_timeout (wait for the scheduler), worker_timeout (for a first or any worker),
      run_timeout (for the next run to finish), in seconds > 0, default 10, 30 and no limit
      (or $NNCTL_DASK_CONNECT_TIMEOUT, ...); insecure: allow plain tcp:// to another machine.
    tune: settings to tune first with the same budget for each optimizer (e.g. ["lr"]);
      budget: trials per optimizer. out: the folder (default runs/NAME-compare-...).
    force: replace `out` (else the default folder itself) when it is a comparison folder
      nnctl wrote, as --force; any other folder is refused.
    progress: a line per finished run on stderr; default silent.
    """
    from nnctl.api import commands
    from nnctl.api.inputs import override_texts

    texts = override_texts(overrides)
    with _config_file(config) as path:
        result = commands.compare_optimizers(
            path,
            list(optimizers or []),
            texts,
            _seeds(seeds),
            jobs,
            Path(out) if out is not None else None,
            None,
            not progress,
            executor=executor,
            scheduler=scheduler,
            tune=list(tune) if tune else None,
            budget=budget,
            force=_flag(force, "force"),
            dask_options=_dask_options(
                executor, connect_timeout, worker_timeout, run_timeout, insecure
            ),
        )
    return Comparison(result.out_dir)


def sweep(
    config,
    axes: Mapping | Iterable[str],
    *,
    overrides: Mapping | Iterable[str] | None = None,
    seeds: int | None = 1,
    jobs: int = 1,
    out: str | os.PathLike | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    connect_timeout: float | None = None,
    worker_timeout: float | None = None,
    run_timeout: float | None = None,
    insecure: bool = False,
    force: bool = False,
    progress: bool = False,
) -> Comparison:
    """Train every combination of the swept settings (`nnctl sweep`) with the same seed, split
    and batch order. axes: {"optimizer.lr": [0.01, 0.1], "model.activation": ["relu", "elu"]}
    (4 runs) or ["optimizer.lr=0.01,0.1", ...]; overrides: plain settings for every run.
    The other arguments (force and the Dask options included) as for compare_optimizers."""
    from nnctl.api import commands
    from nnctl.api.inputs import axis_texts, override_texts

    options = override_texts(overrides) + axis_texts(axes)
    with _config_file(config) as path:
        result = commands.sweep(
            path,
            options,
            _seeds(seeds),
            jobs,
            Path(out) if out is not None else None,
            None,
            not progress,
            executor=executor,
            scheduler=scheduler,
            force=_flag(force, "force"),
            dask_options=_dask_options(
                executor, connect_timeout, worker_timeout, run_timeout, insecure
            ),
        )
    return Comparison(result.out_dir)


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{name}: expected True or False, found {value!r}")
    return value


def _dask_options(executor, connect_timeout, worker_timeout, run_timeout, insecure) -> dict:
    """The Dask options given, checked here so that messages name these arguments (the
    executor's own name the CLI's flags)."""
    import math

    given = {}
    for name, value in (
        ("connect_timeout", connect_timeout),
        ("worker_timeout", worker_timeout),
        ("run_timeout", run_timeout),
    ):
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not 0 < value < math.inf
        ):
            raise UsageError(f"{name}: expected a number of seconds > 0 (or None), found {value!r}")
        given[name] = float(value)
    if _flag(insecure, "insecure"):
        given["insecure"] = True
    if given and executor != "dask":
        raise UsageError(
            f"{next(iter(given))}: applies to executor='dask' (this is executor={executor!r})"
        )
    return given


def _seeds(seeds) -> int | None:
    """A count of seeds; None takes the config's compare.seeds, as the CLI without --seeds."""
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise UsageError(f"seeds: expected a count >= 1 (or None), found {shown(seeds)}")
    return seeds


class _config_file:
    """The config as a file the comparison planner reads: a path or example as it is; a dict
    written (its relative data paths made absolute from the current folder) to a temporary
    NAME.yaml, NAME naming the folders as a file's stem would, removed afterwards."""

    def __init__(self, config):
        self.config = config
        self.folder = None

    def __enter__(self) -> Path:
        from nnctl.api.inputs import config_path, dict_config_name, paths_as_text

        path = config_path(self.config)
        if path is not None:
            return path
        import tempfile

        from nnctl.config import dump_yaml
        from nnctl.training.data_files import absolute_paths
        from nnctl.util.atomic import write_text

        self.folder = Path(tempfile.mkdtemp(prefix="nnctl-config-"))
        path = self.folder / f"{dict_config_name(self.config)}.yaml"
        write_text(path, dump_yaml(absolute_paths(paths_as_text(self.config))))
        return path

    def __exit__(self, *exc) -> None:
        if self.folder is not None:
            import shutil

            shutil.rmtree(self.folder, ignore_errors=True)
