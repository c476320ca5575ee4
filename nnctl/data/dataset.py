"""The Dataset type, task inference and label mapping.

Every loader (bundled, synthetic, CSV, NPZ, NPY, IDX) ends in `make_dataset`, so the rules below
hold for all of them:

Task inference (`task="auto"`):
  - a 2-D target with more than one column is regression (one output per column);
  - a target whose values are not all numbers (e.g. "setosa") is classification;
  - a numeric target is classification when every value is an integer and there are at most
    MAX_AUTO_CLASSES distinct values, and regression otherwise (so 0/1 labels are binary and
    prices are regression);
  - classification with 2 classes is "binary", with more "multiclass".
  An explicit task ("regression", "binary", "multiclass") overrides this.

Label mapping: classes are the sorted distinct labels (numbers numerically, strings
lexicographically) and `y` holds their codes 0..k-1. Given the `classes` of a trained model
(from its checkpoint), new labels are mapped onto that list instead, and a label the model has
never seen is an error naming the file, the row and the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnctl.errors import UsageError
from nnctl.util.tasks import TASKS

MAX_AUTO_CLASSES = 20  # more distinct integer values than this reads as a regression target


@dataclass
class Dataset:
    """Features and targets, with what is needed to read predictions back as labels.

    X: float64 [n, d]. y: float64 [n] (one target) or [n, k] for regression, int64 class codes
    [n] for classification, None when the file has no target (prediction input).
    classes: the original labels in code order (JSON-friendly: int, float or str), or None for
    regression. source: the file path or the built-in dataset's name.
    """

    X: np.ndarray
    y: np.ndarray | None
    task: str
    classes: list | None
    feature_names: list[str]
    target_name: str | None
    source: str
    table: object = None  # a CSV's ColumnTable (nnctl.data.table), for the column pipeline
    columns: object = None  # the ColumnPipeline that made X from `table`, if any

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)


def check_features(dataset: Dataset, expected_n: int, where: str, expected_names=None) -> None:
    """UsageError unless `dataset` has `expected_n` feature columns (e.g. those a model was
    trained on). `where` says whose expectation it is ("the checkpoint run/best.npz");
    `expected_names`, when known, lets the message name missing and extra columns."""
    if dataset.n_features == expected_n:
        return
    message = (
        f"{dataset.source}: has {dataset.n_features} feature columns, {where} expects {expected_n}"
    )
    if expected_names is not None:
        missing = [n for n in expected_names if n not in dataset.feature_names]
        extra = [n for n in dataset.feature_names if n not in set(expected_names)]
        if missing:
            message += f"; missing: {', '.join(missing[:10])}"
        if extra:
            message += f"; not expected: {', '.join(extra[:10])}"
    raise UsageError(message)


# ---------------------------------------------------------------------------------------------
# Targets


def parse_target(values: np.ndarray) -> np.ndarray:
    """Text target cells as float64 when every one is a number, else as stripped strings."""
    stripped = np.char.strip(values.astype(str))
    try:
        return stripped.astype(np.float64)
    except ValueError:
        return stripped


def is_integer_valued(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def infer_task(raw: np.ndarray, where: str = "target") -> str:
    """ "regression", "binary" or "multiclass" for a parsed target (see the module docstring).

    Raises UsageError when a non-numeric target has more than MAX_AUTO_CLASSES labels (most
    likely the wrong column) or when a classification target has a single class.
    """
    if raw.ndim == 2 and raw.shape[1] > 1:
        return "regression"
    flat = raw.reshape(-1)
    numeric = flat.dtype.kind in "fiub"
    if numeric and not (flat.dtype.kind in "iub" or is_integer_valued(flat)):
        return "regression"
    distinct = np.unique(flat)
    if len(distinct) > MAX_AUTO_CLASSES:
        if numeric:
            return "regression"
        raise UsageError(
            f"{where}: has {len(distinct)} distinct non-numeric values (e.g. {_show(distinct[0])}, "
            f"{_show(distinct[1])}); a class label column is expected to have at most "
            f"{MAX_AUTO_CLASSES}: check the target column, or set data.task: multiclass to "
            "train on them anyway"
        )
    if len(distinct) < 2:
        raise _single_class(where, distinct, len(flat))
    return "binary" if len(distinct) == 2 else "multiclass"


def encode_labels(
    raw: np.ndarray,
    classes: list | None = None,
    *,
    at: Callable[[int], str] = lambda i: f"target, row {i + 1}",
) -> tuple[np.ndarray, list]:
    """(codes int64 [n], classes) for class labels `raw` (numbers or strings).

    Without `classes`: the sorted distinct labels. With `classes` (a trained model's): labels
    are mapped onto that list; a label not in it raises UsageError starting with `at(i)` (the
    file, row and column of label i, e.g. "train.csv: line 7, column 'species'") and naming
    the value.
    """
    raw = raw.reshape(-1)
    if classes is None:
        distinct, codes = np.unique(raw, return_inverse=True)
        return codes.astype(np.int64).reshape(-1), [_plain(v) for v in distinct]

    classes = list(classes)
    numeric_classes = all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes)
    if numeric_classes and raw.dtype.kind in "fiub":
        known = np.asarray(classes, dtype=np.float64)
        order = np.argsort(known)
        sorted_known = known[order]
        values = raw.astype(np.float64)
        slot = np.clip(np.searchsorted(sorted_known, values), 0, len(known) - 1)
        found = sorted_known[slot] == values
        codes = order[slot]
    else:
        # Compare as text: a model trained on labels 0/1 read from NPZ ints still matches "1".
        lookup = {_label_text(c): code for code, c in enumerate(classes)}
        distinct, inverse = np.unique(raw, return_inverse=True)
        distinct_codes = np.array(
            [lookup.get(_label_text(v), -1) for v in distinct], dtype=np.int64
        )
        codes = distinct_codes[inverse.reshape(-1)]
        found = codes >= 0
    if not np.all(found):
        row = int(np.flatnonzero(~found)[0])
        shown = ", ".join(_show(c) for c in classes[:MAX_AUTO_CLASSES])
        raise UsageError(
            f"{at(row)}: label {_show(_plain(raw[row]))} is not one of the classes the "
            f"model was trained on ({shown})"
        )
    return codes.astype(np.int64), classes


def make_dataset(
    X: np.ndarray,
    raw_y: np.ndarray | None,
    *,
    task: str = "auto",
    classes: list | None = None,
    feature_names: list[str] | None = None,
    target_name: str | None = None,
    source: str,
    locate: Callable[[int], str] = lambda i: f"row {i + 1}",
    target_where: str | None = None,
    target_at: Callable[[int], str] | None = None,
) -> Dataset:
    """A Dataset from a float feature matrix and a parsed target (see `parse_target`).

    `task`: "auto" or one of TASKS. `classes`: a trained model's labels, to map onto (then the
    task defaults to classification). Checks that every feature and target value is finite.
    Messages: `locate(i)` names row i of X ("line 7", "index 6"); `target_where` names the
    target ("train.csv: column 'species'"; default "<source>: target '<target_name>'") and
    `target_at(i)` its entry i (default "<target_where>: <locate(i)>").
    """
    assert task in ("auto",) + TASKS, task  # validated with the config (or the checkpoint)
    X = np.asarray(X, dtype=np.float64)
    names = (
        list(feature_names) if feature_names is not None else [f"x{j}" for j in range(X.shape[1])]
    )
    _check_finite_features(X, names, source, locate)
    where_target = target_where or (
        f"{source}: target {target_name!r}" if target_name else f"{source}: target"
    )
    at = target_at or (lambda i: f"{where_target}: {locate(i)}")
    if raw_y is None:
        if classes is not None and task == "auto":
            task = "binary" if len(classes) == 2 else "multiclass"
        return Dataset(X, None, task, _known_classes(classes), names, target_name, source)

    if raw_y.ndim == 2 and raw_y.shape[1] == 1:
        raw_y = raw_y[:, 0]
    if task == "auto" and classes is not None:
        task = "binary" if len(classes) == 2 else "multiclass"
    if task == "auto":
        task = infer_task(raw_y, where_target)

    if task == "regression":
        y = _regression_target(raw_y, at)
        return Dataset(X, y, task, None, names, target_name, source)

    if raw_y.ndim != 1:
        raise UsageError(
            f"{where_target}: expected one class label per row for {task} "
            f"classification, found shape {tuple(raw_y.shape)}"
        )
    if raw_y.dtype.kind == "f":
        bad = ~np.isfinite(raw_y)
        if np.any(bad):
            row = int(np.flatnonzero(bad)[0])
            raise UsageError(
                f"{at(row)}: expected a class label, found "
                f"{_show(raw_y[row])} (missing values are not supported)"
            )
    y, found_classes = encode_labels(raw_y, _known_classes(classes), at=at)
    if classes is None:
        if len(found_classes) < 2:
            raise _single_class(where_target, found_classes, len(y))
        if task == "binary" and len(found_classes) != 2:
            shown = ", ".join(_show(c) for c in found_classes[:10])
            raise UsageError(
                f"{where_target}: binary classification needs exactly 2 classes, "
                f"found {len(found_classes)} ({shown}); use data.task: multiclass"
            )
    elif task == "binary" and len(found_classes) != 2:
        raise UsageError(
            f"{where_target}: binary classification needs exactly 2 classes; the "
            f"model has {len(found_classes)}"
        )
    return Dataset(X, y, task, found_classes, names, target_name, source)


def _check_finite_features(X: np.ndarray, names: list[str], source: str, locate) -> None:
    finite = np.isfinite(X)
    if finite.all():
        return
    row, column = (int(i) for i in np.argwhere(~finite)[0])
    raise UsageError(
        f"{source}: {locate(row)}, column {names[column]!r}: expected a finite number, "
        f"found {_show(X[row, column])} (missing values are not supported)"
    )


def _regression_target(raw: np.ndarray, at) -> np.ndarray:
    if raw.dtype.kind not in "fiub":
        numeric = np.array([_is_number(v) for v in raw.reshape(-1)])
        index = int(np.flatnonzero(~numeric)[0])
        row = index // (raw.shape[1] if raw.ndim == 2 else 1)
        raise UsageError(
            f"{at(row)}: expected a number for regression, found {_show(raw.reshape(-1)[index])}"
        )
    y = raw.astype(np.float64)
    bad = ~np.isfinite(y)
    if np.any(bad):
        index = int(np.flatnonzero(bad.reshape(-1))[0])
        row = index // (y.shape[1] if y.ndim == 2 else 1)
        raise UsageError(
            f"{at(row)}: expected a finite number, found "
            f"{_show(y.reshape(-1)[index])} (missing values are not supported)"
        )
    return y


def _known_classes(classes):
    return None if classes is None else [_plain(c) for c in classes]


def _single_class(where: str, distinct, n_rows: int) -> UsageError:
    value = _show(_plain(distinct[0])) if len(distinct) else "nothing"
    return UsageError(
        f"{where}: has a single class ({value}) in all {n_rows} rows; classification "
        "needs at least 2 classes (or set data.task: regression)"
    )


def _plain(value):
    """A JSON-friendly Python value: integer-valued numbers as int, other numbers as float."""
    if isinstance(value, (np.bool_, bool)):
        return int(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return int(value) if value.is_integer() else value
    return str(value)


def _label_text(value) -> str:
    value = _plain(value)
    return value if isinstance(value, str) else repr(value)


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _show(value) -> str:
    return repr(str(value) if isinstance(value, str) else _plain(value))
