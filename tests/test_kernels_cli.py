"""train.kernels through the CLI, as real processes on real files: a run trained with the
compiled kernels and one with NumPy end with the same checkpoints bit for bit; config.yaml
records what ran; numba asked for without numba is refused (exit 2, the install hint); the
start-up of --help and of a small run does not import numba; the first use says it compiles."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import run_nnctl
from nnctl.kernels import loading

needs_numba = pytest.mark.skipif(
    not __import__("nnctl.kernels").kernels.numba_installed(),
    reason="the compiled kernels need numba (the fast extra)",
)

# An MLP touching every fused pass of a setting: two hidden layers, weight decay.
MLP = """
seed: 3
data: {{name: moons, params: {{n_samples: 600, noise: 0.2}}, val_fraction: 0.2}}
model: {{kind: mlp, hidden: [24, 16], activation: {activation}}}
optimizer: {optimizer}
train: {{epochs: 8, batch_size: 32, dtype: {dtype}}}
"""


def checkpoint_arrays(run) -> dict:
    out = {}
    for name in ("last", "best"):
        with np.load(run / "checkpoints" / f"{name}.npz") as archive:
            out.update({f"{name}/{k}": archive[k] for k in archive.files if k != "meta"})
    return out


def recorded_kernels(run) -> str:
    return yaml.safe_load((run / "config.yaml").read_text())["train"]["kernels"]


@needs_numba
@pytest.mark.parametrize(
    ("activation", "optimizer", "dtype"),
    [
        ("relu", "{name: adam, lr: 0.01, amsgrad: true, weight_decay: 0.001}", "float32"),
        ("tanh", "{name: nesterov, lr: 0.05, weight_decay: 0.01}", "float32"),
        ("{name: leaky_relu, slope: 0.1}", "{name: rmsprop, centered: true, momentum: 0.5}",
         "float64"),
        ("sigmoid", "{name: adamw, lr: 0.01}", "float64"),
        ("elu", "{name: adagrad, lr: 0.05}", "float32"),
        ("relu", "{name: adadelta}", "float32"),
    ],
)  # fmt: skip
def test_numba_and_numpy_runs_end_with_the_same_checkpoints(tmp_path, activation, optimizer, dtype):
    config = tmp_path / "mlp.yaml"
    config.write_text(MLP.format(activation=activation, optimizer=optimizer, dtype=dtype))
    runs = {}
    for kernels in ("numba", "numpy"):
        run = tmp_path / kernels
        done = run_nnctl("train", config, "--out", run, "-q", "-s", f"train.kernels={kernels}")
        assert done.returncode == 0, done.stderr
        assert recorded_kernels(run) == kernels
        runs[kernels] = checkpoint_arrays(run)
    assert runs["numba"].keys() == runs["numpy"].keys()
    for key, value in runs["numpy"].items():
        fused = runs["numba"][key]
        assert fused.dtype == value.dtype and fused.tobytes() == value.tobytes(), key


def test_auto_on_a_small_run_records_numpy(tmp_path):
    done = run_nnctl("train", "iris-softmax", "--out", tmp_path / "run", "-q")
    assert done.returncode == 0, done.stderr
    assert recorded_kernels(tmp_path / "run") == "numpy"


# Runs the CLI in this interpreter and says at exit whether numba was imported; `hide` makes
# numba look uninstalled (find_spec gives None for a module set to None in sys.modules).
PROBE = """
import atexit, runpy, sys
if {hide!r}:
    sys.modules["numba"] = None
atexit.register(lambda: print("numba imported:", sys.modules.get("numba") is not None,
                              file=sys.stderr))
sys.argv = ["nnctl", *{args!r}]
runpy.run_module("nnctl", run_name="__main__")
"""


def probe(args, cwd, hide=False):
    code = PROBE.format(hide=hide, args=[str(a) for a in args])
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "args", [["--help"], ["train", "--help"], ["train", "iris-softmax", "--out", "run", "-q"]]
)
def test_start_up_and_a_small_run_do_not_import_numba(tmp_path, args):
    done = probe(args, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "numba imported: False" in done.stderr


def test_numba_asked_for_without_numba_is_refused_with_the_install_hint(tmp_path):
    args = ["train", "iris-softmax", "--out", "run", "-q", "-s", "train.kernels=numba"]
    done = probe(args, tmp_path, hide=True)
    assert done.returncode == 2, done.stderr
    assert "train.kernels" in done.stderr and 'pip install "nnctl[fast]"' in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


@needs_numba
def test_a_run_trained_with_numba_is_used_where_numba_is_missing(tmp_path):
    """eval, predict and export rebuild the model only (no compiled loop runs), so a run folder
    trained with numba works on a machine without it; resuming it asks for the extra."""
    run = tmp_path / "run"
    trained = run_nnctl(
        "train", "iris-softmax", "--out", run, "-q", "-s", "train.kernels=numba", cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr
    assert recorded_kernels(run) == "numba"
    evaluated = probe(["eval", run, "--json"], tmp_path, hide=True)
    assert evaluated.returncode == 0, evaluated.stderr  # was exit 2: "the saved config: ..."
    assert "numba imported: False" in evaluated.stderr
    assert json.loads(evaluated.stdout) == json.loads(
        run_nnctl("eval", run, "--json", cwd=tmp_path).stdout
    )
    rows = "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm\n5.1,3.5,1.4,0.2\n"
    (tmp_path / "rows.csv").write_text(rows)
    predicted = probe(["predict", run, "rows.csv"], tmp_path, hide=True)
    assert predicted.returncode == 0, predicted.stderr
    exported = probe(["export", run, "--format", "json", "--out", "w.json"], tmp_path, hide=True)
    assert exported.returncode == 0, exported.stderr
    resumed = probe(["train", "--resume", run, "-q"], tmp_path, hide=True)
    assert resumed.returncode == 2 and 'pip install "nnctl[fast]"' in resumed.stderr


def test_a_bad_kernels_value_names_the_choices(tmp_path):
    done = run_nnctl("train", "iris-softmax", "--out", tmp_path / "run", "-s", "train.kernels=gpu")
    assert done.returncode == 2
    assert "train.kernels" in done.stderr and "numba" in done.stderr and "gpu" in done.stderr


@needs_numba
def test_the_first_use_says_it_compiles_and_the_next_run_loads_the_cache(tmp_path):
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}  # an empty cache: compiles
    args = ["train", "moons-mlp", "-s", "train.epochs=1", "-s", "train.kernels=numba"]
    first = run_nnctl(*args, "--out", tmp_path / "first", env=env)
    assert first.returncode == 0, first.stderr
    assert "compiling kernels" in first.stderr
    assert any((tmp_path / "cache").rglob("*.nbi"))  # cached on disk
    again = run_nnctl(*args, "--out", tmp_path / "again", env=env)
    assert again.returncode == 0, again.stderr
    assert "compiling kernels" not in again.stderr


def test_a_package_folder_that_cannot_be_written_caches_in_the_user_folder(tmp_path, monkeypatch):
    """nnctl inside a zip archive (zipimport): nothing can be written there, not even by root
    (a chmod would not stop root), so the kernels go to the user's cache folder."""
    archive = tmp_path / "nnctl.zip"
    archive.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.setattr(loading, "_PACKAGE_DIR", archive / "nnctl" / "kernels")
    folder = loading.cache_folder()  # sets NUMBA_CACHE_DIR, as before numba is imported
    user = tmp_path / "user-cache" / "nnctl" / "numba"
    assert os.environ["NUMBA_CACHE_DIR"] == str(user)
    assert folder.parent == user and folder.name.startswith("kernels_")


def test_a_writable_package_folder_keeps_numbas_default(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(loading, "_PACKAGE_DIR", tmp_path)
    assert loading.cache_folder() == tmp_path / "__pycache__"
    assert "NUMBA_CACHE_DIR" not in os.environ


def auto_config(hidden, epochs, kernels="auto") -> dict:
    return {"train": {"kernels": kernels, "epochs": epochs}, "model": {"hidden": hidden}}


def test_auto_picks_numba_only_past_the_measured_work(monkeypatch):
    from nnctl.kernels import choice

    monkeypatch.setattr(choice, "numba_installed", lambda: True)
    cfg = auto_config([], 10)
    # 203,530 parameters (784-256-10) x 469 batches (60,000 rows, batch 128) per epoch
    assert choice.resolve_kernels(cfg, 203_530, 469 * 11, full_batch=False) == "numba"
    assert choice.resolve_kernels(cfg, 203_530, 469 * 10, full_batch=False) == "numpy"
    assert choice.resolve_kernels(cfg, 40_000, 10**6, full_batch=False) == "numpy"  # too small
    assert choice.resolve_kernels(cfg, 203_530, 10**6, full_batch=True) == "numpy"
    for given in ("numpy", "numba"):
        assert choice.resolve_kernels(auto_config([], 1, given), 10, 1, False) == given
    monkeypatch.setattr(choice, "numba_installed", lambda: False)
    assert choice.resolve_kernels(cfg, 203_530, 10**6, full_batch=False) == "numpy"


def test_the_import_starts_early_only_when_the_config_alone_makes_numba_certain(monkeypatch):
    from nnctl.kernels import choice

    monkeypatch.setattr(choice, "numba_installed", lambda: True)
    # 1000 x 1000 weights between the hidden layers, 1000 epochs: 10^9 at least
    assert choice.surely_compiled(auto_config([1000, 1000], 1000))
    assert not choice.surely_compiled(auto_config([1000, 1000], 999))
    assert not choice.surely_compiled(auto_config([5000], 10**6))  # data decides its weights
    assert choice.surely_compiled(auto_config([], 1, "numba"))
    assert not choice.surely_compiled(auto_config([1000, 1000], 1000, "numpy"))


# numba that is installed but fails to import (as a numba built for another NumPy does).
BROKEN_NUMBA = """
import sys, types
class Broken(types.ModuleType):
    def __getattr__(self, name):
        raise ImportError("numba: built for another NumPy")
from importlib.machinery import ModuleSpec
class Finder:
    def find_spec(self, name, path=None, target=None):
        if name == "numba":
            return ModuleSpec("numba", Loader())
class Loader:
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        raise ImportError("numba: built for another NumPy")
sys.meta_path.insert(0, Finder())
import runpy
sys.argv = ["nnctl", *{args!r}]
runpy.run_module("nnctl", run_name="__main__")
"""


@pytest.mark.parametrize(("kernels", "code"), [("numba", 2), ("auto", 0)])
def test_a_numba_that_cannot_be_imported(tmp_path, kernels, code):
    """numba asked for: exit 2 naming the cause; auto: the run trains with NumPy, says so and
    records numpy. (The kernels are loaded for any size of run when asked for, so the small
    example is enough; for auto the threshold is lowered.)"""
    args = ["train", "iris-softmax", "--out", "run", "-s", f"train.kernels={kernels}"]
    code_text = BROKEN_NUMBA.format(args=args)
    if kernels == "auto":
        code_text = code_text.replace(
            "import runpy",
            "import nnctl.kernels.choice as c; c.worth_compiling = lambda *a: True\nimport runpy",
        )
    done = subprocess.run(
        [sys.executable, "-c", code_text], cwd=tmp_path, capture_output=True, text=True,
        timeout=300, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert "built for another NumPy" in done.stderr
    if kernels == "auto":
        assert recorded_kernels(tmp_path / "run") == "numpy"
    else:
        assert "train.kernels" in done.stderr and not (tmp_path / "run").exists()
