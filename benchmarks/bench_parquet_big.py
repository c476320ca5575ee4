"""A Parquet file bigger than memory allows: converted and trained on as it streams (issue 23).

Writes a Parquet file of about `--gb` GB (default 2) into a temporary folder, row group by row
group (float64 feature columns and an integer label), then runs in child processes:

  convert        `nnctl data convert FILE --out FOLDER` (Parquet to memory-mapped shards)
  train-parquet  `nnctl train` on the Parquet file itself: above the in-memory limit it is
                 converted to scratch shards as it streams and trained on memory-mapped
  train-folder   `nnctl train` on the converted folder

Training is one epoch of logistic-regression SGD (batch 256) with standardisation. Each child's
peak anonymous memory is sampled from `RssAnon` in /proc/PID/status every `--interval` seconds
(a memory map's pages belong to the page cache, not to the process's anonymous memory). A step
passes when its peak is under `--limit-gb` (1.0); the script exits 1 when one does not. Wall
times are printed for information only.

Opt-in, not run in CI (it writes ~6 GB: the file, its conversion and the scratch conversion);
run it alone on the machine. Needs pyarrow (nnctl[parquet]). Linux only (/proc).

    python benchmarks/bench_parquet_big.py [--gb 2] [--features 32] [--dir /tmp/pq] [--keep]

Measured (2026-12, 2 shared cores; a 2.25 GB file of 7,782,101 rows x 32 features): convert
0.28 GB peak anonymous memory, train-parquet 0.64 GB, train-folder 0.49 GB. Before the reader
mapped the file and convert wrote into memory maps, convert peaked at 2.9 GB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from process_memory import peak_while_running

ROW_GROUP_ROWS = 1 << 18
TRAIN_BODY = (
    "model: {kind: logreg}\noptimizer: {name: sgd, lr: 0.01}\ntrain: {epochs: 1, batch_size: 256}\n"
)


def write_parquet(path: Path, gigabytes: float, features: int, seed: int = 0) -> int:
    """A Parquet file of float64 features f0.. and a 0/1 `label`, about `gigabytes` GB
    (random numbers do not compress); returns its row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    w = rng.standard_normal(features) / np.sqrt(features)
    rows = int(gigabytes * 1e9 / (8 * features + 1))
    schema = pa.schema(
        [*(pa.field(f"f{j}", pa.float64()) for j in range(features)), pa.field("label", pa.int8())]
    )
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        for start in range(0, rows, ROW_GROUP_ROWS):
            n = min(ROW_GROUP_ROWS, rows - start)
            block = rng.standard_normal((n, features))
            label = (block @ w + 0.5 * rng.standard_normal(n) > 0).astype(np.int8)
            arrays = [pa.array(block[:, j]) for j in range(features)] + [pa.array(label)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
    return rows


def run_measured(args: list[str], cwd: Path, interval: float) -> dict:
    """`python -m nnctl ARGS` in a child: its exit code, peak RssAnon (GB) and wall time."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "nnctl", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = peak_while_running(child, interval)
    out, err = child.communicate()
    return {
        "exit": child.returncode,
        "peak_anon_gb": peak * 1024 / 1e9,
        "seconds": time.perf_counter() - started,
        "stderr": err.strip()[-2000:],
        "stdout": out,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temp one)")
    parser.add_argument("--limit-gb", type=float, default=1.0)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="nnctl-bench-parquet-"))
    folder.mkdir(parents=True, exist_ok=True)
    results = {}
    try:
        started = time.perf_counter()
        source = folder / "big.parquet"
        rows = write_parquet(source, args.gb, args.features)
        print(
            f"wrote {source} ({source.stat().st_size / 1e9:.2f} GB, {rows} rows x "
            f"{args.features} features) in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        steps = {
            "convert": [
                "data",
                "convert",
                str(source),
                "--target",
                "label",
                "--out",
                str(folder / "converted"),
                "--force",
            ],
        }
        for name, data in (
            ("train-parquet", f"path: {source}, target: label"),
            ("train-folder", f"path: {folder / 'converted'}"),
        ):
            config = folder / f"{name}.yaml"
            config.write_text(f"seed: 0\ndata: {{{data}, val_fraction: 0.1}}\n{TRAIN_BODY}")
            steps[name] = [
                "train",
                str(config),
                "--out",
                str(folder / f"run-{name}"),
                "--force",
                "-q",
            ]
        for name, step in steps.items():
            results[name] = run_measured(step, folder, args.interval)
            result = results[name]
            verdict = (
                "ok" if result["exit"] == 0 and result["peak_anon_gb"] < args.limit_gb else "FAIL"
            )
            print(
                f"{name:14s} exit {result['exit']}  peak anonymous {result['peak_anon_gb']:.3f} GB"
                f"  {result['seconds']:.0f} s  {verdict}",
                flush=True,
            )
            if result["exit"] != 0:
                print(result["stderr"], file=sys.stderr)
        summary = (
            json.loads((folder / "run-train-parquet" / "summary.json").read_text())
            if (folder / "run-train-parquet" / "summary.json").exists()
            else {}
        )
        if summary:
            print(f"train-parquet: n_train {summary.get('n_train')}, n_val {summary.get('n_val')}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    failed = [
        name for name, r in results.items() if r["exit"] != 0 or r["peak_anon_gb"] >= args.limit_gb
    ]
    return 1 if failed or len(results) < 3 else 0


if __name__ == "__main__":
    sys.exit(main())
