"""Evaluation metrics: accuracy, log loss, confusion matrix; MSE, RMSE, MAE, R2.

Each takes plain arrays (targets, predictions or probabilities) and returns Python floats, so
results go straight into JSON. `task_metrics` picks the set that fits the task.
"""

from __future__ import annotations

import numpy as np

# Which way is better, for early stopping and comparisons ("val_" prefix stripped).
HIGHER_IS_BETTER = {
    "accuracy": True,
    "r2": True,
    "loss": False,
    "log_loss": False,
    "mse": False,
    "rmse": False,
    "mae": False,
}
PRIMARY = {"regression": "r2", "binary": "accuracy", "multiclass": "accuracy"}


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def log_loss(y_true: np.ndarray, proba: np.ndarray, eps: float = 1e-15) -> float:
    """Mean of -log p(true class); proba is [n, n_classes]. Clipped so a confident miss is finite."""
    if not len(y_true):
        return float("nan")
    p = np.clip(proba[np.arange(len(y_true)), y_true.astype(np.int64)], eps, 1.0)
    return float(-np.mean(np.log(p)))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> list[list[int]]:
    """Rows: true class, columns: predicted class."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (y_true.astype(np.int64), y_pred.astype(np.int64)), 1)
    return counts.tolist()


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean((y_true - y_pred) ** 2)) if len(y_true) else float("nan")


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.abs(y_true - y_pred))) if len(y_true) else float("nan")


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """1 - SS_res / SS_tot, averaged uniformly over outputs (as scikit-learn's r2_score)."""
    if len(y_true) < 2:
        return float("nan")
    y_true = y_true.reshape(len(y_true), -1)
    y_pred = y_pred.reshape(len(y_pred), -1)
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_output = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res > 0, 0.0, 1.0))
    return float(per_output.mean())


def task_metrics(
    task: str,
    y_true: np.ndarray,
    prediction: np.ndarray,
    proba: np.ndarray | None = None,
    confusion: bool = False,
) -> dict:
    """The task's metrics by name. Classification: `prediction` are class codes."""
    if task == "regression":
        return {
            "mse": mse(y_true, prediction),
            "rmse": rmse(y_true, prediction),
            "mae": mae(y_true, prediction),
            "r2": r2(y_true, prediction),
        }
    out = {"accuracy": accuracy(y_true, prediction)}
    if proba is not None:
        out["log_loss"] = log_loss(y_true, proba)
        if confusion:
            out["confusion_matrix"] = confusion_matrix(y_true, prediction, proba.shape[1])
    return out


def is_improvement(metric: str, new: float, best: float | None, min_delta: float = 0.0) -> bool:
    """Did `new` beat `best` by more than min_delta, in the direction that is better for metric?"""
    if best is None:
        return bool(np.isfinite(new))
    name = metric[4:] if metric.startswith("val_") else metric
    if HIGHER_IS_BETTER.get(name, False):
        return new > best + min_delta
    return new < best - min_delta
