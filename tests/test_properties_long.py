"""The long property mode (issue 11): thousands of hostile inputs, for as long as you give it.

Not part of CI: runs only with `NNCTL_LONG_PROPERTIES=1` or `pytest -m long`. It mutates real
files at random, runs the command that reads them, and records every case whose exit code is
outside 0/1/2/130, whose output holds a traceback (an exception escaped), whose error is not
one message of one or two lines, or that hangs:

- checkpoints: random byte flips, and edits of the zip structure (local and central headers,
  end record: flags such as the encrypted bit, compression method, versions, CRCs, sizes,
  name lengths, offsets) and of the .npy headers inside; read by eval, predict, --resume and
  model.init_from;
- data files: the same edits of an .npz (X, y), byte flips of .npy, IDX (plain and gzipped)
  and CSV files, read by train;
- configs: character-level mutations of a valid YAML file (YAML syntax characters, duplicated
  and re-indented lines, anchors, tags, deep nesting) and random `-s KEY=VALUE` overrides.
- folders with foreign content: files and folders nnctl did not write put into a run or a
  comparison folder, then `--force`, `--resume`; every foreign file must survive unchanged;
- symbolic links: a file of a run folder (metrics.jsonl, a checkpoint, checkpoints/ itself, ...)
  made a link to a file outside, then resume, --force, eval, predict, export; the file outside
  must be unchanged;
- lying JSON: plan.json of a comparison and dataset.json of a shard folder with one value
  replaced by a hostile one (paths leading out, wrong types, NaN, huge numbers), read by
  `compare-optimizers --resume` and by train; nothing outside the folder may change;
- truncation during a run: a memory-mapped .npy or shard truncated, rewritten or replaced at a
  random step (tests/change_data_launch.py, always a real process: a SIGBUS would kill pytest);
  the run must end with exit 0 or 2, never SIGBUS.

NNCTL_LONG_SECONDS (default 600) is the time budget; NNCTL_LONG_SEED (default: random) makes a
run repeatable; every failing input is kept in NNCTL_LONG_OUT (default: a temporary folder) with
the command that failed, and the test prints how many cases ran of each kind.
Most cases run in process (typer's CliRunner, fast); one in REAL_PROCESS_EVERY as a process.
"""

from __future__ import annotations

import collections
import io
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import run_nnctl

pytestmark = pytest.mark.long

REAL_PROCESS_EVERY = 25
CASE_TIMEOUT_S = 120
ALLOWED_EXITS = (0, 1, 2, 130)

TINY = {
    "seed": 0,
    "data": {"name": "iris", "val_fraction": 0.2},
    "model": {"kind": "mlp", "hidden": [4]},
    "optimizer": {"name": "adam", "lr": 0.01},
    "train": {"epochs": 2, "batch_size": 16, "early_stopping": {"patience": 3}},
}


class CaseTimeout(BaseException):
    """Raised by SIGALRM in a case that hangs (BaseException: no `except Exception` eats it)."""


# ------------------------------------------------------------------------------------------------
# Running one case


def _in_process(args, cwd: Path):
    """(exit code, stderr + stdout, escaped exception or None) of nnctl ARGS, in process."""
    from typer.testing import CliRunner

    from nnctl.cli.app import app
    from nnctl.runs import run_folder

    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=True)
    finally:
        os.chdir(previous)
        run_folder.unlock()  # a test session trains thousands of runs
    escaped = result.exception
    if escaped is not None and isinstance(escaped, SystemExit):
        escaped = None
    return result.exit_code, result.stderr + result.stdout, escaped


def _as_process(args, cwd: Path):
    proc = run_nnctl(*args, cwd=cwd, timeout=CASE_TIMEOUT_S)
    return proc.returncode, proc.stderr + proc.stdout, None


CHANGE_LAUNCH = Path(__file__).resolve().parent / "change_data_launch.py"


def _changing_data(change: list[str]):
    """A runner of nnctl ARGS as a process that changes a data file at a step (see
    tests/change_data_launch.py); change = [how, step, path]."""

    def run(args, cwd: Path):
        env = {**os.environ, "NO_COLOR": "1"}
        env.pop("NNCTL_DEBUG", None)
        proc = subprocess.run(
            [sys.executable, str(CHANGE_LAUNCH), *change, "--", *map(str, args)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=CASE_TIMEOUT_S,
        )
        return proc.returncode, proc.stderr + proc.stdout, None

    return run


def _problem(code, output, escaped) -> str | None:
    """What is wrong with a finished case, or None."""
    if escaped is not None:
        return f"escaped {type(escaped).__name__}: {escaped}"
    if code not in ALLOWED_EXITS:
        return f"exit code {code}"
    if "Traceback" in output:
        return "a traceback in the output"
    if code in (1, 2):
        lines = output.strip().splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
        if len(starts) != 1 or len(lines) - starts[0] > 2:
            return "the error is not one message of one or two lines"
    return None


class Campaign:
    """Runs cases until the time budget is spent; keeps counts and failing inputs."""

    def __init__(self, work: Path, keep: Path, rng: random.Random, deadline: float):
        self.work, self.keep, self.rng, self.deadline = work, keep, rng, deadline
        self.counts: collections.Counter = collections.Counter()
        self.exits: collections.Counter = collections.Counter()
        self.kind_exits: collections.Counter = collections.Counter()  # "kind code" -> cases
        self.failures: list[str] = []
        self.n = 0

    def left(self) -> bool:
        return time.monotonic() < self.deadline

    def run(self, kind: str, folder: Path, args: list, runner=None, after=None) -> None:
        """One case. runner: how to run it (default: in process, one in REAL_PROCESS_EVERY
        as a process); after: a check of what the case left, returning a problem or None."""
        self.n += 1
        # A NUL byte cannot be passed in a real argv (the OS API stops at it): in process only.
        real = self.n % REAL_PROCESS_EVERY == 0 and not any("\x00" in str(a) for a in args)
        if runner is None:
            runner = _as_process if real else _in_process
        else:
            real = True
        signal.alarm(CASE_TIMEOUT_S)
        try:
            code, output, escaped = runner(args, folder)
        except CaseTimeout:
            code, output, escaped = None, "", CaseTimeout(f"no answer in {CASE_TIMEOUT_S} s")
        except Exception as exc:  # the subprocess timed out, or the harness itself failed
            code, output, escaped = None, "", exc
        finally:
            signal.alarm(0)
        self.counts[kind] += 1
        self.exits[code] += 1
        self.kind_exits[f"{kind} {code}"] += 1
        problem = _problem(code, output, escaped)
        if problem is None and after is not None:
            problem = after()
        if problem:
            saved = self.keep / f"case{self.n:06d}-{kind}"
            shutil.copytree(folder, saved, dirs_exist_ok=True)
            (saved / "COMMAND.txt").write_text(
                f"nnctl {' '.join(map(str, args))}\n(cwd: this folder; "
                f"{'a real process' if real else 'in process'})\n{problem}\n\n{output[-4000:]}\n"
            )
            self.failures.append(f"{kind}: {problem}: {saved}")


# ------------------------------------------------------------------------------------------------
# Mutations of bytes


def flip_bytes(blob: bytes, rng: random.Random) -> bytes:
    data = bytearray(blob)
    for _ in range(rng.randint(1, 4)):
        if not data:
            break
        i = rng.randrange(len(data))
        data[i] = data[i] ^ (1 << rng.randrange(8)) if rng.random() < 0.6 else rng.randrange(256)
    if rng.random() < 0.05:
        data = data[: rng.randrange(len(data) + 1)]  # truncated
    return bytes(data)


# (signature, {field: (offset, size)}) of the zip records an .npz is made of
ZIP_RECORDS = {
    b"PK\x03\x04": {
        "version": (4, 2),
        "flags": (6, 2),
        "method": (8, 2),
        "crc": (14, 4),
        "csize": (18, 4),
        "usize": (22, 4),
        "name_len": (26, 2),
        "extra_len": (28, 2),
    },
    b"PK\x01\x02": {
        "made_by": (4, 2),
        "version": (6, 2),
        "flags": (8, 2),
        "method": (10, 2),
        "crc": (16, 4),
        "csize": (20, 4),
        "usize": (24, 4),
        "name_len": (28, 2),
        "extra_len": (30, 2),
        "comment_len": (32, 2),
        "disk": (34, 2),
        "ext_attr": (38, 4),
        "offset": (42, 4),
    },
    b"PK\x05\x06": {
        "disk": (4, 2),
        "cd_disk": (6, 2),
        "entries_here": (8, 2),
        "entries": (10, 2),
        "cd_size": (12, 4),
        "cd_offset": (16, 4),
        "comment_len": (20, 2),
    },
}


def _special(size: int, field: str, rng: random.Random) -> int:
    top = (1 << (8 * size)) - 1
    choices = [0, 1, top, top - 1, rng.randrange(top + 1), rng.randrange(64)]
    if field == "flags":
        choices += [1, 0x41, 0x8, 0x800, 0x2000]  # encrypted, strong encryption, data descriptor
    if field == "method":
        choices += [1, 6, 8, 9, 12, 14, 93, 95, 98, 99]  # deflate, bzip2, lzma, zstd, AES, ...
    if field == "version":
        choices += [45, 46, 51, 63, 99]  # zip64, bzip2, AES, ...
    return rng.choice(choices)


def edit_zip_header(blob: bytes, rng: random.Random) -> bytes:
    """One field of one zip record set to a boundary or random value."""
    data = bytearray(blob)
    found = [(sig, i) for sig in ZIP_RECORDS for i in _find_all(blob, sig)]
    if not found:
        return flip_bytes(blob, rng)
    for _ in range(rng.randint(1, 2)):
        sig, start = rng.choice(found)
        field, (offset, size) = rng.choice(list(ZIP_RECORDS[sig].items()))
        at = start + offset
        if at + size <= len(data):
            data[at : at + size] = _special(size, field, rng).to_bytes(size, "little")
    return bytes(data)


def edit_npy_header(blob: bytes, rng: random.Random) -> bytes:
    """A character of an .npy header dict (descr, fortran_order, shape) changed."""
    data = bytearray(blob)
    starts = _find_all(blob, b"\x93NUMPY")
    if not starts:
        return flip_bytes(blob, rng)
    start = rng.choice(starts)
    header_end = blob.find(b"\n", start)
    if header_end < 0:
        return flip_bytes(blob, rng)
    at = rng.randrange(start, header_end + 1)
    data[at] = ord(rng.choice("0123456789(),:'<>|fiucUSOVbMm ?{}x\x00\xff"))
    if rng.random() < 0.3:  # a header length of the npy itself
        data[start + 8 : start + 10] = rng.randrange(1 << 16).to_bytes(2, "little")
    return bytes(data)


def _find_all(blob: bytes, needle: bytes) -> list[int]:
    out, i = [], blob.find(needle)
    while i >= 0:
        out.append(i)
        i = blob.find(needle, i + 1)
    return out


def mutate_archive(blob: bytes, rng: random.Random) -> bytes:
    pick = rng.random()
    if pick < 0.4:
        return flip_bytes(blob, rng)
    if pick < 0.8:
        return edit_zip_header(blob, rng)
    return edit_npy_header(blob, rng)


# ------------------------------------------------------------------------------------------------
# Mutations of configs and overrides

YAML_BITS = [
    ":",
    " ",
    "  ",
    "-",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a",
    "*a",
    "!!str",
    "!!python/name:os.system",
    "#",
    "'",
    '"',
    "|",
    ">",
    "?",
    "\n",
    "\t",
    "<<: *a",
    ".inf",
    "-.inf",
    ".nan",
    "1e400",
    "~",
    "null",
    "yes",
    "0x10",
    "1_000",
    "9" * 30,
    "\\",
    "\x00",
    "\u2028",
    "é",
]


def mutate_yaml(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.45 and text:
            pos = rng.randrange(len(text) + 1)
            text = text[:pos] + rng.choice(YAML_BITS) + text[pos:]
        elif op < 0.6 and text:
            pos = rng.randrange(len(text))
            text = text[:pos] + text[pos + rng.randint(1, 4) :]
        elif op < 0.75 and lines:
            line = rng.choice(lines)  # a key given twice, maybe at another indentation
            text += "\n" + (" " * rng.choice([0, 0, 2, 4])) + line.strip() + "\n"
        elif op < 0.85:
            depth = rng.choice([50, 101, 500, 3000])
            text += f"\nnested: {'[' * depth}{']' * depth}\n"
        else:
            text += (
                f"\n{rng.choice(['train', 'optimizer', 'data', 'model'])}: "
                f"{rng.choice(['{epochs: 1}', '[1, 2]', '&a {lr: 0.1}', '*a', '!!binary aGk='])}\n"
            )
    return text


OVERRIDE_KEYS = [
    "optimizer.lr",
    "optimizer.name",
    "schedule.name",
    "train.epochs",
    "train.batch_size",
    "train.dtype",
    "model.kind",
    "model.hidden",
    "model.activation",
    "init.bias",
    "init.scheme",
    "data.name",
    "data.val_fraction",
    "data.params",
    "loss.l2",
    "seed",
    "train.clip_grad_norm",
    "train.early_stopping",
    "optimizer",
    "model.init_from",
    "data.path",
    "output.dir",
    "x.y",
    "optimizer.momentum",
]
OVERRIDE_VALUES = [
    "[1]",
    "{a: 1}",
    "[[1]]",
    ".inf",
    "-.inf",
    ".nan",
    "1e400",
    "1e-400",
    str(10**20),
    "1" + "0" * 5000,
    "-1",
    "0",
    "3",
    "0.5",
    "adam",
    "lbfgs",
    "''",
    "null",
    "true",
    "[" * 200 + "]" * 200,
    "&a [*a]",
    "!!python/none ''",
    "relu",
    "{name: leaky_relu, slope: .inf}",
    "[1, -1]",
    "[2147483648]",
    "1e300",
    "/dev/zero",
    "/dev/null",
    ".",
    "x: y: z",
    "{epochs: 1}",
    "\x00",
]


def random_overrides(rng: random.Random) -> list[str]:
    out = []
    for _ in range(rng.randint(1, 3)):
        out += ["-s", f"{rng.choice(OVERRIDE_KEYS)}={rng.choice(OVERRIDE_VALUES)}"]
    return out


# ------------------------------------------------------------------------------------------------
# The files to mutate


def _idx(code: int, shape, payload: bytes) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def make_world(world: Path) -> None:
    """A trained run, an interrupted one, and one data file of each format."""
    import gzip

    (world / "tiny.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
    code, output, escaped = _in_process(["train", "tiny.yaml", "--out", "run", "-q"], world)
    assert code == 0 and escaped is None, output
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    np.savez(world / "data.npz", X=X, y=y)
    np.savez_compressed(world / "data_compressed.npz", X=X, y=y)
    np.save(world / "X.npy", X)
    np.save(world / "y.npy", y)
    images = rng.integers(0, 255, size=(40, 2, 2), dtype=np.uint8)
    (world / "img-idx3-ubyte").write_bytes(_idx(0x08, (40, 2, 2), images.tobytes()))
    (world / "lab-idx1-ubyte").write_bytes(_idx(0x08, (40,), (y % 2).astype(np.uint8).tobytes()))
    (world / "img-idx3-ubyte.gz").write_bytes(
        gzip.compress((world / "img-idx3-ubyte").read_bytes())
    )
    buffer = io.StringIO()
    buffer.write("a,b,c,target\n")
    for row, label in zip(X, y):
        buffer.write(f"{row[0]:.4f},{row[1]:.4f},{row[2]:.4f},{label}\n")
    (world / "data.csv").write_text(buffer.getvalue())
    (world / "data.csv.gz").write_bytes(gzip.compress(buffer.getvalue().encode()))
    with zipfile.ZipFile(world / "run" / "checkpoints" / "last.npz") as archive:
        assert "meta.npy" in archive.namelist()
    for command in (
        ["compare-optimizers", "tiny.yaml", "-o", "sgd", "-o", "adam", "--out", "cmp", "-q"],
        ["data", "convert", "data.csv", "--target", "target", "--out", "shards"],
    ):
        code, output, escaped = _in_process(command, world)
        assert code == 0 and escaped is None, output
    X = rng.normal(size=(600, 3))  # enough rows for a run of many steps, read block by block
    np.save(world / "big_X.npy", X)
    np.save(world / "big_y.npy", (X[:, 0] > 0).astype(np.int64))


DATA_CASES = {  # file -> config data section using it
    "data.npz": {"path": "data.npz"},
    "data_compressed.npz": {"path": "data_compressed.npz"},
    "X.npy": {"path": "X.npy", "labels_path": "y.npy"},
    "y.npy": {"path": "X.npy", "labels_path": "y.npy"},
    "img-idx3-ubyte": {"path": "img-idx3-ubyte", "labels_path": "lab-idx1-ubyte"},
    "lab-idx1-ubyte": {"path": "img-idx3-ubyte", "labels_path": "lab-idx1-ubyte"},
    "img-idx3-ubyte.gz": {"path": "img-idx3-ubyte.gz", "labels_path": "lab-idx1-ubyte"},
    "data.csv": {"path": "data.csv"},
    "data.csv.gz": {"path": "data.csv.gz"},
}


# ------------------------------------------------------------------------------------------------
# Folders that hold what nnctl did not write, links that lead out, JSON that lies, files that
# change under a run (issue 22)

FOREIGN = {  # name inside a run or comparison folder -> content
    "notes.txt": b"mine\n",
    "mine/data.csv": b"a,b\n1,2\n",
    "checkpoints/mine.npz": b"not nnctl's",
    ".keep": b"",
    "model.txt": b"my model",
}
LINKABLE = [
    "metrics.jsonl",
    "summary.json",
    "config.yaml",
    "split.npz",
    "checkpoints/last.npz",
    "checkpoints/best.npz",
    "checkpoints",
    "model.json",
]


def snapshot(folder: Path) -> dict:
    """relative path -> bytes (or 'link -> target') of everything under `folder`."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            out[rel] = f"link -> {os.readlink(path)}"
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


def unchanged(folder: Path, before: dict, what: str):
    """A check for Campaign.run: `folder`'s files are still `before` (a snapshot)."""

    def check():
        now = snapshot(folder) if folder.exists() else {}
        lost = [rel for rel in before if now.get(rel) != before[rel]]
        return f"{what} changed: {', '.join(lost[:5])}" if lost else None

    return check


def still_there(folder: Path, files: dict):
    """A check for Campaign.run: every foreign file is still in `folder` with its content."""

    def check():
        lost = [
            rel
            for rel, content in files.items()
            if not (folder / rel).is_file() or (folder / rel).read_bytes() != content
        ]
        return f"foreign files deleted or changed: {', '.join(lost)}" if lost else None

    return check


def hostile_values(outside: Path) -> list:
    return [
        "../outside",
        "../outside/precious.txt",
        "../../outside",
        str(outside),
        str(outside / "precious.txt"),
        "/",
        "",
        ".",
        "..",
        "sgd/../..",
        "..\\outside",
        "x\x00y",
        None,
        -1,
        0,
        10**30,
        1e308,
        float("nan"),
        True,
        [],
        {},
        ["../outside"],
        {"../outside": 1},
        "é" * 300,
    ]


def mutate_json(doc, rng: random.Random, values: list):
    """`doc` with one value (anywhere in it) replaced by a hostile one, a key removed, or an
    unknown key added."""
    slots = []

    def walk(node):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            slots.append((node, key))
            if isinstance(value, (dict, list)):
                walk(value)

    if isinstance(doc, (dict, list)):
        walk(doc)
    if not slots:
        return rng.choice(values)
    node, key = rng.choice(slots)
    op = rng.random()
    if op < 0.8:
        node[key] = rng.choice(values)
    elif op < 0.9 and isinstance(node, dict):
        del node[key]
    elif isinstance(node, dict):
        node[rng.choice(["extra", "../x", "folder"])] = rng.choice(values)
    return doc


def foreign_case(rng: random.Random, world: Path, folder: Path):
    which = rng.choice(["run", "cmp"])
    shutil.copytree(world / which, folder / which)
    shutil.copy(world / "tiny.yaml", folder / "tiny.yaml")
    files = dict(rng.sample(sorted(FOREIGN.items()), rng.randint(1, 3)))
    if which == "cmp":  # foreign files inside one of its runs too
        files = {**files, **{f"sgd/{k}": v for k, v in files.items()}}
    for rel, content in files.items():
        (folder / which / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / which / rel).write_bytes(content)
    if which == "run":
        command = rng.choice(
            [
                ["train", "tiny.yaml", "--out", "run", "--force", "-q"],
                ["train", "--resume", "run", "-q"],
                ["train", "tiny.yaml", "--out", "run", "-q"],
            ]
        )
    else:
        command = rng.choice(
            [
                ["compare-optimizers", "tiny.yaml", "-o", "sgd", "--out", "cmp", "--force", "-q"],
                ["compare-optimizers", "--resume", "cmp", "-q"],
            ]
        )
    return command, still_there(folder / which, files)


def symlink_case(rng: random.Random, world: Path, folder: Path):
    shutil.copytree(world / "run", folder / "run")
    shutil.copy(world / "data.csv", folder / "data.csv")
    shutil.copy(world / "tiny.yaml", folder / "tiny.yaml")
    outside = folder / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_bytes(b"precious\n")
    for rel in rng.sample(LINKABLE, rng.randint(1, 2)):
        inside = folder / "run" / rel
        victim = outside / rel.replace("/", "_")
        if inside.is_dir():
            shutil.copytree(inside, victim)
            shutil.rmtree(inside)
        elif inside.exists():
            shutil.move(inside, victim)
        else:
            victim.write_bytes(b"{}")
        if not inside.parent.exists():
            continue  # checkpoints/ already made a link: its files are outside now
        inside.symlink_to(rng.choice([victim, os.path.relpath(victim, inside.parent)]))
    command = rng.choice(
        [
            ["train", "--resume", "run", "-q"],
            ["train", "tiny.yaml", "--out", "run", "--force", "-q"],
            ["eval", "run", "--json"],
            ["predict", "run", "data.csv"],
            ["export", "run", "--format", "json"],
            ["plot", "run"],
        ]
    )
    return command, unchanged(outside, snapshot(outside), "files outside the run folder")


def lying_json_case(rng: random.Random, world: Path, folder: Path):
    outside = folder / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_bytes(b"precious\n")
    values = hostile_values(outside)
    if rng.random() < 0.5:
        shutil.copytree(world / "cmp", folder / "cmp")
        shutil.copy(world / "tiny.yaml", folder / "tiny.yaml")
        plan = folder / "cmp" / "plan.json"
        shutil.rmtree(folder / "cmp" / rng.choice(["sgd", "adam"]))  # a run left to resume
        doc = mutate_json(json.loads(plan.read_text()), rng, values)
        plan.write_text(json.dumps(doc))
        command = ["compare-optimizers", "--resume", "cmp", "-q"]
    else:
        shutil.copytree(world / "shards", folder / "shards")
        described = folder / "shards" / "dataset.json"
        doc = mutate_json(json.loads(described.read_text()), rng, values)
        described.write_text(json.dumps(doc))
        cfg = {**TINY, "data": {"path": "shards", "val_fraction": 0.25}}
        (folder / "tiny.yaml").write_text(yaml.safe_dump(cfg))
        command = ["train", "tiny.yaml", "--out", "out", "-q"]
    return command, unchanged(outside, snapshot(outside), "files outside the folder")


def truncation_case(rng: random.Random, world: Path, folder: Path):
    if rng.random() < 0.5:
        shutil.copy(world / "big_X.npy", folder / "X.npy")
        shutil.copy(world / "big_y.npy", folder / "y.npy")
        data, changed = {"path": "X.npy", "labels_path": "y.npy"}, folder / "X.npy"
    else:
        (folder / "shards").mkdir()
        X, y = np.load(world / "big_X.npy"), np.load(world / "big_y.npy")
        for i, rows in enumerate(np.array_split(np.arange(len(X)), rng.randint(1, 4))):
            np.save(folder / "shards" / f"X-{i:05d}.npy", X[rows])
            np.save(folder / "shards" / f"y-{i:05d}.npy", y[rows])
        data = {"path": "shards"}
        changed = rng.choice(sorted((folder / "shards").glob("X-*.npy")))
    optimizer = rng.choice([{"name": "adam", "lr": 0.01}, {"name": "lbfgs"}, {"name": "gd"}])
    batch_size = rng.choice([8, 32, 600])
    cfg = {
        **TINY,
        "data": {**data, "val_fraction": 0.25},
        "optimizer": optimizer,
        "train": {"epochs": 3, "batch_size": batch_size},
    }
    (folder / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    how = rng.choice(["truncate", "truncate", "rewrite", "replace"])
    # A step the run reaches (a full-batch method or one batch per epoch: one step an epoch),
    # now and then one past its end (the change comes too late: the run must end with 0).
    steps = 3 if optimizer["name"] != "adam" or batch_size == 600 else 450 // batch_size * 3
    step = rng.randint(1, steps) if rng.random() < 0.9 else steps + 1
    runner = _changing_data([how, str(step), str(changed)])
    return ["train", "tiny.yaml", "--out", "out", "-q"], runner


NEW_KINDS = {"foreign": foreign_case, "symlink": symlink_case, "lying_json": lying_json_case}


def one_case(campaign: Campaign, world: Path) -> None:
    rng = campaign.rng
    folder = Path(tempfile.mkdtemp(dir=campaign.work))
    try:
        kind = rng.choice(
            ["checkpoint", "checkpoint", "resume", "init_from", "data", "data", "yaml", "override"]
            + ["foreign", "symlink", "lying_json", "lying_json", "truncation"]
        )
        if kind in NEW_KINDS:
            command, after = NEW_KINDS[kind](rng, world, folder)
            campaign.run(kind, folder, command, after=after)
            return
        if kind == "truncation":
            command, runner = truncation_case(rng, world, folder)
            campaign.run(kind, folder, command, runner=runner)
            return
        if kind in ("checkpoint", "init_from"):
            source = rng.choice(["last.npz", "best.npz"])
            blob = (world / "run" / "checkpoints" / source).read_bytes()
            (folder / "ckpt.npz").write_bytes(mutate_archive(blob, rng))
            shutil.copy(world / "data.csv", folder / "data.csv")
            if kind == "checkpoint":
                command = rng.choice(
                    [
                        ["eval", "ckpt.npz", "--json"],
                        ["eval", "ckpt.npz", "--data", "iris"],
                        ["predict", "ckpt.npz", "data.csv"],
                        ["predict", "ckpt.npz", "data.csv", "--proba"],
                    ]
                )
            else:
                (folder / "tiny.yaml").write_text(
                    yaml.safe_dump({**TINY, "model": {**TINY["model"], "init_from": "ckpt.npz"}})
                )
                command = ["train", "tiny.yaml", "--out", "out", "-q"]
        elif kind == "resume":
            shutil.copytree(world / "run", folder / "run")
            last = folder / "run" / "checkpoints" / "last.npz"
            last.write_bytes(mutate_archive(last.read_bytes(), rng))
            command = ["train", "--resume", "run", "-q"]
        elif kind == "data":
            name = rng.choice(sorted(DATA_CASES))
            for other in {DATA_CASES[name]["path"], DATA_CASES[name].get("labels_path"), name} - {
                None
            }:
                shutil.copy(world / other, folder / other)
            blob = (world / name).read_bytes()
            mutated = mutate_archive(blob, rng) if name.endswith(".npz") else flip_bytes(blob, rng)
            (folder / name).write_bytes(mutated)
            cfg = {**TINY, "data": {**DATA_CASES[name], "val_fraction": 0.25}}
            (folder / "tiny.yaml").write_text(yaml.safe_dump(cfg))
            command = ["train", "tiny.yaml", "--out", "out", "-q"]
        elif kind == "yaml":
            (folder / "tiny.yaml").write_text(
                mutate_yaml(yaml.safe_dump(TINY, sort_keys=False), rng)
            )
            command = ["train", "tiny.yaml", "--out", "out", "-q"]
        else:
            (folder / "tiny.yaml").write_text(yaml.safe_dump(TINY, sort_keys=False))
            command = rng.choice([["train"], ["config", "validate"], ["config", "show"]])
            command = command + ["tiny.yaml"] + random_overrides(rng)
            if command[0] == "train":
                command += ["--out", "out", "-q"]
        campaign.run(kind, folder, command)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _long_mode_on(config) -> bool:
    return os.environ.get("NNCTL_LONG_PROPERTIES") == "1" or "long" in (
        config.getoption("-m") or ""
    )


def test_long_random_mutations_never_crash(request, tmp_path):
    if not _long_mode_on(request.config):
        pytest.skip("long property mode: set NNCTL_LONG_PROPERTIES=1 or run pytest -m long")
    budget = float(os.environ.get("NNCTL_LONG_SECONDS", "600"))
    seed = int(os.environ.get("NNCTL_LONG_SEED", str(random.SystemRandom().randrange(1 << 32))))
    keep = Path(os.environ.get("NNCTL_LONG_OUT") or tmp_path / "failures")
    keep.mkdir(parents=True, exist_ok=True)
    world = tmp_path / "world"
    world.mkdir()
    make_world(world)
    work = tmp_path / "cases"
    work.mkdir()

    def on_alarm(signum, frame):
        raise CaseTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    campaign = Campaign(work, keep, random.Random(seed), time.monotonic() + budget)
    try:
        while campaign.left():
            one_case(campaign, world)
    finally:
        signal.signal(signal.SIGALRM, previous)
    report = {
        "seed": seed,
        "cases": campaign.n,
        "by_kind": dict(campaign.counts),
        "exit_codes": {str(k): v for k, v in campaign.exits.items()},
        "exit_codes_by_kind": dict(sorted(campaign.kind_exits.items())),
        "failures": len(campaign.failures),
        "kept_in": str(keep),
    }
    print("\nlong property mode:", json.dumps(report))
    (keep / "REPORT.json").write_text(json.dumps({**report, "list": campaign.failures}, indent=2))
    assert not campaign.failures, "\n".join(campaign.failures[:20])
