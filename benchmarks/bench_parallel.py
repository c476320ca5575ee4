"""Wall time of one sweep (or comparison) run three ways: --jobs 1, --jobs 2, and a local Dask
cluster of 2 workers with 1 thread each. The same command every time; the numbers must be the
same too (checked at the end: comparison.json without its wall times).

    python benchmarks/bench_parallel.py                 # the 16-run sweep on digits mlp
    python benchmarks/bench_parallel.py --compare       # the 8-optimizer digits comparison
    python benchmarks/bench_parallel.py --repeats 3 --workers 2
    python benchmarks/bench_parallel.py --compare -s train.epochs=120 -s train.early_stopping=null

The sweep: configs/digits-mlp.yaml, 4 learning rates x 4 seeds = 16 runs, 30 epochs each (with
the config's early stopping). Every run resolves `train.threads: auto` to 1 BLAS thread (the
parallelism is one run per core), so the expected speedup of --jobs 2 on 2 free cores is close
to 2. The Dask cluster is started before timing (its start-up is printed apart) and the client
connects to it as a user would, with --executor dask --scheduler ADDRESS.

It also times `nnctl train` of one 1-epoch run: the process start-up, imports and set-up that
every command pays once, whatever --jobs says. That part cannot run in parallel, and the line
at the end says what speedup is the most 2 runners can give with it (Amdahl).

Run it alone on the machine: other work on the cores shows up as lost speedup. Each figure is
the best of --repeats rounds; the rounds interleave the three ways so a busy spell hits all.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIGITS = ROOT / "configs" / "digits-mlp.yaml"
SWEEP = ["sweep", str(DIGITS), "-s", "optimizer.lr=0.001,0.002,0.003,0.005", "--seeds", "4"]
COMPARE = [
    "compare-optimizers",
    str(DIGITS),
    *[
        a
        for name in (
            "sgd",
            "momentum",
            "nesterov",
            "adagrad",
            "rmsprop",
            "adadelta",
            "adam",
            "lbfgs",
        )
        for a in ("-o", name)
    ],
]


def without_wall_time(obj):
    if isinstance(obj, dict):
        return {k: without_wall_time(v) for k, v in obj.items() if "wall" not in k and k != "out"}
    if isinstance(obj, list):
        return [without_wall_time(v) for v in obj]
    return obj


def timed_run(command: list[str], extra: list[str], out: Path) -> tuple[float, dict]:
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
    }
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nnctl", *command, *extra, "--out", str(out), "-q", "--no-plot"],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command + extra)} exited {proc.returncode}:\n{proc.stderr}")
    return wall, json.loads((out / "comparison.json").read_text())


def timed_start(out: Path) -> float:
    """Wall time of `nnctl train` of one 1-epoch digits run: the process start-up, imports,
    config and data set-up that every command pays once, whatever --jobs says."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "nnctl", "train", str(DIGITS), "-s", "train.epochs=1"]
        + ["--out", str(out), "-q"],
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"nnctl train exited {proc.returncode}:\n{proc.stderr}")
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--compare",
        action="store_true",
        help="time the 8-optimizer digits comparison instead of the sweep",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="Dask workers (1 thread each)")
    parser.add_argument(
        "-s",
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a config override for every run, e.g. -s train.epochs=120 (longer runs)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from nnctl.util.threads import blas_libraries

    try:
        from distributed import LocalCluster
    except ImportError:
        LocalCluster = None
        print("distributed is not installed (pip install -e '.[dask]'): Dask is left out")

    command = (COMPARE if args.compare else SWEEP) + [a for kv in args.settings for a in ("-s", kv)]
    n_runs = 8 if args.compare else 16
    print(
        f"{'compare-optimizers' if args.compare else 'sweep'} of {DIGITS.name}: {n_runs} runs, "
        f"{os.cpu_count()} cores here"
    )
    for lib in blas_libraries():
        print(
            f"BLAS: {lib['internal_api']} {lib['version']}, kernel {lib['architecture']}, "
            f"{lib['threading_layer']}, default {lib['num_threads']} threads; each run uses 1 "
            "(train.threads auto in a sweep)"
        )
    ways = {"--jobs 1": ["--jobs", "1"], "--jobs 2": ["--jobs", "2"]}
    cluster = None
    if LocalCluster is not None:
        start = time.perf_counter()
        cluster = LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )  # any free port
        print(
            f"Dask: {args.workers} workers x 1 thread started in "
            f"{time.perf_counter() - start:.1f}s at {cluster.scheduler_address}"
        )
        ways[f"dask, {args.workers} workers"] = [
            "--executor",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
        ]
    best = {name: float("inf") for name in ways}
    results = {}
    fixed = float("inf")  # the command's own cost: start-up, planning, writing the folder
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for round_ in range(args.repeats):
                fixed = min(fixed, timed_start(Path(tmp) / f"f{round_}"))
                for i, (name, extra) in enumerate(ways.items()):
                    wall, data = timed_run(command, extra, Path(tmp) / f"r{round_}-{i}")
                    best[name] = min(best[name], wall)
                    results[name] = without_wall_time(data)
                    print(f"  round {round_ + 1}: {name:<20} {wall:7.2f}s", flush=True)
    finally:
        if cluster is not None:
            cluster.close()
    print(f"\n{'way':<22}{'best wall (s)':>14}{'speedup vs --jobs 1':>22}")
    for name, wall in best.items():
        print(f"{name:<22}{wall:>14.2f}{best['--jobs 1'] / wall:>21.2f}x")
    # Amdahl: what only the command's own process does (start-up, one run's set-up) is serial.
    bound = best["--jobs 1"] / (fixed + (best["--jobs 1"] - fixed) / 2)
    print(
        f"the command's own cost (nnctl train of one 1-epoch run): {fixed:.2f}s, so 2 runners "
        f"can be at most {bound:.2f}x faster than --jobs 1 here"
    )
    reference = results["--jobs 1"]
    same = all(data == reference for data in results.values())
    print(
        "numbers: "
        + (
            "identical in every way (comparison.json without wall times)"
            if same
            else "DIFFER between the ways: "
            + ", ".join(n for n, d in results.items() if d != reference)
        )
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
