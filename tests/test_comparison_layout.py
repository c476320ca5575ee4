"""What --force on compare-optimizers and sweep may replace (compare/folder_layout.py): folders
laid out as nnctl writes comparisons (plain, tuned, several configs, landscapes) or empty ones;
never one holding anything else, a file or a symbolic link. Built by hand here, so every kind is
checked without running the comparisons (test_cli_betrayals.py runs the real ones)."""

from __future__ import annotations

import os

import pytest

from nnctl.compare.folder_layout import COMPARISON_LAYOUT, clear_for_force
from nnctl.errors import UsageError
from nnctl.util.ownership import is_own


def run_folder(path):
    (path / "checkpoints").mkdir(parents=True)
    (path / "config.yaml").write_text("seed: 0\n")
    (path / "metrics.jsonl").write_text("{}\n")
    (path / "summary.json").write_text("{}\n")
    (path / "checkpoints" / "last.npz").write_bytes(b"x")


def comparison(path, runs=("sgd", "adam")):
    path.mkdir(parents=True)
    for name in ("plan.json", "comparison.json", "comparison.csv", "curves.png"):
        (path / name).write_text("x")
    for run in runs:
        run_folder(path / run)
    return path


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # --out paths are checked against the current folder


def test_plain_tuned_ranked_and_landscape_folders_are_nnctls(tmp_path):
    plain = comparison(tmp_path / "plain")
    tuned = comparison(tmp_path / "tuned")
    for name in ("tuning.csv", "sensitivity.png"):
        (tuned / name).write_text("x")
    run_folder(tuned / "trials" / "sgd-lr0.01")
    run_folder(tuned / "trials" / "sgd-lr0.1")
    (tuned / ".adam.x1y2.partial").mkdir()  # a run a worker was still sending
    ranked = tmp_path / "ranked"
    comparison(ranked / "iris-softmax")
    comparison(ranked / "wine-softmax")
    for name in ("ranking.json", "ranking.csv", "profile.png"):
        (ranked / name).write_text("x")
    landscape = tmp_path / "landscape"
    landscape.mkdir()
    (landscape / "landscape.json").write_text("{}")
    (landscape / "landscape.png").write_text("x")
    for folder in (plain, tuned, ranked, landscape):
        assert is_own(folder, COMPARISON_LAYOUT), folder
        clear_for_force(folder)
        assert folder.is_dir() and os.listdir(folder) == []


@pytest.mark.parametrize(
    "spoil, named",
    [
        (lambda f: (f / "notes.txt").write_text("mine"), "notes.txt"),
        (lambda f: (f / "sgd" / "draft.md").write_text("mine"), "sgd"),
        (lambda f: (f / "trials").mkdir() or (f / "trials" / "x.txt").write_text("m"), "trials"),
        (lambda f: (f / "photos").mkdir() or (f / "photos" / "a.jpg").write_text("m"), "photos"),
    ],
)
def test_a_comparison_holding_anything_else_is_refused_untouched(tmp_path, spoil, named):
    folder = comparison(tmp_path / "c")
    spoil(folder)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    with pytest.raises(UsageError, match="holds files nnctl did not write") as info:
        clear_for_force(folder)
    assert named in str(info.value)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


def test_folders_that_are_no_comparison_are_refused(tmp_path):
    run = tmp_path / "a-run"
    run_folder(run)
    with pytest.raises(UsageError, match="not a comparison folder nnctl wrote"):
        clear_for_force(run)
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "draft.tex").write_text("x")
    with pytest.raises(UsageError, match=r"it holds draft.tex"):
        clear_for_force(papers)
    target = comparison(tmp_path / "real")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(UsageError, match="symbolic link"):
        clear_for_force(tmp_path / "link")
    assert (target / "plan.json").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        clear_for_force(tmp_path / "file")


def test_missing_or_empty_folders_are_fine_and_the_current_folder_never(tmp_path):
    clear_for_force(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    clear_for_force(tmp_path / "empty")
    assert not (tmp_path / "new").exists() and (tmp_path / "empty").is_dir()
    with pytest.raises(UsageError, match="the current folder"):
        clear_for_force(tmp_path)
