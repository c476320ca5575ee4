"""The schema of the fixed sections, declared once as `Hyper`s: `resolve` validates against
them and the JSON Schema and the reference are generated from them. The named parts (dataset,
activation, init scheme, loss, optimizer, schedule) are declared by their registries."""

from __future__ import annotations

import math
from dataclasses import dataclass

from nnctl.data.format_registry import FormatChoices, format_help
from nnctl.util.registry import Hyper, Registry, non_negative, positive, unit_open
from nnctl.util.tasks import TASKS

# Fixed sections: key -> Hyper. Named parts (`name`/`scheme` + the entry's hypers) are added
# from the registries at resolve time.
DATA = (
    Hyper(
        "name",
        "str",
        None,
        "built-in dataset (see `nnctl datasets`); or give `path`",
        nullable=True,
    ),
    Hyper(
        "params",
        "any",
        None,
        "settings of a synthetic dataset, e.g. {n_samples: 2000, noise: 0.2}",
        nullable=True,
    ),
    Hyper(
        "path",
        "str",
        None,
        "data file (or folder) of one of data.format's formats: CSV, Parquet, NPZ (X, y), "
        "NPY (X; y in labels_path), IDX images, ... (nnctl data formats lists them)",
        nullable=True,
    ),
    Hyper("labels_path", "str", None, "the targets file for NPY or IDX data", nullable=True),
    Hyper(
        "target",
        "str",
        None,
        "CSV target column (default: `target`, else the last column)",
        nullable=True,
    ),
    Hyper(
        "format",
        "str",
        "auto",
        format_help(),
        choices=FormatChoices(),
    ),
    Hyper(
        "task",
        "str",
        "auto",
        "learning task; auto infers it from the target",
        choices=("auto",) + TASKS,
    ),
    Hyper(
        "val_fraction",
        "float",
        0.2,
        "share of the data held out for validation (seeded)",
        check=unit_open,
        expect="in [0, 1)",
    ),
    Hyper(
        "val_path",
        "str",
        None,
        "a separate validation file (same format); replaces val_fraction",
        nullable=True,
    ),
    Hyper(
        "val_labels_path",
        "str",
        None,
        "the targets file of val_path for NPY or IDX data",
        nullable=True,
    ),
    Hyper("stratify", "bool", True, "keep class proportions in the split (classification)"),
    Hyper(
        "standardize", "bool", True, "scale features to mean 0, std 1 (fitted on the training part)"
    ),
    Hyper(
        "drop",
        "any",
        [],
        'CSV columns left out (e.g. [id]); "" names a column with an empty header (R row names)',
        expect="(a list of column names)",
    ),
    Hyper(
        "missing",
        "str",
        "error",
        "CSV cells in na_values: error (names them), drop_rows, or "
        "impute (training median; most frequent value for categorical columns)",
        choices=("error", "drop_rows", "impute"),
    ),
    Hyper(
        "na_values",
        "any",
        ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "?"],
        "cell texts that mean a missing value (rows with a missing target are never trained on)",
        expect="(a list of texts)",
    ),
    Hyper(
        "categorical",
        "any",
        "auto",
        "auto: every non-numeric CSV column is one-hot encoded "
        "(categories from the training part); a list of columns; or none",
        expect="(auto, none or a list of column names)",
    ),
    Hyper(
        "delimiter",
        "str",
        "auto",
        "CSV field separator: auto (detects comma, semicolon, tab "
        "or pipe) or one character, or its name (comma, semicolon, tab, pipe)",
    ),
    Hyper(
        "standardize_target",
        "any",
        "auto",
        "auto (= true for regression): train on the "
        "target scaled to mean 0, std 1; metrics and predictions stay in its own units; or false",
        expect="(auto, true or false)",
    ),
)


def model_hypers() -> tuple[Hyper, ...]:
    """The model section; its kinds come from the MODELS registry (nn/kinds.py), imported here,
    late, so that importing the config layer (and `nnctl --help`) does not load NumPy."""
    from nnctl.nn.kinds import MODELS, or_list

    return (
        Hyper(
            "kind", "str", "mlp", f"model: {or_list(MODELS.names())}", choices=tuple(MODELS.names())
        ),
        Hyper(
            "hidden",
            "ints",
            (64,),
            "mlp hidden layer sizes",
            check=lambda v: all(h >= 1 for h in v),
            expect="each >= 1",
        ),
        Hyper(
            "activation", "any", "relu", "mlp activation: a name, or {name: leaky_relu, slope: 0.1}"
        ),
        Hyper(
            "dropout",
            "float",
            0.0,
            "mlp dropout probability after each hidden activation",
            check=unit_open,
            expect="in [0, 1)",
        ),
        Hyper(
            "batch_norm", "bool", False, "mlp batch normalisation after each hidden linear layer"
        ),
        Hyper(
            "init_from",
            "str",
            None,
            "warm start: an nnctl checkpoint or .npz of parameter arrays",
            nullable=True,
        ),
    )


def _finite(v) -> bool:
    return math.isfinite(v)


INIT = (
    Hyper(
        "bias",
        "float",
        0.0,
        "constant every bias starts at",
        check=_finite,
        expect="that is finite",
    ),
)

LOSS = (
    Hyper(
        "l2",
        "float",
        0.0,
        "L2 penalty 0.5 * l2 * ||W||^2 on weights (not biases)",
        check=lambda v: _finite(v) and v >= 0,
        expect=">= 0 and finite",
    ),
)

EARLY_STOPPING = (
    Hyper(
        "metric", "str", "val_loss", "monitored value: val_loss or val_<metric> (e.g. val_accuracy)"
    ),
    Hyper(
        "patience",
        "int",
        10,
        "epochs without improvement before stopping",
        check=lambda v: v >= 1,
        expect=">= 1",
    ),
    Hyper(
        "min_delta",
        "float",
        0.0,
        "smallest change that counts as an improvement",
        check=non_negative,
        expect=">= 0",
    ),
    Hyper("restore_best", "bool", True, "end with the best weights instead of the last"),
)

TRAIN = (
    Hyper(
        "epochs",
        "int",
        20,
        "passes over the training data (iterations for full-batch methods)",
        check=non_negative,
        expect=">= 0",
    ),
    Hyper(
        "batch_size",
        "int",
        32,
        "samples per mini-batch (first-order optimizers)",
        check=positive,
        expect=">= 1",
    ),
    Hyper("shuffle", "bool", True, "reshuffle the training data every epoch (seeded)"),
    Hyper(
        "dtype",
        "str",
        "auto",
        "auto: float32 for mini-batch training, float64 for full-batch",
        choices=("auto", "float32", "float64"),
    ),
    Hyper(
        "clip_grad_norm",
        "float",
        None,
        "clip the gradient to this global norm",
        check=positive,
        expect="> 0",
        nullable=True,
    ),
    Hyper(
        "early_stopping",
        "any",
        None,
        "null, or {metric, patience, min_delta, restore_best}",
        nullable=True,
    ),
    Hyper(
        "on_nonfinite",
        "str",
        "stop",
        "on a NaN/inf loss or gradient: stop (exit 1) or skip_batch",
        choices=("stop", "skip_batch"),
    ),
    Hyper(
        "threads",
        "any",
        "auto",
        "BLAS threads of the run: an integer >= 1, or auto (1 unless the run's largest "
        "matrix product per step is past the measured crossover, then the cores; 1 in "
        "compare-optimizers and sweep), recorded as a number",
    ),
    Hyper(
        "kernels",
        "str",
        "auto",
        "elementwise work (optimizer updates, activation gradients): numpy, numba (compiled "
        'fused loops, the same bits; pip install "nnctl[fast]"), or auto (numba when installed '
        "and the run is big enough to pay for loading it), recorded as numpy or numba",
        choices=("auto", "numpy", "numba"),
    ),
)

OUTPUT = (
    Hyper(
        "dir", "str", None, "run folder (default runs/<config name>, made unique)", nullable=True
    ),
)

# The compare: section: defaults of compare-optimizers and sweep (the command line beats them).
COMPARE = (
    Hyper(
        "optimizers",
        "any",
        None,
        "optimizers to compare: specs such as adam or sgd:lr=0.1, or "
        "mappings {name: sgd, lr: 0.1} (default: every optimizer that applies)",
        nullable=True,
    ),
    Hyper(
        "seeds",
        "int",
        1,
        "repeat every run with this many seeds: seed, seed+1, ...",
        check=positive,
        expect=">= 1",
    ),
    Hyper(
        "target_loss",
        "float",
        None,
        "train_loss (data loss, no penalty) whose first "
        "crossing is reported "
        "(default: 1% above the lowest any run reached)",
        check=positive,
        expect="> 0",
        nullable=True,
    ),
)

LOGGING = (
    Hyper(
        "tensorboard",
        "bool",
        False,
        "write TensorBoard event files into the run folder's tb/ (every metrics.jsonl number, "
        'the config, the hyper-parameters); needs pip install "nnctl[tensorboard]"',
    ),
)


@dataclass(frozen=True)
class FixedSection:
    """A section whose keys are all declared as Hypers. `nested`: (key, hypers) of its keys
    that hold null or a mapping of their own (true = that mapping's defaults); `note`: a line
    for the reference; `optional`: absent from a config, absent from its resolved form. Rules
    beyond the keys' own (data's table keys, compare.optimizers) live in validation.py and,
    for the exact shapes of keys declared as "any", in schema.py."""

    name: str
    hypers: tuple[Hyper, ...]
    nested: tuple[tuple[str, tuple[Hyper, ...]], ...] = ()
    note: str = ""
    optional: bool = False


def fixed_sections() -> tuple[FixedSection, ...]:
    """The fixed sections, in the reference's order: `resolve`, the JSON Schema and the
    reference all read this one list (a function: the model section's kinds load late)."""
    return (
        FixedSection("data", DATA),
        FixedSection("model", model_hypers()),
        FixedSection("train", TRAIN, nested=(("early_stopping", EARLY_STOPPING),)),
        FixedSection("output", OUTPUT),
        FixedSection(
            "logging",
            LOGGING,
            note="What a run writes besides its run files; `--tensorboard` on train, "
            "compare-optimizers and sweep sets `tensorboard: true`.",
        ),
        FixedSection(
            "compare",
            COMPARE,
            note="Defaults of `compare-optimizers` and `sweep`; their options win.",
            optional=True,  # a `train` config does not grow a compare section
        ),
    )


# Every top-level key, in the order of a resolved config (and of config.yaml).
SECTIONS = (
    "seed",
    "data",
    "model",
    "init",
    "loss",
    "optimizer",
    "schedule",
    "train",
    "output",
    "logging",
    "compare",
)
SEED = Hyper(
    "seed",
    "int",
    0,
    "the one seed every random stream is drawn from",
    check=non_negative,
    expect=">= 0",
)


def registries() -> dict[str, Registry]:
    """The registries the named parts refer to (imported late: keeps `nnctl --help` fast)."""
    from nnctl.data import DATASETS
    from nnctl.nn import ACTIVATIONS, INITS, LOSSES
    from nnctl.optim import OPTIMIZERS, SCHEDULES

    return {
        "dataset": DATASETS,
        "activation": ACTIVATIONS,
        "init": INITS,
        "loss": LOSSES,
        "optimizer": OPTIMIZERS,
        "schedule": SCHEDULES,
    }
