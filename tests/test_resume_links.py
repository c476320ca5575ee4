"""--resume never writes through a symbolic link in the run folder (found by the long
adversarial mode: a run whose checkpoints/ was a link to a folder outside had the files there
rewritten). A linked checkpoints/, checkpoint or metrics.jsonl: exit 2 naming the link, and
the files it leads to are unchanged."""

from __future__ import annotations

import shutil

import pytest

from conftest import assert_clean_error, run_nnctl


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    proc = run_nnctl(
        "train", "iris-softmax", "-q", "--out", folder / "run", "-s", "train.epochs=2", cwd=folder
    )
    assert proc.returncode == 0, proc.stderr
    return folder / "run"


@pytest.mark.parametrize("name", ["checkpoints", "checkpoints/last.npz", "metrics.jsonl"])
def test_resume_refuses_a_run_folder_with_a_link_leading_out(tmp_path, trained, name):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    outside = tmp_path / "outside" / name.replace("/", "_")
    outside.parent.mkdir()
    shutil.move(run / name, outside)
    (run / name).symlink_to(outside)
    before = {p: p.read_bytes() for p in outside.parent.rglob("*") if p.is_file()}
    proc = run_nnctl("train", "--resume", run, "-q", cwd=tmp_path)
    assert_clean_error(proc, 2, f"{run / name}: is a symbolic link (to {outside})")
    assert {p: p.read_bytes() for p in outside.parent.rglob("*") if p.is_file()} == before
