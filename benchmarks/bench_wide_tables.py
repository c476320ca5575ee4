"""Wide tables: wall time of `nnctl train`, `nnctl data convert` and `nnctl config init` on a CSV
of a few rows and many columns (issue 22: looking columns up with list.index made the work grow
with the square of the column count; 20,000 columns took ~28 s, 100,000 more than 240 s).
Each command is a fresh `python -m nnctl` process; the figure is the wall time of one run.

    python benchmarks/bench_wide_tables.py [--columns 20000 100000] [--rows 6]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CONFIG = """seed: 0
data: {path: wide.csv, val_fraction: 0}
model: {kind: logreg}
optimizer: {name: sgd, lr: 0.01}
train: {epochs: 1, batch_size: 8}
"""


def write_table(folder: Path, n_columns: int, n_rows: int) -> None:
    X = np.random.default_rng(0).normal(size=(n_rows, n_columns)).round(3)
    lines = [",".join(f"x{j}" for j in range(n_columns)) + ",target"]
    lines += [",".join(map(str, X[i])) + f",{i % 2}" for i in range(n_rows)]
    (folder / "wide.csv").write_text("\n".join(lines) + "\n")
    (folder / "wide.yaml").write_text(CONFIG)


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nnctl", *args], cwd=cwd, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"nnctl {' '.join(args)} failed:\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--rows", type=int, default=6)
    args = parser.parse_args()
    commands = {
        "train": ["train", "wide.yaml", "--out", "run", "--force", "-q"],
        "data convert": ["data", "convert", "wide.csv", "--out", "shards", "--force"],
        "config init": ["config", "init", "--data", "wide.csv"],
    }
    print(f"{'columns':>8}  " + "  ".join(f"{name:>13}" for name in commands))
    for n_columns in args.columns:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            write_table(folder, n_columns, args.rows)
            times = [timed(command, folder) for command in commands.values()]
        print(f"{n_columns:>8}  " + "  ".join(f"{t:>12.2f}s" for t in times))


if __name__ == "__main__":
    main()
