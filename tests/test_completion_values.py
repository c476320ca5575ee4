"""Shell completion of what a new user types next (issue 21, part 5): `nnctl train iris<TAB>`
(example names and .yaml files), `-o <TAB>` (optimizer names), enum options (their values),
`--data` where a dataset may be named, and `-s data.name=<TAB>` (dataset names). Asked as a
shell asks: the completion request of Typer's zsh protocol, to a real `nnctl` process."""

from __future__ import annotations

import re

import pytest

from conftest import run_nnctl


def complete(line: str, cwd) -> list[str]:
    """The words nnctl offers for `line` (zsh's request; the other shells get the same words)."""
    proc = run_nnctl(env={"_NNCTL_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line}, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return re.findall(r'"((?:[^"\\]|\\.)*)"', proc.stdout)


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "iris-mine.yaml").write_text("data: {name: iris}\n")
    (tmp_path / "iris-notes.txt").write_text("not a config\n")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "wine.yml").write_text("data: {name: wine}\n")
    return tmp_path


def test_config_completes_example_names_and_yaml_files(folder):
    from nnctl import examples

    for command in ("train", "gradcheck", "sweep", "config show", "compare-optimizers"):
        got = complete(f"nnctl {command} iris", folder)
        assert got == ["iris-softmax", "iris-mine.yaml"], command
    assert complete("nnctl train configs/", folder) == ["configs/wine.yml"]
    everything = complete("nnctl train ", folder)
    assert everything[: len(examples.names())] == examples.names()
    assert "iris-mine.yaml" in everything and "configs/" in everything
    assert "iris-notes.txt" not in everything


def test_optimizer_option_completes_optimizer_names(folder):
    from nnctl.config.sections import registries

    names = registries()["optimizer"].names()
    assert complete("nnctl compare-optimizers iris-softmax -o ", folder) == names
    assert complete("nnctl compare-optimizers iris-softmax -o ad", folder) == [
        n for n in names if n.startswith("ad")
    ]
    assert "lbfgs" in complete("nnctl compare-optimizers x --optimizer lb", folder)


@pytest.mark.parametrize(
    "line, expected",
    [
        ("nnctl eval RUN --checkpoint ", ["delivered", "best", "last"]),
        ("nnctl predict RUN data.csv --checkpoint b", ["best"]),
        ("nnctl eval RUN --split ", ["val", "train", "all"]),
        ("nnctl eval RUN --format n", ["npz", "npy"]),
        ("nnctl sweep x --executor ", ["local", "dask"]),
        ("nnctl compare-optimizers x --tune lr --search ", ["grid", "random"]),
        ("nnctl compare-optimizers --landscape ", ["rosenbrock", "beale", "canyon", "saddle"]),
        ("nnctl config init --data t.csv --model ", ["linreg", "logreg", "softmax", "mlp"]),
    ],
)
def test_options_with_choices_complete_them(line, expected, folder):
    assert complete(line, folder) == expected


def test_dataset_names_where_a_dataset_is_asked(folder):
    assert complete("nnctl eval RUN --data ir", folder) == [
        "iris",
        "iris-mine.yaml",
        "iris-notes.txt",
    ]
    assert complete("nnctl train iris-softmax -s data.name=w", folder) == ["data.name=wine"]
    from nnctl.config.sections import registries

    every = complete("nnctl train iris-softmax data.name=", folder)
    assert every == [f"data.name={n}" for n in registries()["dataset"].names()]


def test_settings_still_complete_keys_and_choices(folder):
    assert "optimizer.lr=" in complete("nnctl train x.yaml -s optim", folder)
    assert complete("nnctl train x.yaml -s optimizer.name=ad", folder) == [
        "optimizer.name=adadelta",
        "optimizer.name=adagrad",
        "optimizer.name=adam",
        "optimizer.name=adamw",
    ]
    assert "optimizer.lr=" in complete("nnctl compare-optimizers iris-softmax optimizer.l", folder)
