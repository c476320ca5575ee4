"""One library call per command that needs more than one step: the checks between options (which
mode, which options go together) and the work. cli.py parses, calls one of these, renders.

    train_or_resume(config, overrides, out, force, resume, reporter)  -> summary
    compare_optimizers(config, optimizers, overrides, ...)  -> Comparison or LandscapeComparison
    sweep(config, options, seeds, jobs, out, target_loss, quiet)  -> Comparison
    plot_runs(paths, out, metric, title)  -> the image written
    convert_data(source, out, target, ...)  -> dataset.json of the shards written

Imports are inside the functions: `nnctl --help` must not pay for NumPy.
"""

from __future__ import annotations

import json
from pathlib import Path

from nnctl.errors import UsageError


def train_or_resume(config: Path | None, overrides: list[str], out: Path | None, force: bool,
                    resume: Path | None, reporter) -> dict:
    """Train CONFIG into a new run folder, or continue the run folder `resume`."""
    from nnctl import run_folder
    from nnctl.config import load_config
    from nnctl.data.ondisk import show_progress
    from nnctl.report.progress import QuietReporter
    from nnctl.train import resume as resume_run
    from nnctl.train import train

    show_progress(type(reporter) is not QuietReporter)  # -q: no bars for data passes either
    if resume is not None:
        if config is not None or overrides:
            raise UsageError("--resume: continues the run with its own config; "
                             "give no CONFIG or -s")
        return resume_run(resume, reporter)
    if config is None:
        raise UsageError("missing CONFIG: nnctl train CONFIG.yaml (or --resume RUN)")
    cfg = load_config(config, overrides)
    run_dir = run_folder.create(out or run_folder.default_dir(config, cfg), force=force,
                                unique=out is None and not force)
    return train(cfg, run_dir, reporter, base_dir=config.resolve().parent)


def compare_optimizers(config: Path | None, optimizers: list[str], overrides: list[str],
                       seeds: int | None, jobs: int, out: Path | None, target_loss: float | None,
                       quiet: bool, landscape: str | None = None, start: str | None = None,
                       steps: int | None = None, executor: str = "local",
                       scheduler: str | None = None, resume: Path | None = None):
    """Every optimizer on CONFIG's model (a Comparison), or on a 2-D test function with
    `landscape` (a LandscapeComparison); the two modes take different options. `resume`
    finishes an interrupted comparison folder."""
    if resume is not None:
        _check_resume(CONFIG=config, **{"-o": optimizers, "-s": overrides, "--seeds": seeds,
                                        "--target-loss": target_loss, "--out": out,
                                        "--landscape": landscape})
        from nnctl.compare import resume_comparison

        return resume_comparison(resume, "compare", _executor(executor, jobs, scheduler), quiet)
    if landscape is not None:
        given = [name for name, value in (("CONFIG", config), ("-s", overrides),
                                          ("--seeds", seeds), ("--target-loss", target_loss),
                                          ("--scheduler", scheduler),
                                          ("--executor", executor != "local"))
                 if value]
        if given:
            raise UsageError("--landscape: runs on a 2-D function, not a config; "
                             f"drop {', '.join(given)}")
        from nnctl.compare.landscapes import compare_on_landscape

        return compare_on_landscape(landscape, optimizers, start, steps, out)
    if start is not None or steps is not None:
        raise UsageError("--start and --steps belong to --landscape")
    if config is None:
        raise UsageError("missing CONFIG: nnctl compare-optimizers CONFIG.yaml "
                         "(or --landscape NAME)")
    from nnctl.compare import compare_plan, make_out_dir, run_plan

    runner = _executor(executor, jobs, scheduler)
    plan = compare_plan(config, optimizers, overrides, seeds, target_loss)
    out_dir = make_out_dir(out, Path("runs") / f"{config.stem}-compare")
    return run_plan(plan, out_dir, jobs, quiet, executor=runner)


def sweep(config: Path | None, options: list[str], seeds: int | None, jobs: int,
          out: Path | None, target_loss: float | None, quiet: bool, executor: str = "local",
          scheduler: str | None = None, resume: Path | None = None):
    """Every combination of the swept settings (a Comparison); `resume` finishes an
    interrupted sweep folder."""
    from nnctl.compare import make_out_dir, resume_comparison, run_plan, sweep_plan

    runner = _executor(executor, jobs, scheduler)
    if resume is not None:
        _check_resume(CONFIG=config, **{"-s": options, "--seeds": seeds,
                                        "--target-loss": target_loss, "--out": out})
        return resume_comparison(resume, "sweep", runner, quiet)
    if config is None:
        raise UsageError("missing CONFIG: nnctl sweep CONFIG.yaml -s KEY=V1,V2 (or --resume DIR)")
    plan = sweep_plan(config, options, seeds, target_loss)
    out_dir = make_out_dir(out, Path("runs") / f"{config.stem}-sweep")
    return run_plan(plan, out_dir, jobs, quiet, executor=runner)


def _executor(name: str, jobs: int, scheduler: str | None):
    from nnctl.compare.executors import make_executor

    return make_executor(name, jobs, scheduler)


def _check_resume(**given) -> None:
    named = [name for name, value in given.items() if value]
    if named:
        raise UsageError(f"--resume: finishes the folder's own plan; drop {', '.join(named)}")


def labelled_runs(paths: list[Path]) -> tuple[list[tuple[str, Path]], str | None]:
    """(label, run folder) of every path, a comparison or sweep folder giving all its runs; and
    the title a single comparison folder suggests."""
    from nnctl.report.plots import is_run_folder

    labelled, title = [], None
    names_unique = len({p.name for p in paths}) == len(paths)
    for path in paths:
        listing = path / "comparison.json"
        if listing.is_file():
            data = json.loads(listing.read_text(encoding="utf-8"))
            labelled += [(r["label"], path / r["run"]) for r in data["runs"] if r.get("run")]
            if len(paths) == 1:
                title = f"{data.get('kind', 'compare')} of {data.get('config')}"
        elif is_run_folder(path):
            labelled.append((path.name if len(paths) == 1 or names_unique else str(path), path))
        else:
            raise UsageError(f"{path}: expected a run folder (metrics.jsonl, summary.json) or a "
                             "comparison folder (comparison.json)")
    return labelled, title


def plot_runs(paths: list[Path], out: Path, metric: str | None, title: str | None) -> Path:
    """Loss curves (and a metric) of run folders or comparison folders into the image `out`;
    without matplotlib a UsageError that says how to install it."""
    from nnctl.report.plots import PlotsUnavailable, check_out_file, plot_curves

    check_out_file(out)
    labelled, suggested = labelled_runs(paths)
    try:
        return plot_curves(labelled, out, metric, title if title is not None else suggested)
    except PlotsUnavailable as exc:
        raise UsageError(str(exc)) from None


def convert_data(source: Path, out: Path, target: str | None, drop: list[str] | None,
                 missing: str, categorical: list[str] | None, na_values: list[str] | None,
                 delimiter: str, dtype: str, force: bool) -> dict:
    """`data convert`: the options checked as the data section's keys are, then the work."""
    from nnctl.data.columns import MISSING_MODES
    from nnctl.data.convert import SETTINGS_DEFAULTS, convert_csv

    if missing not in MISSING_MODES:
        raise UsageError(f"--missing: expected one of {', '.join(MISSING_MODES)}, "
                         f"found {missing!r}")
    if dtype not in ("float64", "float32"):
        raise UsageError(f"--dtype: expected float64 or float32, found {dtype!r}")
    kinds = categorical or ["auto"]
    chosen = kinds[0] if kinds in (["auto"], ["none"]) else kinds
    settings = {"drop": drop or [], "missing": missing, "categorical": chosen,
                "na_values": na_values or SETTINGS_DEFAULTS["na_values"], "delimiter": delimiter}
    return convert_csv(source, out, target=target, settings=settings, dtype=dtype, force=force)
