"""nnctl.compare_optimizers and nnctl.sweep take what the CLI's commands take (issue 22): force
and the Dask options (scheduler address, connect/worker/run timeouts, insecure)."""

from __future__ import annotations

import inspect
import warnings

import pytest

import nnctl
from nnctl.errors import UsageError

FAST = {"train.epochs": 1}
DASK_OPTIONS = ("scheduler", "connect_timeout", "worker_timeout", "run_timeout", "insecure")


@pytest.mark.parametrize("function", [nnctl.compare_optimizers, nnctl.sweep])
def test_the_api_takes_the_options_the_cli_commands_take(function):
    from nnctl.cli import compare_commands

    cli = {"compare_optimizers": "compare_optimizers", "sweep": "sweep"}[function.__name__]
    cli_names = set(inspect.signature(getattr(compare_commands, cli)).parameters)
    api_names = set(inspect.signature(function).parameters)
    for name in ("force", *DASK_OPTIONS):
        assert name in cli_names and name in api_names, name
        assert name in inspect.getdoc(function) or "Dask options" in inspect.getdoc(function)


def test_compare_force_replaces_a_comparison_folder_nnctl_wrote(tmp_path):
    out = tmp_path / "c"
    nnctl.compare_optimizers("iris-softmax", ["sgd"], overrides=FAST, out=out)
    with pytest.raises(UsageError, match="exists and is not an empty folder"):
        nnctl.compare_optimizers("iris-softmax", ["adam"], overrides=FAST, out=out)
    again = nnctl.compare_optimizers("iris-softmax", ["adam"], overrides=FAST, out=out, force=True)
    assert again.dir == out
    assert [r["label"] for r in again.table] == ["adam"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["adam"]


def test_sweep_force_replaces_a_sweep_folder_but_never_a_folder_of_other_files(tmp_path):
    out = tmp_path / "s"
    nnctl.sweep("iris-softmax", ["optimizer.lr=0.01,0.1"], overrides=FAST, out=out)
    again = nnctl.sweep(
        "iris-softmax", ["optimizer.lr=0.2,0.3"], overrides=FAST, out=out, force=True
    )
    assert [r["settings"] for r in again.table] == ["optimizer.lr=0.2", "optimizer.lr=0.3"]
    assert [run.config["optimizer"]["lr"] for run in again.runs] == [0.2, 0.3]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="mine"):
        nnctl.sweep("iris-softmax", ["optimizer.lr=0.2"], overrides=FAST, out=mine, force=True)
    assert (mine / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("function", [nnctl.compare_optimizers, nnctl.sweep])
@pytest.mark.parametrize(
    "given, message",
    [
        ({"connect_timeout": 0}, "connect_timeout: expected a number of seconds > 0"),
        ({"worker_timeout": -1.5}, "worker_timeout: expected a number of seconds > 0"),
        ({"run_timeout": "10"}, "run_timeout: expected a number of seconds > 0"),
        ({"run_timeout": float("inf")}, "run_timeout: expected a number of seconds > 0"),
        ({"connect_timeout": True}, "connect_timeout: expected a number of seconds > 0"),
        ({"insecure": "yes"}, "insecure: expected True or False, found 'yes'"),
        ({"force": 1}, "force: expected True or False, found 1"),
        ({"connect_timeout": 5}, r"connect_timeout: applies to executor='dask' \(this is"),
        ({"insecure": True}, "insecure: applies to executor='dask'"),
    ],
)
def test_bad_or_misplaced_options_are_named_before_any_folder_is_made(
    tmp_path, function, given, message
):
    axes = ["sgd"] if function is nnctl.compare_optimizers else ["optimizer.lr=0.1"]
    with pytest.raises(UsageError, match=message):
        function("iris-softmax", axes, overrides=FAST, out=tmp_path / "x", **given)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("function", [nnctl.compare_optimizers, nnctl.sweep])
def test_the_dask_options_reach_the_executor(tmp_path, function):
    # A documentation address (TEST-NET-1, another machine): plain tcp:// needs insecure.
    axes = ["sgd"] if function is nnctl.compare_optimizers else ["optimizer.lr=0.1"]
    dask = {"executor": "dask", "scheduler": "tcp://192.0.2.1:8786", "connect_timeout": 0.5}
    with pytest.raises(UsageError, match="plain tcp:// to another machine"):
        function("iris-softmax", axes, overrides=FAST, out=tmp_path / "x", **dask)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(UsageError) as failure:
        warnings.simplefilter("always")
        function("iris-softmax", axes, overrides=FAST, out=tmp_path / "x", insecure=True, **dask)
    # Past the transport check: refused further on (no Dask here, or nothing answers there).
    assert "plain tcp:// to another machine" not in str(failure.value)
    assert any("unencrypted and unauthenticated" in str(w.message) for w in caught)
    assert not (tmp_path / "x").exists()
