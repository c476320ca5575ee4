"""nnctl: train and compare the classic models of a first deep-learning course, in NumPy.

The command line (`nnctl train`, `nnctl compare-optimizers`, ...) and this Python API run the
same engine: the same config and seed give the same numbers, bit for bit.

    import nnctl

    run = nnctl.train("iris-softmax", overrides={"optimizer.lr": 0.05, "train.epochs": 50})
    run                                   # Run(softmax with sgd, 50 epochs, completed: ...)
    run.summary["final"]["val_accuracy"]  # summary.json
    run.history["val_loss"]               # metrics.jsonl as NumPy arrays
    run.predict({"sepal_length_cm": [5.1], "sepal_width_cm": [3.5],
                 "petal_length_cm": [1.4], "petal_width_cm": [0.2]})   # array(['setosa'])
    run.evaluate()                        # what `nnctl eval RUN --json` prints

    comparison = nnctl.compare_optimizers("iris-softmax", ["sgd", "adam", "lbfgs"])
    comparison.table, comparison.best     # comparison.csv's rows; the Run with the best val_loss

API: train, resume, load_run -> Run; compare_optimizers, sweep -> Comparison. Errors are
exceptions (never SystemExit): NnctlError and its kinds UsageError (bad config, data or input),
TrainingFailed (diverged; `.summary`), Interrupted (Ctrl-C; the run resumes with nnctl.resume).
`import nnctl` loads no NumPy: the API is imported on first use.
"""

__version__ = "0.1.0"
# Bumped when the checkpoint layout changes incompatibly; loaders refuse newer ones.
CHECKPOINT_FORMAT = 1

from nnctl.util.lazy import lazy_exports  # noqa: E402 (after the constants)

__all__ = [
    "CHECKPOINT_FORMAT",
    "Comparison",
    "Interrupted",
    "NnctlError",
    "Run",
    "TrainingFailed",
    "UsageError",
    "__version__",
    "compare_optimizers",
    "load_run",
    "resume",
    "sweep",
    "train",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "train": "api.training",
        "resume": "api.training",
        "load_run": "api.training",
        "compare_optimizers": "api.comparison",
        "sweep": "api.comparison",
        "Run": "api.run",
        "Comparison": "api.comparison",
        "NnctlError": "errors",
        "UsageError": "errors",
        "TrainingFailed": "errors",
        "Interrupted": "errors",
    },
)
del lazy_exports
