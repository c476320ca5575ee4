"""One epoch of a 784-256-10 relu MLP, Adam, batch 128, float32, 60,000 synthetic samples.

Prints nnctl's epoch time beside a plain NumPy loop doing the same arithmetic and, when
installed, PyTorch on the CPU with the same thread count, all measured in this run; the ratios
are what to compare (absolute seconds depend on the machine).

Every epoch reshuffles (one gather into a buffer allocated once, for all three), then runs
forward, softmax cross-entropy, backward and an Adam step per batch. The timed rounds
interleave the three implementations (after a warm-up round), so a busy spell of the machine
hits them alike; each figure is the best round. At the end each model's loss on the data is
printed: all three must have trained (the same arithmetic gives similar losses).

    python benchmarks/bench_mlp_epoch.py [--repeats 5] [--samples 60000]
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

D_IN, D_HIDDEN, D_OUT, BATCH = 784, 256, 10, 128


def synthetic(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, D_IN), dtype=np.float32)
    y = rng.integers(0, D_OUT, n).astype(np.int64)
    return X, y


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    """Mean softmax cross-entropy, float64, written here (for the after-run check)."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


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

    def logits(Xs):
        return model.forward(Xs)

    return epoch, logits


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
    lr, beta1, beta2, eps = 1e-3, 0.9, 0.999, 1e-8
    Xs = np.empty_like(X)
    ys = np.empty_like(y)

    def epoch():
        perm = rng.permutation(len(X))
        np.take(X, perm, axis=0, out=Xs, mode="clip")
        np.take(y, perm, out=ys, mode="clip")
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
            # torch's Adam: w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
            step = lr / (1 - beta1 ** t)
            root_correction = math.sqrt(1 - beta2 ** t)  # Python floats keep float32 float32
            for param, g, mm, vv in zip(params, (gW1, gb1, gW2, gb2), m, v):
                mm *= beta1
                mm += (1 - beta1) * g
                vv *= beta2
                vv += (1 - beta2) * g * g
                param -= step * mm / (np.sqrt(vv) / root_correction + eps)

    def logits(Xs):
        return np.maximum(Xs @ W1 + b1, 0) @ W2 + b2

    return epoch, logits


def torch_epoch(X, y, threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(D_IN, D_HIDDEN), torch.nn.ReLU(),
                                torch.nn.Linear(D_HIDDEN, D_OUT))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    Xs, ys = torch.empty_like(Xt), torch.empty_like(yt)  # the shuffled copies, allocated once
    gen = torch.Generator().manual_seed(0)

    def epoch():
        perm = torch.randperm(len(Xt), generator=gen)
        torch.index_select(Xt, 0, perm, out=Xs)
        torch.index_select(yt, 0, perm, out=ys)
        for start in range(0, len(Xs), BATCH):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xs[start:start + BATCH]), ys[start:start + BATCH])
            loss.backward()
            opt.step()

    def logits(X_eval):
        with torch.no_grad():
            return model(torch.from_numpy(X_eval)).numpy()

    return epoch, logits


def blas_threads() -> int:
    """NumPy's BLAS thread count (torch gets the same)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.cpu_count() or 1
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return counts[0] if counts else os.cpu_count() or 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=60_000)
    args = parser.parse_args()
    X, y = synthetic(args.samples)
    threads = blas_threads()
    runs = {"numpy loop": numpy_epoch(X, y), "nnctl": nnctl_epoch(X, y)}
    try:
        runs["pytorch"] = torch_epoch(X, y, threads)
        torch_note = f"torch threads {threads}"
    except ImportError:
        torch_note = "pytorch not installed"

    rounds = {name: [] for name in runs}
    for round_index in range(args.repeats + 1):  # round 0 warms up: allocations, thread start
        for name, (epoch, _) in runs.items():
            start = time.perf_counter()
            epoch()
            if round_index:
                rounds[name].append(time.perf_counter() - start)
    times = {name: min(seconds) for name, seconds in rounds.items()}

    print(f"MLP 784-256-10 relu, Adam, batch {BATCH}, float32, {args.samples} samples; "
          f"best of {args.repeats} epochs; {os.cpu_count()} cores; BLAS threads {threads}; {torch_note}")
    check = slice(0, min(len(X), 10_000))
    for name, seconds in times.items():
        loss = cross_entropy(runs[name][1](X[check]), y[check])
        print(f"  {name:<11} {seconds:7.3f} s/epoch   (loss after {args.repeats + 1} epochs: {loss:.3f})")
    print(f"  nnctl / numpy loop = {times['nnctl'] / times['numpy loop']:.2f}x")
    if "pytorch" in times:
        print(f"  nnctl / pytorch    = {times['nnctl'] / times['pytorch']:.2f}x")
        print(f"  numpy loop / pytorch = {times['numpy loop'] / times['pytorch']:.2f}x")


if __name__ == "__main__":
    main()
