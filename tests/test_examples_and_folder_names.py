"""`nnctl examples` shows each description's whole first sentence (wrapped on a terminal, never
cut), and automatic comparison folder names stay short: at most 48 characters, the settings that
do not fit replaced by a short stable hash (issue 21, part 5)."""

from __future__ import annotations

import json
import re

import pytest

from conftest import run_nnctl
from nnctl import examples
from nnctl.api.commands import FOLDER_NAME_LIMIT, named_by_settings


@pytest.mark.parametrize(
    "text, sentence",
    [
        ("One. Two.", "One."),
        ("By Newton-Raphson: a handful of\niterations. l2 = 0.005 is C ~ 0.44.", None),
        ("An MLP on 8x8 digits (1,797 images. 10 classes). Then more.", None),
        ('Rate (the lecture\'s "should decrease"). More.', None),
        ("Compare, e.g. sgd and adam, side by side. More.", None),
        ("No sentence end here", "No sentence end here"),
    ],
)
def test_first_sentence_is_whole(text, sentence):
    expected = {
        "By Newton-Raphson: a handful of\niterations. l2 = 0.005 is C ~ 0.44.": (
            "By Newton-Raphson: a handful of iterations."
        ),
        "An MLP on 8x8 digits (1,797 images. 10 classes). Then more.": (
            "An MLP on 8x8 digits (1,797 images. 10 classes)."
        ),
        'Rate (the lecture\'s "should decrease"). More.': 'Rate (the lecture\'s "should decrease").',
        "Compare, e.g. sgd and adam, side by side. More.": (
            "Compare, e.g. sgd and adam, side by side."
        ),
    }
    assert examples.first_sentence(text) == (sentence or expected[text])


def test_every_example_is_listed_with_its_whole_first_sentence(tmp_path):
    proc = run_nnctl("examples", cwd=tmp_path)  # a pipe: one line per example
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(examples.names())
    for name, line in zip(examples.names(), lines):
        listed = line[len(name) :].strip()
        assert line.startswith(name) and listed == examples.summary(name)
        assert listed.rstrip(")\"'").endswith((".", "!", "?")), line
        assert "..." not in listed
        # the paragraph the example opens with starts with exactly this sentence
        assert examples.description(name).startswith(listed)
    breast = lines[examples.names().index("breast-cancer-logreg")]
    assert breast.endswith("by Newton-Raphson: a handful of iterations on the whole training "
                           "objective.")  # fmt: skip


def test_a_narrow_terminal_wraps_descriptions_instead_of_cutting_them():
    pty = pytest.importorskip("pty")
    import os
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "60", "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "nnctl", "examples"], stdout=follower, stderr=subprocess.PIPE,
        env=env, timeout=60,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.returncode == 0, proc.stderr
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    assert max(len(line) for line in text.splitlines()) <= 60
    assert "..." not in text
    joined = " ".join(text.split())
    for name in examples.names():
        assert f"{name} {examples.summary(name)}" in joined


def test_folder_names_are_capped_with_a_stable_hash():
    short = named_by_settings("iris-softmax", "compare", ["adam", "sgd:lr=0.2"])
    assert short == "iris-softmax-compare-adam-sgd_lr=0.2"
    parts = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "lbfgs"]
    long = named_by_settings("digits-mlp", "compare", parts)
    assert len(long) <= FOLDER_NAME_LIMIT == 48
    assert re.fullmatch(r"digits-mlp-compare-sgd-momentum(-nesterov)?-[0-9a-f]{8}", long), long
    assert named_by_settings("digits-mlp", "compare", parts) == long  # stable
    other = named_by_settings("digits-mlp", "compare", [*parts[:-1], "bfgs"])
    assert other != long and len(other) <= 48  # another comparison, another name
    huge = named_by_settings("x" * 100, "sweep", ["lr"])
    assert len(huge) <= 48 and huge.startswith("x" * 30)


def test_a_comparison_of_many_optimizers_gets_a_short_folder(tmp_path):
    optimizers = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam"]
    words = [w for name in optimizers for w in ("-o", name)]
    proc = run_nnctl(
        "compare-optimizers", "iris-softmax", *words, "-s", "train.epochs=1", "--no-plot",
        "-q", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / json.loads(proc.stdout)["out"]
    assert folder.parent == tmp_path / "runs"
    assert len(folder.name) <= 48
    assert folder.name.startswith("iris-softmax-compare-sgd-")
    plan = json.loads((folder / "plan.json").read_text())
    assert [task["label"] for task in plan["tasks"]] == optimizers  # the full settings are there
