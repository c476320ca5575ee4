"""nnctl deletes or replaces only what it wrote (issue 22): `--force`, `--resume` and `data
convert` refuse a folder holding anything else, `--out` refuses the current, home and root
folders and the input data, paths read from plan.json never lead out of the comparison folder,
two processes never work on one comparison folder, and nnctl's own JSON files are checked field
by field. Every case runs nnctl as a real process and checks, by hashing, that a victim folder
outside the test's output is unchanged."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import assert_clean_error, popen_nnctl, run_nnctl

TINY = """
seed: 0
data: {name: iris, val_fraction: 0.2}
model: {kind: softmax}
optimizer: {name: sgd, lr: 0.1}
train: {epochs: 2, batch_size: 16}
"""
ENDLESS = TINY.replace("epochs: 2,", "epochs: 1000000,").replace("batch_size: 16", "batch_size: 4")
CSV = "a,b,target\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n2,1,0\n4,3,1\n6,5,0\n8,7,1\n"


def tree_digest(folder: Path) -> str:
    """Every path, kind and content under `folder`: equal digests, nothing changed."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        if path.is_symlink():
            digest.update(b"link:" + os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
        else:
            digest.update(b"dir")
    return digest.hexdigest()


@pytest.fixture
def victim(tmp_path) -> Path:
    """A user's folder beside the test's work: nothing nnctl does may change it."""
    folder = tmp_path / "victim"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.tex").write_text("years of work\n")
    (folder / "sub" / "data.csv").write_text(CSV)
    return folder


@pytest.fixture(scope="module")
def comparison(tmp_path_factory) -> Path:
    """A finished two-run comparison, made once; each test works on a copy."""
    work = tmp_path_factory.mktemp("cmp")
    (work / "tiny.yaml").write_text(TINY)
    proc = run_nnctl(
        "compare-optimizers", "tiny.yaml", "-o", "sgd", "-o", "adam", "--out", "cmp",
        "--no-plot", "-q", cwd=work,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return work / "cmp"


def copy_of(comparison: Path, tmp_path: Path) -> Path:
    out = tmp_path / "cmp"
    shutil.copytree(comparison, out)
    return out


def edit_plan(out: Path, change) -> None:
    plan = json.loads((out / "plan.json").read_text())
    change(plan)
    (out / "plan.json").write_text(json.dumps(plan))


def mark_unfinished(out: Path, folder: str) -> None:
    """As if the run in `folder` had been stopped half-way: --resume would run it again."""
    summary_path = out / folder / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary_path.write_text(json.dumps({**summary, "status": "interrupted"}))


# ------------------------------------------------------------------------------------------------
# compare-optimizers --resume: plan.json leads nowhere else


@pytest.mark.parametrize("where", ["../victim", "ABSOLUTE", "sub/../../victim"])
def test_a_plan_naming_a_folder_outside_the_comparison_is_refused(
    comparison, tmp_path, victim, where
):
    out = copy_of(comparison, tmp_path)
    target = str(victim) if where == "ABSOLUTE" else where
    edit_plan(out, lambda plan: plan["tasks"][0].update(folder=target))
    before, before_out = tree_digest(victim), tree_digest(out)
    proc = run_nnctl("compare-optimizers", "--resume", out, "--no-plot", "-q", cwd=tmp_path)
    assert_clean_error(proc, 2, "plan.json", "tasks[0].folder", repr(target))
    assert tree_digest(victim) == before and tree_digest(out) == before_out


@pytest.mark.parametrize(
    "change, fragments",
    [
        (lambda p: p["tasks"][0].update(cfg="tiny.yaml"), ["tasks[0].cfg", "found str"]),
        (lambda p: p.update(seeds="0"), ["seeds", "a list of integers"]),
        (lambda p: p["tasks"][1].update(seed=1.5), ["tasks[1].seed", "an integer"]),
        (lambda p: p.update(tasks={"a": 1}), ["tasks", "a list of runs"]),
        (lambda p: p["tasks"][0].update(settings=[]), ["tasks[0].settings", "a mapping"]),
        (lambda p: p["tasks"][0].pop("label"), ["tasks[0]", "missing key 'label'"]),
        (lambda p: p.update(target_loss="low"), ["target_loss", "a number"]),
        (
            lambda p: p["tasks"][1]["cfg"]["train"].update(epochs="many"),
            ["tasks[1].cfg", "train.epochs", "'many'"],
        ),
        (
            lambda p: p["tasks"][0]["cfg"]["data"].update(val_fraction=None),
            ["tasks[0].cfg", "data"],
        ),
    ],
)
def test_every_field_of_plan_json_is_checked(comparison, tmp_path, change, fragments):
    out = copy_of(comparison, tmp_path)
    edit_plan(out, change)
    before = tree_digest(out)
    proc = run_nnctl("compare-optimizers", "--resume", out, "--no-plot", "-q", cwd=tmp_path)
    assert_clean_error(proc, 2, str(out / "plan.json"), *fragments)
    assert tree_digest(out) == before


def test_resume_reruns_an_unfinished_run_folder_nnctl_wrote(comparison, tmp_path):
    out = copy_of(comparison, tmp_path)
    mark_unfinished(out, "adam")
    proc = run_nnctl("compare-optimizers", "--resume", out, "--no-plot", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "adam" / "summary.json").read_text())["status"] == "completed"


def test_resume_keeps_a_run_folder_holding_a_users_file(comparison, tmp_path):
    out = copy_of(comparison, tmp_path)
    mark_unfinished(out, "adam")
    (out / "adam" / "my-notes.txt").write_text("mine\n")
    before = tree_digest(out)
    proc = run_nnctl("compare-optimizers", "--resume", out, "--no-plot", "-q", cwd=tmp_path)
    assert_clean_error(proc, 2, str(out / "adam"), "my-notes.txt")
    assert tree_digest(out) == before


def _start(*args, cwd: Path) -> subprocess.Popen:
    """The command in the background, with Ctrl-C's default action (the test interrupts it)."""
    return popen_nnctl(
        *args, cwd=cwd, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )


def test_a_resume_while_the_comparison_still_runs_is_exit_2_in_use(tmp_path):
    (tmp_path / "endless.yaml").write_text(ENDLESS)
    first = _start(
        "compare-optimizers", "endless.yaml", "-o", "sgd", "--out", "cmp", "--no-plot", "-q",
        cwd=tmp_path,
    )  # fmt: skip
    metrics = tmp_path / "cmp" / "sgd" / "metrics.jsonl"
    try:
        deadline = time.monotonic() + 120
        while not (metrics.exists() and metrics.stat().st_size > 0):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the comparison did not start"
            time.sleep(0.1)
        second = run_nnctl("compare-optimizers", "--resume", "cmp", "--no-plot", cwd=tmp_path)
        assert_clean_error(second, 2, "cmp", "in use by another nnctl process")
        assert first.poll() is None  # still running, its run folder untouched
        assert metrics.exists()
    finally:
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=120)
    assert first.returncode == 130, stderr
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [row["epoch"] for row in rows] == list(range(1, len(rows) + 1))


# ------------------------------------------------------------------------------------------------
# train --out / --force


def test_force_refuses_a_users_project_folder(tmp_path, victim):
    project = tmp_path / "proj"
    (project / "checkpoints").mkdir(parents=True)
    (project / "config.yaml").write_text(TINY)
    (project / "checkpoints" / "my-model.npz").write_bytes(b"not nnctl's")
    (project / "data.csv").write_text(CSV)
    before, before_victim = tree_digest(project), tree_digest(victim)
    for config in (project / "config.yaml", tmp_path / "proj" / ".." / "proj" / "config.yaml"):
        proc = run_nnctl("train", config, "--out", project, "--force", "-q", cwd=tmp_path)
        assert_clean_error(proc, 2, str(project), "data.csv")
        assert tree_digest(project) == before
    # a folder that looks like a run but holds a foreign checkpoint is refused too
    (project / "data.csv").unlink()
    before = tree_digest(project)
    proc = run_nnctl(
        "train", project / "config.yaml", "--out", project, "--force", "-q", cwd=tmp_path
    )
    assert_clean_error(proc, 2, "checkpoints/my-model.npz")
    assert tree_digest(project) == before and tree_digest(victim) == before_victim


def test_force_replaces_a_run_folder_nnctl_wrote(tmp_path):
    (tmp_path / "tiny.yaml").write_text(TINY)
    assert run_nnctl("train", "tiny.yaml", "--out", "run", "-q", cwd=tmp_path).returncode == 0
    first = (tmp_path / "run" / "checkpoints" / "last.npz").read_bytes()
    (tmp_path / "tiny.yaml").write_text(TINY.replace("lr: 0.1", "lr: 0.05"))
    proc = run_nnctl("train", "tiny.yaml", "--out", "run", "--force", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "run" / "checkpoints" / "last.npz").read_bytes() != first
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["optimizer"]["lr"] == 0.05


@pytest.mark.parametrize("out", ["", ".", "~", "/", ".."])
def test_out_naming_the_current_home_or_root_folder_is_refused(tmp_path, out):
    work = tmp_path / "work"
    work.mkdir()
    (work / "tiny.yaml").write_text(TINY)
    (work / "keep.txt").write_text("mine\n")
    env_home = {"HOME": str(tmp_path)}
    before, before_home = tree_digest(work), tree_digest(tmp_path)
    for force in ([], ["--force"]):
        proc = run_nnctl("train", "tiny.yaml", "--out", out, *force, "-q", cwd=work, env=env_home)
        assert_clean_error(proc, 2, "--out")
        assert tree_digest(work) == before and tree_digest(tmp_path) == before_home


def test_an_out_template_value_of_dot_dot_stays_inside_the_folder():
    from nnctl.runs.out_template import fill

    cfg = {"data": {"target": ".."}, "optimizer": {"name": "a/../b"}}
    assert fill("runs/{data.target}", cfg) == "runs/__"
    assert fill("runs/{optimizer.name}", cfg) == "runs/a_.._b"


# ------------------------------------------------------------------------------------------------
# data convert


def test_convert_never_replaces_its_own_source(tmp_path, victim):
    source = tmp_path / "src.csv"
    source.write_text(CSV)
    for out, force in (("src.csv", ["--force"]), (".", ["--force"]), (".", [])):
        proc = run_nnctl("data", "convert", "src.csv", "--out", out, *force, cwd=tmp_path)
        assert_clean_error(proc, 2, "--out")
        assert source.read_text() == CSV
    # a folder holding the source is refused too
    before = tree_digest(victim)
    proc = run_nnctl(
        "data", "convert", victim / "sub" / "data.csv", "--out", victim / "sub", "--force",
        cwd=tmp_path,
    )  # fmt: skip
    assert_clean_error(proc, 2, "holds the input")
    assert tree_digest(victim) == before


def test_convert_force_replaces_only_a_shard_folder_holding_nothing_else(tmp_path):
    (tmp_path / "d.csv").write_text(CSV)
    convert = ("data", "convert", "d.csv", "--out", "shards", "--force")
    assert run_nnctl(*convert, cwd=tmp_path).returncode == 0
    assert run_nnctl(*convert, cwd=tmp_path).returncode == 0  # its own folder: replaced
    (tmp_path / "shards" / ".nnctl").unlink()  # as an nnctl before stamps wrote it
    assert run_nnctl(*convert, cwd=tmp_path).returncode == 0  # known by its layout
    assert (tmp_path / "shards" / ".nnctl").is_file()
    (tmp_path / "shards" / "README.txt").write_text("what these shards are\n")
    before = tree_digest(tmp_path / "shards")
    proc = run_nnctl(*convert, cwd=tmp_path)
    assert_clean_error(proc, 2, "shards", "README.txt")
    assert tree_digest(tmp_path / "shards") == before
    # a user's folder that is not a shard folder at all
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.txt").write_text("a\n")
    proc = run_nnctl("data", "convert", "d.csv", "--out", "mine", "--force", cwd=tmp_path)
    assert_clean_error(proc, 2, "mine", "a.txt")
    assert (tmp_path / "mine" / "a.txt").read_text() == "a\n"


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("feature_names", 5, "a list of feature names"),
        ("feature_names", [1, 2], "a list of feature names"),
        ("target", ["y"], "the target column's name or null"),
        ("columns", "numeric", "the column pipeline"),
    ],
)
def test_every_field_of_dataset_json_is_checked(tmp_path, key, value, expected):
    (tmp_path / "d.csv").write_text(CSV)
    assert run_nnctl("data", "convert", "d.csv", "--out", "shards", cwd=tmp_path).returncode == 0
    path = tmp_path / "shards" / "dataset.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), key: value}))
    (tmp_path / "s.yaml").write_text(TINY.replace("name: iris", "path: shards"))
    proc = run_nnctl("train", "s.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert_clean_error(proc, 2, "dataset.json", key, expected)


def test_a_column_pipeline_with_a_bad_field_is_named(tmp_path):
    (tmp_path / "d.csv").write_text(CSV)
    assert run_nnctl("data", "convert", "d.csv", "--out", "shards", cwd=tmp_path).returncode == 0
    path = tmp_path / "shards" / "dataset.json"
    data = json.loads(path.read_text())
    data["columns"]["columns"][1]["fill"] = "middle"
    path.write_text(json.dumps(data))
    (tmp_path / "s.yaml").write_text(TINY.replace("name: iris", "path: shards"))
    proc = run_nnctl("train", "s.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert_clean_error(proc, 2, "dataset.json", "columns[1].fill", "'middle'")


@pytest.mark.parametrize("command", ["convert", "train"])
def test_a_latin1_csv_is_exit_2_naming_line_offset_and_encoding(tmp_path, command):
    text = "name,size,target\nabc,1,0\ncaf\xe9,2,1\n" + "x,3,0\n" * 5
    (tmp_path / "latin.csv").write_bytes(text.encode("latin-1"))
    offset = text.encode("latin-1").index(b"\xe9")
    if command == "convert":
        proc = run_nnctl("data", "convert", "latin.csv", "--out", "shards", cwd=tmp_path)
    else:
        (tmp_path / "c.yaml").write_text(TINY.replace("name: iris", "path: latin.csv"))
        proc = run_nnctl("train", "c.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert_clean_error(
        proc, 2, "latin.csv", "line 3", f"offset {offset}", "Latin-1", "re-save it as UTF-8"
    )
    assert not (tmp_path / "shards").exists() and not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------------------------
# config init: text stays text


def test_a_hostile_header_stays_a_column_name_in_config_init(tmp_path):
    hostile_target = "y\noutput: {dir: /somewhere} #"
    hostile_feature = "x9\nseed: 7 # \u2028 'q' \"dq\" \\ \x85: ["
    lines = [f'a,"{hostile_feature.replace(chr(34), chr(34) * 2)}","{hostile_target}"']
    lines += [f"{i},{i % 3},{i % 2}" for i in range(12)]
    (tmp_path / "h.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = run_nnctl("config", "init", "--data", "h.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "h.yaml").write_text(proc.stdout, encoding="utf-8")
    config = yaml.safe_load(proc.stdout)
    assert "output" not in config and config["seed"] == 0
    assert config["data"]["target"] == hostile_target
    validate = run_nnctl("config", "validate", "h.yaml", cwd=tmp_path)
    assert validate.returncode == 0, validate.stderr
    train = run_nnctl("train", "h.yaml", "--out", "run", "-q", cwd=tmp_path)
    assert train.returncode == 0, train.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert not Path("/somewhere").exists() and summary["run_dir"].endswith("run")


def test_force_replaces_a_run_folder_holding_what_plot_and_export_wrote_there(tmp_path):
    """`nnctl plot RUN` and `nnctl export RUN` write into the run folder by default (curves.png,
    model.json ...), and a TensorBoard log lives in tb/: the folder stays nnctl's own, and
    --force replaces all of it with the new run; a user's file beside them is still refused."""
    run = tmp_path / "run"
    first = run_nnctl("train", "iris-softmax", "-s", "train.epochs=1", "--out", run, "-q")
    assert first.returncode == 0, first.stderr
    (run / "curves.png").write_bytes(b"\x89PNG")
    (run / "model.json").write_text("{}")
    (run / "tb").mkdir()
    (run / "tb" / "events.out.tfevents.1.host").write_bytes(b"x")
    again = run_nnctl("train", "iris-softmax", "-s", "train.epochs=2", "--out", run, "--force")
    assert again.returncode == 0, again.stderr
    assert not (run / "curves.png").exists() and not (run / "tb").exists()
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2
    (run / "notes.txt").write_text("mine")
    refused = run_nnctl("train", "iris-softmax", "--out", run, "--force", "-q")
    assert_clean_error(refused, 2, "notes.txt")
    assert (run / "notes.txt").read_text() == "mine"
