"""The command line. Thin: parse, call one library function, render.

Imports of NumPy and the engine happen inside the commands, so `nnctl --help` stays fast.
Exit codes: 0 done; 1 training failed; 2 bad usage, config, data or checkpoint; 130 interrupted.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import List, Optional

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

SET_HELP = "Override a config key, typed as YAML: -s optimizer.lr=0.01 (repeatable)."


def _version(value: bool):
    if value:
        print(f"nnctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")):
    pass


def command(fn):
    """Run a command body with the error contract: no traceback (unless NNCTL_DEBUG=1), the
    message on stderr, and the exit code of the error's kind."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from nnctl.errors import NnctlError

        _route_warnings()
        try:
            return fn(*args, **kwargs)
        except NnctlError as exc:
            if os.environ.get("NNCTL_DEBUG") == "1":
                raise
            print(f"error: {exc}" if exc.exit_code != 130 else str(exc), file=sys.stderr)
            raise typer.Exit(exc.exit_code)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise typer.Exit(130)
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly, and keep Python from
            # complaining again when it flushes stdout at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0)
        except MemoryError:
            print("error: out of memory; use a smaller model, batch or dataset", file=sys.stderr)
            raise typer.Exit(2)

    return wrapper


def _route_warnings():
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {message}", file=sys.stderr)

    warnings.showwarning = show


def _print_json(obj) -> None:
    from nnctl.run_folder import to_json

    sys.stdout.write(to_json(obj, indent=2) + "\n")
    sys.stdout.flush()


# ------------------------------------------------------------------------------------------------
@app.command()
@command
def train(
    config: Optional[Path] = typer.Argument(None, help="YAML config (not needed with --resume)."),
    set_: List[str] = typer.Option([], "--set", "-s", help=SET_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="Run folder (default: output.dir or runs/<config name>, made unique)."),
    force: bool = typer.Option(False, "--force", help="Replace the run files in an existing --out folder."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue an interrupted run folder from its last checkpoint."),
    json_: bool = typer.Option(False, "--json", help="Print summary.json on stdout (nothing else goes there)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
):
    """Train a model from a YAML config; writes a run folder (config.yaml, metrics.jsonl,
    summary.json, checkpoints/last.npz and best.npz)."""
    from nnctl import run_folder
    from nnctl.config import load_config
    from nnctl.errors import UsageError
    from nnctl.report.progress import make_reporter
    from nnctl.report.tables import print_summary
    from nnctl.train import resume as resume_run
    from nnctl.train import train as train_run

    reporter = make_reporter(quiet)
    if resume is not None:
        if config is not None or set_:
            raise UsageError("--resume: continues the run with its own config; give no CONFIG or -s")
        summary = resume_run(resume, reporter)
    else:
        if config is None:
            raise UsageError("missing CONFIG: nnctl train CONFIG.yaml (or --resume RUN)")
        cfg = load_config(config, set_)
        run_dir = run_folder.create(out or run_folder.default_dir(config, cfg), force=force,
                                    unique=out is None and not force)
        summary = train_run(cfg, run_dir, reporter, base_dir=config.resolve().parent)
    if not quiet:
        print_summary(summary)
    if json_:
        _print_json(summary)


@app.command("eval")
@command
def eval_(
    run: Path = typer.Argument(..., help="Run folder (uses checkpoints/best.npz) or a checkpoint .npz."),
    data: Optional[str] = typer.Option(None, "--data", help="A data file or built-in dataset name (default: the run's own data)."),
    split: str = typer.Option("val", "--split", help="With the run's own data: val, train or all."),
    json_: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
):
    """Evaluate a trained model: loss and the task's metrics (accuracy, log loss, confusion
    matrix; or MSE, RMSE, MAE, R2)."""
    from nnctl.errors import UsageError
    from nnctl.inference import evaluate
    from nnctl.report.tables import print_eval

    if split not in ("val", "train", "all"):
        raise UsageError(f"--split: expected val, train or all, found {split!r}")
    result = evaluate(run, data, split)
    if json_:
        _print_json(result)
    else:
        print_eval(result)


@app.command()
@command
def predict(
    run: Path = typer.Argument(..., help="Run folder or checkpoint .npz."),
    data: str = typer.Argument(..., help="Data file (CSV, NPZ, NPY, IDX); a target column, if present, is ignored."),
    proba: bool = typer.Option(False, "--proba", help="Add one probability column per class."),
):
    """Predict for every row of DATA; CSV on stdout with the original class labels."""
    import csv

    from nnctl.inference import predict_rows

    header, rows = predict_rows(run, data, proba)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    sys.stdout.flush()


@app.command()
@command
def gradcheck(
    config: Path = typer.Argument(..., help="YAML config."),
    set_: List[str] = typer.Option([], "--set", "-s", help=SET_HELP),
    samples: int = typer.Option(64, "--samples", help="Training rows to check on."),
    json_: bool = typer.Option(False, "--json", help="Print the errors as JSON on stdout."),
):
    """Check the model's analytic gradients against central finite differences (float64)."""
    from nnctl.config import load_config
    from nnctl.report.tables import print_gradcheck
    from nnctl.diagnostics import run_gradcheck

    result = run_gradcheck(load_config(config, set_), samples, base_dir=config.resolve().parent)
    if json_:
        _print_json(result)
    else:
        print_gradcheck(result)
    if not result["passed"]:
        raise typer.Exit(1)


@app.command()
@command
def datasets(json_: bool = typer.Option(False, "--json", help="Print the list as JSON on stdout.")):
    """List the built-in datasets: size, features, task and source."""
    from nnctl.report.tables import print_datasets
    from nnctl.diagnostics import dataset_listing

    listing = dataset_listing()
    if json_:
        _print_json(listing)
    else:
        print_datasets(listing)


# ------------------------------------------------------------------------------------------------
@config_app.command("show")
@command
def config_show(
    config: Path = typer.Argument(..., help="YAML config."),
    set_: List[str] = typer.Option([], "--set", "-s", help=SET_HELP),
):
    """Print the fully resolved config (every default filled in) as YAML on stdout."""
    from nnctl.config import dump_yaml, load_config

    sys.stdout.write(dump_yaml(load_config(config, set_)))


@config_app.command("validate")
@command
def config_validate(
    config: Path = typer.Argument(..., help="YAML config."),
    set_: List[str] = typer.Option([], "--set", "-s", help=SET_HELP),
):
    """Check a config, its data and its model without training (exit 0 when valid)."""
    from nnctl.config import load_config
    from nnctl.diagnostics import check_config

    facts = check_config(load_config(config, set_), base_dir=config.resolve().parent)
    print(f"{config}: valid ({facts})", file=sys.stderr)


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
