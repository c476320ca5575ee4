"""Start-up: importing the CLI and asking any command for `--help` loads none of the heavy
modules (NumPy, matplotlib, the data readers, the optimizers, the engine). Commands import
what they need when they run, so help and usage errors come back at once.

The check runs in a fresh interpreter (this test process has imported everything already),
prints the help of every command and sub-command, and records after each which modules are
loaded; a failure names the command and the modules it pulled in."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Prefixes of module names --help must not load.
HEAVY = (
    "numpy",
    "matplotlib",
    "nnctl.data",
    "nnctl.optim",
    "nnctl.nn",
    "nnctl.training",
    "nnctl.compare",
    "nnctl.config",
)

PROBE = r"""
import io, json, sys
from contextlib import redirect_stdout
import typer
import nnctl.cli.app

loaded = {"import nnctl.cli": sorted(sys.modules)}
root = typer.main.get_command(nnctl.cli.app.app)

def command_paths(command, path):
    yield path
    for name in sorted(getattr(command, "commands", {})):
        yield from command_paths(command.commands[name], [*path, name])

helps = {}
for path in command_paths(root, []):
    out = io.StringIO()
    with redirect_stdout(out):
        try:
            root.main(args=[*path, "--help"], prog_name="nnctl", standalone_mode=False)
        except SystemExit:
            pass
    name = " ".join(["nnctl", *path, "--help"])
    helps[name] = out.getvalue()
    loaded[name] = sorted(sys.modules)
json.dump({"loaded": loaded, "helps": helps}, sys.stderr)
"""


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in HEAVY)]


def test_help_of_every_command_loads_no_heavy_module():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stderr)
    helps = report["helps"]
    # the probe really printed each command's help (and found the sub-commands)
    assert {"nnctl --help", "nnctl train --help", "nnctl config show --help"} <= set(helps)
    assert "Usage: nnctl train" in helps["nnctl train --help"]
    assert all("Usage:" in text for text in helps.values())
    offenders = {step: heavy(modules) for step, modules in report["loaded"].items()}
    offenders = {step: found for step, found in offenders.items() if found}
    assert not offenders, "\n".join(
        f"{step}: loads {', '.join(found[:8])}"
        f"{f' and {len(found) - 8} more' if len(found) > 8 else ''}"
        for step, found in offenders.items()
    )


def test_the_check_recognises_heavy_modules():
    assert heavy(
        [
            "numpy",
            "numpy.linalg",
            "matplotlib.pyplot",
            "nnctl.optim.first_order.adam",
            "nnctl.data.csv_reader",
            "nnctl.errors",
            "numpyish",
            "nnctl.cli",
        ]
    ) == [
        "numpy",
        "numpy.linalg",
        "matplotlib.pyplot",
        "nnctl.optim.first_order.adam",
        "nnctl.data.csv_reader",
    ]


LAZY_PROBE = r"""
import json, sys
from nnctl.data import BatchIterator, Standardizer
after_batches = sorted(m for m in sys.modules if m.startswith("nnctl."))
import nnctl.nn.gradcheck  # the module first: the package must still export the function
import nnctl.data, nnctl.nn
resolved = {}
for package in (nnctl.data, nnctl.nn):
    for name in package.__all__:
        value = getattr(package, name)
        home = getattr(value, "__module__", None) or package.__name__
        resolved[f"{package.__name__}.{name}"] = [type(value).__name__, home,
                                                   name in dir(package)]
json.dump({"after_batches": after_batches, "resolved": resolved}, sys.stdout)
"""


def test_packages_import_a_module_only_when_one_of_its_names_is_used():
    done = subprocess.run(
        [sys.executable, "-c", LAZY_PROBE], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # the batch iterator and the scaler came without the readers, datasets or the engine
    assert set(report["after_batches"]) == {
        "nnctl.data",
        "nnctl.data.batches",
        "nnctl.data.scaling",
        "nnctl.errors",
        "nnctl.util",
        "nnctl.util.lazy",
    }
    resolved = report["resolved"]
    assert resolved["nnctl.nn.gradcheck"][0] == "function"
    assert resolved["nnctl.nn.build_model"][:2] == ["function", "nnctl.nn.model"]
    assert resolved["nnctl.data.BatchIterator"][:2] == ["type", "nnctl.data.batches"]
    assert resolved["nnctl.data.DATASETS"][0] == "Registry"
    assert all(in_dir for _, _, in_dir in resolved.values())
    assert len(resolved) == 41  # every exported name resolved (20 in data, 21 in nn)


def test_an_unknown_name_is_an_attribute_error():
    import nnctl.data

    with pytest.raises(AttributeError, match="module 'nnctl.data' has no attribute 'no_such'"):
        nnctl.data.no_such  # noqa: B018


# What `nnctl train iris-softmax` (a small run: no plot, no TensorBoard, no compiled kernels, rows
# in memory, no terminal) must not import: optional heavy dependencies, and the modules a
# start-up trim removed from its path (issue 25). Prefixes, as in HEAVY.
TRAIN_NEVER = (
    "matplotlib",
    "numba",
    "rich",  # stderr is not a terminal: plain text
    "pydantic",
    "tensorboard",
    "onnx",
    "dask",
    "pandas",
    "pyarrow",
    "nnctl.compare",
    "nnctl.report.plots",
    "nnctl.training.callbacks.tensorboard",  # only a run with logging.tensorboard
    "nnctl.data.ondisk_batches",  # only rows on disk
    "statistics",  # and with it decimal and fractions: the slow-run note has its own median
    "decimal",
    "fractions",
)


def imported_by(args: list[str], cwd) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run `python -X importtime -m nnctl ARGS` (the real command, in a fresh process) and
    return it with the names of every module it imported, in order."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nnctl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    names = [
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]
    return done, names


def test_train_of_a_small_example_imports_nothing_it_does_not_use(tmp_path):
    done, names = imported_by(["train", "iris-softmax", "--out", "run", "-q"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "run" / "summary.json").is_file()
    assert "numpy" in names and "nnctl.training.trainer" in names  # the probe sees imports
    unwanted = [m for m in names if any(m == p or m.startswith(p + ".") for p in TRAIN_NEVER)]
    assert unwanted == []


def test_a_run_with_tensorboard_still_gets_its_writer(tmp_path):
    # The writer's module is imported only when asked for: asked for, it writes its events.
    done, names = imported_by(
        [
            "train",
            "iris-softmax",
            "--out",
            "run",
            "-q",
            "-s",
            "train.epochs=2",
            "-s",
            "logging.tensorboard=true",
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "nnctl.training.callbacks.tensorboard" in names
    assert list((tmp_path / "run" / "tb").glob("events.out.tfevents.*"))


def test_one_command_is_built_alone_with_the_same_help_and_the_rest_builds_the_whole_app(
    monkeypatch,
):
    import typer

    from nnctl.cli.app import COMMANDS, _app_for, app

    whole = typer.main.get_command(app)
    for _, name, _ in COMMANDS:
        alone = typer.main.get_command(_app_for([name, "--json"]))
        assert list(alone.commands) == [name]
        # the same group around it: usage line, options, help text, word for word
        root = whole.context_class(whole, info_name="nnctl", **whole.context_settings)
        root_alone = alone.context_class(alone, info_name="nnctl", **alone.context_settings)
        ctx = whole.commands[name].context_class(whole.commands[name], info_name=name, parent=root)
        ctx_alone = alone.commands[name].context_class(
            alone.commands[name], info_name=name, parent=root_alone
        )
        assert alone.commands[name].get_help(ctx_alone) == whole.commands[name].get_help(ctx)
    for args in ([], ["--help"], ["-V"], ["config", "show"], ["data"], ["trian"]):
        assert _app_for(args) is app, args
    monkeypatch.setenv("_NNCTL_COMPLETE", "bash_complete")
    assert _app_for(["train"]) is app  # completion walks the whole tree
