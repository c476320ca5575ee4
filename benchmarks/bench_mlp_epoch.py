"""One epoch of a 784-256-10 relu MLP, Adam, batch 128, float32, 60,000 synthetic samples.

Prints nnctl's epoch time beside a plain NumPy loop doing the same arithmetic and, when
installed, PyTorch on the CPU with the same thread count, all measured in this run; the ratios
are what to compare (absolute seconds depend on the machine).

    python benchmarks/bench_mlp_epoch.py [--repeats 5] [--samples 60000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

D_IN, D_HIDDEN, D_OUT, BATCH = 784, 256, 10, 128


def synthetic(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D_IN), dtype=np.float32)
    y = rng.integers(0, D_OUT, n).astype(np.int64)
    return X, y


def time_best(fn, repeats: int) -> float:
    fn()  # warm-up: allocations, BLAS thread start
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def nnctl_epoch(X, y):
    from nnctl.data import BatchIterator
    from nnctl.nn import build_model
    from nnctl.optim import OPTIMIZERS

    rngs = [np.random.default_rng(i) for i in range(3)]
    model = build_model("mlp", D_IN, D_OUT, "multiclass", hidden=(D_HIDDEN,), activation="relu",
                        init="he_normal", dtype=np.float32, init_rng=rngs[0], dropout_rng=rngs[1])
    hypers = OPTIMIZERS.resolve("adam", {"lr": 1e-3}, "optimizer")
    opt = OPTIMIZERS.get("adam").build(model.n_params, np.float32, **hypers)
    batches = BatchIterator(X, y, BATCH, True, rngs[2], np.float32)

    def epoch():
        for _, Xb, yb in batches.epoch():
            model.loss_and_grad(Xb, yb)
            opt.step(model.theta, model.grad, 1e-3)

    return epoch


def numpy_epoch(X, y):
    """The same arithmetic written straight: the floor nnctl's engine should sit on."""
    rng = np.random.default_rng(0)
    f32 = np.float32
    W1 = (rng.standard_normal((D_IN, D_HIDDEN)) * np.sqrt(2 / D_IN)).astype(f32)
    b1 = np.zeros(D_HIDDEN, f32)
    W2 = (rng.standard_normal((D_HIDDEN, D_OUT)) * np.sqrt(2 / D_HIDDEN)).astype(f32)
    b2 = np.zeros(D_OUT, f32)
    params = [W1, b1, W2, b2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    state = {"t": 0}
    lr, b1c, b2c, eps = f32(1e-3), f32(0.9), f32(0.999), f32(1e-8)
    Xs = np.empty_like(X)
    ys = np.empty_like(y)

    def epoch():
        perm = rng.permutation(len(X))
        np.take(X, perm, axis=0, out=Xs)
        np.take(y, perm, out=ys)
        for start in range(0, len(X), BATCH):
            xb, yb = Xs[start:start + BATCH], ys[start:start + BATCH]
            n = len(xb)
            h = xb @ W1 + b1
            a = np.maximum(h, 0)
            z = a @ W2 + b2
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(n), yb] -= 1
            p /= n
            gW2 = a.T @ p
            gb2 = p.sum(0)
            da = p @ W2.T
            da *= h > 0
            gW1 = xb.T @ da
            gb1 = da.sum(0)
            state["t"] += 1
            t = state["t"]
            step = lr * np.sqrt(1 - b2c ** t) / (1 - b1c ** t)
            for param, g, mm, vv in zip(params, (gW1, gb1, gW2, gb2), m, v):
                mm *= b1c
                mm += (1 - b1c) * g
                vv *= b2c
                vv += (1 - b2c) * g * g
                param -= step * mm / (np.sqrt(vv) + eps)

    return epoch


def torch_epoch(X, y):
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(D_IN, D_HIDDEN), torch.nn.ReLU(), torch.nn.Linear(D_HIDDEN, D_OUT))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(0)

    def epoch():
        perm = torch.randperm(len(Xt), generator=gen)
        Xs, ys = Xt[perm], yt[perm]
        for start in range(0, len(Xs), BATCH):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xs[start:start + BATCH]), ys[start:start + BATCH])
            loss.backward()
            opt.step()

    return epoch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=60_000)
    args = parser.parse_args()
    X, y = synthetic(args.samples)
    times = {"numpy loop": time_best(numpy_epoch(X, y), args.repeats),
             "nnctl": time_best(nnctl_epoch(X, y), args.repeats)}
    try:
        import torch

        times["pytorch"] = time_best(torch_epoch(X, y), args.repeats)
        threads = f"torch threads {torch.get_num_threads()}"
    except ImportError:
        threads = "pytorch not installed"
    print(f"MLP 784-256-10 relu, Adam, batch {BATCH}, float32, {args.samples} samples; "
          f"best of {args.repeats} epochs; {os.cpu_count()} cores; {threads}")
    for name, seconds in times.items():
        print(f"  {name:<11} {seconds:7.3f} s/epoch")
    print(f"  nnctl / numpy loop = {times['nnctl'] / times['numpy loop']:.2f}x")
    if "pytorch" in times:
        print(f"  nnctl / pytorch    = {times['nnctl'] / times['pytorch']:.2f}x")
        print(f"  numpy loop / pytorch = {times['numpy loop'] / times['pytorch']:.2f}x")


if __name__ == "__main__":
    main()
