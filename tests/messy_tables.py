"""Messy CSV tables of the kind users bring, written by the tests themselves.

`patients(n, seed, task)` draws a table with a known generating model: an id column, numeric
columns with missing cells in several spellings, text categories (one with a comma inside its
values), and an outcome column (binary, three classes, or a number). `write_csv` writes it the
ways files come: comma or semicolon separated, CRLF line ends, a byte order mark, R-style row
names (an unnamed first column), and missing target cells.
"""

from __future__ import annotations

import csv
import io

import numpy as np

NUMERIC = ["age", "bmi", "x1", "x2"]
CATEGORICAL = ["smoker", "region"]
REGIONS = ["North, upper", "South", "East", "West"]
NA_SPELLINGS = ["", "NA", "?", "N/A", "null", "NaN"]


def patients(n: int, seed: int, task: str, missing_share: float = 0.05):
    """(columns, target): columns maps name -> list of values (None = missing)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(50, 12, n)
    bmi = rng.normal(27, 4, n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    smoker = rng.choice(["yes", "no"], n, p=[0.3, 0.7])
    region = rng.choice(REGIONS, n)
    region_effect = {"North, upper": 0.8, "South": -0.5, "East": 0.0, "West": 0.3}
    score = (
        0.06 * (age - 50)
        + 0.15 * (bmi - 27)
        + 1.2 * x1
        - 0.8 * x2
        + 1.0 * (smoker == "yes")
        + np.array([region_effect[r] for r in region])
    )
    if task == "binary":
        target = np.where(score + rng.logistic(size=n) * 0.7 > 0.3, "sick", "well").tolist()
    elif task == "multiclass":
        second = 0.9 * x2 - 0.7 * x1 + 0.5 * (smoker == "no")
        scores = np.stack([score, second, np.zeros(n)], axis=1) + rng.gumbel(size=(n, 3)) * 0.5
        target = np.array(["a", "b", "c"])[np.argmax(scores, axis=1)].tolist()
    else:
        target = (3.0 * score + rng.normal(0, 1.0, n)).tolist()
    columns = {
        "patient_id": [f"P{i:05d}" for i in range(n)],
        "age": np.round(age, 1).tolist(),
        "bmi": np.round(bmi, 2).tolist(),
        "smoker": smoker.tolist(),
        "region": region.tolist(),
        "x1": x1.tolist(),
        "x2": x2.tolist(),
    }
    for name in ("age", "bmi", "smoker", "region"):
        holes = rng.random(n) < missing_share
        columns[name] = [None if h else v for h, v in zip(holes, columns[name])]
    return columns, target


def write_csv(
    path,
    columns: dict,
    target: list,
    target_name: str = "outcome",
    *,
    delimiter: str = ",",
    crlf: bool = False,
    bom: bool = False,
    row_names: bool = False,
    order: list[str] | None = None,
    missing_targets: tuple = (),
    with_target: bool = True,
    rows=None,
):
    """Write the table; missing cells cycle through NA_SPELLINGS. `order`: column order (and
    subset); `missing_targets`: row indices whose target cell is written as NA; `rows`: only
    these rows."""
    names = order or list(columns)
    n = len(target)
    rows = range(n) if rows is None else rows
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    header = ([""] if row_names else []) + names + ([target_name] if with_target else [])
    writer.writerow(header)
    spelling = 0
    for i in rows:
        cells = [str(i + 1)] if row_names else []
        for name in names:
            value = columns[name][i]
            if value is None:
                value = NA_SPELLINGS[spelling % len(NA_SPELLINGS)]
                spelling += 1
            cells.append(value if isinstance(value, str) else repr(value))
        if with_target:
            cells.append(
                "NA"
                if i in missing_targets
                else (target[i] if isinstance(target[i], str) else repr(target[i]))
            )
        writer.writerow(cells)
    text = ("\ufeff" if bom else "") + buffer.getvalue()
    path.write_bytes(text.encode("utf-8"))
    return path
