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
    out_path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"{len(result)} runs fingerprinted into {out_path}")


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
