"""The command line. Thin: parse, call one library function, render.

No `from __future__ import annotations` here: Typer reads every parameter's annotation, and
string annotations would each be eval()-ed at every start (about 40 ms for this file).

Imports of NumPy and the engine happen inside the commands, so `nnctl --help` stays fast.
Exit codes: 0 done; 1 training failed; 2 bad usage, config, data or checkpoint; 130 interrupted.
"""

import functools
import os
import shutil
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from nnctl import __version__


def _arguments_show_their_metavar() -> None:
    """Typer prints an argument as `CONFIG <path>` and `{CONFIG}` even when it has a metavar:
    raw placeholders the user cannot act on. Show the metavar alone, as options already do,
    and the usage line in the usual form: CONFIG, [OPTIONAL], REPEATED..."""
    from typer.core import TyperArgument

    original = TyperArgument.display_type_rich

    def display_type_rich(self, ctx):
        return None if self.metavar is not None else original(self, ctx)

    def usage_name(self):
        name = self.display_name_raw if self.metavar is not None else self.name.upper()
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    TyperArgument.display_type_rich = display_type_rich
    TyperArgument._usage_display_name = usage_name


_arguments_show_their_metavar()

app = typer.Typer(
    name="nnctl",
    help="Train and compare the classic models of a first deep-learning course (linear, logistic "
    "and softmax regression, the MLP) from YAML configs, in NumPy.\n\n"
    "Start with: nnctl examples, then nnctl train iris-softmax",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(
    help="Show, validate or describe configs.\n\n"
    "Example: nnctl config show iris-softmax optimizer.lr=0.1",
    short_help="Show, validate or describe configs.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")
examples_app = typer.Typer(
    help="List the example configs shipped with nnctl (with no command), "
    "or copy them.\n\nExample: nnctl examples copy examples",
    short_help="The example configs: list, or copy to a folder.",
)
app.add_typer(examples_app, name="examples")


def _complete_setting(incomplete: str) -> list[str]:
    from nnctl.cli.completion import complete_setting

    return complete_setting(incomplete)


# Options several commands share, declared once. Each command's docstring says what its
# result and its output folder are.
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        autocompletion=_complete_setting,
        help="Override a config key, typed as YAML: -s optimizer.lr=0.01 (repeatable; in a "
        "comparison it applies to every run). A plain KEY=VALUE after CONFIG is the same.",
    ),
]
OverridesArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="KEY=VALUE",
        autocompletion=_complete_setting,
        show_default=False,
        help="Overrides after the config, as with -s (Hydra style): optimizer.lr=0.01",
    ),
]
ConfigArgument = Annotated[
    Path,
    typer.Argument(
        metavar="CONFIG", help="YAML config, or an example's name (see nnctl examples)."
    ),
]
ConfigOrResumeArgument = Annotated[
    Path | None,
    typer.Argument(
        metavar="CONFIG",
        show_default=False,
        help="YAML config, or an example's name (not needed with --resume).",
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print the result (e.g. summary.json, comparison.json) as one JSON document "
        "on stdout (nothing else goes there).",
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No progress or notes on stderr (the result still goes to stdout)."
    ),
]
RunDirOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        metavar="DIR",
        help="Run folder; a template filled from the resolved config, e.g. --out "
        "'runs/{model.kind}-lr{optimizer.lr}' (default: output.dir or runs/CONFIG-NAME, "
        "made unique).",
    ),
]
ResultDirOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        metavar="DIR",
        help="Output folder, new or empty (default: runs/CONFIG-compare-... or "
        "CONFIG-sweep-..., named by their settings, or runs/landscape-NAME; "
        "made unique).",
    ),
]
SeedsOption = Annotated[
    int | None,
    typer.Option(
        "--seeds",
        metavar="N",
        help="Repeat every run with N seeds: the config's seed, seed+1, ..., seed+N-1; "
        "the table and comparison.json give mean and std (default: compare.seeds, "
        "else 1).",
    ),
]
JobsOption = Annotated[
    int,
    typer.Option(
        "--jobs",
        "-j",
        metavar="N",
        help="Runs at once: this process and N-1 worker processes; the numbers are the "
        "same as with --jobs 1.",
    ),
]
TargetLossOption = Annotated[
    float | None,
    typer.Option(
        "--target-loss",
        metavar="LOSS",
        help="train_loss (data loss, no L2 penalty) whose first crossing is reported (epochs, "
        "sample-gradients, seconds); default: 1% above the lowest training loss "
        "any run reached.",
    ),
]
NoPlotOption = Annotated[
    bool, typer.Option("--no-plot", help="Do not draw curves.png / landscape.png.")
]
ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor",
        metavar="local|dask",
        help="Where the runs go: local (this machine, --jobs N at once) or dask (a "
        "dask.distributed cluster, --scheduler; needs nnctl[dask]). Same numbers.",
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler address, e.g. tcp://HOST:8786 (default: $DASK_SCHEDULER_ADDRESS).",
    ),
]
ResumeComparisonOption = Annotated[
    Path | None,
    typer.Option(
        "--resume",
        metavar="DIR",
        help="Finish an interrupted comparison or sweep folder: runs only the runs it lacks, from "
        "its plan.json (give no CONFIG, -o, -s, --seeds, --target-loss or --out).",
    ),
]


class Split(str, Enum):
    """Which rows of the run's own data `eval` scores."""

    val = "val"
    train = "train"
    all = "all"


FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="FORMAT",
        help="Data format: auto (from the name, else the content), csv, npz, npy or idx.",
    ),
]


def _version(value: bool):
    if value:
        print(f"nnctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
):
    pass


def command(fn):
    """Run a command body with the error contract: no traceback (unless NNCTL_DEBUG=1), the
    message on stderr, and the exit code of the error's kind."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from nnctl.errors import NnctlError, os_error_text
        from nnctl.report.console import route_warnings

        _guard_closed_std_streams()
        route_warnings()
        previous = _sigterm_interrupts()
        try:
            return fn(*args, **kwargs)
        except NnctlError as exc:
            if exc.exit_code == 130 and getattr(exc, "by_signal", True):
                previous = _ignore_stop_signals()  # see there; kept until the process exits
            if os.environ.get("NNCTL_DEBUG") == "1":
                raise
            _error(f"error: {exc}" if exc.exit_code != 130 else str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            previous = _ignore_stop_signals()
            _error("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly, and keep Python from
            # complaining again when it flushes stdout at exit.
            _detach_stdout()
            raise typer.Exit(0) from None
        except MemoryError:
            _error(
                "error: out of memory; use a smaller model (model.hidden), batch "
                "(train.batch_size) or dataset"
            )
            raise typer.Exit(2) from None
        except OSError as exc:
            # The OS refused a read or write the library did not expect to fail (a full disk,
            # a read-only folder, a vanished file): say which file and what the OS said.
            if os.environ.get("NNCTL_DEBUG") == "1":
                raise
            _error(f"error: {os_error_text(exc)}")
            raise typer.Exit(2) from None
        finally:
            _restore_signals(previous)

    return wrapper


def _sigterm_interrupts() -> dict:
    """SIGTERM stops a command as Ctrl-C does (KeyboardInterrupt: exit 130, not 143), also
    outside the training loop (e.g. while the data loads), where the loop's own handlers are
    not installed yet. Returns the handlers to restore."""
    import signal

    try:
        previous = {signal.SIGINT: signal.getsignal(signal.SIGINT)}
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, signal.default_int_handler)
    except (ValueError, OSError):  # not the main thread (an in-process caller): leave as is
        return {}
    return {sig: handler for sig, handler in previous.items() if handler is not None}


def _ignore_stop_signals() -> dict:
    """Stopping on a signal: a second SIGINT/SIGTERM (two SIGTERMs 20 ms apart) must not turn
    the exit path into a traceback or a 143, so they stay ignored until the process exits (the
    interpreter's shutdown takes long enough for one to land). Returns {}: nothing to restore."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (ValueError, OSError):
            pass
    return {}


def _restore_signals(previous: dict) -> None:
    import signal

    for sig, handler in previous.items():
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):
            pass


def _guard_closed_std_streams() -> None:
    """Started with fd 0, 1 or 2 closed (`>&-`, `2>&-`): park /dev/null on that descriptor, so a
    file opened later (a checkpoint) cannot take its number and receive what is meant for the
    terminal. A closed stdout stays None in Python (write_stdout reports it); a closed stderr
    becomes /dev/null, so progress and errors never fall through to stdout."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
            except OSError:
                pass
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")


def _error(message: str) -> None:
    """The error line on stderr; a closed or failing stderr must not turn it into a traceback."""
    try:
        print(message, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


def _detach_stdout() -> None:
    """Point fd 1 at /dev/null, so the interpreter's final flush of stdout cannot fail again
    (and print "Exception ignored ..." with exit code 120) after the error was reported."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


def _settings(set_: list[str] | None, positional: list[str] | None) -> list[str]:
    """-s settings, then the KEY=VALUE words after the config (later ones win, as with -s)."""
    from nnctl.errors import UsageError

    for word in positional or []:
        if "=" not in word:
            raise UsageError(
                f"{word!r}: expected KEY=VALUE after the config (e.g. "
                "optimizer.lr=0.01); one config per command"
            )
    return [*(set_ or []), *(positional or [])]


def _config(path: Path | None) -> Path | None:
    """The config file, or the packaged example a name refers to."""
    if path is None:
        return None
    from nnctl.examples import find_config

    return find_config(path)


def _print_json(obj) -> None:
    from nnctl.runs.run_folder import to_json

    write_stdout(to_json(obj, indent=2) + "\n")


def write_stdout(text: str) -> None:
    """Write the command's result to stdout and flush it. A result that could not be written is
    not a success: a closed stdout (`>&-`) or a failing one (a full disk, /dev/full) is exit 2
    with one line saying so; a reader that went away (`| head`) stays a quiet BrokenPipeError."""
    from nnctl.errors import UsageError

    stream = sys.stdout
    if stream is None:
        raise UsageError(
            "cannot write the result: stdout is closed (nothing was printed; "
            "redirect it to a file or drop the redirection)"
        )
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        _detach_stdout()
        name = getattr(stream, "name", "stdout")
        where = "stdout" if name in ("<stdout>", 1) else f"stdout ({name})"
        raise UsageError(f"cannot write the result to {where}: {exc.strerror or exc}") from None
    except ValueError as exc:  # "I/O operation on closed file"
        raise UsageError(f"cannot write the result: stdout is closed ({exc})") from None


# ------------------------------------------------------------------------------------------------
@app.command(short_help="Train a model from a config into a run folder.")
@command
def train(
    config: ConfigOrResumeArgument = None,
    overrides: OverridesArgument = None,
    set_: SetOption = None,
    out: RunDirOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the run files in an existing --out folder.")
    ] = False,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="RUN",
            help="Continue an interrupted run folder from its last checkpoint.",
        ),
    ] = None,
    json_: JsonOption = False,
    quiet: QuietOption = False,
):
    """Train a model from a YAML config; writes a run folder (config.yaml, metrics.jsonl,
    summary.json, checkpoints/last.npz and best.npz). --json prints summary.json.

    Example: nnctl train iris-softmax optimizer.lr=0.1 --out 'runs/iris-lr{optimizer.lr}'"""
    from nnctl.api.commands import train_or_resume
    from nnctl.errors import TrainingFailed
    from nnctl.report.progress import make_reporter
    from nnctl.report.tables import print_summary

    try:
        summary = train_or_resume(
            _config(config), _settings(set_, overrides), out, force, resume, make_reporter(quiet)
        )
    except TrainingFailed as exc:
        # A diverged run still has a summary (status: diverged): a script reading --json gets
        # it on stdout, with exit 1 and the message on stderr.
        if json_ and exc.summary is not None:
            _print_json(exc.summary)
        raise
    if json_:
        _print_json(summary)
    else:
        print_summary(summary)


@app.command("eval", short_help="Loss and metrics of a trained model.")
@command
def eval_(
    run: Annotated[
        Path,
        typer.Argument(
            metavar="RUN", help="Run folder (uses checkpoints/best.npz) or a checkpoint .npz."
        ),
    ],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="FILE|NAME",
            help="A data file (- for stdin) or built-in dataset name (default: the run's own data). "
            "CSV columns are matched by header name.",
        ),
    ] = None,
    split: Annotated[
        Split,
        typer.Option(
            "--split", metavar="val|train|all", help="With the run's own data: val, train or all."
        ),
    ] = Split.val,
    json_: JsonOption = False,
    data_format: FormatOption = "auto",
):
    """Evaluate a trained model: loss and the task's metrics (accuracy, log loss, confusion
    matrix; or MSE, RMSE, MAE, R2).

    Example: nnctl eval runs/iris-softmax --split train --json"""
    from nnctl.report.tables import print_eval
    from nnctl.train.inference import evaluate

    result = evaluate(run, data, split.value, data_format)
    if json_:
        _print_json(result)
    else:
        print_eval(result)


@app.command(short_help="Predictions for new rows, CSV on stdout.")
@command
def predict(
    run: Annotated[Path, typer.Argument(metavar="RUN", help="Run folder or checkpoint .npz.")],
    data: Annotated[
        str,
        typer.Argument(
            metavar="DATA",
            help="Data file (CSV, NPZ, NPY, IDX), or - for stdin. CSV columns are matched by header "
            "name, in any order; the target and other unused columns are ignored.",
        ),
    ],
    proba: Annotated[
        bool, typer.Option("--proba", help="Add one probability column per class.")
    ] = False,
    data_format: FormatOption = "auto",
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep",
            metavar="COLUMN",
            help="Copy this input column (e.g. an id) into the output, before the "
            "predictions (repeatable).",
        ),
    ] = None,
    no_header: Annotated[
        bool, typer.Option("--no-header", help="Write the prediction rows without the header line.")
    ] = False,
):
    """Predict for every row of DATA; CSV on stdout with the original class labels (regression:
    in the target's own units), one row per input row.

    Example: nnctl predict runs/iris-softmax flowers.csv --proba > predictions.csv"""
    import csv
    import io

    from nnctl.train.inference import predict_rows

    header, rows = predict_rows(run, data, proba, data_format, keep or [])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if not no_header:
        writer.writerow(header)
    writer.writerows(rows)
    write_stdout(buffer.getvalue())


@app.command(short_help="Backprop against finite differences.")
@command
def gradcheck(
    config: ConfigArgument,
    overrides: OverridesArgument = None,
    set_: SetOption = None,
    samples: Annotated[
        int, typer.Option("--samples", metavar="N", help="Training rows to check on.")
    ] = 64,
    json_: JsonOption = False,
):
    """Check the model's analytic gradients against central finite differences (float64).

    Example: nnctl gradcheck moons-mlp"""
    from nnctl.config import load_config
    from nnctl.report.tables import print_gradcheck
    from nnctl.train.diagnostics import run_gradcheck

    config = _config(config)
    cfg = load_config(config, _settings(set_, overrides))
    result = run_gradcheck(cfg, samples, base_dir=config.resolve().parent)
    if json_:
        _print_json(result)
    else:
        print_gradcheck(result)
    if not result["passed"]:
        raise typer.Exit(1)


@app.command(short_help="List the built-in datasets.")
@command
def datasets(json_: JsonOption = False):
    """List the built-in datasets: size, features, task and source.

    Example: nnctl datasets | grep iris"""
    from nnctl.report.tables import print_datasets
    from nnctl.train.diagnostics import dataset_listing

    listing = dataset_listing()
    if json_:
        _print_json(listing)
    else:
        print_datasets(listing)


data_app = typer.Typer(help="Prepare data files.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("convert", short_help="Stream a CSV into .npy shards for big data.")
@command
def data_convert(
    source: Annotated[
        Path, typer.Argument(metavar="CSV", help="A CSV file (.csv, .tsv, .txt, or gzipped).")
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Folder for the shards (new or empty).")
    ],
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="COLUMN",
            help="The target column (default: 'target' if present, else the last).",
        ),
    ] = None,
    drop: Annotated[
        list[str] | None,
        typer.Option("--drop", metavar="COLUMN", help="A column to leave out (repeatable)."),
    ] = None,
    missing: Annotated[
        str,
        typer.Option(
            "--missing", metavar="MODE", help="Missing cells: error, drop_rows or impute."
        ),
    ] = "error",
    categorical: Annotated[
        list[str] | None,
        typer.Option(
            "--categorical",
            metavar="COLUMN",
            help="auto, none, or a column to one-hot encode (repeatable).",
        ),
    ] = None,
    na_values: Annotated[
        list[str] | None,
        typer.Option(
            "--na-values",
            metavar="TEXT",
            help="Cell texts read as missing (repeatable; default: the usual).",
        ),
    ] = None,
    delimiter: Annotated[
        str, typer.Option("--delimiter", metavar="CHAR", help="auto, , ; tab or |.")
    ] = "auto",
    dtype: Annotated[
        str, typer.Option("--dtype", metavar="DTYPE", help="float64 or float32 features.")
    ] = "float64",
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
    json_: JsonOption = False,
):
    """Stream a CSV into .npy shards (X-00000.npy, y-00000.npy, ...) and dataset.json, applying
    the column rules of training; train on the folder with data.path: FOLDER.

    Example: nnctl data convert big.csv.gz --target price --out big/"""
    from nnctl.api.commands import convert_data

    result = convert_data(
        source, out, target, drop, missing, categorical, na_values, delimiter, dtype, force
    )
    if json_:
        _print_json(result)
    else:
        write_stdout(
            f"{result['rows']} rows, {len(result['feature_names'])} features in "
            f"{result['shards']} shards: {out}\n"
        )


# ------------------------------------------------------------------------------------------------
SPEC_HELP = (
    "An optimizer, with optional settings typed as YAML: adam, sgd:lr=0.1,momentum=0.9 "
    "(repeatable; default: compare.optimizers of the config, else every optimizer that "
    "applies to the model). The config's own optimizer starts from the config's "
    "settings, any other from its defaults."
)


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


def _import_plotting_while_workers_train(no_plot: bool, executor: str) -> None:
    """On a cluster this process only waits for the runs: import matplotlib meanwhile. (The
    local executor trains runs here too, so an import would only take time from them.)"""
    if not no_plot and executor != "local":
        from nnctl.report.plots import import_in_background

        import_in_background()


def _render_comparison(result, quiet: bool, json_: bool, no_plot: bool) -> None:
    from nnctl.report.compare_table import print_comparison
    from nnctl.report.tuning_table import print_tuning

    if not no_plot:
        _plot_comparison(result, quiet)
    if json_:
        _print_json(result.data)
        return
    print_comparison(result.data, result.curves, quiet)
    if result.data.get("tuning"):
        print_tuning(result.data)


def _plot_comparison(result, quiet: bool) -> None:
    from nnctl.report.plots import plot_curves
    from nnctl.report.tuning_plots import plot_sensitivity

    title = f"{result.data['kind']} of {result.data['config']}"
    _plot_or_hint(
        lambda: plot_curves(result.run_dirs(), result.out_dir / "curves.png", title=title), quiet
    )
    if result.data.get("tuning"):
        _plot_or_hint(
            lambda: plot_sensitivity(result.data, result.out_dir / "sensitivity.png"), quiet
        )


def _render_problems(result, quiet: bool, json_: bool, no_plot: bool) -> None:
    """Each problem's comparison (its plots; its tables unless --json), then the ranking."""
    from nnctl.report.tuning_plots import plot_profile
    from nnctl.report.tuning_table import print_ranking

    for comparison in result.comparisons:
        if json_:  # one JSON document on stdout: ranking.json, which names every comparison
            if not no_plot:
                _plot_comparison(comparison, quiet)
        else:
            _render_comparison(comparison, quiet, False, no_plot)
    if not no_plot:
        _plot_or_hint(lambda: plot_profile(result.data, result.out_dir / "profile.png"), quiet)
    if json_:
        _print_json(result.data)
    else:
        print_ranking(result.data)


def _render_landscape(result, quiet: bool, json_: bool, no_plot: bool) -> None:
    from nnctl.report.compare_table import print_landscape
    from nnctl.report.plots import plot_landscape

    if not no_plot:
        _plot_or_hint(
            lambda: plot_landscape(result.surface, result.runs, result.out_dir / "landscape.png"),
            quiet,
        )
    if json_:
        _print_json(result.data)
    else:
        print_landscape(result.data, result.gaps(), quiet)


@app.command("compare-optimizers", short_help="Every optimizer on one model, side by side.")
@command
def compare_optimizers(
    config: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="CONFIG... [KEY=VALUE]...",
            show_default=False,
            autocompletion=_complete_setting,
            help="YAML config or an example's name (not needed with --landscape); several: the "
            "protocol on each, and a ranking and performance profile across them. KEY=VALUE "
            "words are overrides, as with -s.",
        ),
    ] = None,
    optimizer: Annotated[
        list[str] | None, typer.Option("--optimizer", "-o", metavar="SPEC", help=SPEC_HELP)
    ] = None,
    set_: SetOption = None,
    seeds: SeedsOption = None,
    jobs: JobsOption = 1,
    out: ResultDirOption = None,
    target_loss: TargetLossOption = None,
    landscape: Annotated[
        str | None,
        typer.Option(
            "--landscape",
            metavar="NAME",
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
            "--steps", metavar="N", help="Landscape steps per optimizer (default: the landscape's)."
        ),
    ] = None,
    no_plot: NoPlotOption = False,
    json_: JsonOption = False,
    quiet: QuietOption = False,
    executor: ExecutorOption = "local",
    scheduler: SchedulerOption = None,
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
        typer.Option("--budget", metavar="N", help="Trials per tuned optimizer (default 8)."),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            metavar="grid|random",
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

    if landscape is None:
        _import_plotting_while_workers_train(no_plot, executor)
    words = config or []
    configs = [_config(Path(word)) for word in words if "=" not in word]
    overrides = [word for word in words if "=" in word]
    result = commands.compare_optimizers(
        configs or None,
        optimizer or [],
        _settings(set_, overrides),
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
    )
    render = (
        _render_comparison
        if isinstance(result, Comparison)
        else _render_problems
        if isinstance(result, ProblemsComparison)
        else _render_landscape
    )
    render(result, quiet, json_, no_plot)


@app.command(short_help="Train every combination of swept settings.")
@command
def sweep(
    config: ConfigOrResumeArgument = None,
    overrides: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="KEY=V1,V2,...",
            autocompletion=_complete_setting,
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
            autocompletion=_complete_setting,
            help="KEY=V1,V2,... is a sweep axis (one run per value; commas inside "
            "[...] or {...} belong to a value); KEY=VALUE a plain override. "
            "Repeatable: the runs are the Cartesian product.",
        ),
    ] = None,
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
    same folder as compare-optimizers.

    Example: nnctl sweep moons-mlp model.activation=relu,elu optimizer.lr=0.01,0.1"""
    from nnctl.api import commands

    _import_plotting_while_workers_train(no_plot, executor)
    result = commands.sweep(
        _config(config),
        _settings(set_, overrides),
        seeds,
        jobs,
        out,
        target_loss,
        quiet,
        executor,
        scheduler,
        resume,
    )
    _render_comparison(result, quiet, json_, no_plot)


@app.command(short_help="Plot loss curves of runs (needs nnctl[plot]).")
@command
def plot(
    runs: Annotated[
        list[Path],
        typer.Argument(
            metavar="RUN", help="Run folders, or comparison / sweep folders (all their runs)."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", metavar="FILE", help="Image file: .png, .pdf or .svg.")
    ],
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


# ------------------------------------------------------------------------------------------------
@config_app.command("show")
@command
def config_show(
    config: ConfigArgument, overrides: OverridesArgument = None, set_: SetOption = None
):
    """Print the fully resolved config (every default filled in) as YAML on stdout.

    Example: nnctl config show digits-mlp model.hidden=[128,64]"""
    from nnctl.config import dump_yaml, load_config

    write_stdout(dump_yaml(load_config(_config(config), _settings(set_, overrides))))


@config_app.command("validate")
@command
def config_validate(
    config: ConfigArgument, overrides: OverridesArgument = None, set_: SetOption = None
):
    """Check a config, its data and its model without training (exit 0 when valid).

    Example: nnctl config validate my.yaml"""
    from nnctl.config import load_config
    from nnctl.train.diagnostics import check_config

    config = _config(config)
    facts = check_config(
        load_config(config, _settings(set_, overrides)), base_dir=config.resolve().parent
    )
    write_stdout(f"{config}: valid ({facts})\n")  # the answer asked for: stdout


@config_app.command("init")
@command
def config_init(
    data: Annotated[
        str,
        typer.Option("--data", metavar="FILE", help="Your CSV file (header row of column names)."),
    ],
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="COLUMN",
            help="The column to predict (default: `target`, else the last column).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="KIND",
            help="linreg, logreg, softmax or mlp (default: the linear model of the task).",
        ),
    ] = None,
):
    """Print a complete, commented starter config for a CSV on stdout: the columns used, those
    left out and why, the inferred task, missing-value counts, and settings that train well."""
    from nnctl.config.starter import starter_config
    from nnctl.errors import UsageError

    if model is not None and model not in ("linreg", "logreg", "softmax", "mlp"):
        raise UsageError(f"--model: expected linreg, logreg, softmax or mlp, found {model!r}")
    write_stdout(starter_config(data, target, model))


@config_app.command("schema")
@command
def config_schema():
    """Print the JSON Schema of configs (for editors that check YAML).

    Example: nnctl config schema > nnctl.schema.json"""
    from nnctl.config import schema_json

    write_stdout(schema_json() + "\n")


@config_app.command("reference")
@command
def config_reference():
    """Print the config reference (every key, default and choice) as Markdown.

    Example: nnctl config reference > config-reference.md"""
    from nnctl.config import reference_markdown

    write_stdout(reference_markdown())


# ------------------------------------------------------------------------------------------------
@examples_app.callback(invoke_without_command=True)
def examples_list(ctx: typer.Context):
    """List the example configs: train one by name from any folder.

    Example: nnctl train iris-softmax"""
    if ctx.invoked_subcommand is not None:
        return
    from nnctl import examples

    names = examples.names()
    width = max(map(len, names))
    # On a terminal each line fits it; in a pipe lines stay whole (grep sees every word).
    room = shutil.get_terminal_size().columns - width - 2 if sys.stdout.isatty() else None
    lines = []
    for name in names:
        text = examples.summary(name)
        if room is not None and len(text) > room:
            text = text[: max(room - 3, 0)].rstrip() + "..."
        lines.append(f"{name.ljust(width)}  {text}\n")
    write_stdout("".join(lines))


@examples_app.command("copy")
@command
def examples_copy(
    folder: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="Folder to write them into (created; existing files not replaced)."
        ),
    ],
):
    """Write every example config into DIR, to read and edit.

    Example: nnctl examples copy examples && nnctl train examples/iris-softmax.yaml"""
    from nnctl.examples import copy_to

    written = copy_to(folder)
    print(f"wrote {len(written)} configs into {folder}", file=sys.stderr)


def run() -> None:
    """The `nnctl` script: `nnctl COMMAND --help` without Typer's parsing (fast_help.py),
    everything else through Typer, with plain values converted by cli_values.py."""
    from nnctl.cli.cli_values import convert_plainly
    from nnctl.cli.fast_help import answer_help

    command = typer.main.get_command(app)  # built once: about 40 ms
    if not answer_help(command, sys.argv[1:], "nnctl"):
        convert_plainly(command)  # no pydantic import (~110 ms) to read the options
        command(prog_name="nnctl")  # what app() does, with pretty exceptions off


if __name__ == "__main__":  # pragma: no cover
    run()
