"""One library call per command that needs more than one step: the checks between options (which
mode, which options go together) and the work. cli/app.py parses, calls one of these, renders;
the Python API (nnctl.train, nnctl.compare_optimizers, ...) calls the same ones.

    train_or_resume(config, overrides, out, force, resume, reporter, callbacks)  -> summary
    train_resolved(cfg, named_as, out, force, reporter, base_dir, callbacks)  -> summary
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


def train_or_resume(
    config: Path | None,
    overrides: list[str],
    out: Path | None,
    force: bool,
    resume: Path | None,
    reporter,
    callbacks=(),
) -> dict:
    """Train CONFIG into a new run folder, or continue the run folder `resume`. `callbacks`:
    the caller's objects with any of the training hooks (nnctl.train)."""
    from nnctl.config import load_config
    from nnctl.training import resume as resume_run

    show_data_passes(reporter)
    if resume is not None:
        if config is not None or overrides:
            raise UsageError(
                "--resume: continues the run with its own config; give no CONFIG or -s"
            )
        return resume_run(resume, reporter, callbacks=callbacks)
    if config is None:
        raise UsageError("missing CONFIG: nnctl train CONFIG.yaml (or --resume RUN)")
    cfg = load_config(config, overrides)
    return train_resolved(cfg, config, out, force, reporter, config.resolve().parent, callbacks)


def show_data_passes(reporter) -> None:
    """Bars for passes over on-disk data go with the training progress (none when quiet)."""
    from nnctl.data.ondisk import show_progress
    from nnctl.report.progress import QuietReporter, pass_bar

    show_progress(pass_bar(type(reporter) is not QuietReporter))


def train_resolved(
    cfg: dict,
    named_as: Path,
    out: Path | None,
    force: bool,
    reporter,
    base_dir: Path,
    callbacks=(),
) -> dict:
    """Train a resolved config into `out` (a template filled from the config) or the default
    folder runs/NAME (NAME: the stem of `named_as`), made unique; relative data paths are found
    in the working folder, then in `base_dir`."""
    import shutil

    from nnctl.runs import run_folder
    from nnctl.runs.out_template import fill
    from nnctl.training import train

    target = Path(fill(str(out), cfg)) if out is not None else run_folder.default_dir(named_as, cfg)
    existed = target.exists()
    run_dir = run_folder.create(target, force=force, unique=out is None and not force)
    try:
        return train(cfg, run_dir, reporter, base_dir=base_dir, callbacks=callbacks)
    except UsageError:
        # Refused before any training (data, model, init): a folder holding only config.yaml
        # would use up the name and trip `nnctl plot runs/*`. A folder that was there stays.
        if not existed or run_dir != target:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def compare_optimizers(
    config,
    optimizers: list[str],
    overrides: list[str],
    seeds: int | None,
    jobs: int,
    out: Path | None,
    target_loss: float | None,
    quiet: bool,
    landscape: str | None = None,
    start: str | None = None,
    steps: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    resume: Path | None = None,
    tune: list[str] | None = None,
    budget: int | None = None,
    search: str | None = None,
    select: str | None = None,
    force: bool = False,
    dask_options: dict | None = None,
):
    """Every optimizer on CONFIG's model (a Comparison), on several configs with a ranking
    across them (a ProblemsComparison), or on a 2-D test function with `landscape` (a
    LandscapeComparison); the modes take different options. `tune` tunes settings with the
    same budget first (nnctl.compare.tuning). `resume` finishes an interrupted comparison.
    `force` replaces the output folder (--out, else the default name) when it is a
    comparison folder nnctl wrote (see nnctl.compare.folder_layout)."""
    configs = list(config) if isinstance(config, (list, tuple)) else [config] if config else []
    tune = tune or []
    tuning_only = [
        name for name, value in (("--budget", budget is not None), ("--search", search)) if value
    ]
    if tuning_only and not tune:
        raise UsageError(f"{', '.join(tuning_only)}: belong to --tune (e.g. --tune lr)")
    if budget is not None:
        from nnctl.compare.plan import MAX_TUNING_BUDGET, check_at_most

        check_at_most("--budget", budget, MAX_TUNING_BUDGET, "trials per tuned optimizer")
    if select and not tune and len(configs) < 2:
        raise UsageError("--select: chooses among --tune trials, or ranks several configs")
    if resume is not None:
        _check_resume(
            CONFIG=configs,
            **{
                "-o": optimizers,
                "-s": overrides,
                "--seeds": seeds,
                "--target-loss": target_loss,
                "--out": out,
                "--landscape": landscape,
                "--tune": tune,
                "--select": select,
                "--force": force,
            },
        )
        from nnctl.compare import resume_comparison

        return resume_comparison(
            resume, "compare", _executor(executor, jobs, scheduler, dask_options), quiet
        )
    if landscape is not None:
        given = [
            name
            for name, value in (
                ("CONFIG", configs),
                ("-s", overrides),
                ("--seeds", seeds),
                ("--target-loss", target_loss),
                ("--scheduler", scheduler),
                ("--tune", tune),
                ("--select", select),
                ("--executor", executor != "local"),
            )
            if value
        ]
        if given:
            raise UsageError(
                f"--landscape: runs on a 2-D function, not a config; drop {', '.join(given)}"
            )
        from nnctl.compare.landscapes import compare_on_landscape

        if steps is not None:
            from nnctl.compare.plan import MAX_LANDSCAPE_STEPS, check_at_most

            check_at_most("--steps", steps, MAX_LANDSCAPE_STEPS, "steps per optimizer")
        if force:
            out = _forced(out, Path("runs") / f"landscape-{landscape}")
        return compare_on_landscape(landscape, optimizers, start, steps, out)
    if start is not None or steps is not None:
        raise UsageError("--start and --steps belong to --landscape")
    if not configs:
        raise UsageError(
            "missing CONFIG: nnctl compare-optimizers CONFIG.yaml (or --landscape NAME)"
        )
    from nnctl.compare import compare_plan

    def new_executor():
        return _executor(executor, jobs, scheduler, dask_options)

    def make_plan(path: Path):
        if tune:
            from nnctl.compare.tuning import DEFAULT_BUDGET, tuning_plan

            return tuning_plan(
                path,
                optimizers,
                overrides,
                tune,
                DEFAULT_BUDGET if budget is None else budget,
                search,
                select,
                seeds,
                target_loss,
            )
        plan = compare_plan(path, optimizers, overrides, seeds, target_loss)
        cfg = next((t.cfg for t in plan.tasks if t.cfg is not None), None)
        if select and cfg is not None:
            from nnctl.compare.tuning import check_select

            check_select(select, cfg)
        return plan

    # Made first: a wrong Dask address fails before any folder is made, and local workers
    # start up (imports) while the configs are resolved and planned.
    runner = new_executor()
    try:
        return _compare_configs(
            configs, make_plan, bool(tune), runner, new_executor, out, select, quiet, force
        )
    except BaseException:
        runner.close()  # a no-op when the runs already closed it
        raise


def _compare_configs(
    configs, make_plan, tuned, runner, new_executor, out, select, quiet: bool, force: bool
):
    """Plan every config (all checked before any run), then one comparison or a ranking."""
    plans = [make_plan(path) for path in configs]
    if len(configs) == 1:
        # a tuning plan is named by its optimizers
        labels = plans[0].probe.labels if tuned else plans[0].labels
        default = Path("runs") / named_by_settings(configs[0].stem, "compare", labels)
        out_dir = _out_dir(out, default, force)
        return _run_protocol(plans[0], out_dir, runner, new_executor, quiet)[0]
    from nnctl.compare.problems import compare_problems

    out_dir = _out_dir(out, Path("runs") / f"{len(configs)}-problems-compare", force)
    runners = [runner]

    def run_one(plan, problem_dir: Path):
        first = runners.pop() if runners else new_executor()
        comparison, plan_select = _run_protocol(plan, problem_dir, first, new_executor, quiet)
        return comparison, select or plan_select

    return compare_problems(configs, plans, out_dir, run_one, quiet)


def _run_protocol(plan, out_dir: Path, runner, new_executor, quiet: bool):
    """(Comparison, its selection metric) of a tuning plan or a plain comparison plan."""
    from nnctl.compare import run_plan
    from nnctl.compare.tuning import TuningPlan, default_select

    if isinstance(plan, TuningPlan):
        from nnctl.compare.tuned_comparison import run_tuned

        return run_tuned(plan, out_dir, new_executor, quiet, executor=runner), plan.select
    cfg = next((t.cfg for t in plan.tasks if t.cfg is not None), None)
    select = default_select(cfg) if cfg else "train_loss"
    return run_plan(plan, out_dir, quiet=quiet, executor=runner), select


def sweep(
    config: Path | None,
    options: list[str],
    seeds: int | None,
    jobs: int,
    out: Path | None,
    target_loss: float | None,
    quiet: bool,
    executor: str = "local",
    scheduler: str | None = None,
    resume: Path | None = None,
    force: bool = False,
    dask_options: dict | None = None,
):
    """Every combination of the swept settings (a Comparison); `resume` finishes an
    interrupted sweep folder; `force` replaces the output folder as in compare_optimizers."""
    from nnctl.compare import resume_comparison, run_plan, sweep_plan

    runner = _executor(
        executor, jobs, scheduler, dask_options
    )  # first: local workers start meanwhile
    try:
        if resume is not None:
            _check_resume(
                CONFIG=config,
                **{
                    "-s": options,
                    "--seeds": seeds,
                    "--target-loss": target_loss,
                    "--out": out,
                    "--force": force,
                },
            )
            return resume_comparison(resume, "sweep", runner, quiet)
        if config is None:
            raise UsageError(
                "missing CONFIG: nnctl sweep CONFIG.yaml -s KEY=V1,V2 (or --resume DIR)"
            )
        plan = sweep_plan(config, options, seeds, target_loss)
        swept = (
            [part.partition("=")[0] for part in plan.labels[0].split(" ")] if plan.labels else []
        )
        default = Path("runs") / named_by_settings(config.stem, "sweep", swept)
        out_dir = _out_dir(out, default, force)
        return run_plan(plan, out_dir, jobs, quiet, executor=runner)
    except BaseException:
        runner.close()  # a no-op when the run already closed it
        raise


def _forced(out: Path | None, default: Path) -> Path:
    """--force: the folder to write (`out`, else `default` itself rather than a new name
    beside it), emptied when it is a comparison folder nnctl wrote (UsageError otherwise)."""
    from nnctl.compare.folder_layout import clear_for_force

    target = Path(out) if out is not None else default
    clear_for_force(target)
    return target


def _out_dir(out: Path | None, default: Path, force: bool) -> Path:
    """The comparison's folder, made and locked: --out (new or empty), else `default` made
    unique; with `force`, either one replaced when nnctl wrote it."""
    from nnctl.compare import make_out_dir

    if force:
        out = _forced(out, default)
    return make_out_dir(out, default)


def _executor(name: str, jobs: int, scheduler: str | None, dask_options: dict | None = None):
    from nnctl.compare.executors import make_executor

    return make_executor(name, jobs, scheduler, **(dask_options or {}))


def _check_resume(**given) -> None:
    named = [name for name, value in given.items() if value]
    if named:
        raise UsageError(f"--resume: finishes the folder's own plan; drop {', '.join(named)}")


FOLDER_NAME_LIMIT = 48  # characters of a default comparison folder's name
HASH_LENGTH = 8  # hex digits naming the settings that did not fit


def named_by_settings(
    stem: str, kind: str, parts: list[str], limit: int = FOLDER_NAME_LIMIT
) -> str:
    """The default folder of a comparison, named by what it varies: digits-mlp-compare-sgd-adam,
    moons-mlp-sweep-activation-lr. A name over `limit` characters keeps the parts that fit and
    ends in a short hash of the whole name, so it stays stable and tells different comparisons
    apart (what each run is, is in plan.json): digits-mlp-compare-sgd-adam-rmsprop-1c9e4f2a."""
    import hashlib

    from nnctl.config.optimizer_specs import safe_name

    name = "-".join([f"{stem}-{kind}", *(safe_name(part) for part in parts)])
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    room = limit - HASH_LENGTH - 1
    kept = f"{stem}-{kind}"[:room]
    for part in parts:
        candidate = f"{kept}-{safe_name(part)}"
        if len(candidate) > room:
            break
        kept = candidate
    return f"{kept.rstrip('-.')}-{digest}"


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
            raise UsageError(
                f"{path}: expected a run folder (metrics.jsonl, summary.json) or a "
                "comparison folder (comparison.json)"
            )
    return labelled, title


def default_plot_out(paths: list[Path], name: str) -> Path:
    """Where a plot goes without --out: inside the one run or comparison folder given, else in
    the current folder; said on stderr."""
    import sys

    folder = Path(paths[0]) if len(paths) == 1 and Path(paths[0]).is_dir() else Path()
    out = folder / name
    print(f"no --out: writing {out}", file=sys.stderr)
    return out


def plot_runs(paths: list[Path], out: Path | None, metric: str | None, title: str | None) -> Path:
    """Loss curves (and a metric) of run folders or comparison folders into the image `out`
    (None: curves.png, see default_plot_out); without matplotlib a UsageError that says how to
    install it."""
    from nnctl.report.plots import PlotsUnavailable, check_out_file, plot_curves

    if out is None:
        labelled_runs(paths)  # a bad folder is refused before anything is said or written
        out = default_plot_out(paths, "curves.png")
    check_out_file(out)
    labelled, suggested = labelled_runs(paths)
    try:
        return plot_curves(labelled, out, metric, title if title is not None else suggested)
    except PlotsUnavailable as exc:
        raise UsageError(str(exc)) from None


def plot_model(
    paths: list[Path], out: Path | None, boundary: bool, weights: bool, title: str | None
) -> Path:
    """`plot --boundary` (2-D inputs; a comparison folder gives one panel per optimizer, its
    first seed) or `plot --weights` (image inputs, one run): the image `out` (None:
    boundary.png or weights.png, see default_plot_out), and its numbers in the JSON file beside
    it (same name, .json)."""
    from nnctl.report.model_pictures import boundary_data, weights_data
    from nnctl.report.plots import PlotsUnavailable, _save, check_out_file
    from nnctl.runs.run_folder import to_json
    from nnctl.util.atomic import write_text

    if boundary == weights:
        raise UsageError("plot: give one of --boundary and --weights")
    labelled, _ = labelled_runs(paths)
    if out is None:
        out = default_plot_out(paths, "boundary.png" if boundary else "weights.png")
    check_out_file(out)
    first = list(dict(reversed(labelled)).items())[::-1]  # first run (seed) of each label
    try:
        from nnctl.report import model_plots

        if boundary:
            data = boundary_data(first)
            figure = model_plots.boundary_figure(data, title)
        else:
            if len(first) != 1:
                raise UsageError(
                    f"--weights: draws one run; found {len(first)} "
                    f"({', '.join(label for label, _ in first[:4])}...)"
                )
            data = weights_data(first[0][1])
            figure = model_plots.weights_figure(data, title)
    except PlotsUnavailable as exc:
        raise UsageError(str(exc)) from None
    write_text(Path(out).with_suffix(".json"), to_json(data) + "\n")
    return _save(figure, Path(out))


def convert_data(
    source: Path,
    out: Path,
    target: str | None,
    drop: list[str] | None,
    missing: str,
    categorical: list[str] | None,
    na_values: list[str] | None,
    delimiter: str,
    dtype: str,
    force: bool,
) -> dict:
    """`data convert`: the options checked as the data section's keys are, then the work."""
    from nnctl.data.columns import MISSING_MODES
    from nnctl.data.convert import SETTINGS_DEFAULTS, convert_csv
    from nnctl.data.ondisk import show_progress
    from nnctl.report.progress import pass_bar

    show_progress(pass_bar(True))

    if missing not in MISSING_MODES:
        raise UsageError(
            f"--missing: expected one of {', '.join(MISSING_MODES)}, found {missing!r}"
        )
    if dtype not in ("float64", "float32"):
        raise UsageError(f"--dtype: expected float64 or float32, found {dtype!r}")
    kinds = categorical or ["auto"]
    chosen = kinds[0] if kinds in (["auto"], ["none"]) else kinds
    settings = {
        "drop": drop or [],
        "missing": missing,
        "categorical": chosen,
        "na_values": na_values or SETTINGS_DEFAULTS["na_values"],
        "delimiter": delimiter,
    }
    return convert_csv(source, out, target=target, settings=settings, dtype=dtype, force=force)
