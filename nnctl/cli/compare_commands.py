"""Many runs at once and their pictures: compare-optimizers (one config, several, or a 2-D
landscape), sweep, plot. What the results look like is nnctl.report.render's.

No `from __future__ import annotations`: Typer reads these annotations at every start.
"""

import sys
from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.completion import complete_config_or_setting, complete_landscape, complete_optimizer
from nnctl.cli.options import (
    ConfigOrResumeArgument,
    ConnectTimeoutOption,
    ExecutorOption,
    InsecureOption,
    JobsOption,
    JsonOption,
    NoPlotOption,
    QuietOption,
    ResultDirOption,
    ResultForceOption,
    ResumeComparisonOption,
    RunTimeoutOption,
    SchedulerOption,
    SeedsOption,
    SetOption,
    TargetLossOption,
    TensorBoardOption,
    WorkerTimeoutOption,
    complete_setting,
    config_path,
    settings,
)
from nnctl.cli.process import command, print_json
from nnctl.cli.values import completion_of, whole_number

SPEC_HELP = (
    "An optimizer, with optional settings typed as YAML: adam, sgd:lr=0.1,momentum=0.9 "
    "(repeatable; default: compare.optimizers of the config, else every optimizer that "
    "applies to the model). The config's own optimizer starts from the config's "
    "settings, any other from its defaults."
)


def _import_plotting_while_workers_train(no_plot: bool, executor: str) -> None:
    """On a cluster this process only waits for the runs: import matplotlib meanwhile. (The
    local executor trains runs here too, so an import would only take time from them.)"""
    if not no_plot and executor != "local":
        from nnctl.report.plots import import_in_background

        import_in_background()


@command
def compare_optimizers(
    config: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="CONFIG... [KEY=VALUE]...",
            show_default=False,
            autocompletion=complete_config_or_setting,
            help="YAML config or an example's name (not needed with --landscape); several: the "
            "protocol on each, and a ranking and performance profile across them. KEY=VALUE "
            "words are overrides, as with -s.",
        ),
    ] = None,
    optimizer: Annotated[
        list[str] | None,
        typer.Option(
            "--optimizer", "-o", metavar="SPEC", autocompletion=complete_optimizer, help=SPEC_HELP
        ),
    ] = None,
    set_: SetOption = None,
    seeds: SeedsOption = None,
    jobs: JobsOption = 1,
    out: ResultDirOption = None,
    force: ResultForceOption = False,
    target_loss: TargetLossOption = None,
    landscape: Annotated[
        str | None,
        typer.Option(
            "--landscape",
            metavar="NAME",
            autocompletion=complete_landscape,
            help="Instead of a config: run the optimizers on a 2-D test function "
            "(rosenbrock, beale, canyon, saddle) and draw their paths "
            "(landscape.png).",
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            metavar="X,Y",
            help="Landscape start point X,Y (e.g. --start -1.5,2; default: the landscape's).",
        ),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            metavar="N",
            parser=whole_number,
            help="Landscape steps per optimizer (default: the landscape's).",
        ),
    ] = None,
    no_plot: NoPlotOption = False,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    connect_timeout: ConnectTimeoutOption = None,
    worker_timeout: WorkerTimeoutOption = None,
    run_timeout: RunTimeoutOption = None,
    insecure: InsecureOption = False,
    resume: ResumeComparisonOption = None,
    tune: Annotated[
        list[str] | None,
        typer.Option(
            "--tune",
            metavar="KEY[=LOW:HIGH]",
            help="Tune a setting of each optimizer with the same budget first: lr (range "
            "1e-4:1), lr=1e-5:0.1, momentum=0.5:0.99 (repeatable: several at once, "
            "random search). The best trial's setting then runs for every seed.",
        ),
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option(
            "--budget",
            metavar="N",
            parser=whole_number,
            help="Trials per tuned optimizer (default 8).",
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            metavar="grid|random",
            autocompletion=completion_of("grid", "random"),
            help="grid (one setting; the default then) or random (seeded by the "
            "config's seed; the default for several settings).",
        ),
    ] = None,
    select: Annotated[
        str | None,
        typer.Option(
            "--select",
            metavar="METRIC",
            help="What tuning (and the ranking of several configs) goes by: val_loss "
            "(best over epochs; the default with a validation split), train_loss "
            "(final; the default without), or val_<metric> e.g. val_accuracy.",
        ),
    ] = None,
    tensorboard: TensorBoardOption = False,
):
    """Train every optimizer on the same model, split, init, batch order and budget; writes one
    run folder per optimizer and seed, comparison.csv, comparison.json and curves.png
    (--tune: also trials/, tuning.csv, sensitivity.png; several configs: one folder each,
    ranking.json, ranking.csv, profile.png; --landscape: landscape.json and landscape.png).
    --json prints comparison.json (ranking.json, landscape.json).

    Example: nnctl compare-optimizers digits-mlp -o sgd -o adam -o lbfgs --jobs 2"""
    from nnctl.api import commands
    from nnctl.compare import Comparison
    from nnctl.compare.problems import ProblemsComparison
    from nnctl.report.render import render_comparison, render_landscape, render_problems

    if landscape is None:
        _import_plotting_while_workers_train(no_plot, executor)
    words = config or []
    configs = [config_path(Path(word)) for word in words if "=" not in word]
    overrides = [word for word in words if "=" in word]
    result = commands.compare_optimizers(
        configs or None,
        optimizer or [],
        settings(set_, overrides, tensorboard),
        seeds,
        jobs,
        out,
        target_loss,
        quiet,
        landscape,
        start,
        steps,
        executor,
        scheduler,
        resume,
        tune=tune,
        budget=budget,
        search=search,
        select=select,
        force=force,
        dask_options=_dask_options(connect_timeout, worker_timeout, run_timeout, insecure),
    )
    render = (
        render_comparison
        if isinstance(result, Comparison)
        else render_problems
        if isinstance(result, ProblemsComparison)
        else render_landscape
    )
    render(result, quiet, no_plot, print_json if json_ else None)


@command
def sweep(
    config: ConfigOrResumeArgument = None,
    overrides: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="KEY=V1,V2,...",
            autocompletion=complete_setting,
            show_default=False,
            help="Sweep axes or overrides after the config, as with -s.",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            "-s",
            metavar="KEY=V1,V2,...",
            autocompletion=complete_setting,
            help="KEY=V1,V2,... is a sweep axis (one run per value; commas inside "
            "[...] or {...} belong to a value); KEY=VALUE a plain override. "
            "Repeatable: the runs are the Cartesian product.",
        ),
    ] = None,
    seeds: SeedsOption = None,
    jobs: JobsOption = 1,
    out: ResultDirOption = None,
    force: ResultForceOption = False,
    target_loss: TargetLossOption = None,
    no_plot: NoPlotOption = False,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    connect_timeout: ConnectTimeoutOption = None,
    worker_timeout: WorkerTimeoutOption = None,
    run_timeout: RunTimeoutOption = None,
    insecure: InsecureOption = False,
    resume: ResumeComparisonOption = None,
    tensorboard: TensorBoardOption = False,
):
    """Train every combination of the swept settings (e.g. -s optimizer.lr=0.001,0.01,0.1
    -s model.activation=relu,elu: 6 runs) with the same seed, split and batch order; writes the
    same folder as compare-optimizers.

    Example: nnctl sweep moons-mlp model.activation=relu,elu optimizer.lr=0.01,0.1"""
    from nnctl.api import commands
    from nnctl.report.render import render_comparison

    _import_plotting_while_workers_train(no_plot, executor)
    result = commands.sweep(
        config_path(config),
        settings(set_, overrides, tensorboard),
        seeds,
        jobs,
        out,
        target_loss,
        quiet,
        executor,
        scheduler,
        resume,
        force=force,
        dask_options=_dask_options(connect_timeout, worker_timeout, run_timeout, insecure),
    )
    render_comparison(result, quiet, no_plot, print_json if json_ else None)


def _dask_options(connect_timeout, worker_timeout, run_timeout, insecure) -> dict:
    """The Dask options given on the command line (the rest take their defaults)."""
    given = {
        "connect_timeout": connect_timeout,
        "worker_timeout": worker_timeout,
        "run_timeout": run_timeout,
        "insecure": insecure or None,
    }
    return {key: value for key, value in given.items() if value is not None}


@command
def plot(
    runs: Annotated[
        list[Path],
        typer.Argument(
            metavar="RUN", help="Run folders, or comparison / sweep folders (all their runs)."
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Image file: .png, .pdf or .svg (default: curves.png, boundary.png or "
            "weights.png inside the one folder given, else in the current folder).",
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            metavar="COLUMN",
            help="Column of metrics.jsonl for the fourth panel (default: the validation "
            "metric, e.g. val_accuracy).",
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", metavar="TEXT", help="Figure title.")
    ] = None,
    boundary: Annotated[
        bool,
        typer.Option(
            "--boundary",
            help="Instead of curves: class regions, decision boundary and training "
            "points of a model on 2 features (a comparison folder: one panel per "
            "optimizer); the numbers go to the .json beside the image.",
        ),
    ] = False,
    weights: Annotated[
        bool,
        typer.Option(
            "--weights",
            help="Instead of curves: the first layer's weights as images (image inputs: "
            "digits, IDX); the numbers go to the .json beside the image.",
        ),
    ] = False,
):
    """Plot runs: loss against epochs, sample-gradients and wall time (log scale), and a metric.
    Needs the extra nnctl[plot] (matplotlib); without it exits 2 saying how to install it.

    Example: nnctl plot runs/digits-mlp-compare-* --metric val_loss --out curves.png"""
    from nnctl.api.commands import plot_model, plot_runs

    if boundary or weights:
        path = plot_model(runs, out, boundary, weights, title)
    else:
        path = plot_runs(runs, out, metric, title)
    print(f"wrote {path}", file=sys.stderr)
