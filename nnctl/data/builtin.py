"""DATASETS: the built-in datasets, by name (`nnctl datasets` lists them).

Two kinds:
  bundled    small real datasets shipped as CSV: `datasets/` at the top of the source tree,
             installed as the package data `nnctl/datasets/` (sources and licences in its
             README.md); no settings.
  synthetic  generated from the "data" random stream; settings declared here as Hypers.

Each entry's info holds: task, n_samples, n_features, n_classes (None for regression), source
(a short text), kind and image_side (the side of square image rows, else None). For synthetic
datasets the sizes are those of the default settings.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from pathlib import Path

import numpy as np

from nnctl.data import synthetic
from nnctl.data.dataset import Dataset, make_dataset
from nnctl.data.formats import load_file
from nnctl.util.registry import Entry, Hyper, Registry, non_negative, positive

DATASETS = Registry("dataset")

# ---------------------------------------------------------------------------------------------
# Bundled: file name and facts (the tests check them against the files); the last: the side of
# the square images the rows are (plot --weights draws a weight column as one), or None.

BUNDLED = (
    (
        "iris",
        "iris.csv",
        "Iris flowers: 3 species from 4 sepal/petal measurements (cm)",
        "multiclass",
        150,
        4,
        3,
        "UCI; Fisher (1936)",
        (),
        None,
    ),
    (
        "wine",
        "wine.csv",
        "Wine: 3 cultivars from 13 chemical measurements",
        "multiclass",
        178,
        13,
        3,
        "UCI; Forina et al. (1988)",
        (),
        None,
    ),
    (
        "breast_cancer",
        "breast_cancer.csv",
        "Breast Cancer Wisconsin (Diagnostic): malignant or benign from 30 cell-nucleus features",
        "binary",
        569,
        30,
        2,
        "UCI; Wolberg, Street & Mangasarian (1995)",
        (),
        None,
    ),
    (
        "diabetes",
        "diabetes.csv",
        "Diabetes: disease progression after one year from 10 baseline measurements (raw units)",
        "regression",
        442,
        10,
        None,
        "Efron, Hastie, Johnstone & Tibshirani (2004)",
        (),
        None,
    ),
    (
        "digits",
        "digits.csv",
        "Handwritten digits 0-9: 8x8 images of pixel counts 0..16",
        "multiclass",
        1797,
        64,
        10,
        "UCI optdigits (test part); Alpaydin & Kaynak (1998)",
        (),
        8,
    ),
)


def bundled_path(file_name: str):
    """A Traversable for a bundled file: in an installed wheel nnctl/datasets/ (package data),
    in a source tree (or an editable install) the top-level datasets/ folder."""
    installed = resources.files("nnctl").joinpath("datasets")
    if installed.is_dir():
        return installed.joinpath(file_name)
    return Path(__file__).resolve().parents[2].joinpath("datasets", file_name)


@functools.lru_cache(maxsize=len(BUNDLED) * 2)
def _read_bundled(file_name: str, task: str) -> Dataset:
    """A bundled file, parsed once per process (a comparison's runs in one process all load
    it: 65 ms each for digits). The arrays are read-only; each caller gets its own Dataset."""
    with resources.as_file(bundled_path(file_name)) as path:
        dataset = load_file(path, task=task)
    for array in (dataset.X, dataset.y):
        array.flags.writeable = False  # shared: a write would change every later load
    return dataset


def _bundled_loader(name: str, file_name: str, natural_task: str):
    def load(task: str = "auto") -> Dataset:
        dataset = copy.copy(_read_bundled(file_name, natural_task if task == "auto" else task))
        dataset.source = name
        return dataset

    load.__name__ = f"load_{name}"
    return load


for _name, _file, _doc, _task, _n, _d, _k, _source, _aliases, _side in BUNDLED:
    DATASETS.add(
        Entry(
            _name,
            _bundled_loader(_name, _file, _task),
            _doc,
            (),
            _aliases,
            dict(
                task=_task,
                n_samples=_n,
                n_features=_d,
                n_classes=_k,
                source=_source,
                kind="bundled",
                file=_file,
                image_side=_side,
            ),
        )
    )

# ---------------------------------------------------------------------------------------------
# Synthetic: each setting declared once, here.

MAX_SAMPLES = 10_000_000


def _sizes(low: int, high: int):
    return (lambda v: low <= v <= high), f"in [{low}, {high}]"


_n_check, _n_expect = _sizes(2, MAX_SAMPLES)
N_SAMPLES = Hyper("n_samples", "int", 1000, "number of samples generated", _n_check, _n_expect)
NOISE = Hyper(
    "noise",
    "float",
    0.1,
    "std of the Gaussian noise added to each coordinate",
    non_negative,
    ">= 0",
)


def _synthetic(name, generator, doc, hypers, task, n_features, n_classes, aliases=()):
    DATASETS.add(
        Entry(
            name,
            generator,
            doc,
            tuple(hypers),
            tuple(aliases),
            dict(
                task=task,
                n_samples=N_SAMPLES.default,
                n_features=n_features,
                n_classes=n_classes,
                source=f"synthetic ({generator.__module__}.{name})",
                kind="synthetic",
            ),
        )
    )


_synthetic(
    "moons",
    synthetic.moons,
    "two interleaving half circles (binary)",
    (N_SAMPLES, NOISE),
    "binary",
    2,
    2,
)
_synthetic(
    "circles",
    synthetic.circles,
    "two concentric circles (binary)",
    (
        N_SAMPLES,
        NOISE,
        Hyper(
            "factor",
            "float",
            0.5,
            "radius of the inner circle relative to the outer one",
            lambda v: 0 < v < 1,
            "in (0, 1)",
        ),
    ),
    "binary",
    2,
    2,
)
_classes_check, _classes_expect = _sizes(2, 20)
_synthetic(
    "spirals",
    synthetic.spirals,
    "interleaved spiral arms, one class per arm",
    (
        N_SAMPLES,
        Hyper(
            "noise",
            "float",
            0.05,
            "std of the Gaussian noise added to each coordinate",
            non_negative,
            ">= 0",
        ),
        Hyper(
            "n_classes",
            "int",
            2,
            "number of spiral arms (classes)",
            _classes_check,
            _classes_expect,
        ),
        Hyper("turns", "float", 1.0, "turns each arm makes around the centre", positive, "> 0"),
    ),
    "binary",
    2,
    2,
    aliases=("spiral",),
)
_synthetic(
    "blobs",
    synthetic.blobs,
    "Gaussian clusters, one class per cluster",
    (
        N_SAMPLES,
        Hyper("n_features", "int", 2, "dimension of the points", *_sizes(1, 10_000)),
        Hyper("centers", "int", 3, "number of clusters (classes)", _classes_check, _classes_expect),
        Hyper(
            "cluster_std",
            "float",
            1.0,
            "std of each cluster around its centre",
            non_negative,
            ">= 0",
        ),
    ),
    "multiclass",
    2,
    3,
)
_synthetic(
    "xor",
    synthetic.xor,
    "the XOR problem: label 1 when the coordinates' signs differ",
    (N_SAMPLES, NOISE),
    "binary",
    2,
    2,
)
_synthetic(
    "linear",
    synthetic.linear,
    "linear regression with Gaussian features and known weights",
    (
        N_SAMPLES,
        Hyper("n_features", "int", 5, "number of features", *_sizes(1, 10_000)),
        NOISE,
        Hyper("n_targets", "int", 1, "number of regression targets (outputs)", *_sizes(1, 1_000)),
    ),
    "regression",
    5,
    None,
)


def load_builtin(
    name: str, params: dict | None, rng: np.random.Generator | None, task: str = "auto"
) -> Dataset:
    """The built-in dataset `name` (a registry name or alias).

    params: settings of a synthetic dataset, validated as "data.params.<key>" (missing ones take
    their defaults); bundled datasets accept none. rng: draws the synthetic data (the "data"
    stream); unused by bundled ones. task: "auto" (the dataset's own task) or an override, as
    for files (e.g. "regression" on integer targets).
    """
    entry = DATASETS.get(name, "data.name")
    settings = DATASETS.resolve(entry.name, params, "data.params")
    if entry.info["kind"] == "bundled":
        return entry.build(task)
    if rng is None:
        raise ValueError(f"synthetic dataset {entry.name!r} needs a random generator")
    X, y = entry.build(rng, **settings)
    natural = entry.info["task"]
    if natural != "regression" and task == "auto":
        task = "binary" if int(y.max()) == 1 else "multiclass"
    return make_dataset(
        X,
        y,
        task=natural if task == "auto" else task,
        target_name="y",
        source=entry.name,
        locate=lambda i: f"sample {i}",
    )


def describe(name: str, params: dict | None = None) -> dict:
    """The info of a dataset with its sizes for the given settings (for `nnctl datasets`)."""
    entry = DATASETS.get(name, "data.name")
    settings = DATASETS.resolve(entry.name, params, "data.params")
    info = dict(entry.info)
    if info["kind"] == "synthetic":
        info["n_samples"] = settings["n_samples"]
        info["n_features"] = settings.get("n_features", info["n_features"])
        if "n_classes" in settings or "centers" in settings:
            info["n_classes"] = settings.get("n_classes", settings.get("centers"))
            info["task"] = "binary" if info["n_classes"] == 2 else "multiclass"
    return info
