"""nnctl export: a trained run's model written for use outside nnctl (ONNX, or plain weights
with the preprocessing statistics); the work is nnctl.export's.

No `from __future__ import annotations`: Typer reads these annotations at every start.
"""

from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.options import JsonOption, TrainedRunArgument
from nnctl.cli.process import command, print_json, write_stdout
from nnctl.cli.values import choice_of, completion_of
from nnctl.export import FORMATS


@command
def export(
    run: TrainedRunArgument,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="|".join(FORMATS),
            parser=choice_of(*FORMATS),
            autocompletion=completion_of(*FORMATS),
            help='onnx: the whole prediction path, raw columns in (needs pip install "nnctl[onnx]"); '
            "npz or json: plain weights, preprocessing statistics and a schema.",
        ),
    ] = "onnx",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FILE", help="File to write (default: model.FORMAT in the run folder)."
        ),
    ] = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            metavar="delivered|best|last|PATH",
            help="Which weights: delivered (the default: those eval and predict use), best, "
            "last, or a checkpoint .npz file.",
        ),
    ] = None,
    json_: JsonOption = False,
):
    """Export a trained model for use outside nnctl: ONNX (onnxruntime gives what nnctl predict
    prints, from the raw columns), or npz/json weights for your own code. Prints the path
    written (--json: {"path": ..., "format": ...}).

    Example: nnctl export runs/iris-softmax --out iris.onnx"""
    from nnctl.export import export_run

    path = export_run(run, fmt, out, checkpoint)
    if json_:
        print_json({"path": str(path), "format": fmt})
    else:
        write_stdout(f"{path}\n")
