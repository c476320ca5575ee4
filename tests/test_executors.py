"""Executors of compare-optimizers and sweep: the same numbers from --jobs 1 and a real Dask
cluster (scheduler and two workers as processes on 127.0.0.1), data shipped to the workers, a
worker killed mid-comparison, an interrupted comparison resumed, BLAS threads in the config,
and the usage errors of the options."""

from __future__ import annotations

import ast
import csv
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import (
    CONFIGS,
    REPO,
    assert_clean_error,
    popen_nnctl,
    run_nnctl,
    run_nnctl_with_fault,
    without_wall_time,
)

TIMING_KEYS = ("elapsed_s", "elapsed_before")

try:
    import distributed  # noqa: F401

    HAVE_DASK = True
except ImportError:
    HAVE_DASK = False
needs_dask = pytest.mark.skipif(
    not HAVE_DASK,
    reason="distributed is not installed (the Dask extra: pip install -e '.[dask]' or '.[dev]')",
)

IRIS_CSV = """
seed: 0
data: {path: flowers.csv, target: target, val_fraction: 0.2}
model: {kind: mlp, hidden: [8]}
optimizer: {name: adam, lr: 0.02}
train: {epochs: 4, batch_size: 16}
"""

# Runs long enough (about a second each here) to be caught in the middle by a kill or a Ctrl-C.
SLOW_COMPARE = [
    "compare-optimizers",
    CONFIGS / "digits-mlp.yaml",
    "-o",
    "sgd",
    "-o",
    "momentum",
    "-o",
    "adam",
    "--seeds",
    "2",
    "-s",
    "train.epochs=40",
    "-s",
    "train.early_stopping=null",
    "--no-plot",
]


# ---------------------------------------------------------------------------------------------
# Helpers


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def checkpoint_content(path: Path) -> dict:
    """Every array (dtype, shape, bytes) and the meta without its wall times."""
    with np.load(path, allow_pickle=False) as archive:
        content = {
            name: (archive[name].dtype.str, archive[name].shape, archive[name].tobytes())
            for name in archive.files
            if name != "meta"
        }
        content["meta"] = _without_timing(json.loads(str(archive["meta"])))
    return content


def assert_same_run(a: Path, b: Path) -> None:
    """Two run folders with the same files and the same bits, wall times and folder aside."""
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    assert (a / "config.yaml").read_bytes() == (b / "config.yaml").read_bytes()
    rows = [
        [
            _without_timing(json.loads(line))
            for line in (d / "metrics.jsonl").read_text().splitlines()
        ]
        for d in (a, b)
    ]
    assert rows[0] == rows[1] and rows[0]
    summaries = [json.loads((d / "summary.json").read_text()) for d in (a, b)]
    for summary, folder in zip(summaries, (a, b)):
        assert Path(summary.pop("run_dir")).name == folder.name
    assert _without_timing(summaries[0]) == _without_timing(summaries[1])
    for name in ("last.npz", "best.npz"):
        assert checkpoint_content(a / "checkpoints" / name) == checkpoint_content(
            b / "checkpoints" / name
        ), name


def assert_same_comparison(a: Path, b: Path) -> None:
    data = [json.loads((d / "comparison.json").read_text()) for d in (a, b)]
    assert without_wall_time(data[0]) == without_wall_time(data[1])
    tables = []
    for folder in (a, b):
        with open(folder / "comparison.csv", newline="") as handle:
            tables.append(
                [
                    {k: v for k, v in row.items() if "wall" not in k}
                    for row in csv.DictReader(handle)
                ]
            )
    assert tables[0] == tables[1] and len(tables[0]) == len(data[0]["runs"])
    for record in data[0]["runs"]:
        if record["run"]:
            assert_same_run(a / record["run"], b / record["run"])


def progress_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("[")]


def finished_folders(out: Path) -> dict[str, tuple[int, int]]:
    """Run folders holding a summary.json: name -> (inode, mtime) of that file."""
    found = {}
    for summary in out.glob("*/summary.json"):
        if summary.parent.name.startswith("."):  # a run folder being written (Dask executor)
            continue
        stat = summary.stat()
        found[summary.parent.name] = (stat.st_ino, stat.st_mtime_ns)
    return found


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def csv_config(folder: Path) -> Path:
    """A config whose data is a CSV file next to it (relative path): what a worker must be sent."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "datasets" / "iris.csv", folder / "flowers.csv")
    (folder / "iris.yaml").write_text(IRIS_CSV)
    return folder / "iris.yaml"


# ---------------------------------------------------------------------------------------------
# Fixtures: a cluster shared by the module, a fresh one for the test that kills a worker


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not HAVE_DASK:
        pytest.skip("distributed is not installed (the Dask extra)")
    from dask_cluster import LocalDaskCluster

    running = LocalDaskCluster(tmp_path_factory.mktemp("cluster"), n_workers=2)
    try:
        yield running.start()
    finally:
        running.close()


@pytest.fixture
def fresh_cluster(tmp_path):
    if not HAVE_DASK:
        pytest.skip("distributed is not installed (the Dask extra)")
    from dask_cluster import LocalDaskCluster

    running = LocalDaskCluster(tmp_path / "cluster", n_workers=2)
    try:
        yield running.start()
    finally:
        running.close()


@pytest.fixture(scope="module")
def slow_reference(tmp_path_factory):
    """SLOW_COMPARE run here: what every other way of running it must reproduce (--jobs 2,
    shown equal to --jobs 1 by the tests above and in test_compare.py, to save time)."""
    folder = tmp_path_factory.mktemp("reference")
    proc = run_nnctl(*SLOW_COMPARE, "--jobs", "2", "--out", folder / "out", "-q", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return folder / "out"


# ---------------------------------------------------------------------------------------------
# The same numbers everywhere


@needs_dask
def test_dask_gives_the_bits_of_jobs_1_with_the_data_shipped(cluster, tmp_path):
    client_dir = tmp_path / "client"
    config = csv_config(client_dir)
    common = [
        "compare-optimizers",
        config.name,
        "-o",
        "sgd",
        "-o",
        "adam",
        "-o",
        "lbfgs",
        "--seeds",
        "2",
        "--no-plot",
    ]
    local = run_nnctl(*common, "--jobs", "1", "--out", "local", "-q", cwd=client_dir)
    assert local.returncode == 0, local.stderr
    dask = run_nnctl(
        *common,
        "--executor",
        "dask",
        "--scheduler",
        cluster.address,
        "--out",
        "dask",
        cwd=client_dir,
    )
    assert dask.returncode == 0, dask.stderr + cluster.log("w0")
    assert "Traceback" not in dask.stderr
    assert len(progress_lines(dask.stderr)) == 6
    assert f"6 runs on the Dask cluster at {cluster.address}" in dask.stderr
    assert_same_comparison(client_dir / "local", client_dir / "dask")
    # no half-written folder is left behind
    assert not [p for p in (client_dir / "dask").iterdir() if p.name.startswith(".")]
    # the run's own config.yaml, replayed with nnctl train here, gives the same bits again
    replay = run_nnctl(
        "train", "dask/adam-seed1/config.yaml", "--out", "replay", "-q", cwd=client_dir
    )
    assert replay.returncode == 0, replay.stderr
    for name in ("last.npz", "best.npz"):
        replayed, shipped = (
            checkpoint_content(folder / "checkpoints" / name)
            for folder in (client_dir / "replay", client_dir / "dask" / "adam-seed1")
        )
        # base_dir: the folder of the config file given, here the run folder itself
        assert replayed["meta"].pop("base_dir") == str(client_dir / "dask" / "adam-seed1")
        assert shipped["meta"].pop("base_dir") == str(client_dir)
        assert replayed == shipped


@needs_dask
def test_a_sweep_on_generated_data_gives_the_bits_of_jobs_2(cluster, tmp_path):
    common = [
        "sweep",
        CONFIGS / "moons-mlp.yaml",
        "-s",
        "optimizer.lr=0.01,0.1",
        "-s",
        "train.epochs=3",
        "--no-plot",
        "-q",
    ]
    local = run_nnctl(*common, "--jobs", "2", "--out", tmp_path / "local", cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    env = {"DASK_SCHEDULER_ADDRESS": cluster.address}  # the address from the environment
    # with the plot: the client imports matplotlib while the cluster trains, then draws
    with_plot = [word for word in common if word != "--no-plot"]
    dask = run_nnctl(
        *with_plot, "--executor", "dask", "--out", tmp_path / "dask", cwd=tmp_path, env=env
    )
    assert dask.returncode == 0, dask.stderr
    assert_same_comparison(tmp_path / "local", tmp_path / "dask")
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "dask" / "curves.png").stat().st_size > 10_000


def test_the_worker_side_reads_only_the_shipped_bytes(tmp_path):
    """run_shipped trains from the files it is given even where the config's paths do not
    exist (another machine), and the folder written here equals a local run's."""
    from nnctl.compare import compare_plan
    from nnctl.compare.executors.shipping import (
        files_to_ship,
        run_shipped,
        write_run_folder,
    )
    from nnctl.compare.runner import execute

    config = csv_config(tmp_path / "client")
    plan = compare_plan(config, ["sgd", "lbfgs"], [])
    (tmp_path / "local").mkdir()
    (tmp_path / "shipped").mkdir()
    for task in plan.tasks:
        execute(task, str(tmp_path / "local"))
    cache: dict = {}
    shipped = [files_to_ship(task, cache) for task in plan.tasks]
    assert shipped[0].digest == shipped[1].digest  # one scatter serves both runs
    assert list(shipped[0].files) == ["data.path"]
    assert shipped[0].files["data.path"] == (
        str(tmp_path / "client" / "flowers.csv"),
        (tmp_path / "client" / "flowers.csv").read_bytes(),
    )
    (tmp_path / "client" / "flowers.csv").rename(tmp_path / "elsewhere.csv")
    for task, files in zip(plan.tasks, shipped):
        payload = run_shipped(task, files)
        result = write_run_folder(tmp_path / "shipped", task, payload)
        assert result["status"] in ("completed", "converged")
        assert result["summary"]["run_dir"] == str(tmp_path / "shipped" / task.folder)
        assert_same_run(tmp_path / "local" / task.folder, tmp_path / "shipped" / task.folder)


def test_a_refused_run_on_the_worker_is_recorded_with_this_machines_paths(tmp_path):
    """A data file that does not exist: skipped with the message a local run gives."""
    from nnctl.compare import compare_plan
    from nnctl.compare.executors.shipping import (
        files_to_ship,
        run_shipped,
        write_run_folder,
    )
    from nnctl.compare.runner import execute

    config = csv_config(tmp_path)
    plan = compare_plan(config, ["sgd"], [])
    (tmp_path / "flowers.csv").unlink()
    task = plan.tasks[0]
    assert files_to_ship(task) is None
    local = execute(task, str(tmp_path))
    remote = write_run_folder(tmp_path, task, run_shipped(task, None))
    assert remote == local and remote["status"] == "skipped" and "flowers.csv" in remote["message"]
    assert not (tmp_path / task.folder).exists()


# ---------------------------------------------------------------------------------------------
# Faults


@needs_dask
def test_a_worker_killed_mid_comparison_changes_nothing(fresh_cluster, slow_reference, tmp_path):
    proc = popen_nnctl(
        *SLOW_COMPARE,
        "--executor",
        "dask",
        "--scheduler",
        fresh_cluster.address,
        "--out",
        tmp_path / "out",
        cwd=tmp_path,
    )
    try:
        with fresh_cluster.client() as watcher:

            def busy_address():
                workers = watcher.scheduler_info()["workers"]
                address = next(a for a, info in workers.items() if info["name"] == "w1")
                return address if watcher.processing().get(address) else None

            wait_for(busy_address, 60, "worker w1 to take a run")
            time.sleep(0.3)  # well inside the run (about a second long)
            assert proc.poll() is None, "the comparison ended before the kill"
            fresh_cluster.kill_worker("w1")
            assert fresh_cluster.workers["w1"].returncode == -signal.SIGKILL
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert len(progress_lines(stderr)) == 6
    assert_same_comparison(slow_reference, tmp_path / "out")


@needs_dask
def test_an_interrupted_comparison_resumes_with_only_the_missing_runs(
    cluster, slow_reference, tmp_path
):
    out = tmp_path / "out"
    proc = popen_nnctl(
        *SLOW_COMPARE,
        "--executor",
        "dask",
        "--scheduler",
        cluster.address,
        "--out",
        out,
        cwd=tmp_path,
    )
    try:
        wait_for(lambda: finished_folders(out), 120, "a first finished run")
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert_clean_error(done, 130, "interrupted:", f"--resume {out}")
    kept = finished_folders(out)
    assert 1 <= len(kept) < 6, stderr
    assert not (out / "comparison.json").exists()

    resumed = run_nnctl(
        "compare-optimizers",
        "--resume",
        out,
        "--executor",
        "dask",
        "--scheduler",
        cluster.address,
        "--no-plot",
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert (
        f"{len(kept)} of 6 runs are finished; running the other {6 - len(kept)}" in resumed.stderr
    )
    lines = progress_lines(resumed.stderr)
    assert len(lines) == 6 - len(kept)
    assert not any(f" {name.replace('-seed', ' (seed ')})" in " ".join(lines) for name in kept)
    now = finished_folders(out)
    assert {name: now[name] for name in kept} == kept  # the finished runs were not touched
    assert len(now) == 6
    assert_same_comparison(slow_reference, out)


def test_a_local_comparison_interrupted_mid_run_resumes_to_the_same_numbers(tmp_path):
    common = [
        "compare-optimizers",
        CONFIGS / "iris-softmax.yaml",
        "-o",
        "sgd",
        "-o",
        "adam",
        "-o",
        "lbfgs",
        "-s",
        "train.epochs=6",
        "--no-plot",
        "-q",
    ]
    whole = run_nnctl(*common, "--out", tmp_path / "whole", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    # The first run stops at step 3, as a Ctrl-C there would (tests/fault_launch.py).
    stopped = run_nnctl_with_fault(
        "interrupt-at-step", 3, *common, "--out", tmp_path / "cut", cwd=tmp_path
    )
    assert_clean_error(
        stopped,
        130,
        "interrupted: 0 of 3 runs",
        f"nnctl compare-optimizers --resume {tmp_path / 'cut'}",
    )
    assert (
        json.loads((tmp_path / "cut" / "sgd" / "summary.json").read_text())["status"]
        == "interrupted"
    )
    resumed = run_nnctl(
        "compare-optimizers", "--resume", tmp_path / "cut", "--no-plot", cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    assert len(progress_lines(resumed.stderr)) == 3
    assert_same_comparison(tmp_path / "whole", tmp_path / "cut")


def test_jobs_2_interrupted_in_this_process_resumes_to_the_same_numbers(tmp_path):
    """With --jobs 2 this process trains runs too: a Ctrl-C in its own run stops the
    comparison with the state kept (exit 130), and --resume finishes it with the numbers of an
    uninterrupted --jobs 1."""
    common = [
        "compare-optimizers",
        CONFIGS / "iris-softmax.yaml",
        "-o",
        "sgd",
        "-o",
        "adam",
        "-o",
        "rmsprop",
        "-o",
        "lbfgs",
        "-s",
        "train.epochs=6",
        "--no-plot",
        "-q",
    ]
    whole = run_nnctl(*common, "--out", tmp_path / "whole", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    # The interrupt is injected in this process only (the worker is a fresh interpreter).
    stopped = run_nnctl_with_fault(
        "interrupt-at-step", 3, *common, "--jobs", "2", "--out", tmp_path / "cut", cwd=tmp_path
    )
    assert_clean_error(
        stopped, 130, "runs finished and are kept in", "--resume", str(tmp_path / "cut")
    )
    statuses = [
        json.loads(p.read_text())["status"] for p in (tmp_path / "cut").glob("*/summary.json")
    ]
    assert "interrupted" in statuses
    resumed = run_nnctl(
        "compare-optimizers",
        "--resume",
        tmp_path / "cut",
        "--jobs",
        "2",
        "--no-plot",
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert 1 <= len(progress_lines(resumed.stderr)) <= 4
    assert_same_comparison(tmp_path / "whole", tmp_path / "cut")


def test_resume_runs_only_missing_or_unfinished_run_folders(tmp_path):
    out = tmp_path / "sw"
    first = run_nnctl(
        "sweep",
        CONFIGS / "moons-mlp.yaml",
        "-s",
        "optimizer.lr=0.01,0.03,0.1",
        "-s",
        "train.epochs=3",
        "--out",
        out,
        "--no-plot",
        "-q",
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    shutil.copytree(out, tmp_path / "whole")
    names = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(names) == 3
    shutil.rmtree(out / names[0])  # never ran
    (out / names[1] / "summary.json").unlink()  # stopped half-way (no summary yet)
    kept = finished_folders(out)
    resumed = run_nnctl("sweep", "--resume", out, "--jobs", "2", "--no-plot", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    lines = progress_lines(resumed.stderr)
    assert len(lines) == 2 and all(line.startswith(("[2/3]", "[3/3]")) for line in lines)
    assert finished_folders(out)[names[2]] == kept[names[2]]
    assert_same_comparison(tmp_path / "whole", out)
    again = run_nnctl("sweep", "--resume", out, "--no-plot", cwd=tmp_path)  # nothing missing
    assert again.returncode == 0 and progress_lines(again.stderr) == []
    assert "3 of 3 runs are finished; running the other 0" in again.stderr


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--executor", "spark"], ["--executor: expected one of local, dask, found 'spark'"]),
        (["--scheduler", "tcp://127.0.0.1:1"], ["--scheduler: applies to --executor dask"]),
        (
            ["--executor", "dask", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:1"],
            ["--jobs 2: applies to --executor local"],
        ),
        (["--executor", "dask"], ["--executor dask: give --scheduler", "DASK_SCHEDULER_ADDRESS"]),
    ],
)
def test_executor_options_are_checked(tmp_path, args, fragments):
    env = {"DASK_SCHEDULER_ADDRESS": ""}
    proc = run_nnctl(
        "compare-optimizers",
        CONFIGS / "iris-softmax.yaml",
        "-o",
        "adam",
        *args,
        "--out",
        tmp_path / "out",
        cwd=tmp_path,
        env=env,
    )
    assert_clean_error(proc, 2, *fragments)
    assert not (tmp_path / "out").exists()  # checked before any folder is made


def test_without_the_dask_extra_local_runs_and_dask_says_how_to_install_it(tmp_path):
    fake = tmp_path / "fake-site" / "distributed"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("No module named distributed")\n')
    paths = [str(tmp_path / "fake-site"), os.environ.get("PYTHONPATH", "")]
    env = {"PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    common = [
        "sweep",
        CONFIGS / "iris-softmax.yaml",
        "-s",
        "optimizer.lr=0.1,0.2",
        "-s",
        "train.epochs=1",
        "--no-plot",
        "-q",
    ]
    local = run_nnctl(*common, "--jobs", "2", "--out", tmp_path / "local", cwd=tmp_path, env=env)
    assert local.returncode == 0, local.stderr
    dask = run_nnctl(
        *common,
        "--executor",
        "dask",
        "--scheduler",
        "tcp://127.0.0.1:8786",
        "--out",
        tmp_path / "dask",
        cwd=tmp_path,
        env=env,
    )
    assert_clean_error(
        dask, 2, "--executor dask: needs the Dask extra", 'pip install "nnctl[dask]"'
    )
    assert not (tmp_path / "dask").exists()


@needs_dask
def test_an_unreachable_scheduler_is_a_usage_error(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = run_nnctl(
        "sweep",
        CONFIGS / "iris-softmax.yaml",
        "-s",
        "optimizer.lr=0.1,0.2",
        "--executor",
        "dask",
        "--scheduler",
        f"tcp://127.0.0.1:{port}",
        "--out",
        tmp_path / "out",
        cwd=tmp_path,
        env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"},
    )
    assert_clean_error(
        proc, 2, f"--scheduler tcp://127.0.0.1:{port}: cannot reach a Dask scheduler"
    )
    assert not (tmp_path / "out").exists()  # checked before any folder is made


@pytest.mark.parametrize(
    "args, fragments",
    [
        (
            ["compare-optimizers", "CONFIG", "--resume", "DIR"],
            ["--resume: finishes the folder's own plan; drop CONFIG"],
        ),
        (["compare-optimizers", "--resume", "DIR", "-o", "adam"], ["drop -o"]),
        (["sweep", "--resume", "DIR", "-s", "optimizer.lr=0.1,0.2"], ["drop -s"]),
        (
            ["sweep", "--resume", "DIR"],
            ["is a compare-optimizers folder; resume it with nnctl compare-optimizers --resume"],
        ),
        (
            ["compare-optimizers", "--resume", "EMPTY"],
            ["no plan.json; not a comparison or sweep folder"],
        ),
        (
            ["compare-optimizers", "--resume", "MISSING"],
            ["--resume expects a comparison or sweep folder, found nothing there"],
        ),
        (["sweep"], ["missing CONFIG: nnctl sweep CONFIG.yaml"]),
    ],
)
def test_resume_usage_errors(tmp_path, args, fragments):
    folder = tmp_path / "cmp"
    made = run_nnctl(
        "compare-optimizers",
        CONFIGS / "iris-softmax.yaml",
        "-o",
        "adam",
        "-s",
        "train.epochs=1",
        "--out",
        folder,
        "--no-plot",
        "-q",
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    (tmp_path / "empty").mkdir()
    names = {
        "CONFIG": CONFIGS / "iris-softmax.yaml",
        "DIR": folder,
        "EMPTY": tmp_path / "empty",
        "MISSING": tmp_path / "missing",
    }
    proc = run_nnctl(*[names.get(a, a) for a in args], cwd=tmp_path)
    assert_clean_error(proc, 2, *fragments)


# ---------------------------------------------------------------------------------------------
# BLAS threads: part of the resolved config


def recorded_threads(run: Path) -> int:
    import yaml

    return yaml.safe_load((run / "config.yaml").read_text())["train"]["threads"]


def test_threads_resolve_to_a_number_and_comparisons_use_one(tmp_path):
    from nnctl.config import load_config

    config = csv_config(tmp_path)
    # auto stays auto until the trainer knows the data's shape (tests/test_threads_auto.py).
    assert load_config(config)["train"]["threads"] == "auto"
    assert load_config(config, ["train.threads=3"])["train"]["threads"] == 3
    shown = run_nnctl("config", "show", config, "-s", "train.threads=auto", cwd=tmp_path)
    assert "threads: auto" in shown.stdout
    proc = run_nnctl(
        "sweep",
        config,
        "-s",
        "optimizer.lr=0.01,0.1",
        "-s",
        "train.epochs=1",
        "--out",
        "sw",
        "--no-plot",
        "-q",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    for run in (tmp_path / "sw").iterdir():
        if run.is_dir():
            assert recorded_threads(run) == 1
    proc = run_nnctl(
        "compare-optimizers",
        config,
        "-o",
        "sgd",
        "-s",
        "train.threads=2",
        "-s",
        "train.epochs=1",
        "--out",
        "two",
        "--no-plot",
        "-q",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert recorded_threads(tmp_path / "two" / "sgd") == 2


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "many", "true"])
def test_bad_threads_name_the_key(tmp_path, value):
    config = csv_config(tmp_path)
    proc = run_nnctl("config", "validate", config, "-s", f"train.threads={value}", cwd=tmp_path)
    assert_clean_error(proc, 2, f"-s train.threads={value}: expected auto or an integer >= 1")


def _blas_threads_now() -> int:
    from threadpoolctl import threadpool_info

    return min(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")


def test_blas_threads_sets_and_restores_the_count():
    from nnctl.util.threads import blas_threads

    before = _blas_threads_now()
    with blas_threads(1):
        assert _blas_threads_now() == 1
        with blas_threads(2):  # nested in one thread: applies at once
            assert _blas_threads_now() == 2
        assert _blas_threads_now() == 1
    assert _blas_threads_now() == before


THREADED_RUNS = """
import threading, time
from threadpoolctl import threadpool_info
from nnctl.util.threads import blas_threads

def now():
    return min(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

events = []
both_in = threading.Barrier(2, timeout=10)
overlapping = threading.Event()

def one_thread_run(name):
    with blas_threads(1):
        both_in.wait()  # both runs are inside at the same time
        overlapping.set()
        events.append((name, "in", now()))
        time.sleep(0.2)
        events.append((name, "out", now()))

def two_thread_run():
    overlapping.wait(timeout=10)
    with blas_threads(2):
        events.append(("c", "in", now()))

threads = [threading.Thread(target=one_thread_run, args=(n,)) for n in "ab"]
threads.append(threading.Thread(target=two_thread_run))
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=20)
print(events)
"""


def test_runs_on_threads_of_one_process_keep_their_count():
    """Two runs with 1 thread overlap; a run with 2 waits until both have finished, so no
    run's count changes under it (threads of a fresh process, as in a Dask worker)."""
    proc = subprocess.run(
        [sys.executable, "-c", THREADED_RUNS], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    events = ast.literal_eval(proc.stdout)  # the list of tuples the script printed
    assert [e[2] for e in events[:4]] == [1, 1, 1, 1], events
    assert events[4] == ("c", "in", 2)
    assert sorted(e[1] for e in events[:4]) == ["in", "in", "out", "out"]
