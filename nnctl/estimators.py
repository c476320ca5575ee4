"""scikit-learn estimators over nnctl's own engine: `NNClassifier` and `NNRegressor`.

`fit` writes X and y to a temporary .npz, resolves the config the parameters describe
(`nnctl.config.resolve`) and trains it with `nnctl.training.train`, as `nnctl train` would, into a
temporary run folder that is removed afterwards. The fitted estimator keeps the checkpoint
`nnctl predict` would load (its arrays and meta) in memory, and predicts through
`nnctl.training.inference`: the same scaling, the same model, the same numbers.

scikit-learn is a dependency of this module only (`pip install "nnctl[sklearn]"`); `import nnctl`
never loads it.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np

from nnctl.errors import NnctlError, TrainingFailed, UsageError, shown

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as exc:  # a test runs this in a process where scikit-learn cannot import
    raise ImportError(
        f'nnctl.estimators needs scikit-learn >= 1.6: pip install "nnctl[sklearn]" ({exc})'
    ) from None

__all__ = ["NNClassifier", "NNRegressor", "InvalidParameter"]

CLASSIFIER_MODELS = ("mlp", "softmax", "logreg")
REGRESSOR_MODELS = ("mlp", "linreg")
DEFAULT_HIDDEN = (100,)
DEFAULT_ACTIVATION = "relu"
IN_MEMORY = "<in-memory checkpoint>"  # how messages name the checkpoint a fitted estimator holds

# Config keys the parameters set, so the config layer's messages name the parameter.
PARAMETER_OF_KEY = {
    "seed": "seed",
    "model.kind": "model",
    "model.hidden": "hidden",
    "model.activation": "activation",
    "model.activation.name": "activation",
    "optimizer.name": "optimizer",
    "optimizer.lr": "lr",
    "optimizer.momentum": "momentum",
    "loss.l2": "l2",
    "train.epochs": "epochs",
    "train.batch_size": "batch_size",
    "train.dtype": "dtype",
    "train.threads": "threads",
    "train.early_stopping.patience": "patience",
    "data.val_fraction": "validation_fraction",
}


class InvalidParameter(UsageError, ValueError):
    """A parameter or an input of fit/predict that nnctl cannot use. A UsageError (nnctl's
    bad-input error) and a ValueError (what scikit-learn's tools expect)."""


_PARAMETERS_DOC = """
    Parameters
    ----------
    model : str, default="mlp"
        The model kind (`model.kind` of a config): {models}.
    hidden : tuple of int, default=(100,)
        Hidden layer sizes of the mlp (`model.hidden`); for another model leave the default.
    activation : str, default="relu"
        Hidden activation of the mlp (`model.activation`): sigmoid, tanh, relu, leaky_relu, elu,
        softplus or identity; for another model leave the default.
    optimizer : str, default="adam"
        The optimizer (`optimizer.name`): sgd, momentum, nesterov, adagrad, rmsprop, adadelta,
        adam, adamw, or a full-batch method (gd, newton, cg, bfgs, lbfgs{exact}).
    lr : float or None, default=None
        Learning rate (`optimizer.lr`); None: the optimizer's default.
    momentum : float or None, default=None
        Momentum factor (`optimizer.momentum`, for sgd, momentum, nesterov and rmsprop);
        None: the optimizer's default.
    optimizer_params : dict or None, default=None
        Any other optimizer setting by its config name, e.g. ``{{"betas": [0.9, 0.99]}}``
        for adam or ``{{"history_size": 5}}`` for lbfgs (`nnctl config reference` lists them).
    epochs : int, default=20
        Passes over the training data (`train.epochs`; iterations for full-batch methods).
    batch_size : int, default=32
        Samples per mini-batch (`train.batch_size`; first-order optimizers).
    l2 : float, default=0.0
        L2 penalty ``0.5 * l2 * ||W||^2`` on the weights, not the biases (`loss.l2`).
    seed : int, default=0
        The one seed of initialisation, split and batch order (`seed`): the same parameters
        and data give the same numbers, bit for bit.
    early_stopping : bool, default=False
        True: hold out `validation_fraction` of the rows (stratified for classification)
        and stop when the validation loss has not improved for `patience` epochs, ending on
        the best weights (`train.early_stopping`). False: no validation split, every row
        is trained on.
    validation_fraction : float, default=0.1
        Share of the rows held out when `early_stopping` is True (`data.val_fraction`).
    patience : int, default=10
        Epochs without improvement before early stopping stops
        (`train.early_stopping.patience`).
    standardize : bool, default=True
        Scale the features to mean 0, std 1, fitted on the training rows (`data.standardize`)
        and applied again in predict.{target}
    dtype : str, default="auto"
        Training precision (`train.dtype`): auto (float32 for mini-batch training, float64 for
        full-batch methods), float32 or float64.
    threads : int or "auto", default=1
        BLAS threads while training (`train.threads`). 1, unlike `nnctl train` (auto): the
        numbers then do not depend on the machine's core count, and parallel work is the job
        of the meta-estimator's ``n_jobs``.
"""

_ATTRIBUTES_DOC = """
    Attributes
    ----------{classes}
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen in fit, when X has string column names.
    loss_curve_ : list of float
        The training loss (data loss, no penalty) after each epoch, as metrics.jsonl has it.
    n_iter_ : int
        Epochs (full-batch methods: iterations) trained.
    config_ : dict
        The resolved config that was trained. Its `data.path` named a temporary file, removed
        after fit: with a file of the same X and y there, `nnctl train` replays it.
"""


_NOTES_DOC = """
    Notes
    -----
    scikit-learn's ``check_estimator`` passes with one expected failure:
    ``check_methods_subset_invariance``. Mini-batch training is float32 (``dtype="auto"``),
    and OpenBLAS's float32 matrix product takes another path for another number of rows, so
    a row predicted in a smaller batch can differ from the same row in a larger one in the
    last float32 bit (about 1e-7 relative; the check allows 1e-7 absolute and relative).
    Predictions are those of `nnctl predict` on the same rows, which has the same property.
"""


def _doc(summary: str, models, exact: bool, target: str, classes: str) -> str:
    return (
        summary
        + _PARAMETERS_DOC.format(
            models=", ".join(models), exact=", exact" if exact else "", target=target
        )
        + _ATTRIBUTES_DOC.format(classes=classes)
        + _NOTES_DOC
    )


class _NNEstimator(BaseEstimator):
    """The fit and predict machinery both estimators share."""

    _models: tuple[str, ...] = ()  # the model kinds this estimator offers

    def __init__(
        self,
        model="mlp",
        hidden=DEFAULT_HIDDEN,
        activation=DEFAULT_ACTIVATION,
        optimizer="adam",
        lr=None,
        momentum=None,
        optimizer_params=None,
        epochs=20,
        batch_size=32,
        l2=0.0,
        seed=0,
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        standardize=True,
        dtype="auto",
        threads=1,
    ):
        self.model = model
        self.hidden = hidden
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.optimizer_params = optimizer_params
        self.epochs = epochs
        self.batch_size = batch_size
        self.l2 = l2
        self.seed = seed
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.standardize = standardize
        self.dtype = dtype
        self.threads = threads

    # -- parameters -> config ----------------------------------------------------------------
    def _bad(self, name: str, expected: str, found) -> InvalidParameter:
        return InvalidParameter(
            f"{type(self).__name__}: parameter {name}: expected {expected}, found {shown(found)}"
        )

    def _check_parameters(self) -> None:
        """What the config layer cannot say in the parameters' terms; ranges and names of
        everything else are checked by nnctl.config.resolve, its messages translated."""
        if self.model not in self._models:
            raise self._bad("model", f"one of {', '.join(self._models)}", self.model)
        hidden = self.hidden
        if (
            isinstance(hidden, (str, bytes))
            or not hasattr(hidden, "__iter__")
            or not all(isinstance(h, (int, np.integer)) and not isinstance(h, bool) for h in hidden)
        ):
            raise self._bad("hidden", "a tuple of layer sizes such as (100,)", hidden)
        if self.model != "mlp":
            # Like the config, refuse a setting that would do nothing.
            if tuple(self.hidden) != DEFAULT_HIDDEN:
                raise self._bad(
                    "hidden", f'{DEFAULT_HIDDEN} (it applies to model="mlp" only)', hidden
                )
            if self.activation != DEFAULT_ACTIVATION:
                raise self._bad(
                    "activation", '"relu" (it applies to model="mlp" only)', self.activation
                )
        for name in ("early_stopping", "standardize"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise self._bad(name, "True or False", getattr(self, name))
        params = self.optimizer_params
        if params is not None and not (
            isinstance(params, dict) and all(isinstance(k, str) for k in params)
        ):
            raise self._bad("optimizer_params", "None or a dict of optimizer settings", params)
        clashes = sorted({"name", "lr", "momentum"} & set(params or {}))
        if clashes:
            raise self._bad(
                "optimizer_params",
                f"settings other than name, lr and momentum (use the parameter {clashes[0]})",
                params,
            )
        if not isinstance(self.validation_fraction, (int, float)) or not (
            0 < self.validation_fraction < 1
        ):
            raise self._bad("validation_fraction", "a number in (0, 1)", self.validation_fraction)

    def _raw_config(self, data_path: Path, task: str) -> dict:
        optimizer = {"name": self.optimizer, **(self.optimizer_params or {})}
        for key in ("lr", "momentum"):
            if getattr(self, key) is not None:
                optimizer[key] = getattr(self, key)
        model = {"kind": self.model}
        if self.model == "mlp":
            model.update(hidden=[int(h) for h in self.hidden], activation=self.activation)
        return {
            "seed": self.seed,
            "data": {
                "path": str(data_path),
                "format": "npz",
                "task": task,
                "val_fraction": self.validation_fraction if self.early_stopping else 0.0,
                "standardize": bool(self.standardize),
            },
            "model": model,
            "loss": {"l2": self.l2},
            "optimizer": optimizer,
            "train": {
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "dtype": self.dtype,
                "threads": self.threads,
                "early_stopping": {"patience": self.patience} if self.early_stopping else None,
            },
        }

    def _in_parameter_terms(self, message: str, data_path: Path) -> str:
        """A config or engine message with the parameter's name for the config key, and the
        temporary data file named as what it holds."""
        message = message.replace(str(data_path), "X, y").replace(str(data_path.parent), "")

        def name(match: re.Match) -> str:
            key = match.group(1)
            if key in PARAMETER_OF_KEY:
                return f"parameter {PARAMETER_OF_KEY[key]} ({key})"
            if key.startswith("optimizer."):
                return f"parameter optimizer_params[{key.split('.', 1)[1]!r}] ({key})"
            return key

        return f"{type(self).__name__}: " + re.sub(
            r"\b((?:seed|model|optimizer|loss|train|data)(?:\.[a-z_0-9]+)*)\b(?=:)", name, message
        )

    # -- fit and predict -----------------------------------------------------------------------
    def _fit_engine(self, X: np.ndarray, y: np.ndarray, task: str) -> None:
        """Train the config the parameters describe on (X, y), through nnctl.training.train, in a
        temporary folder; keep the delivered checkpoint in memory."""
        from nnctl.config import resolve
        from nnctl.report.progress import QuietReporter
        from nnctl.runs import run_folder
        from nnctl.training import train
        from nnctl.training.inference import load_model, model_from_checkpoint

        self._check_parameters()
        with tempfile.TemporaryDirectory(prefix="nnctl-estimator-") as folder:
            data_path = Path(folder) / "data.npz"
            np.savez(data_path, X=X, y=y)
            try:
                cfg = resolve(self._raw_config(data_path, task), "parameters")
                run_dir = run_folder.create(Path(folder) / "run", unique=False)
                try:
                    train(cfg, run_dir, QuietReporter())
                finally:
                    run_folder.unlock(run_dir)
                loaded = load_model(run_dir)  # what `nnctl predict RUN` uses
                rows = run_folder.read_metrics(run_dir)
            except UsageError as exc:
                raise InvalidParameter(self._in_parameter_terms(str(exc), data_path)) from None
            except NnctlError as exc:
                failed = TrainingFailed(self._in_parameter_terms(str(exc), data_path))
                raise failed from None
        self.config_ = loaded.meta["config"]
        self.loss_curve_ = [float(row["train_loss"]) for row in rows]
        self.n_iter_ = len(rows)
        # Parameters and buffers under their checkpoint names, and the meta (config, scaling,
        # classes): all predict needs, as plain arrays and JSON that pickle.
        self._state_dict = loaded.model.state_dict()
        self._meta = loaded.meta
        # Rebuilt from them, as unpickling does: a fitted and an unpickled estimator predict
        # through the same construction (and no message names the removed temporary file).
        self._loaded = model_from_checkpoint(self._state_dict, self._meta, IN_MEMORY)

    def _engine_input(self, X) -> np.ndarray:
        """X validated against fit, scaled by the stored statistics, in the model's dtype: as
        `nnctl predict` prepares a file's rows."""
        check_is_fitted(self, "_loaded")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._loaded.scale(X).astype(self._loaded.model.dtype, copy=False)

    def __getstate__(self):
        # A copy: object.__getstate__ may hand back the live __dict__ itself.
        state = dict(super().__getstate__())
        state.pop("_loaded", None)  # rebuilt from _state_dict and _meta
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_state_dict" in state:
            from nnctl.training.inference import model_from_checkpoint

            self._loaded = model_from_checkpoint(self._state_dict, self._meta, IN_MEMORY)


class NNClassifier(ClassifierMixin, _NNEstimator):
    _models = CLASSIFIER_MODELS

    def fit(self, X, y):
        """Train on X (n_samples, n_features) and class labels y (n_samples,); returns self."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        y = column_or_1d(y, warn=True)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise InvalidParameter(
                f"{type(self).__name__}: y: expected labels of at least 2 classes, found "
                f"one class ({shown(self.classes_[0])})"
            )
        task = "binary" if len(self.classes_) == 2 else "multiclass"
        if self.model == "logreg" and task == "multiclass":
            raise self._bad(
                "model",
                'softmax or mlp for more than 2 classes ("logreg" is binary)',
                self.model,
            )
        # The engine learns class codes 0..k-1; classes_ turns them back into the labels.
        self._fit_engine(X, codes.astype(np.int64), task)
        return self

    def predict(self, X):
        """The most probable class label of each row."""
        X = self._engine_input(X)
        return self.classes_[self._loaded.model.predict(X)]

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns in the order of classes_."""
        X = self._engine_input(X)
        return self._loaded.model.predict_proba(X).astype(np.float64)

    def decision_function(self, X):
        """The model's logits: (n_samples,) log-odds of classes_[1] for two classes,
        (n_samples, n_classes) for more (the softmax's inputs)."""
        X = self._engine_input(X)
        logits = self._loaded.model.forward(X).astype(np.float64)
        if len(self.classes_) > 2:
            return logits
        # One logit (logreg, mlp) is the log-odds; two (softmax) give it as their difference.
        return logits[:, 0] if logits.shape[1] == 1 else logits[:, 1] - logits[:, 0]


class NNRegressor(RegressorMixin, _NNEstimator):
    _models = REGRESSOR_MODELS

    def fit(self, X, y):
        """Train on X (n_samples, n_features) and targets y, (n_samples,) or
        (n_samples, n_targets); returns self."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, multi_output=True)
        self._y_columns = None if y.ndim == 1 else y.shape[1]
        self._fit_engine(X, y.astype(np.float64), "regression")
        return self

    def predict(self, X):
        """Predicted targets, in y's own units and shape: (n_samples,) when y was 1-D, else
        (n_samples, n_targets)."""
        from nnctl.data.scaling import unscale_target

        X = self._engine_input(X)
        loaded = self._loaded
        values = unscale_target(loaded.target_scaler, loaded.model.predict(X))
        values = np.asarray(values, dtype=np.float64)
        if self._y_columns is None:
            return values.reshape(-1)
        return values.reshape(len(values), self._y_columns)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # the engine trains one output per target column
        return tags


NNClassifier.__doc__ = _doc(
    """A neural-network classifier trained by nnctl's engine: an MLP (default, as
    scikit-learn's MLPClassifier), softmax regression or logistic regression, with any of nnctl's
    optimizers, exactly as `nnctl train` trains the same config.
""",
    CLASSIFIER_MODELS,
    exact=False,
    target="",
    classes="""
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted; predict returns them.""",
)

NNRegressor.__doc__ = _doc(
    """A neural-network regressor trained by nnctl's engine: an MLP (default, as scikit-learn's
    MLPRegressor) or linear regression, with any of nnctl's optimizers (the closed form too),
    exactly as `nnctl train` trains the same config. y may have several columns.
""",
    REGRESSOR_MODELS,
    exact=True,
    target=(
        "\n        The target is trained standardized as well (`data.standardize_target: auto`);"
        "\n        predictions come back in its own units."
    ),
    classes="",
)
