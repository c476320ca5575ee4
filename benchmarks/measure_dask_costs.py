"""Per-run costs of the Dask executor, the figures docs/scaling.md extrapolates from: what a
run sends and receives (bytes), the scheduler's round trip per task (ms), and the time the
client takes to write one run folder from a result (ms). Small and quick; rough on a busy
machine (they are medians of a few tries).

    python benchmarks/measure_dask_costs.py [--epochs 30]

One run: configs/digits-mlp.yaml (64-64-10 MLP, Adam) on the bundled digits data read from
its CSV file (as a user's own data would be: shipped), trained for --epochs epochs.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
seed: 0
data: {{path: {csv}, target: target}}
model: {{kind: mlp, hidden: [64]}}
init: {{scheme: he_normal}}
optimizer: {{name: adam, lr: 0.003}}
train: {{epochs: {epochs}, batch_size: 64}}
"""


def noop(x):
    return x


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from distributed import Client, LocalCluster

    from nnctl.compare import compare_plan
    from nnctl.compare.executors.shipping import files_to_ship, run_shipped, write_run_folder

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        csv = ROOT / "datasets" / "digits.csv"
        config = tmp / "digits.yaml"
        config.write_text(CONFIG.format(csv=csv, epochs=args.epochs))
        plan = compare_plan(config, ["adam"], [])
        task = plan.tasks[0]
        files = files_to_ship(task)
        print(f"task (resolved config and labels), pickled: {len(pickle.dumps(task))} bytes")
        print(f"data shipped once per worker (digits.csv): {files.n_bytes} bytes")
        start = time.perf_counter()
        payload = run_shipped(task, files)
        train_s = time.perf_counter() - start
        print(
            f"result of one run ({args.epochs} epochs), pickled: "
            f"{len(pickle.dumps(payload))} bytes; the run took {train_s * 1000:.0f} ms"
        )
        for rel, (_kind, value) in payload["folder"].items():
            size = len(pickle.dumps(value))
            print(f"  {rel}: {size} bytes")
        writes = []
        for i in range(5):
            out = tmp / f"out{i}"
            out.mkdir()
            start = time.perf_counter()
            write_run_folder(out, task, payload)
            writes.append(time.perf_counter() - start)
        print(f"client: writing one run folder (atomic, fsynced): {median_ms(writes):.1f} ms")

        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            client.submit(noop, 0).result()  # warm up
            trips = []
            for i in range(50):
                start = time.perf_counter()
                client.submit(noop, i, pure=False).result()
                trips.append(time.perf_counter() - start)
            print(
                f"scheduler round trip of one empty task: {median_ms(trips):.1f} ms "
                "(submit, run on a worker, result back)"
            )
            start = time.perf_counter()
            futures = [client.submit(noop, i, pure=False) for i in range(500)]
            client.gather(futures)
            print(
                f"500 empty tasks at once: {(time.perf_counter() - start) * 1000 / 500:.2f} ms "
                "per task"
            )
            start = time.perf_counter()
            [shipped] = client.scatter([files], broadcast=True, hash=False)
            print(
                f"scatter of the data to 2 workers: {(time.perf_counter() - start) * 1000:.1f} ms"
            )
            trips = []
            for _ in range(3):
                start = time.perf_counter()
                client.submit(run_shipped, task, shipped, pure=False).result()
                trips.append(time.perf_counter() - start)
            print(
                f"one run through the cluster, result back: {median_ms(trips):.0f} ms "
                f"(the run alone: {train_s * 1000:.0f} ms here)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
