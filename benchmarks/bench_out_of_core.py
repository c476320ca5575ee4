"""Training on data bigger than memory: peak anonymous memory and throughput (issue 16).

Generates a float32 `.npy` of `--rows` x `--features` (default 2,000,000 x 1,000: 8 GB) in
blocks, with a binary label file and a numeric target file, then runs `nnctl train` in child
processes on it:

  sgd     one epoch of logistic-regression SGD (batch 256)
  lbfgs   10 iterations of L-BFGS on logistic regression (chunked full-batch passes)
  exact   the exact linear-regression solution (X^T X and X^T y accumulated over chunks)

Each child's peak anonymous memory is sampled from `RssAnon` in /proc/PID/status every
`--interval` seconds (the pages of a read-only memory map belong to the page cache and are not
counted). Bytes read are counted by wrapping the block reader (DiskRows.read_sorted, which every
read of an on-disk row goes through) in the child: rows handed out times the file's bytes per
row, while the training loop runs (`read_mb`; the data preparation's passes and summary.json's
final scores are left out) and per iteration (`read_mb_per_iter`, with `train_passes_per_iter`
the same in passes over the training rows). Throughput is samples per second of training (epochs x training rows, or per-sample
gradients for L-BFGS, divided by the run's training time from summary.json), beside the same
work on a 10% sample held in memory (an .npz, loaded whole). A run passes when its peak
anonymous memory is under `--limit-gb` (1.5).

The generated files are removed afterwards (`--keep` keeps them). Run it alone on the machine:

    python benchmarks/bench_out_of_core.py [--rows 2000000] [--features 1000] [--dir /tmp/ooc]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from process_memory import peak_while_running

BLOCK_BYTES = 256 << 20  # generation writes this much of X at a time

CONFIGS = {
    "sgd": (
        "model: {kind: logreg}\noptimizer: {name: sgd, lr: 0.01}\n"
        "train: {epochs: 1, batch_size: 256}\n",
        "labels.npy",
    ),
    "lbfgs": (
        "model: {kind: logreg}\nloss: {l2: 0.0001}\noptimizer: {name: lbfgs}\n"
        "train: {epochs: 10}\n",
        "labels.npy",
    ),
    "exact": (
        "model: {kind: linreg}\noptimizer: {name: exact}\ntrain: {epochs: 1}\n",
        "values.npy",
    ),
}


# The child: `nnctl train` with the block reader counting what it hands out while the training
# loop runs; the counts go to the file named by its first argument.
COUNTING_CHILD = """
import json, sys
from nnctl.data import ondisk
from nnctl.training import trainer

counts = {"rows": 0, "bytes": 0}
counting = [False]
read_sorted = ondisk.DiskRows.read_sorted

def counted_read(self, rows, out):
    if counting[0]:
        counts["rows"] += len(rows)
        counts["bytes"] += len(rows) * self.shape[1] * self.blocks[0].itemsize
    return read_sorted(self, rows, out)

def counted_fit(fit):
    def run(state, callbacks):
        counting[0] = True
        try:
            return fit(state, callbacks)
        finally:
            counting[0] = False
    return run

ondisk.DiskRows.read_sorted = counted_read
trainer.fit_full_batch = counted_fit(trainer.fit_full_batch)
trainer.fit_mini_batch = counted_fit(trainer.fit_mini_batch)
counts_path, sys.argv = sys.argv[1], ["nnctl"] + sys.argv[2:]
try:
    from nnctl.cli.app import run
    run()
finally:
    with open(counts_path, "w") as f:
        json.dump(counts, f)
"""


def generate(folder: Path, rows: int, features: int, seed: int = 0) -> None:
    """X.npy (float32), labels.npy (0/1) and values.npy (float64) in blocks of BLOCK_BYTES."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(features) / np.sqrt(features)
    X = np.lib.format.open_memmap(
        folder / "X.npy", mode="w+", dtype=np.float32, shape=(rows, features)
    )
    labels = np.empty(rows, dtype=np.int8)
    values = np.empty(rows, dtype=np.float64)
    step = max(1, BLOCK_BYTES // (4 * features))
    for start in range(0, rows, step):
        stop = min(start + step, rows)
        block = rng.standard_normal((stop - start, features), dtype=np.float32)
        X[start:stop] = block
        score = block @ w
        labels[start:stop] = score + 0.5 * rng.standard_normal(stop - start) > 0
        values[start:stop] = score + 0.1 * rng.standard_normal(stop - start)
    X.flush()
    del X
    np.save(folder / "labels.npy", labels)
    np.save(folder / "values.npy", values)


def write_sample(folder: Path, share: float) -> Path:
    """The first `share` of the rows as an .npz per target (loaded whole by nnctl)."""
    X = np.load(folder / "X.npy", mmap_mode="r")
    n = int(len(X) * share)
    for target in ("labels", "values"):
        y = np.load(folder / f"{target}.npy")[:n]
        np.savez(folder / f"sample-{target}.npz", X=np.asarray(X[:n]), y=y)
    return folder


def run_child(folder: Path, name: str, data: str, interval: float) -> dict:
    """`nnctl train` in a child process; its peak RssAnon, wall time and summary."""
    body, _ = CONFIGS[name]
    tag = "disk" if "X.npy" in data else "sample"
    config = folder / f"{name}-{tag}.yaml"
    config.write_text(f"seed: 0\ndata: {{{data}, val_fraction: 0.1}}\n{body}")
    run = folder / f"run-{name}-{tag}"
    shutil.rmtree(run, ignore_errors=True)
    started = time.perf_counter()
    counts_path = folder / f"reads-{name}-{tag}.json"
    child = subprocess.Popen(
        [sys.executable, "-c", COUNTING_CHILD, str(counts_path)]
        + ["train", str(config), "--out", str(run), "-q"],
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = peak_while_running(child, interval)
    wall = time.perf_counter() - started
    stderr = child.stderr.read()
    if child.returncode != 0:
        raise SystemExit(f"{name} ({tag}) failed with exit code {child.returncode}:\n{stderr}")
    summary = json.loads((run / "summary.json").read_text())
    samples = summary["sample_grads"] if name == "lbfgs" else summary["n_train"] * summary["epochs"]
    reads = json.loads(counts_path.read_text())
    train_bytes = summary["n_train"] * bytes_per_row(folder)
    iterations = max(1, summary["epochs"])
    return {
        "run": name,
        "data": tag,
        "peak_rss_anon_mb": round(peak / 1024, 1),
        "wall_s": round(wall, 2),
        "train_s": summary["elapsed_s"],
        "samples_per_s": round(samples / summary["elapsed_s"], 1),
        "n_train": summary["n_train"],
        "train_loss": summary["final"]["train_loss"],
        "read_mb": round(reads["bytes"] / 2**20, 1),
        "read_mb_per_iter": round(reads["bytes"] / iterations / 2**20, 1),
        "train_passes_per_iter": round(reads["bytes"] / iterations / train_bytes, 3),
    }


def bytes_per_row(folder: Path) -> int:
    X = np.load(folder / "X.npy", mmap_mode="r")
    return X.shape[1] * X.itemsize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=1_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/nnctl-out-of-core"))
    parser.add_argument("--limit-gb", type=float, default=1.5)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--sample-share", type=float, default=0.1)
    parser.add_argument("--only", nargs="*", choices=sorted(CONFIGS), default=sorted(CONFIGS))
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    folder = args.dir
    folder.mkdir(parents=True, exist_ok=True)
    size_gb = args.rows * args.features * 4 / 2**30
    print(
        f"generating {args.rows} x {args.features} float32 ({size_gb:.2f} GiB) in {folder}",
        file=sys.stderr,
    )
    try:
        started = time.perf_counter()
        generate(folder, args.rows, args.features)
        write_sample(folder, args.sample_share)
        print(f"generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        results = []
        for name in args.only:
            target = CONFIGS[name][1]
            on_disk = f"path: {folder / 'X.npy'}, labels_path: {folder / target}"
            sample = f"path: {folder / ('sample-' + target.replace('.npy', '.npz'))}"
            for data in (on_disk, sample):
                result = run_child(folder, name, data, args.interval)
                result["under_limit"] = result["peak_rss_anon_mb"] < args.limit_gb * 1024
                results.append(result)
                print(json.dumps(result), file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    header = (
        "run",
        "data",
        "n_train",
        "peak_rss_anon_mb",
        "samples_per_s",
        "read_mb_per_iter",
        "train_passes_per_iter",
        "train_s",
        "wall_s",
        "under_limit",
    )
    print(" | ".join(header))
    for result in results:
        print(" | ".join(str(result[key]) for key in header))
    disk = [r for r in results if r["data"] == "disk"]
    failed = [r["run"] for r in disk if not r["under_limit"]]
    print(
        json.dumps(
            {
                "rows": args.rows,
                "features": args.features,
                "gib": round(size_gb, 2),
                "results": results,
            }
        )
    )
    if failed:
        print(f"over {args.limit_gb} GB of anonymous memory: {', '.join(failed)}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    main()
