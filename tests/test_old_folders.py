"""Folders written by an nnctl from before a config section existed (here `logging`) still
resume: the section takes its defaults, finished runs are recognised, nothing retrains twice."""

from __future__ import annotations

import json
import shutil

import yaml

from conftest import run_nnctl


def drop_section(config: dict, section: str) -> dict:
    return {key: value for key, value in config.items() if key != section}


def test_a_comparison_folder_without_the_logging_section_resumes(tmp_path):
    out = tmp_path / "cmp"
    done = run_nnctl(
        "compare-optimizers", "iris-softmax", "-o", "sgd", "-o", "adam",
        "-s", "train.epochs=2", "--out", out, "-q", "--no-plot", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    before = {r["label"]: r for r in json.loads(done.stdout)["runs"]}
    # What an older nnctl wrote: no `logging` in plan.json's configs or the runs' config.yaml.
    plan = json.loads((out / "plan.json").read_text())
    for task in plan["tasks"]:
        task["cfg"] = drop_section(task["cfg"], "logging")
    (out / "plan.json").write_text(json.dumps(plan))
    for task in plan["tasks"]:
        path = out / task["folder"] / "config.yaml"
        path.write_text(yaml.safe_dump(drop_section(yaml.safe_load(path.read_text()), "logging")))
    finished = out / plan["tasks"][0]["folder"]
    mtime = (finished / "checkpoints" / "last.npz").stat().st_mtime_ns
    unfinished = out / plan["tasks"][1]["folder"]
    shutil.rmtree(unfinished)  # the second run never happened
    resumed = run_nnctl("compare-optimizers", "--resume", out, "-q", "--no-plot", "--json")
    assert resumed.returncode == 0, resumed.stderr
    after = {r["label"]: r for r in json.loads(resumed.stdout)["runs"]}
    assert (finished / "checkpoints" / "last.npz").stat().st_mtime_ns == mtime  # not retrained
    assert (unfinished / "summary.json").is_file()
    for label, row in before.items():  # and the same numbers as the uninterrupted comparison
        assert after[label]["final_train_loss"] == row["final_train_loss"], label
