"""The options and arguments several commands share, declared once (help text, metavar,
completion), and the two functions that read them: `settings` (the -s words and the KEY=VALUE
words after the config, in order) and `config_path` (a file, or an example's name).

No `from __future__ import annotations`: Typer reads these annotations at every start, and
string annotations would each be eval()-ed.
"""

from pathlib import Path
from typing import Annotated

import typer

from nnctl.cli.completion import complete_config, complete_setting
from nnctl.cli.values import choice_of, completion_of, real_number, whole_number

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        autocompletion=complete_setting,
        help="Override a config key, typed as YAML: -s optimizer.lr=0.01 (repeatable; in a "
        "comparison it applies to every run). A plain KEY=VALUE after CONFIG is the same.",
    ),
]
OverridesArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="KEY=VALUE",
        autocompletion=complete_setting,
        show_default=False,
        help="Overrides after the config, as with -s (Hydra style): optimizer.lr=0.01",
    ),
]
TrainedRunArgument = Annotated[
    Path,
    typer.Argument(
        metavar="RUN",
        help="Run folder (the weights training delivered; see --checkpoint) or a checkpoint .npz.",
    ),
]
ConfigArgument = Annotated[
    Path,
    typer.Argument(
        metavar="CONFIG",
        autocompletion=complete_config,
        help="YAML config, or an example's name (see nnctl examples).",
    ),
]
ConfigOrResumeArgument = Annotated[
    Path | None,
    typer.Argument(
        metavar="CONFIG",
        show_default=False,
        autocompletion=complete_config,
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
ResultForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace the output folder (--out, or the default name instead of a new one "
        "beside it) when it is a comparison or sweep folder nnctl wrote, or empty; any "
        "other folder is refused.",
    ),
]
SeedsOption = Annotated[
    int | None,
    typer.Option(
        "--seeds",
        parser=whole_number,
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
        parser=whole_number,
        metavar="N",
        help="Runs at once: this process and N-1 worker processes; the numbers are the "
        "same as with --jobs 1.",
    ),
]
TargetLossOption = Annotated[
    float | None,
    typer.Option(
        "--target-loss",
        parser=real_number,
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
        autocompletion=completion_of("local", "dask"),
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


def _dask_seconds(flag: str, what: str, default: str):
    return typer.Option(
        flag,
        metavar="SECONDS",
        parser=real_number,
        help=f"Dask: {what} (default {default}; also $NNCTL_DASK_{flag[2:].upper().replace('-', '_')}).",
    )


ConnectTimeoutOption = Annotated[
    float | None, _dask_seconds("--connect-timeout", "how long to wait for the scheduler", "10")
]
WorkerTimeoutOption = Annotated[
    float | None,
    _dask_seconds("--worker-timeout", "how long to wait for a first (or any) worker", "30"),
]
RunTimeoutOption = Annotated[
    float | None,
    _dask_seconds("--run-timeout", "longest wait for the next run to finish", "no limit"),
]
InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="Dask: allow plain tcp:// to another machine (unencrypted, unauthenticated: "
        "anyone who reaches the scheduler can run code on its workers). Prefer tls://.",
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
TensorBoardOption = Annotated[
    bool,
    typer.Option(
        "--tensorboard",
        help="Write TensorBoard event files into each run folder's tb/ (= -s "
        'logging.tensorboard=true; needs pip install "nnctl[tensorboard]"). '
        "Watch with: tensorboard --logdir runs",
    ),
]
TENSORBOARD_SETTING = "logging.tensorboard=true"


SPLITS = ("val", "train", "all")  # which rows of the run's own data `eval` scores
SplitOption = Annotated[
    str,
    typer.Option(
        "--split",
        metavar="val|train|all",
        parser=choice_of(*SPLITS),
        autocompletion=completion_of(*SPLITS),
        help="With the run's own data: val, train or all.",
    ),
]
# Which weights of a run folder eval and predict use (training/inference.py CHECKPOINT_CHOICES;
# repeated here so that help does not import the engine).
CHECKPOINTS = ("delivered", "best", "last")
CheckpointOption = Annotated[
    str,
    typer.Option(
        "--checkpoint",
        metavar="delivered|best|last",
        parser=choice_of(*CHECKPOINTS),
        autocompletion=completion_of(*CHECKPOINTS),
        help="Which weights of a run folder: delivered (the weights training ended with, "
        "checkpoints/last.npz; the best epoch's when the config has early_stopping."
        "restore_best: true), best (checkpoints/best.npz: the epoch with the best validation "
        "monitor, selected on that same split, so its val scores are optimistic) or last "
        "(checkpoints/last.npz as saved).",
    ),
]


def complete_format(incomplete: str) -> list[str]:
    """--format's completion: the formats registered when the shell asks."""
    from nnctl.data.format_registry import format_choices

    return [name for name in format_choices() if name.startswith(incomplete)]


FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="FORMAT",
        autocompletion=complete_format,
        help="Data format: auto (from the name, else the content) or a format's name: csv, "
        "parquet, ... (nnctl data formats lists them).",
    ),
]


SPEC_HELP = (
    "An optimizer, with optional settings typed as YAML: adam, sgd:lr=0.1,momentum=0.9 "
    "(repeatable; default: compare.optimizers of the config, else every optimizer that "
    "applies to the model). The config's own optimizer starts from the config's "
    "settings, any other from its defaults."
)


def settings(
    set_: list[str] | None, positional: list[str] | None, tensorboard: bool = False
) -> list[str]:
    """-s settings, then the KEY=VALUE words after the config (later ones win, as with -s),
    then the setting --tensorboard stands for."""
    from nnctl.errors import UsageError

    for word in positional or []:
        if "=" not in word:
            raise UsageError(
                f"{word!r}: expected KEY=VALUE after the config (e.g. "
                "optimizer.lr=0.01); one config per command"
            )
    return [*(set_ or []), *(positional or []), *([TENSORBOARD_SETTING] if tensorboard else [])]


def config_path(path: Path | None) -> Path | None:
    """The config file, or the packaged example a name refers to."""
    if path is None:
        return None
    from nnctl.examples import find_config

    return find_config(path)
