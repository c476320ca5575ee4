"""The command line. Thin: parse, call one library function, render.

Imports of NumPy and the engine happen inside the commands, so `nnctl --help` stays fast.
Exit codes: 0 done; 1 training failed; 2 bad usage, config, data or checkpoint; 130 interrupted.
"""

from __future__ import annotations

import functools
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from nnctl import __version__

app = typer.Typer(
    name="nnctl",
    help="Train and compare the classic models of a first deep-learning course (linear, logistic "
         "and softmax regression, the MLP) from YAML configs, in NumPy.\n\n"
         "Start with: nnctl train configs/digits-mlp.yaml",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(help="Show, validate or describe configs.", no_args_is_help=True)
app.add_typer(config_app, name="config")

# Options several commands share, declared once. Each command's docstring says what its
# result and its output folder are.
SetOption = Annotated[list[str] | None, typer.Option(
    "--set", "-s", help="Override a config key, typed as YAML: -s optimizer.lr=0.01 "
                        "(repeatable; in a comparison it applies to every run).")]
JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print the result (e.g. summary.json, comparison.json) as one JSON document "
                   "on stdout (nothing else goes there).")]
QuietOption = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress output, and no result table on stderr.")]
RunDirOption = Annotated[Path | None, typer.Option(
    "--out", help="Run folder (default: output.dir or runs/<config name>, made unique).")]
ResultDirOption = Annotated[Path | None, typer.Option(
    "--out", help="Output folder, new or empty (default: runs/<config name>-compare or -sweep, "
                  "or runs/landscape-<name>, made unique).")]
SeedsOption = Annotated[int | None, typer.Option(
    "--seeds", help="Repeat every run with N seeds: the config's seed, seed+1, ..., seed+N-1; "
                    "the table and comparison.json give mean and std (default: compare.seeds, "
                    "else 1).")]
JobsOption = Annotated[int, typer.Option(
    "--jobs", "-j", help="Worker processes to run in; the numbers are the same as with --jobs 1.")]
TargetLossOption = Annotated[float | None, typer.Option(
    "--target-loss", help="Training loss whose first crossing is reported (epochs, "
                          "sample-gradients, seconds); default: 1% above the lowest training loss "
                          "any run reached.")]
NoPlotOption = Annotated[bool, typer.Option(
    "--no-plot", help="Do not draw curves.png / landscape.png.")]
ExecutorOption = Annotated[str, typer.Option(
    "--executor", help="Where the runs go: local (this machine, --jobs processes) or dask (a "
                       "dask.distributed cluster, --scheduler; needs nnctl[dask]). Same numbers.")]
SchedulerOption = Annotated[str | None, typer.Option(
    "--scheduler", help="Dask scheduler address, e.g. tcp://HOST:8786 (default: "
                        "$DASK_SCHEDULER_ADDRESS).")]
ResumeComparisonOption = Annotated[Path | None, typer.Option(
    "--resume", help="Finish an interrupted comparison or sweep folder: runs only the runs it "
                     "lacks, from its plan.json (give no CONFIG, -o, -s, --seeds, --target-loss "
                     "or --out).")]


class Split(str, Enum):
    """Which rows of the run's own data `eval` scores."""

    val = "val"
    train = "train"
    all = "all"
FormatOption = Annotated[str, typer.Option(
    "--format", help="Data format: auto (from the name, else the content), csv, npz, npy or idx.")]


def _version(value: bool):
    if value:
        print(f"nnctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False):
    pass


def command(fn):
    """Run a command body with the error contract: no traceback (unless NNCTL_DEBUG=1), the
    message on stderr, and the exit code of the error's kind."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from nnctl.errors import NnctlError
        from nnctl.report.console import route_warnings

        route_warnings()
        try:
            return fn(*args, **kwargs)
        except NnctlError as exc:
            if os.environ.get("NNCTL_DEBUG") == "1":
                raise
            print(f"error: {exc}" if exc.exit_code != 130 else str(exc), file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly, and keep Python from
            # complaining again when it flushes stdout at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except MemoryError:
            print("error: out of memory; use a smaller model, batch or dataset", file=sys.stderr)
            raise typer.Exit(2) from None

    return wrapper


def _print_json(obj) -> None:
    from nnctl.run_folder import to_json

    sys.stdout.write(to_json(obj, indent=2) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------------------------------------
@app.command()
@command
def train(
    config: Annotated[Path | None, typer.Argument(
        help="YAML config (not needed with --resume).")] = None,
    set_: SetOption = None,
    out: RunDirOption = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace the run files in an existing --out folder.")] = False,
    resume: Annotated[Path | None, typer.Option(
        "--resume", help="Continue an interrupted run folder from its last checkpoint.")] = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
):
    """Train a model from a YAML config; writes a run folder (config.yaml, metrics.jsonl,
    summary.json, checkpoints/last.npz and best.npz). --json prints summary.json."""
    from nnctl.commands import train_or_resume
    from nnctl.report.progress import make_reporter
    from nnctl.report.tables import print_summary

    summary = train_or_resume(config, set_ or [], out, force, resume, make_reporter(quiet))
    if not quiet:
        print_summary(summary)
    if json_:
        _print_json(summary)


@app.command("eval")
@command
def eval_(
    run: Annotated[Path, typer.Argument(
        help="Run folder (uses checkpoints/best.npz) or a checkpoint .npz.")],
    data: Annotated[str | None, typer.Option(
        "--data", help="A data file (- for stdin) or built-in dataset name (default: the run's "
                       "own data). CSV columns are matched by header name.")] = None,
    split: Annotated[Split, typer.Option(
        "--split", help="With the run's own data: val, train or all.")] = Split.val,
    json_: JsonOption = False,
    data_format: FormatOption = "auto",
):
    """Evaluate a trained model: loss and the task's metrics (accuracy, log loss, confusion
    matrix; or MSE, RMSE, MAE, R2)."""
    from nnctl.inference import evaluate
    from nnctl.report.tables import print_eval

    result = evaluate(run, data, split.value, data_format)
    if json_:
        _print_json(result)
    else:
        print_eval(result)


@app.command()
@command
def predict(
    run: Annotated[Path, typer.Argument(help="Run folder or checkpoint .npz.")],
    data: Annotated[str, typer.Argument(
        help="Data file (CSV, NPZ, NPY, IDX), or - for stdin. CSV columns are matched by header "
             "name, in any order; the target and other unused columns are ignored.")],
    proba: Annotated[bool, typer.Option(
        "--proba", help="Add one probability column per class.")] = False,
    data_format: FormatOption = "auto",
    keep: Annotated[list[str] | None, typer.Option(
        "--keep", help="Copy this input column (e.g. an id) into the output, before the "
                       "predictions (repeatable).")] = None,
    no_header: Annotated[bool, typer.Option(
        "--no-header", help="Write the prediction rows without the header line.")] = False,
):
    """Predict for every row of DATA; CSV on stdout with the original class labels (regression:
    in the target's own units), one row per input row."""
    import csv

    from nnctl.inference import predict_rows

    header, rows = predict_rows(run, data, proba, data_format, keep or [])
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if not no_header:
        writer.writerow(header)
    writer.writerows(rows)
    sys.stdout.flush()


@app.command()
@command
def gradcheck(
    config: Annotated[Path, typer.Argument(help="YAML config.")],
    set_: SetOption = None,
    samples: Annotated[int, typer.Option("--samples", help="Training rows to check on.")] = 64,
    json_: JsonOption = False,
):
    """Check the model's analytic gradients against central finite differences (float64)."""
    from nnctl.config import load_config
    from nnctl.diagnostics import run_gradcheck
    from nnctl.report.tables import print_gradcheck

    cfg = load_config(config, set_ or [])
    result = run_gradcheck(cfg, samples, base_dir=config.resolve().parent)
    if json_:
        _print_json(result)
    else:
        print_gradcheck(result)
    if not result["passed"]:
        raise typer.Exit(1)


@app.command()
@command
def datasets(json_: JsonOption = False):
    """List the built-in datasets: size, features, task and source."""
    from nnctl.diagnostics import dataset_listing
    from nnctl.report.tables import print_datasets

    listing = dataset_listing()
    if json_:
        _print_json(listing)
    else:
        print_datasets(listing)


data_app = typer.Typer(help="Prepare data files.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("convert")
@command
def data_convert(
    source: Annotated[Path, typer.Argument(help="A CSV file (.csv, .tsv, .txt, or gzipped).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the shards (new or empty).")],
    target: Annotated[str | None, typer.Option(
        "--target", help="The target column (default: 'target' if present, else the last).")]
        = None,
    drop: Annotated[list[str] | None, typer.Option(
        "--drop", help="A column to leave out (repeatable).")] = None,
    missing: Annotated[str, typer.Option(
        "--missing", help="Missing cells: error, drop_rows or impute.")] = "error",
    categorical: Annotated[list[str] | None, typer.Option(
        "--categorical", help="auto, none, or a column to one-hot encode (repeatable).")]
        = None,
    na_values: Annotated[list[str] | None, typer.Option(
        "--na-values", help="Cell texts read as missing (repeatable; default: the usual).")]
        = None,
    delimiter: Annotated[str, typer.Option("--delimiter", help="auto, , ; tab or |.")] = "auto",
    dtype: Annotated[str, typer.Option("--dtype", help="float64 or float32 features.")]
        = "float64",
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
    json_: JsonOption = False,
):
    """Stream a CSV into .npy shards (X-00000.npy, y-00000.npy, ...) and dataset.json, applying
    the column rules of training; train on the folder with data.path: FOLDER."""
    from nnctl.commands import convert_data

    result = convert_data(source, out, target, drop, missing, categorical, na_values,
                          delimiter, dtype, force)
    if json_:
        _print_json(result)
    else:
        print(f"{result['rows']} rows, {len(result['feature_names'])} features in "
              f"{result['shards']} shards: {out}", file=sys.stderr)


# ------------------------------------------------------------------------------------------------
SPEC_HELP = ("An optimizer, with optional settings typed as YAML: adam, sgd:lr=0.1,momentum=0.9 "
             "(repeatable; default: compare.optimizers of the config, else every optimizer that "
             "applies to the model). The config's own optimizer starts from the config's "
             "settings, any other from its defaults.")


def _plot_or_hint(draw, quiet: bool) -> None:
    """Draw a plot if matplotlib is there; otherwise one line on how to install it."""
    from nnctl.report.plots import PlotsUnavailable

    try:
        path = draw()
    except PlotsUnavailable as exc:
        print(f"note: {exc}", file=sys.stderr)  # even with -q: a file the user expects is missing
        return
    if not quiet:
        print(f"wrote {path}", file=sys.stderr)


def _render_comparison(result, quiet: bool, json_: bool, no_plot: bool) -> None:
    from nnctl.report.compare_table import print_comparison
    from nnctl.report.plots import plot_curves

    if not no_plot:
        title = f"{result.data['kind']} of {result.data['config']}"
        _plot_or_hint(lambda: plot_curves(result.run_dirs(), result.out_dir / "curves.png",
                                          title=title), quiet)
    if not quiet:
        print_comparison(result.data, result.curves)
    if json_:
        _print_json(result.data)


def _render_landscape(result, quiet: bool, json_: bool, no_plot: bool) -> None:
    from nnctl.report.compare_table import print_landscape
    from nnctl.report.plots import plot_landscape

    if not no_plot:
        _plot_or_hint(lambda: plot_landscape(result.surface, result.runs,
                                             result.out_dir / "landscape.png"), quiet)
    if not quiet:
        print_landscape(result.data, result.gaps())
    if json_:
        _print_json(result.data)


@app.command("compare-optimizers")
@command
def compare_optimizers(
    config: Annotated[Path | None, typer.Argument(
        help="YAML config (not needed with --landscape).")] = None,
    optimizer: Annotated[list[str] | None, typer.Option(
        "--optimizer", "-o", help=SPEC_HELP)] = None,
    set_: SetOption = None,
    seeds: SeedsOption = None,
    jobs: JobsOption = 1,
    out: ResultDirOption = None,
    target_loss: TargetLossOption = None,
    landscape: Annotated[str | None, typer.Option(
        "--landscape", help="Instead of a config: run the optimizers on a 2-D test function "
                            "(rosenbrock, beale, canyon, saddle) and draw their paths "
                            "(landscape.png).")] = None,
    start: Annotated[str | None, typer.Option(
        "--start", help="Landscape start point X,Y (e.g. --start -1.5,2; default: the "
                        "landscape's).")] = None,
    steps: Annotated[int | None, typer.Option(
        "--steps", help="Landscape steps per optimizer (default: the landscape's).")] = None,
    no_plot: NoPlotOption = False,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    resume: ResumeComparisonOption = None,
):
    """Train every optimizer on the same model, split, init, batch order and budget; writes one
    run folder per optimizer and seed, comparison.csv, comparison.json and curves.png
    (--landscape: landscape.json and landscape.png). --json prints comparison.json
    (landscape.json)."""
    from nnctl import commands
    from nnctl.compare import Comparison

    result = commands.compare_optimizers(config, optimizer or [], set_ or [], seeds, jobs, out,
                                         target_loss, quiet, landscape, start, steps,
                                         executor, scheduler, resume)
    render = _render_comparison if isinstance(result, Comparison) else _render_landscape
    render(result, quiet, json_, no_plot)


@app.command()
@command
def sweep(
    config: Annotated[Path | None, typer.Argument(
        help="YAML config (not needed with --resume).")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", "-s", help="KEY=V1,V2,... is a sweep axis (one run per value; commas inside "
                            "[...] or {...} belong to a value); KEY=VALUE a plain override. "
                            "Repeatable: the runs are the Cartesian product.")] = None,
    seeds: SeedsOption = None,
    jobs: JobsOption = 1,
    out: ResultDirOption = None,
    target_loss: TargetLossOption = None,
    no_plot: NoPlotOption = False,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
    resume: ResumeComparisonOption = None,
):
    """Train every combination of the swept settings (e.g. -s optimizer.lr=0.001,0.01,0.1
    -s model.activation=relu,elu: 6 runs) with the same seed, split and batch order; writes the
    same folder as compare-optimizers."""
    from nnctl import commands

    result = commands.sweep(config, set_ or [], seeds, jobs, out, target_loss, quiet,
                            executor, scheduler, resume)
    _render_comparison(result, quiet, json_, no_plot)


@app.command()
@command
def plot(
    runs: Annotated[list[Path], typer.Argument(
        help="Run folders, or comparison / sweep folders (all their runs).")],
    out: Annotated[Path, typer.Option("--out", help="Image file: .png, .pdf or .svg.")],
    metric: Annotated[str | None, typer.Option(
        "--metric", help="Column of metrics.jsonl for the fourth panel (default: the validation "
                         "metric, e.g. val_accuracy).")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Figure title.")] = None,
):
    """Plot runs: loss against epochs, sample-gradients and wall time (log scale), and a metric.
    Needs the extra nnctl[plot] (matplotlib); without it exits 2 saying how to install it."""
    from nnctl.commands import plot_runs

    path = plot_runs(runs, out, metric, title)
    print(f"wrote {path}", file=sys.stderr)


# ------------------------------------------------------------------------------------------------
@config_app.command("show")
@command
def config_show(config: Annotated[Path, typer.Argument(help="YAML config.")],
                set_: SetOption = None):
    """Print the fully resolved config (every default filled in) as YAML on stdout."""
    from nnctl.config import dump_yaml, load_config

    sys.stdout.write(dump_yaml(load_config(config, set_)))


@config_app.command("validate")
@command
def config_validate(config: Annotated[Path, typer.Argument(help="YAML config.")],
                    set_: SetOption = None):
    """Check a config, its data and its model without training (exit 0 when valid)."""
    from nnctl.config import load_config
    from nnctl.diagnostics import check_config

    facts = check_config(load_config(config, set_), base_dir=config.resolve().parent)
    print(f"{config}: valid ({facts})", file=sys.stderr)


@config_app.command("init")
@command
def config_init(
    data: Annotated[str, typer.Option(
        "--data", help="Your CSV file (header row of column names).")],
    target: Annotated[str | None, typer.Option(
        "--target", help="The column to predict (default: `target`, else the last column).")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", help="linreg, logreg, softmax or mlp (default: the linear model of the "
                        "task).")] = None,
):
    """Print a complete, commented starter config for a CSV on stdout: the columns used, those
    left out and why, the inferred task, missing-value counts, and settings that train well."""
    from nnctl.errors import UsageError
    from nnctl.starter import starter_config

    if model is not None and model not in ("linreg", "logreg", "softmax", "mlp"):
        raise UsageError(f"--model: expected linreg, logreg, softmax or mlp, found {model!r}")
    sys.stdout.write(starter_config(data, target, model))


@config_app.command("schema")
@command
def config_schema():
    """Print the JSON Schema of configs (for editors that check YAML)."""
    from nnctl.config import schema_json

    sys.stdout.write(schema_json() + "\n")


@config_app.command("reference")
@command
def config_reference():
    """Print the config reference (every key, default and choice) as Markdown."""
    from nnctl.config import reference_markdown

    sys.stdout.write(reference_markdown())


if __name__ == "__main__":  # pragma: no cover
    app()
