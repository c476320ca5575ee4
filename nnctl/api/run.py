"""Run: one run folder seen from Python (what `nnctl train` wrote, read back)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from nnctl.errors import UsageError


class Run:
    """A run folder: its resolved config, summary, per-epoch history, and the trained model
    (the checkpoint `nnctl eval` and `nnctl predict` use for the folder).

        run = nnctl.train("iris-softmax")
        run.history["val_loss"]          # NumPy array, one value per epoch
        run.predict({"sepal_length_cm": [5.1], ...})   # original class labels
        run.export("onnx")               # runs/iris-softmax/model.onnx
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.dir = Path(run_dir)
        if not self.dir.is_dir():
            raise UsageError(
                f"{self.dir}: expected a run folder (config.yaml, summary.json, checkpoints/), "
                + ("found a file" if self.dir.exists() else "found nothing there")
            )
        if not (self.dir / "config.yaml").is_file() and not (self.dir / "summary.json").is_file():
            raise UsageError(
                f"{self.dir}: not an nnctl run folder (no config.yaml or summary.json in it)"
            )
        self._loaded = None

    # -- what the folder holds ---------------------------------------------------------------

    @property
    def config(self) -> dict:
        """The fully resolved config (config.yaml)."""
        from nnctl.config import load_yaml

        return load_yaml(self.dir / "config.yaml")

    @property
    def summary(self) -> dict:
        """summary.json: status, counts, best epoch, final scores (non-finite numbers: None)."""
        path = self.dir / "summary.json"
        if not path.is_file():
            raise UsageError(
                f"{self.dir}: no summary.json (the run never ended: still training, or killed "
                "before it could write one; nnctl.resume continues it)"
            )
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: not a JSON summary ({exc})") from None

    @property
    def status(self) -> str:
        """How the run ended: completed, early_stopped, converged, interrupted or diverged."""
        return self.summary["status"]

    @property
    def history(self) -> dict:
        """metrics.jsonl as {column: float64 array over epochs}: exactly the file's numbers;
        a value missing from a row (or written as null) is NaN."""
        import numpy as np

        from nnctl.runs.run_folder import read_metrics

        rows = read_metrics(self.dir)
        names = list(dict.fromkeys(name for row in rows for name in row))
        return {
            name: np.array([_number(row.get(name)) for row in rows], dtype=np.float64)
            for name in names
        }

    # -- the trained model -------------------------------------------------------------------

    def predict(self, X):
        """Predictions for X: the original class labels (regression: values in the target's
        units) as a NumPy array. X: a 2-D array (the training columns in order), a dict
        {column name: values} or a pandas DataFrame; named columns are bound by name as
        `nnctl predict` binds a CSV's header (extra ones ignored, categories encoded as in
        training)."""
        from nnctl.training.inference import predict_arrays

        loaded = self._model()
        predictions, _ = predict_arrays(loaded, self._features(X), "X")
        return predictions

    def predict_proba(self, X):
        """Class probabilities [n, k] for X (see predict), columns in the order of
        `self.classes`; a UsageError for a regression run."""
        from nnctl.training.inference import predict_arrays

        loaded = self._model()
        if loaded.meta["task"] == "regression":
            raise UsageError(
                f"predict_proba: {self.dir} is a regression run; it predicts values, not class "
                "probabilities (use predict)"
            )
        _, proba = predict_arrays(loaded, self._features(X), "X")
        return proba

    @property
    def classes(self) -> list | None:
        """The class labels in the model's order (None for regression)."""
        return self._model().meta.get("classes")

    def evaluate(self, X=None, y=None, split: str | None = None) -> dict:
        """Loss and metrics, the dict `nnctl eval --json` prints: on X and y (labels or
        values in the target's units) when given, else on the run's own data split ("val",
        the default, "train" or "all")."""
        from nnctl.training.inference import evaluate, features_of, scores, targets_of

        if X is None:
            if y is not None:
                raise UsageError("evaluate: y given without X; give both, or neither")
            if split not in (None, "val", "train", "all"):
                raise UsageError(f"evaluate: split: expected val, train or all, found {split!r}")
            return evaluate(self.dir, None, split or "val")
        if split is not None:
            raise UsageError("evaluate: split chooses the run's own data; give it or X, not both")
        if y is None:
            raise UsageError("evaluate: X given without y (the targets to score against)")
        loaded = self._model()
        features = features_of(loaded, _columns(X), "X")
        targets = targets_of(loaded, y, "y")
        if len(targets) != len(features):
            raise UsageError(f"y: has {len(targets)} rows, X has {len(features)}")
        return scores(loaded, features, targets, "X")

    def export(
        self,
        fmt: str = "onnx",
        out: str | os.PathLike | None = None,
        checkpoint: str | os.PathLike | None = None,
    ) -> Path:
        """Write the model for use outside nnctl, as `nnctl export` does; returns the path
        written. fmt: "onnx" (the whole prediction path, raw columns in; needs the extra
        nnctl[onnx]), "npz" or "json" (plain weights, preprocessing statistics, a schema).
        out: the file (default: model.<fmt> in the run folder). checkpoint: None for the
        weights `predict` uses, "best" or "last", or a checkpoint .npz path."""
        from nnctl.export import export_run

        return export_run(self.dir, fmt, out, checkpoint)

    def _model(self):
        if self._loaded is None:
            from nnctl.training.inference import load_model

            self._loaded = load_model(self.dir)
        return self._loaded

    def _features(self, X):
        from nnctl.training.inference import features_of

        return features_of(self._model(), _columns(X), "X")

    def __repr__(self) -> str:
        try:
            s = self.summary
        except UsageError:
            return f"Run({str(self.dir)!r}: no summary yet)"
        final = s.get("final") or {}
        shown = [k for k in ("train_loss", "val_loss", s.get("primary_metric")) if k]
        scores = ", ".join(
            f"{k} {final[k]:.4g}" for k in dict.fromkeys(shown) if isinstance(final.get(k), float)
        )
        return (
            f"Run({s.get('model')} with {s.get('optimizer')}, {s.get('epochs')} epochs, "
            f"{s.get('status')}: {scores or 'no scores'}; dir={str(self.dir)!r})"
        )


def _number(value) -> float:
    return float("nan") if value is None or isinstance(value, (str, bool)) else float(value)


def _columns(X):
    """X as predict's input: a dict or a pandas DataFrame becomes a table of named columns
    (pandas is never imported: a DataFrame is recognised by its module and columns)."""
    from nnctl.training.inference import table_of_columns

    if isinstance(X, dict):
        return table_of_columns(X, "X")
    if type(X).__module__.split(".")[0] == "pandas" and hasattr(X, "columns"):
        return table_of_columns({str(c): X[c].to_numpy() for c in X.columns}, "X")
    return X
