"""Fingerprint what nnctl computes, so a refactor can prove it changed no number.

Trains every config in configs/ (and one compare-optimizers and one sweep), then records for
each run the numbers of summary.json and a SHA-256 of checkpoints/last.npz and best.npz. Wall
times and versions are left out of both (they differ between two runs of the same code): the
checkpoint hash covers every array's name, dtype, shape and bytes, and the meta JSON without
its timing fields.

    python scripts/fingerprint_runs.py record before.json     # on the old code
    python scripts/fingerprint_runs.py record after.json      # on the new code
    python scripts/fingerprint_runs.py diff before.json after.json

`diff` exits 1 and names each run and field that differs. `record` takes `--quick` to cap
every run at 3 epochs (a fast check while working; the full record is the real proof).

Besides the examples (built-in data, in memory), `record` trains on files it writes itself:
a CSV and a Parquet file (loaded), the same rows as an .npy pair, a shard folder and a folder
that `nnctl data convert` made (memory-mapped), mini-batch and full-batch, with a split drawn
from the seed and with a separate validation file: the on-disk path is fingerprinted too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# Keys whose values are wall times, paths or versions: they differ between identical runs.
VOLATILE = {
    "elapsed_s",
    "elapsed_before",
    "run_dir",
    "nnctl_version",
    "base_dir",
    "message",
    "path",
    # the data files of the runs on files: written to a new temporary folder by every record
    "labels_path",
    "val_path",
    "val_labels_path",
    "out",
    "comparison_dir",
}


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def checkpoint_digest(path: Path, with_meta: bool = True) -> str:
    digest = hashlib.sha256()
    with np.load(path, allow_pickle=False) as archive:
        for name in sorted(archive.files):
            value = archive[name]
            if name == "meta":
                if not with_meta:
                    continue
                meta = _strip(json.loads(str(value)))
                digest.update(json.dumps(meta, sort_keys=True).encode())
                continue
            digest.update(f"{name}|{value.dtype.str}|{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def fingerprint_run(run_dir: Path) -> dict:
    out = {}
    summary = run_dir / "summary.json"
    if summary.exists():
        out["summary"] = _strip(json.loads(summary.read_text()))
    metrics = run_dir / "metrics.jsonl"
    if metrics.exists():
        rows = [
            _strip(json.loads(line)) for line in metrics.read_text().splitlines() if line.strip()
        ]
        out["metrics_sha256"] = hashlib.sha256(
            json.dumps(rows, sort_keys=True).encode()
        ).hexdigest()
    for name in ("last", "best"):
        ckpt = run_dir / "checkpoints" / f"{name}.npz"
        if ckpt.exists():
            out[f"{name}_npz"] = checkpoint_digest(ckpt)
            # The arrays alone: a new config key changes the meta but not one number.
            out[f"{name}_arrays"] = checkpoint_digest(ckpt, with_meta=False)
    return out


def _nnctl(args: list[str], cwd: Path) -> None:
    cmd = [sys.executable, "-m", "nnctl", *args]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    # Exit 1 is a run that diverged (its numbers are fingerprinted too); a traceback exits 1 as
    # well, and a crash must not pass for a divergence (a missing module once did).
    if done.returncode not in (0, 1) or "Traceback (most recent call last)" in done.stderr:
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")


def record(out_path: Path, quick: bool) -> None:
    cap = ["-s", "train.epochs=3"] if quick else []
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for config in sorted((ROOT / "configs").glob("*.yaml")):
            run = work / config.stem
            _nnctl(["train", str(config), "--out", str(run), "-q", *cap], work)
            result[f"train/{config.stem}"] = fingerprint_run(run)
        compare = work / "compare"
        _nnctl(
            [
                "compare-optimizers",
                str(ROOT / "configs" / "iris-softmax.yaml"),
                "-o",
                "sgd",
                "-o",
                "adam",
                "-o",
                "lbfgs",
                "-o",
                "newton",
                "--seeds",
                "2",
                "--out",
                str(compare),
                "-q",
                "--no-plot",
                "-s",
                "train.epochs=5",
            ],
            work,
        )
        for run in sorted(p for p in compare.iterdir() if p.is_dir()):
            result[f"compare/{run.name}"] = fingerprint_run(run)
        sweep = work / "sweep"
        _nnctl(
            [
                "sweep",
                str(ROOT / "configs" / "moons-mlp.yaml"),
                "-s",
                "optimizer.lr=0.01,0.1",
                "-s",
                "model.activation=relu,tanh",
                "-s",
                "train.epochs=5",
                "--out",
                str(sweep),
                "-q",
                "--no-plot",
            ],
            work,
        )
        for run in sorted(p for p in sweep.iterdir() if p.is_dir()):
            result[f"sweep/{run.name}"] = fingerprint_run(run)
        result.update(record_files(work / "files", cap))
    out_path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"{len(result)} runs fingerprinted into {out_path}")


FILE_MODELS = {
    "mlp-sgd": "model: {kind: mlp, hidden: [8]}\noptimizer: {name: sgd, lr: 0.05, momentum: 0.9}\n"
    "train: {epochs: 4, batch_size: 16}\n",
    "softmax-lbfgs": "model: {kind: softmax}\noptimizer: {name: lbfgs}\ntrain: {epochs: 6}\n",
}
REGRESSION_MODELS = {
    "linreg-adam": "model: {kind: linreg}\noptimizer: {name: adam, lr: 0.01}\n"
    "train: {epochs: 4, batch_size: 32}\n",
    "linreg-exact": "model: {kind: linreg}\noptimizer: {name: exact}\ntrain: {epochs: 1}\n",
}


def _write_files(folder: Path) -> dict[str, str]:
    """The data sections to train on: one table as CSV, Parquet, .npy and shards (a class
    target, and a regression target with standardize_target)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    n, d = 400, 5
    X = rng.normal(1.0, 2.0, (n, d))
    label = (X[:, 0] + 0.5 * X[:, 1] > 1.5).astype(np.int64) + (X[:, 2] > 2).astype(np.int64)
    value = X @ np.arange(1, d + 1) + rng.normal(0, 0.3, n)
    names = [f"f{j}" for j in range(d)]
    for kind, y in (("label", label), ("value", value)):
        lines = [",".join([*names, "target"])]
        lines += [
            ",".join([*(repr(float(v)) for v in row), repr(y_i.item())]) for row, y_i in zip(X, y)
        ]
        (folder / f"{kind}.csv").write_text("\n".join(lines) + "\n")
        (folder / f"{kind}-train.csv").write_text("\n".join(lines[:301]) + "\n")
        (folder / f"{kind}-val.csv").write_text("\n".join([lines[0], *lines[301:]]) + "\n")
        np.save(folder / f"{kind}-X.npy", X)
        np.save(folder / f"{kind}-y.npy", y)
        np.save(folder / f"{kind}-Xt.npy", X[:300])
        np.save(folder / f"{kind}-yt.npy", y[:300])
        np.save(folder / f"{kind}-Xv.npy", X[300:])
        np.save(folder / f"{kind}-yv.npy", y[300:])
        shards = folder / f"{kind}-shards"
        shards.mkdir()
        for i, (lo, hi) in enumerate([(0, 150), (150, n)]):
            np.save(shards / f"X-{i:05d}.npy", X[lo:hi])
            np.save(shards / f"y-{i:05d}.npy", y[lo:hi])
        _nnctl(
            [
                "data",
                "convert",
                str(folder / f"{kind}.csv"),
                "--out",
                str(folder / f"{kind}-conv"),
                "--target",
                "target",
            ],
            folder,
        )
    sections = {}
    for kind in ("label", "value"):
        f = lambda name, kind=kind: str(folder / f"{kind}{name}")  # noqa: E731
        sections.update(
            {
                f"{kind}/csv": f"path: {f('.csv')}, target: target",
                f"{kind}/csv-val": f"path: {f('-train.csv')}, val_path: {f('-val.csv')}, target: target",
                f"{kind}/npy": f"path: {f('-X.npy')}, labels_path: {f('-y.npy')}",
                f"{kind}/npy-val": f"path: {f('-Xt.npy')}, labels_path: {f('-yt.npy')}, "
                f"val_path: {f('-Xv.npy')}, val_labels_path: {f('-yv.npy')}",
                f"{kind}/shards": f"path: {f('-shards')}",
                f"{kind}/converted": f"path: {f('-conv')}",
            }
        )
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return sections
    for kind in ("label", "value"):
        table = pa.table(
            {
                **{name: X[:, j] for j, name in enumerate(names)},
                "target": label if kind == "label" else value,
            }
        )
        pq.write_table(table, folder / f"{kind}.parquet", row_group_size=128)
        sections[f"{kind}/parquet"] = f"path: {folder / f'{kind}.parquet'}, target: target"
    return sections


def record_files(folder: Path, cap: list[str]) -> dict:
    """Runs on data files, loaded and memory-mapped (see the module docstring)."""
    result = {}
    for source, data in _write_files(folder).items():
        kind = source.split("/")[0]
        models = FILE_MODELS if kind == "label" else REGRESSION_MODELS
        extra = ", standardize_target: true" if kind == "value" else ""
        for model_name, body in models.items():
            config = folder / f"{source.replace('/', '-')}-{model_name}.yaml"
            config.write_text(f"seed: 5\ndata: {{{data}, val_fraction: 0.25{extra}}}\n{body}")
            run = folder / "runs" / source.replace("/", "-") / model_name
            _nnctl(["train", str(config), "--out", str(run), "-q", *cap], folder)
            result[f"files/{source}/{model_name}"] = fingerprint_run(run)
    return result


def diff(before_path: Path, after_path: Path) -> int:
    before = json.loads(before_path.read_text())
    after = json.loads(after_path.read_text())
    problems = []
    for name in sorted(set(before) | set(after)):
        if name not in after or name not in before:
            problems.append(f"{name}: only in {'before' if name in before else 'after'}")
            continue
        for key in sorted(set(before[name]) | set(after[name])):
            if before[name].get(key) != after[name].get(key):
                problems.append(f"{name}: {key} differs")
    for line in problems:
        print(line)
    print(f"{len(before)} runs compared, {len(problems)} differences")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("out", type=Path)
    rec.add_argument("--quick", action="store_true")
    dif = sub.add_parser("diff")
    dif.add_argument("before", type=Path)
    dif.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "record":
        record(args.out, args.quick)
        return 0
    return diff(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
