"""Property tests (issue 6, part 6), with hypothesis and bounded example counts.

Whatever config or data file it is given, nnctl never lets an exception escape (no traceback),
exits 0, 1 or 2, and a valid config either trains (0) or stops on a non-finite loss (1).
The CLI runs in process (typer's CliRunner) for speed; a few examples run as real processes.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip(
    "hypothesis", reason="property tests need hypothesis (the dev extra)"
)
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from conftest import run_nnctl  # noqa: E402
from fault_launch import interrupting_at_step  # noqa: E402
from nnctl.cli.app import app  # noqa: E402
from nnctl.config import resolve  # noqa: E402
from nnctl.errors import UsageError  # noqa: E402
from nnctl.nn import ACTIVATIONS, INITS  # noqa: E402
from nnctl.optim import OPTIMIZERS, SCHEDULES  # noqa: E402

# In CI the examples are derandomized (the same every run), so a landing never hinges on luck;
# locally each run explores new examples.
SETTINGS = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=os.environ.get("CI") == "true",
    print_blob=True,
)

# Small datasets of each task, and the models that fit them.
DATA = {
    "multiclass": ({"name": "iris"}, ("softmax", "mlp")),
    "binary": ({"name": "moons", "params": {"n_samples": 80}}, ("logreg", "mlp")),
    "regression": (
        {"name": "linear", "params": {"n_samples": 80, "n_features": 3}},
        ("linreg", "mlp"),
    ),
}


def invoke(args, cwd: Path):
    """The CLI in process; returns (exit code, stderr, stdout). Fails on an escaped exception."""
    runner = CliRunner()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=True)
    finally:
        os.chdir(previous)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(
            f"nnctl {' '.join(map(str, args))}: escaped {result.exception!r}"
        ) from result.exception
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    if result.exit_code != 0:
        assert_one_error(result.stderr)
    return result.exit_code, result.stderr, result.stdout


def assert_one_error(stderr: str) -> None:
    """The error is one message of one or two lines (warnings may come before it)."""
    lines = stderr.strip().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("error: ")]
    assert len(starts) == 1 and len(lines) - starts[0] <= 2, stderr


def _value_near(hyper, draw):
    """A value for `hyper` its check accepts: the default or a multiple of it."""
    default = hyper.default
    if hyper.kind == "float" and default is not None and not hyper.choices:
        if default:
            value = default * draw(st.sampled_from([1.0, 0.1, 0.5, 3.0, 1000.0]))
        else:
            value = draw(st.sampled_from([0.0, 0.01, 0.3]))
        if hyper.check is None or hyper.check(value):
            return value
    if hyper.kind == "bool":
        return draw(st.booleans())
    return default


@st.composite
def valid_configs(draw):
    task = draw(st.sampled_from(sorted(DATA)))
    data, kinds = DATA[task]
    kind = draw(st.sampled_from(kinds))
    optimizer = draw(
        st.sampled_from(
            [e.name for e in OPTIMIZERS.entries() if e.name != "exact" or kind == "linreg"]
        )
    )
    entry = OPTIMIZERS.get(optimizer)
    full_batch = entry.info.get("family") == "full_batch"
    settings_ = {"name": optimizer}
    for hyper in entry.hypers:
        # c1/c2 keep their defaults: their rule c2 > c1 is checked when the optimizer is built,
        # not by config validation, so resolve() cannot tell this generator about it.
        if hyper.name in ("max_iter", "max_eval", "c1", "c2") or not draw(st.booleans()):
            continue
        value = _value_near(hyper, draw)
        if value is not None:
            settings_[hyper.name] = list(value) if isinstance(value, tuple) else value
    if "lr" in settings_ and not full_batch and draw(st.integers(0, 4)) == 0:
        settings_["lr"] = 1e4  # now and then, something that diverges
    model = {"kind": kind}
    if kind == "mlp":
        model.update(
            hidden=draw(st.lists(st.integers(1, 8), min_size=1, max_size=2)),
            activation=draw(st.sampled_from([e.name for e in ACTIVATIONS.entries()])),
            dropout=0.0 if full_batch else draw(st.sampled_from([0.0, 0.2])),
            batch_norm=draw(st.booleans()),
        )
    cfg = {
        "seed": draw(st.integers(0, 1000)),
        "data": {**data, "val_fraction": draw(st.sampled_from([0.2, 0.3]))},
        "model": model,
        "init": {"scheme": draw(st.sampled_from([e.name for e in INITS.entries()]))},
        "loss": {"l2": draw(st.sampled_from([0.0, 0.01]))},
        "optimizer": settings_,
        "schedule": {"name": draw(st.sampled_from([e.name for e in SCHEDULES.entries()]))},
        "train": {
            "epochs": draw(st.integers(0, 4)),
            "batch_size": draw(st.integers(1, 64)),
            "dtype": draw(st.sampled_from(["auto", "float32", "float64"])),
            "clip_grad_norm": draw(st.sampled_from([None, 1.0])),
            "early_stopping": draw(st.sampled_from([None, {"patience": 2}])),
        },
    }
    try:
        resolve(json.loads(json.dumps(cfg)))
    except UsageError:
        assume(False)  # a cross-setting rule the generator does not know (e.g. nesterov)
    return cfg


def _paths(node, prefix=()):
    """Every key path of a nested mapping."""
    for key, value in node.items():
        yield prefix + (key,)
        if isinstance(value, dict):
            yield from _paths(value, prefix + (key,))


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 60),
    st.floats(-1e3, 1e3) | st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e-30]),
    st.text(max_size=6),
    st.lists(st.integers(-2, 9), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(-2, 9), max_size=2),
    st.sampled_from(
        ["adam", "sgd", "lbfgs", "iris", "relu", "mlp", "softmax", "cosine", "val_loss"]
    ),
)


@st.composite
def mutated_configs(draw):
    """A valid config with one to three random changes: junk at a key path of the schema, an
    unknown key, a section replaced or removed."""
    cfg = json.loads(json.dumps(draw(valid_configs())))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(cfg))
        action = draw(st.sampled_from(["set", "set", "set", "unknown", "delete"]))
        path = draw(st.sampled_from(paths))
        parent = cfg
        for key in path[:-1]:
            parent = parent[key]
        if action == "set":
            parent[path[-1]] = draw(JUNK)
        elif action == "unknown":
            parent[draw(st.text("abcdefghij_", min_size=1, max_size=8))] = draw(JUNK)
        else:
            parent.pop(path[-1], None)
    return cfg


def _write_config(folder: Path, cfg) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@settings(max_examples=20, **SETTINGS)
@given(cfg=valid_configs())
def test_a_valid_config_trains_or_reports_divergence(cfg):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        _write_config(folder, cfg)
        code, stderr, stdout = invoke(
            ["train", "config.yaml", "--out", "run", "-q", "--json"], folder
        )
        assert code in (0, 1), stderr
        summary = json.loads((folder / "run" / "summary.json").read_text())
        if code == 0:
            assert json.loads(stdout)["status"] in ("completed", "early_stopped", "converged")
        else:
            assert "training diverged" in stderr and summary["status"] == "diverged"
        assert (folder / "run" / "checkpoints" / "last.npz").exists()


@settings(max_examples=30, **SETTINGS)
@given(cfg=mutated_configs())
def test_any_config_exits_0_1_or_2_without_a_traceback(cfg):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        _write_config(folder, cfg)
        code, stderr, _ = invoke(["train", "config.yaml", "--out", "run", "-q"], folder)
        if code == 1:
            assert "training diverged" in stderr


CELLS = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(-1e3, 1e3).map(repr),
    st.sampled_from(
        ["", " ", "nan", "inf", "-inf", "abc", "1e400", "0x1", '"1,2"', "a", "b", "1.5e-3"]
    ),
    st.text(alphabet="0123456789.,-e\"' \t", max_size=5),
)


@st.composite
def csv_texts(draw):
    n_columns = draw(st.integers(1, 4))
    header = draw(
        st.lists(
            st.sampled_from(["x1", "x2", "x3", "target", "", "1", "y"]),
            min_size=n_columns,
            max_size=n_columns,
        )
    )
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        width = n_columns if draw(st.integers(0, 9)) else draw(st.integers(0, 5))
        rows.append(",".join(draw(CELLS) for _ in range(width)))
    return "\n".join([",".join(header)] + rows) + draw(st.sampled_from(["", "\n", "\n\n"]))


@settings(max_examples=30, **SETTINGS)
@given(
    text=csv_texts(),
    kind=st.sampled_from(["auto", "linreg", "logreg", "softmax"]),
    optimizer=st.sampled_from(["adam", "lbfgs"]),
)
def test_any_csv_exits_0_1_or_2_without_a_traceback(text, kind, optimizer):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "data.csv").write_text(text)
        cfg = {
            "data": {"path": "data.csv", "val_fraction": 0.25, "stratify": False},
            "optimizer": {"name": optimizer},
            "train": {"epochs": 2, "batch_size": 4},
        }
        if kind != "auto":
            cfg["model"] = {"kind": kind}
        else:
            cfg["model"] = {"kind": "mlp", "hidden": [3]}
        _write_config(folder, cfg)
        invoke(["train", "config.yaml", "--out", "run", "-q"], folder)


@pytest.fixture(scope="module")
def trained_run():
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        _write_config(
            folder, {"data": {"name": "iris"}, "model": {"kind": "softmax"}, "train": {"epochs": 1}}
        )
        code, stderr, _ = invoke(["train", "config.yaml", "--out", "run", "-q"], folder)
        assert code == 0, stderr
        yield folder / "run"


@pytest.fixture(scope="module")
def interrupted_run():
    """A run stopped mid-epoch 2 (of 3) as by a signal: --resume has work left to do."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        _write_config(
            folder,
            {
                "data": {"name": "iris"},
                "model": {"kind": "mlp", "hidden": [4]},
                "train": {"epochs": 3, "batch_size": 32, "early_stopping": {"patience": 5}},
            },
        )
        with interrupting_at_step(6):
            result = CliRunner().invoke(
                app, ["train", str(folder / "config.yaml"), "--out", str(folder / "run"), "-q"]
            )
        assert result.exit_code == 130, result.stderr
        yield folder / "run"


@settings(max_examples=20, **SETTINGS)
@given(text=csv_texts())
def test_eval_and_predict_on_any_csv_exit_0_or_2(trained_run, text):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "data.csv").write_text(text)
        code, stderr, _ = invoke(["eval", trained_run, "--data", "data.csv", "--json"], folder)
        assert code in (0, 2), stderr
        code, stderr, _ = invoke(["predict", trained_run, "data.csv"], folder)
        assert code in (0, 2), stderr


@settings(max_examples=25, **SETTINGS)
@given(data=st.data())
def test_a_tampered_checkpoint_is_refused_or_used_never_a_crash(interrupted_run, data):
    """Junk at a random key path of the checkpoints' meta (config, RNG states, progress,
    scaling, classes, ...): eval, predict and --resume exit 0, 1 or 2, never a traceback."""
    import shutil

    import numpy as np

    from nnctl.data import bundled_path

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        run = folder / "run"
        shutil.copytree(interrupted_run, run)
        iris = bundled_path("iris.csv")
        (folder / "iris.csv").write_text(iris.read_text())
        metas = {}
        for name in ("last.npz", "best.npz"):
            if not (run / "checkpoints" / name).exists():
                continue
            with np.load(run / "checkpoints" / name, allow_pickle=False) as archive:
                metas[name] = (
                    {k: archive[k] for k in archive.files if k != "meta"},
                    json.loads(str(archive["meta"])),
                )
        for _ in range(data.draw(st.integers(1, 2))):
            path = data.draw(st.sampled_from(list(_paths(metas["last.npz"][1]))))
            junk, delete = data.draw(JUNK), data.draw(st.integers(0, 4)) == 0
            for _, meta in metas.values():
                parent = meta
                for key in path[:-1]:
                    parent = parent.get(key) if isinstance(parent, dict) else None
                if isinstance(parent, dict):
                    parent.pop(path[-1], None) if delete else parent.__setitem__(path[-1], junk)
        for name, (arrays, meta) in metas.items():
            np.savez(run / "checkpoints" / name, meta=np.array(json.dumps(meta)), **arrays)
        invoke(["eval", run, "--json"], folder)
        invoke(["predict", run, "iris.csv"], folder)
        invoke(["train", "--resume", run, "-q"], folder)


@settings(max_examples=20, **SETTINGS)
@given(
    blob=st.binary(max_size=300),
    prefix=st.sampled_from([b"", b"PK\x03\x04", b"\x93NUMPY", b"data: "]),
)
def test_random_bytes_as_config_or_checkpoint_exit_2(blob, prefix):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "junk.yaml").write_bytes(prefix + blob)
        (folder / "junk.npz").write_bytes(prefix + blob)
        code, _, _ = invoke(["train", "junk.yaml", "--out", "run", "-q"], folder)
        assert code == 2 or (code == 0 and prefix == b"data: ")  # "data: <name>" may even be valid
        code, _, _ = invoke(["eval", "junk.npz"], folder)
        assert code == 2


@settings(max_examples=3, **SETTINGS)
@given(cfg=mutated_configs())
def test_as_real_processes_too(cfg):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        _write_config(folder, cfg)
        proc = run_nnctl("train", "config.yaml", "--out", "run", "-q", cwd=folder)
        assert proc.returncode in (0, 1, 2), proc.stderr
        assert "Traceback" not in proc.stderr
        if proc.returncode:
            assert_one_error(proc.stderr)
