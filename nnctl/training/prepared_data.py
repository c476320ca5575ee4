"""PreparedData: what `prepare` hands to training, evaluation and prediction (the split,
scaled data with its task, classes, columns and scalers). X_train and X_val are in-memory
arrays or RowViews of memory-mapped files (nnctl.data.row_source); `prepare.py` makes both."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOSS_UNITS_SCALED = "standardized target"  # losses of data.standardize_target runs


@dataclass
class PreparedData:
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    task: str
    classes: list | None
    feature_names: list[str]
    scaler: object | None  # nnctl.data.Standardizer fitted on the training part
    source: str
    columns: object | None = None  # nnctl.data.columns.ColumnPipeline of a CSV (names, steps)
    target_scaler: object | None = None  # Standardizer of a regression target; y_* are scaled
    # The split as 0-based row numbers of the source table (int64, sorted): the rows of
    # data.path in X_train / X_val, or with data.val_path every row of each file. split.npz.
    train_rows: np.ndarray | None = None
    val_rows: np.ndarray | None = None
    val_from_file: bool = False  # val_rows number the rows of data.val_path

    def in_target_units(self, y: np.ndarray, prediction: np.ndarray):
        """(y, prediction) in the target's own units, for metrics (R2, RMSE, MAE)."""
        from nnctl.data.scaling import unscale_target

        return unscale_target(self.target_scaler, y), unscale_target(self.target_scaler, prediction)

    @property
    def n_outputs(self) -> int:
        """Logit count the head needs: classes for classification, targets for regression."""
        if self.task == "regression":
            return 1 if self.y_train.ndim == 1 else self.y_train.shape[1]
        return len(self.classes)
