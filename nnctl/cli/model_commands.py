"""One model, one config: train (or resume), eval, predict, gradcheck.

No `from __future__ import annotations`: Typer reads these annotations at every start.
Imports of NumPy and the engine happen inside the commands, so help stays fast.
"""

from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.completion import complete_dataset_or_file
from nnctl.cli.options import (
    CheckpointOption,
    ConfigArgument,
    ConfigOrResumeArgument,
    FormatOption,
    JsonOption,
    OverridesArgument,
    QuietOption,
    RunDirOption,
    SetOption,
    SplitOption,
    TensorBoardOption,
    TrainedRunArgument,
    config_path,
    settings,
)
from nnctl.cli.process import command, print_json, write_stdout
from nnctl.cli.values import whole_number


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
    tensorboard: TensorBoardOption = False,
):
    """Train a model from a YAML config; writes a run folder (config.yaml, metrics.jsonl,
    summary.json, checkpoints/last.npz: the weights it delivers, and best.npz: the best epoch's by
    the validation monitor). --json prints summary.json.

    Example: nnctl train iris-softmax optimizer.lr=0.1 --out 'runs/iris-lr{optimizer.lr}'"""
    from nnctl.api.commands import train_or_resume
    from nnctl.errors import TrainingFailed
    from nnctl.report.progress import make_reporter
    from nnctl.report.tables import print_summary

    try:
        summary = train_or_resume(
            config_path(config),
            settings(set_, overrides, tensorboard),
            out,
            force,
            resume,
            make_reporter(quiet),
        )
    except TrainingFailed as exc:
        # A diverged run still has a summary (status: diverged): a script reading --json gets
        # it on stdout, with exit 1 and the message on stderr.
        if json_ and exc.summary is not None:
            print_json(exc.summary)
        raise
    if json_:
        print_json(summary)
    else:
        print_summary(summary)


@command
def eval_(
    run: TrainedRunArgument,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="FILE|NAME",
            autocompletion=complete_dataset_or_file,
            help="A data file (- for stdin) or built-in dataset name (default: the run's own data). "
            "CSV columns are matched by header name.",
        ),
    ] = None,
    split: SplitOption = "val",
    checkpoint: CheckpointOption = "delivered",
    json_: JsonOption = False,
    data_format: FormatOption = "auto",
):
    """Evaluate a trained model: loss and the task's metrics (accuracy, log loss, confusion
    matrix; or MSE, RMSE, MAE, R2).

    Example: nnctl eval runs/iris-softmax --split train --json"""
    from nnctl.report.tables import print_eval
    from nnctl.training.inference import evaluate

    result = evaluate(run, data, split, data_format, checkpoint)
    if json_:
        print_json(result)
    else:
        print_eval(result)


@command
def predict(
    run: TrainedRunArgument,
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
    checkpoint: CheckpointOption = "delivered",
    csv_safe: Annotated[
        bool,
        typer.Option(
            "--csv-safe/--no-csv-safe",
            help="Prefix with ' the text cells (--keep values, class labels, column names) that "
            "a spreadsheet would run as a formula (starting with = + - @, tab or CR); numbers, "
            "such as -0.5, are never changed.",
        ),
    ] = True,
):
    """Predict for every row of DATA; CSV on stdout with the original class labels (regression:
    in the target's own units), one row per input row. Text cells that would start a
    spreadsheet formula are written as text ('=x); --no-csv-safe writes them as they are.

    Example: nnctl predict runs/iris-softmax flowers.csv --proba > predictions.csv"""
    import csv
    import io

    from nnctl.training.inference import predict_rows
    from nnctl.util.csv_cells import safe_row

    header, rows = predict_rows(run, data, proba, data_format, keep or [], checkpoint=checkpoint)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")  # quotes every cell that needs it
    if not no_header:
        writer.writerow(safe_row(header, csv_safe))
    writer.writerows(safe_row(row, csv_safe) for row in rows)
    write_stdout(buffer.getvalue())


@command
def gradcheck(
    config: ConfigArgument,
    overrides: OverridesArgument = None,
    set_: SetOption = None,
    samples: Annotated[
        int,
        typer.Option(
            "--samples", metavar="N", parser=whole_number, help="Training rows to check on."
        ),
    ] = 64,
    json_: JsonOption = False,
):
    """Check the model's analytic gradients against central finite differences (float64).

    Example: nnctl gradcheck moons-mlp"""
    from nnctl.config import load_config
    from nnctl.report.tables import print_gradcheck
    from nnctl.training.diagnostics import run_gradcheck

    config = config_path(config)
    cfg = load_config(config, settings(set_, overrides))
    result = run_gradcheck(cfg, samples, base_dir=config.resolve().parent)
    if json_:
        print_json(result)
    else:
        print_gradcheck(result)
    if not result["passed"]:
        raise typer.Exit(1)
