"""Where a second BLAS thread starts to pay: one epoch of relu MLPs of growing width and batch,
Adam, float32, timed with 1 and with 2 BLAS threads (threadpoolctl), and the crossover that
`train.threads: auto` uses (nnctl.util.threads.CROSSOVER_PRODUCT).

Each grid point is an MLP width-width-width-10 (width input features, two hidden layers of
width units) trained through nnctl's engine (BatchIterator, Model.loss_and_grad, the Adam
rule) for a fixed number of steps. Its largest matrix product per step is batch x width x
width multiply-adds: the number the rule compares with the crossover. The 1-thread and
2-thread epochs alternate round after round (after a warm-up), so a busy spell of the machine
hits both alike; each point's figure is the median of the per-round ratios t(2) / t(1).
Below 1 the second thread pays. The crossover printed is the smallest product from which every
larger point of the grid has a ratio below PAYS (a margin: a thread that saves 5% is not worth
the risk of a busy core).

    python benchmarks/bench_threads.py                 # the grid below, about a minute
    python benchmarks/bench_threads.py --rounds 9      # steadier medians

Measured 2026-12-07 on the 2-core development machine, NOT quiet (a CI run and other sessions
shared the cores, load average 2.7-4.6), OpenBLAS 0.3.31 (Haswell kernel, pthreads), float32,
24 steps per epoch, median t(2)/t(1) over 5 interleaved rounds (the table the script prints;
the milliseconds are per step, the best round of each):

     width  batch      product  1 thread ms  2 threads ms   t2/t1
        32     16       16,384        0.297         0.300    0.97
        32     64       65,536        0.298         0.152    0.65
        32    256      262,144        0.408         0.600    1.31
        64     16       65,536        0.311         0.438    1.43
        64     64      262,144        0.529         0.395    1.00
        64    256    1,048,576        0.500         5.987   20.14
       128     16      262,144        0.527         0.316    1.31
       128     64    1,048,576        1.349         2.263    2.00
       128    256    4,194,304        0.914         5.899    5.90
       256     16    1,048,576        0.650         6.155   19.00
       256     64    4,194,304        1.859        24.895    6.73
       256    256   16,777,216        6.993        27.948    4.00
       512     16    4,194,304       10.517        46.303    8.72
       512     64   16,777,216        9.479        33.425    4.46
       512    256   67,108,864       11.032        22.265    2.34
      1024     16   16,777,216       11.069        40.974    3.70
      1024     64   67,108,864       17.995        56.650    3.15
      1024    256  268,435,456       49.255       158.721    2.98

No crossover on that busy machine: from 1,048,576 multiply-adds up, 2 threads lost at every
point (2-20x slower; 2.3-3x at the largest products). The constant was first set above every
product measured (2**29).

Measured again on the same machine, quiet (nothing else running, load average 1.5, the
OPENBLAS_* variables set by the environment), 9 rounds:

     width  batch      product  1 thread ms  2 threads ms   t2/t1
        32     16       16,384        0.216         0.227    1.04
        64    256    1,048,576        0.601         0.562    0.97
       128    256    4,194,304        1.205         0.974    0.84
       512     16    4,194,304        1.982         2.637    1.33
       256    256   16,777,216        3.122         2.873    0.91
       512     64   16,777,216        3.389         3.364    1.00
      1024     16   16,777,216        9.484         8.171    0.89
       512    256   67,108,864        9.743         6.069    0.69
      1024     64   67,108,864       15.113        11.243    0.79
      1024    256  268,435,456       38.955        25.218    0.66

(a 5-round run before it: 0.86, 0.73 and 0.76 at the last three). From 67,108,864 (2**26) on,
the second thread paid at every point; below it the ratios scattered around 1 (0.84-1.33), with
nothing steady to gain. So CROSSOVER_PRODUCT is 2**26. Being wrong costs unequally: on a busy
core 2 threads were 2-20x slower; set train.threads: 1 on a machine whose cores are taken.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

WIDTHS = (32, 64, 128, 256, 512, 1024)
BATCHES = (16, 64, 256)
PAYS = 0.9  # t(2) / t(1) below this: the second thread clearly pays


def make_epoch(width: int, batch: int, steps: int):
    """One epoch (steps batches) of a width-width-width-10 MLP through nnctl's engine."""
    from nnctl.data import BatchIterator
    from nnctl.nn import build_model
    from nnctl.optim import OPTIMIZERS

    rngs = [np.random.default_rng(i) for i in range(4)]
    X = rngs[3].standard_normal((batch * steps, width), dtype=np.float32)
    y = rngs[3].integers(0, 10, batch * steps).astype(np.int64)
    model = build_model(
        "mlp",
        width,
        10,
        "multiclass",
        hidden=[width, width],
        activation="relu",
        init="he_normal",
        dtype=np.float32,
        init_rng=rngs[0],
        dropout_rng=rngs[1],
    )
    opt = OPTIMIZERS.get("adam").build(model.n_params, np.float32, lr=1e-3)
    batches = BatchIterator(X, y, batch, True, rngs[2], np.float32)

    def epoch():
        for _, Xb, yb in batches.epoch():
            model.loss_and_grad(Xb, yb)
            opt.step(model.theta, model.grad, 1e-3)

    return epoch


def timed(epoch, threads: int) -> float:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        start = time.perf_counter()
        epoch()
        return time.perf_counter() - start


def measure(width: int, batch: int, steps: int, rounds: int) -> dict:
    epoch = make_epoch(width, batch, steps)
    timed(epoch, 1), timed(epoch, 2)  # warm-up: buffers, thread pool start
    ratios, ones, twos = [], [], []
    for i in range(rounds):
        order = (1, 2) if i % 2 == 0 else (2, 1)  # neither always goes first
        t = {n: timed(epoch, n) for n in order}
        ones.append(t[1])
        twos.append(t[2])
        ratios.append(t[2] / t[1])
    return {
        "width": width,
        "batch": batch,
        "product": batch * width * width,
        "t1_ms": 1e3 * min(ones) / steps,
        "t2_ms": 1e3 * min(twos) / steps,
        "ratio": statistics.median(ratios),
    }


def crossover(points: list[dict]) -> int | None:
    """The smallest product from which every larger point's ratio is below PAYS."""
    ordered = sorted(points, key=lambda p: p["product"])
    found = None
    for p in reversed(ordered):
        if p["ratio"] >= PAYS:
            break
        found = p["product"]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=24, help="batches per epoch")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved 1/2-thread rounds")
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)), help="e.g. 256,512")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)), help="e.g. 64,256")
    args = parser.parse_args()

    from nnctl.util.threads import CROSSOVER_PRODUCT, blas_libraries

    for lib in blas_libraries():
        print("BLAS:", lib)
    print("load average (1, 5, 15 min) before:", os.getloadavg())
    print(
        f"{'width':>6} {'batch':>6} {'product':>12} {'1 thread ms':>12} "
        f"{'2 threads ms':>13} {'t2/t1':>7}"
    )
    points = []
    for width in map(int, args.widths.split(",")):
        for batch in map(int, args.batches.split(",")):
            p = measure(width, batch, args.steps, args.rounds)
            points.append(p)
            print(
                f"{p['width']:>6} {p['batch']:>6} {p['product']:>12,} {p['t1_ms']:>12.3f} "
                f"{p['t2_ms']:>13.3f} {p['ratio']:>7.2f}",
                flush=True,
            )
    found = crossover(points)
    print("load average after:", os.getloadavg())
    print(f"crossover (every larger product: t2/t1 < {PAYS}):", f"{found:,}" if found else "none")
    print(f"nnctl.util.threads.CROSSOVER_PRODUCT = {CROSSOVER_PRODUCT:,}")


if __name__ == "__main__":
    main()
