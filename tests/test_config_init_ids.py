"""`config init` leaves out columns that look like identifiers (issue 21, part 6): biopsy's `ID`
(645 distinct integers in 699 rows: some patients have several samples) is a record number, not
a measurement. The reason is in the starter's comment; `keep` uses such a column anyway."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from conftest import run_nnctl
from nnctl.config.starter import starter_config
from nnctl.data.profile import profile_table
from nnctl.errors import UsageError


def _biopsy_like(path, n_rows=699, n_ids=645):
    """A table shaped like MASS::biopsy: an ID repeated on a few rows, nine 1-10 scores, a
    class; plus `weight_g`, an integer measurement with mostly distinct values."""
    rng = np.random.default_rng(0)
    ids = np.concatenate([np.arange(n_ids), rng.choice(n_ids, n_rows - n_ids)]) + 1_000_000
    rng.shuffle(ids)
    scores = rng.integers(1, 11, size=(n_rows, 9))
    weight = rng.permutation(np.arange(1000, 1000 + n_rows * 3, 3))
    label = np.where(scores.sum(axis=1) > 50, "malignant", "benign")
    lines = ["ID," + ",".join(f"V{i}" for i in range(1, 10)) + ",weight_g,class"]
    for i in range(n_rows):
        cells = [str(ids[i]), *map(str, scores[i]), str(weight[i]), label[i]]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return ids


@pytest.fixture
def biopsy(tmp_path):
    path = tmp_path / "biopsy.csv"
    ids = _biopsy_like(path)
    assert len(np.unique(ids)) == 645
    return path


def test_profile_leaves_out_id_like_columns_with_the_reason(biopsy, tmp_path):
    facts = {c.name: c for c in profile_table(biopsy, "class").columns}
    assert facts["ID"].drop_reason == (
        "named like an identifier, 645 distinct integers in 699 rows: a record number, "
        "not a measurement"
    )
    assert facts["weight_g"].drop_reason == (
        "699 distinct integers in 699 rows: looks like a record number, not a measurement"
    )
    assert all(facts[f"V{i}"].drop_reason is None for i in range(1, 10))
    # Text identifiers named so, even when repeated: a patient code on several rows.
    text = tmp_path / "codes.csv"
    codes = [f"P{i % 40:03d}" for i in range(60)]
    text.write_text(
        "patient_id,x,y\n" + "".join(f"{c},{i % 7},{i % 2}\n" for i, c in enumerate(codes))
    )
    (patient, _) = profile_table(text, "y").columns
    assert (
        patient.drop_reason
        == "named like an identifier, 40 distinct values in 60 rows: an identifier"
    )


def test_few_distinct_integers_named_like_an_id_stay(tmp_path):
    """A `group_id` of 3 codes is a category, not a record number."""
    path = tmp_path / "groups.csv"
    path.write_text("group_id,x,y\n" + "".join(f"{i % 3},{i * 0.5},{i % 2}\n" for i in range(60)))
    (group, x) = profile_table(path, "y").columns
    assert group.drop_reason is None and x.drop_reason is None


def test_starter_says_why_and_keep_takes_one_back(biopsy, tmp_path):
    proc = run_nnctl("config", "init", "--data", biopsy, "--target", "class", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert "#   ID: named like an identifier, 645 distinct integers in 699 rows" in text
    assert "--keep COLUMN" in text
    assert yaml.safe_load(text)["data"]["drop"] == ["ID", "weight_g"]

    kept = starter_config(str(biopsy), "class", keep=["weight_g"])
    assert yaml.safe_load(kept)["data"]["drop"] == ["ID"]
    assert "#   weight_g: numeric; kept (--keep) although it looks like: 699 distinct" in kept
    with pytest.raises(UsageError, match="--keep Weight: .*biopsy.csv has no such feature column"):
        starter_config(str(biopsy), "class", keep=["Weight"])


def test_the_starter_trains_without_the_id(biopsy, tmp_path):
    config = tmp_path / "biopsy.yaml"
    config.write_text(starter_config(str(biopsy), "class"))
    proc = run_nnctl("train", config, "--out", tmp_path / "run", "--json", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    import json

    with np.load(tmp_path / "run" / "checkpoints" / "last.npz") as archive:
        meta = json.loads(str(archive["meta"]))
    assert meta["feature_names"] == [f"V{i}" for i in range(1, 10)]
