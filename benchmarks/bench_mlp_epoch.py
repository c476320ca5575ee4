"""One epoch of a relu MLP (784-256-10 by default), Adam, float32, 60,000 synthetic samples:
nnctl beside its matrix-multiply floor, a plain NumPy loop and PyTorch on the CPU, and nnctl
with its compiled kernels (train.kernels: numba) when numba is installed.

All five are measured in this run, so the ratios are what to compare (absolute seconds depend
on the machine):

* floor: the step's matrix products alone, at the same shapes and dtype, over the same batches
  (forward X W for each Linear; backward A^T dZ for each weight gradient and dZ W^T for each
  input gradient but the first layer's, which nobody needs). No gather, no activation, no
  softmax, no optimizer: what is left of nnctl / floor is everything else nnctl does.
* nnctl: the engine as the trainer drives it: BatchIterator (one gather per epoch into a
  buffer allocated once), Model.loss_and_grad, the Adam rule's step.
* nnctl+numba: the same with the compiled kernels switched on as the trainer does
  (train.kernels: numba): the Adam step and the ReLU backward as fused loops, the same bits.
  Its warm-up round also loads (or, the first time, compiles) the kernels.
* numpy loop: the same arithmetic written straight, with NumPy temporaries.
* pytorch: nn.Sequential, CrossEntropyLoss, torch.optim.Adam, same thread count.

Every epoch reshuffles. The timed rounds interleave them all (after a warm-up round), so a
busy spell of the machine hits them alike; each figure is the best round. The BLAS libraries
loaded (and the kernel each picked for this CPU, via threadpoolctl) are printed, then each
model's loss on the data: all three must have trained.

    python benchmarks/bench_mlp_epoch.py                               # 784-256-10, batch 128
    python benchmarks/bench_mlp_epoch.py --hidden 512,512 --batch 256  # 784-512-512-10

OpenBLAS picks its kernel from the CPU unless OPENBLAS_CORETYPE overrides it (and
OPENBLAS_L2_SIZE its blocking). For the native kernel, drop both for this command only (never
in tests or CI):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_mlp_epoch.py
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import time

import numpy as np

D_IN, D_OUT = 784, 10
TARGET_FLOOR, TARGET_TORCH = 1.3, 0.75  # issue 13: nnctl / floor and nnctl / pytorch at most
TARGET_NUMBA_FLOOR, TARGET_NUMBA_TORCH = 1.5, 0.75  # issue 25: nnctl+numba at most


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


def he_weights(rng, widths):
    return [
        (rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32)
        for a, b in itertools.pairwise(widths)
    ]


def batch_starts(n: int, batch: int) -> range:
    return range(0, n, batch)


def floor_epoch(X, y, hidden, batch):
    """The matrix products of every step of an epoch, outputs preallocated (one set per batch
    size: the last batch may be smaller), inputs sliced from a float32 array as nnctl's are."""
    widths = (D_IN, *hidden, D_OUT)
    weights = he_weights(np.random.default_rng(0), widths)
    grads = [np.empty_like(w) for w in weights]
    sizes = {min(batch, len(X) - start) for start in batch_starts(len(X), batch)}
    fill = np.random.default_rng(1)
    # per batch size: activations A_1..A_L (layer outputs) and backward signals dZ_1..dZ_L
    acts = {n: [fill.standard_normal((n, w), dtype=np.float32) for w in widths[1:]] for n in sizes}
    deltas = {
        n: [fill.standard_normal((n, w), dtype=np.float32) * 1e-3 for w in widths[1:]]
        for n in sizes
    }

    def epoch():
        for start in batch_starts(len(X), batch):
            xb = X[start : start + batch]
            a, d = acts[len(xb)], deltas[len(xb)]
            inputs = [xb, *a[:-1]]
            for i, w in enumerate(weights):
                np.matmul(inputs[i], w, out=a[i])
            for i in reversed(range(len(weights))):
                np.matmul(inputs[i].T, d[i], out=grads[i])
                if i:
                    np.matmul(d[i], weights[i].T, out=d[i - 1])

    return epoch, None


def nnctl_epoch(X, y, hidden, batch, compiled: bool = False):
    from nnctl.data import BatchIterator
    from nnctl.nn import build_model
    from nnctl.optim import OPTIMIZERS

    rngs = [np.random.default_rng(i) for i in range(3)]
    model = build_model(
        "mlp",
        D_IN,
        D_OUT,
        "multiclass",
        hidden=hidden,
        activation="relu",
        init="he_normal",
        dtype=np.float32,
        init_rng=rngs[0],
        dropout_rng=rngs[1],
    )
    opt = OPTIMIZERS.get("adam").build(model.n_params, np.float32, lr=1e-3)
    batches = BatchIterator(X, y, batch, True, rngs[2], np.float32)
    if compiled:  # as nnctl/training/kernel_use.py does for train.kernels: numba
        from nnctl.kernels import loading

        loading.load()
        for part in (opt, *model.layers):
            if hasattr(part, "use_kernels"):
                part.use_kernels(True)

    def epoch():
        for _, Xb, yb in batches.epoch():
            model.loss_and_grad(Xb, yb)
            opt.step(model.theta, model.grad, 1e-3)

    return epoch, model.forward


def numpy_epoch(X, y, hidden, batch):
    """The same arithmetic written straight, as one would without an engine."""
    rng = np.random.default_rng(0)
    weights = he_weights(rng, (D_IN, *hidden, D_OUT))
    biases = [np.zeros(w.shape[1], np.float32) for w in weights]
    params = [p for pair in zip(weights, biases) for p in pair]
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
        for start in batch_starts(len(X), batch):
            xb, yb = Xs[start : start + batch], ys[start : start + batch]
            n = len(xb)
            inputs, pre = [xb], []
            for i, (w, b) in enumerate(zip(weights, biases)):
                z = inputs[-1] @ w + b
                pre.append(z)
                if i < len(weights) - 1:
                    inputs.append(np.maximum(z, 0))
            z = pre[-1]
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(n), yb] -= 1
            p /= n
            grads, d = [], p
            for i in reversed(range(len(weights))):
                grads[:0] = [inputs[i].T @ d, d.sum(0)]
                if i:
                    d = (d @ weights[i].T) * (pre[i - 1] > 0)
            state["t"] += 1
            t = state["t"]
            # torch's Adam: w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
            step = lr / (1 - beta1**t)
            root_correction = math.sqrt(1 - beta2**t)  # Python floats keep float32 float32
            for param, g, mm, vv in zip(params, grads, m, v):
                mm *= beta1
                mm += (1 - beta1) * g
                vv *= beta2
                vv += (1 - beta2) * g * g
                param -= step * mm / (np.sqrt(vv) / root_correction + eps)

    def logits(X_eval):
        a = X_eval
        for i, (w, b) in enumerate(zip(weights, biases)):
            a = a @ w + b
            if i < len(weights) - 1:
                a = np.maximum(a, 0)
        return a

    return epoch, logits


def torch_epoch(X, y, hidden, batch, threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    layers, width = [], D_IN
    for size in hidden:
        layers += [torch.nn.Linear(width, size), torch.nn.ReLU()]
        width = size
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, D_OUT))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    Xs, ys = torch.empty_like(Xt), torch.empty_like(yt)  # the shuffled copies, allocated once
    gen = torch.Generator().manual_seed(0)

    def epoch():
        perm = torch.randperm(len(Xt), generator=gen)
        torch.index_select(Xt, 0, perm, out=Xs)
        torch.index_select(yt, 0, perm, out=ys)
        for start in batch_starts(len(Xs), batch):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xs[start : start + batch]), ys[start : start + batch])
            loss.backward()
            opt.step()

    def logits(X_eval):
        with torch.no_grad():
            return model(torch.from_numpy(X_eval)).numpy()

    return epoch, logits


def thread_pools() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return threadpool_info()


def blas_threads() -> int:
    """NumPy's BLAS thread count (torch gets the same)."""
    counts = [i["num_threads"] for i in thread_pools() if i["user_api"] == "blas"]
    return counts[0] if counts else os.cpu_count() or 1


def describe_pools() -> list[str]:
    """One line per BLAS / OpenMP library loaded: which one, its version, the kernel it chose
    for this CPU (OpenBLAS's `architecture`) and its threads."""
    pools = thread_pools()
    if not pools:
        return ["threadpoolctl not installed: BLAS kernel unknown"]
    lines = []
    for pool in pools:
        what = " ".join(str(v) for v in (pool["internal_api"], pool.get("version")) if v)
        kernel = pool.get("architecture")
        lines.append(
            f"{pool['user_api']}: {what}{f', kernel {kernel}' if kernel else ''}, "
            f"{pool['num_threads']} threads ({os.path.basename(pool['filepath'])})"
        )
    overrides = [
        f"{k}={os.environ[k]}"
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")
        if k in os.environ
    ]
    lines.append("OpenBLAS overrides: " + (", ".join(overrides) if overrides else "none"))
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument(
        "--hidden",
        default="256",
        help="hidden layer sizes, comma-separated (default 256; try 512,512)",
    )
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    hidden = tuple(int(h) for h in args.hidden.split(","))
    X, y = synthetic(args.samples)
    threads = blas_threads()
    shape = (X, y, hidden, args.batch)
    runs = {
        "floor": floor_epoch(*shape),
        "nnctl": nnctl_epoch(*shape),
        "numpy loop": numpy_epoch(*shape),
    }
    from nnctl.kernels import numba_installed

    if numba_installed():
        runs["nnctl+numba"] = nnctl_epoch(*shape, compiled=True)
        numba_note = "numba installed"
    else:
        numba_note = 'numba not installed (pip install "nnctl[fast]")'
    try:
        runs["pytorch"] = torch_epoch(*shape, threads)
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

    widths = "-".join(str(w) for w in (D_IN, *hidden, D_OUT))
    print(
        f"MLP {widths} relu, Adam, batch {args.batch}, float32, {args.samples} samples; best of "
        f"{args.repeats} epochs; {os.cpu_count()} cores; {torch_note}; {numba_note}"
    )
    for line in describe_pools():  # after the runs: every library that ran is loaded by now
        print(f"  {line}")
    check = slice(0, min(len(X), 10_000))
    for name, seconds in times.items():
        logits = runs[name][1]
        trained = (
            "the matrix products alone"
            if logits is None
            else f"loss after {args.repeats + 1} epochs: "
            f"{cross_entropy(logits(X[check]), y[check]):.3f}"
        )
        print(f"  {name:<11} {seconds:7.3f} s/epoch   ({trained})")
    nnctl = times["nnctl"]
    print(f"  nnctl / floor      = {nnctl / times['floor']:.2f}x   (target <= {TARGET_FLOOR}x)")
    if "pytorch" in times:
        print(
            f"  nnctl / pytorch    = {nnctl / times['pytorch']:.2f}x   (target <= {TARGET_TORCH}x)"
        )
    print(f"  nnctl / numpy loop = {nnctl / times['numpy loop']:.2f}x")
    if "nnctl+numba" in times:
        fused = times["nnctl+numba"]
        print(
            f"  nnctl+numba / floor   = {fused / times['floor']:.2f}x   "
            f"(target <= {TARGET_NUMBA_FLOOR}x)"
        )
        if "pytorch" in times:
            print(
                f"  nnctl+numba / pytorch = {fused / times['pytorch']:.2f}x   "
                f"(target <= {TARGET_NUMBA_TORCH}x)"
            )
        print(f"  nnctl+numba / nnctl   = {fused / nnctl:.2f}x")


if __name__ == "__main__":
    main()
