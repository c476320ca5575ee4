"""Start-up: wall time of `--help` for every command and of the iris example end to end, each
a fresh `python -m nnctl` process, against issue 13's targets (every --help under 150 ms, the
iris example under 400 ms). `python -c pass` is timed too: the interpreter's own floor.

Each figure is the median of `--repeats` runs after a warm-up round, the commands interleaved
so a busy spell of the machine hits them alike. The children run with bytecode caches, as an
installed nnctl does (PYTHONDONTWRITEBYTECODE is dropped for them). With `--imports`, the largest imports of `nnctl --help`,
`nnctl train --help` and the iris run are listed (from `python -X importtime`), which is where
to look when a figure is over its target.

With `--against DIR`, every case is timed a second time with the nnctl package of DIR (a source
tree, e.g. the base commit: `git archive BASE | tar -x -C DIR`) first on PYTHONPATH, interleaved
with this one's in every round, and the ratio is printed: on a shared machine the absolute
figures drift with the load, the ratio much less. `--against-python PY` runs DIR's cases with
another interpreter (a venv with the dependency versions DIR was made for).

    python benchmarks/bench_startup.py [--repeats 9] [--imports] [--against DIR [--against-python PY]]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HELP_TARGET_MS, IRIS_TARGET_MS = 150, 400


def command_paths() -> list[list[str]]:
    """Every command and sub-command of the CLI, as argument lists ([] is `nnctl` itself)."""
    import typer

    from nnctl.cli.app import app

    def walk(command, path):
        yield path
        for name in sorted(getattr(command, "commands", {})):
            yield from walk(command.commands[name], [*path, name])

    return list(walk(typer.main.get_command(app), []))


# As after `pip install`, which compiles every module to bytecode: a PYTHONDONTWRITEBYTECODE
# in the environment (this machine sets it) would make an editable install recompile nnctl's
# sources at every start and time the compiler. The warm-up round writes the caches.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def env_with(source: Path | None) -> dict:
    """The children's environment; with `source`, its nnctl package imported first."""
    if source is None:
        return CHILD_ENV
    return {**CHILD_ENV, "PYTHONPATH": str(source)}


def run(
    args: list[str],
    cwd: Path,
    python_flags: tuple[str, ...] = (),
    env: dict | None = None,
    python: str = sys.executable,
) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [python, *python_flags, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env=CHILD_ENV if env is None else env,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return seconds, done.stderr


def largest_imports(args: list[str], cwd: Path, count: int = 8) -> list[str]:
    """The `count` top-level imports with the largest cumulative time, from -X importtime."""
    _, stderr = run(args, cwd, ("-X", "importtime"))
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if cumulative.strip().isdigit() and not name.startswith("  "):  # top level only
            rows.append((int(cumulative), name.strip()))
    return [f"{name} {us / 1000:.0f} ms" for us, name in sorted(rows, reverse=True)[:count]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--imports", action="store_true", help="list the largest imports")
    parser.add_argument(
        "--against", type=Path, metavar="DIR", help="a source tree to time alongside (ratio)"
    )
    parser.add_argument(
        "--against-python", default=sys.executable, metavar="PY", help="the interpreter for DIR"
    )
    args = parser.parse_args()
    trees = {"this": (None, sys.executable)}
    if args.against is not None:
        trees["base"] = (args.against, args.against_python)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        iris = [
            "-m",
            "nnctl",
            "train",
            str(ROOT / "configs" / "iris-softmax.yaml"),
            "-q",
            "--out",
            str(work / "iris"),
            "--force",
        ]
        cases = {"python -c pass": (["-c", "pass"], None)}
        for path in command_paths():
            cases[" ".join(["nnctl", *path, "--help"])] = (
                ["-m", "nnctl", *path, "--help"],
                HELP_TARGET_MS,
            )
        cases["nnctl train iris-softmax.yaml"] = (iris, IRIS_TARGET_MS)
        times = {(name, tree): [] for name in cases for tree in trees}
        for round_index in range(args.repeats + 1):  # round 0 warms up (bytecode caches)
            for name, (argv, _) in cases.items():
                for tree, (source, python) in trees.items():
                    seconds = run(argv, work, env=env_with(source), python=python)[0]
                    if round_index:
                        times[name, tree].append(seconds)
        print(f"median of {args.repeats} runs, {sys.executable}")
        if args.against is not None:
            print(f"  {'':<42} {'this':>9} {'base':>9} {'ratio':>6}   (base: {args.against})")
            print(f"  base interpreter: {args.against_python}")
        for name, (_, target) in cases.items():
            ms = 1000 * statistics.median(times[name, "this"])
            verdict = (
                ""
                if target is None
                else f"  target {target} ms: {'ok' if ms <= target else 'OVER'}"
            )
            if args.against is None:
                print(f"  {name:<42} {ms:6.0f} ms{verdict}")
            else:
                base_ms = 1000 * statistics.median(times[name, "base"])
                print(f"  {name:<42} {ms:6.0f} ms {base_ms:6.0f} ms {ms / base_ms:6.2f}{verdict}")
        if args.imports:
            for name in ("nnctl --help", "nnctl train --help", "nnctl train iris-softmax.yaml"):
                print(
                    f"largest imports of {name}: "
                    + ", ".join(largest_imports(cases[name][0], work))
                )


if __name__ == "__main__":
    main()
