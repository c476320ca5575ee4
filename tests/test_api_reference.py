"""docs/api-reference.md is generated from the public API's docstrings and kept current."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO

# The page documents the estimators too, which need scikit-learn (the dev extra has it; the
# oldest-versions job, which runs tests/test_api*.py, has only the core).
pytest.importorskip("sklearn", reason="the estimators' part of the page needs scikit-learn")


def test_the_api_reference_page_is_current():
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "api_reference.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_the_page_documents_every_public_name():
    import nnctl

    text = (REPO / "docs" / "api-reference.md").read_text(encoding="utf-8")
    for name in nnctl.__all__:
        if not name.startswith("__") and name != "CHECKPOINT_FORMAT":
            assert f"`nnctl.{name}(" in text or f"`{name}" in text, name
    for method in ("Run.predict(", "Run.predict_proba(", "Run.evaluate(", "Run.history`"):
        assert method in text, method
    assert "### `NNClassifier(" in text and "### `NNRegressor(" in text
