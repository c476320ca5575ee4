"""Data file formats are a registry (nnctl.data.format_registry): a program adds one with a
reader and a `register_format` call, without editing nnctl, and every command that reads data
accepts it: validation, `data formats`, the config reference and JSON Schema, train, eval,
predict and config init. The toy format lives in a launcher script that registers it and then
runs nnctl's CLI, in a real process on real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import assert_clean_error, run_nnctl

# A JSON-lines table: one object per line, the keys of the first line are the columns. The
# reader parses it into text cells and leaves the rest to nnctl's own table rules.
LAUNCHER = r"""
import json
import sys

from nnctl.data.format_registry import FileFormat, register_format


def read_jsonl(path, request):
    from nnctl.data.text_columns import table_from_text

    objects, lines = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                objects.append(json.loads(line))
                lines.append(number)
    names = list(objects[0]) if objects else []
    rows = [["" if o.get(n) is None else str(o[n]) for n in names] for o in objects]
    return table_from_text(path, names, rows, request, lines)


register_format(
    FileFormat(
        "jsonl",
        "JSON lines: one object per line (a test's own format)",
        read_jsonl,
        suffixes=(".jsonl",),
        columns=True,
    )
)

from nnctl.cli.app import run

run()
"""

N_ROWS = 120


def table(seed: int = 0) -> list[dict]:
    """Rows with two numbers, a text column and a class target (some cells missing)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(N_ROWS):
        x, z = float(rng.normal()), float(rng.normal())
        shade = ["light", "dark"][int(rng.integers(0, 2))]
        label = "yes" if x + 0.5 * z + (shade == "dark") > 0.5 else "no"
        rows.append({"x": x, "z": None if i % 11 == 3 else z, "shade": shade, "label": label})
    return rows


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def write_csv(path, rows):
    names = list(rows[0])
    lines = [",".join(names)]
    for row in rows:
        lines.append(
            ",".join(
                "" if row[n] is None else repr(row[n]) if isinstance(row[n], float) else row[n]
                for n in names
            )
        )
    path.write_text("\n".join(lines) + "\n")


def launch(folder, *args, timeout=300):
    """The launcher (nnctl's CLI with the jsonl format registered) as a real process."""
    script = folder / "launch_with_jsonl.py"
    script.write_text(LAUNCHER)
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("NNCTL_DEBUG", None)
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def config(path, **data) -> dict:
    return {
        "seed": 5,
        "data": {"path": str(path), "target": "label", "missing": "impute", **data},
        "model": {"kind": "logreg"},
        "optimizer": {"name": "adam", "lr": 0.05},
        "train": {"epochs": 15, "batch_size": 16},
    }


def train(run, folder, cfg, name):
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    proc = run(folder, "train", path, "--out", folder / name, "-q", "--json")
    assert proc.returncode == 0, proc.stderr
    return folder / name


def arrays(run_folder) -> dict:
    with np.load(run_folder / "checkpoints" / "last.npz") as archive:
        meta = json.loads(str(archive["meta"]))
        return {k: archive[k].tobytes() for k in archive.files if k != "meta"}, meta["columns"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy_format")
    rows = table()
    write_jsonl(folder / "table.jsonl", rows)
    write_csv(folder / "table.csv", rows)
    (folder / "table.data").write_text((folder / "table.jsonl").read_text())  # no suffix
    return folder


def test_a_registered_format_is_listed_and_accepted_by_validation(toy):
    listing = launch(toy, "data", "formats", "--json")
    assert listing.returncode == 0, listing.stderr
    rows = {row["name"]: row for row in json.loads(listing.stdout)}
    assert list(rows) == ["csv", "npz", "npy", "idx", "parquet", "jsonl"]
    assert rows["jsonl"]["suffixes"] == [".jsonl"] and rows["jsonl"]["columns"]
    assert not rows["jsonl"]["streams"] and rows["jsonl"]["extra"] is None

    reference = launch(toy, "config", "reference")
    assert reference.returncode == 0, reference.stderr
    format_line = next(line for line in reference.stdout.splitlines() if "`data.format`" in line)
    assert "jsonl" in format_line and "parquet" in format_line
    schema = json.loads(launch(toy, "config", "schema").stdout)
    assert "jsonl" in json.dumps(schema)

    path = toy / "explicit.yaml"
    path.write_text(yaml.safe_dump(config("table.data", format="jsonl")))
    proc = launch(toy, "config", "validate", path)
    assert proc.returncode == 0, proc.stderr
    # nnctl itself, without the launcher, does not know the name and says which it knows
    plain = run_nnctl("config", "validate", path, cwd=toy)
    assert_clean_error(plain, 2, "data.format", "jsonl")
    assert "parquet" in plain.stderr


def test_a_registered_format_trains_to_the_same_model_as_its_csv(toy):
    """The toy reader hands text cells to nnctl's table rules: the same table as JSON lines
    (found by its suffix) or as CSV gives the same checkpoint, bit for bit."""
    from_jsonl = train(launch, toy, config(toy / "table.jsonl"), "from_jsonl")
    from_csv = train(launch, toy, config(toy / "table.csv"), "from_csv")
    ours, theirs = arrays(from_jsonl), arrays(from_csv)
    assert ours[0] and ours[0] == theirs[0]
    assert ours[1] == theirs[1]  # the fitted columns: medians, categories
    names = {c["name"]: c for c in ours[1]["columns"]}
    assert names["shade"]["categories"] == ["dark", "light"]


def test_eval_and_predict_read_a_registered_format(toy):
    run = toy / "from_jsonl"
    if not run.exists():
        train(launch, toy, config(toy / "table.jsonl"), "from_jsonl")
    by_format = {}
    for data in ("table.jsonl", "table.csv"):
        proc = launch(toy, "predict", run, data, "--proba")
        assert proc.returncode == 0, proc.stderr
        by_format[data] = proc.stdout
    assert by_format["table.jsonl"] == by_format["table.csv"]
    assert len(by_format["table.jsonl"].splitlines()) == N_ROWS + 1
    scores = {}
    for data in ("table.jsonl", "table.csv"):
        proc = launch(toy, "eval", run, "--data", data, "--json")
        assert proc.returncode == 0, proc.stderr
        scores[data] = json.loads(proc.stdout)
    assert scores["table.jsonl"]["n"] == N_ROWS
    assert scores["table.jsonl"]["loss"] == scores["table.csv"]["loss"]
    # --format names it too: a file without the suffix
    explicit = launch(toy, "eval", run, "--data", "table.data", "--format", "jsonl", "--json")
    assert explicit.returncode == 0, explicit.stderr
    assert json.loads(explicit.stdout)["loss"] == scores["table.jsonl"]["loss"]


def test_config_init_profiles_a_registered_table_format(toy, tmp_path):
    proc = launch(toy, "config", "init", "--data", toy / "table.jsonl", "--target", "label")
    assert proc.returncode == 0, proc.stderr
    assert f"{N_ROWS} rows, jsonl" in proc.stdout
    assert "shade: categorical, 2 categories" in proc.stdout
    config_path = tmp_path / "init.yaml"
    config_path.write_text(proc.stdout)
    trained = launch(tmp_path, "train", config_path, "--out", tmp_path / "run", "-q")
    assert trained.returncode == 0, trained.stderr


def test_data_convert_names_the_formats_it_streams(toy, tmp_path):
    np.savez(tmp_path / "arrays.npz", X=np.ones((4, 2)), y=np.arange(4.0))
    proc = run_nnctl("data", "convert", tmp_path / "arrays.npz", "--out", tmp_path / "out")
    assert_clean_error(proc, 2, "arrays.npz", "NPZ", "csv or parquet")
    assert not (tmp_path / "out").exists()


def test_formats_are_told_apart_by_suffix_before_name_patterns():
    """'idx' in a name means IDX, unless a suffix says otherwise."""
    from pathlib import Path

    from nnctl.data.format_registry import format_from_content, format_from_name

    assert format_from_name(Path("mnist-idx.parquet")).name == "parquet"
    assert format_from_name(Path("train-idx.csv")).name == "csv"
    assert format_from_name(Path("train-images-idx3-ubyte")).name == "idx"
    assert format_from_name(Path("data.bin")) is None
    assert format_from_content(b"PAR1\x15\x04").name == "parquet"
    assert format_from_content(b"\x00\x00\x08\x03\x00\x00").name == "idx"
    assert format_from_content(b"a,b\n1,2\n").name == "csv"
    assert format_from_content(b"\x01\x00\xff") is None
