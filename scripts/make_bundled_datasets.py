"""Write the bundled datasets (datasets/*.csv[.gz]) from scikit-learn's copies.

Run once by hand (`python scripts/make_bundled_datasets.py`); the package never imports this
file and never needs scikit-learn. The output is deterministic: re-running it with the same
scikit-learn data gives byte-identical files (gzip with mtime 0 and no stored file name).

Each CSV has a header row of snake_case feature names and a final `target` column:
  iris           species names (setosa, versicolor, virginica)
  wine           cultivar names (class_0, class_1, class_2)
  breast_cancer  diagnosis names (malignant, benign)
  diabetes       the raw, unscaled measurements (load_diabetes(scaled=False)); numeric target
  digits         8x8 pixel counts 0..16; integer target 0..9 (gzipped: it is the large one)
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import numpy as np
from sklearn import datasets

OUT = Path(__file__).resolve().parent.parent / "datasets"  # shipped as nnctl/datasets (setup.py)
GZIP_ABOVE_BYTES = 300_000


def snake_case(name: str) -> str:
    """'mean concave points' -> 'mean_concave_points', 'sepal length (cm)' -> 'sepal_length_cm'."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def number_text(value: float) -> str:
    """Shortest text that reads back as the same float; integers without a trailing '.0'."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def csv_text(feature_names, X, targets) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([snake_case(n) for n in feature_names] + ["target"])
    for row, target in zip(X, targets):
        writer.writerow([number_text(v) for v in row] + [target])
    return buffer.getvalue()


def write(name: str, text: str) -> Path:
    data = text.encode("utf-8")
    if len(data) > GZIP_ABOVE_BYTES:
        path = OUT / f"{name}.csv.gz"
        with (
            open(path, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
        ):
            gz.write(data)
    else:
        path = OUT / f"{name}.csv"
        path.write_bytes(data)
    return path


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    named = {
        "iris": datasets.load_iris(),
        "wine": datasets.load_wine(),
        "breast_cancer": datasets.load_breast_cancer(),
    }
    for name, bunch in named.items():
        targets = [str(bunch.target_names[t]) for t in bunch.target]
        path = write(name, csv_text(bunch.feature_names, bunch.data, targets))
        print(path, bunch.data.shape, dict(zip(*np.unique(targets, return_counts=True))))

    diabetes = datasets.load_diabetes(scaled=False)
    path = write(
        "diabetes",
        csv_text(diabetes.feature_names, diabetes.data, [number_text(t) for t in diabetes.target]),
    )
    print(path, diabetes.data.shape)

    digits = datasets.load_digits()
    path = write(
        "digits", csv_text(digits.feature_names, digits.data, [str(int(t)) for t in digits.target])
    )
    print(path, digits.data.shape, np.bincount(digits.target))


if __name__ == "__main__":
    main()
