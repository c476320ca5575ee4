"""Bad input of every kind, run as real processes: exit 2, no traceback, and a message naming the
file and the key path or the line/column (issue 6, part 1 and 5).

One table, CASES: (id, command line, fragments stderr must contain). The files the commands
refer to are made once in a shared folder (`world`), and the processes run a few at a time (each
is a full interpreter start) so the table stays fast; each case is still its own test.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from conftest import assert_clean_error, run_nnctl
from nnctl.data import bundled_path

IRIS = "data: {name: iris}\n"
TINY_RUN = """
seed: 0
data: {name: iris, val_fraction: 0.2}
model: {kind: softmax}
optimizer: {name: sgd, lr: 0.1}
train: {epochs: 1, batch_size: 32}
"""

# Config files: name -> YAML text (each trains iris unless it says otherwise).
CONFIGS = {
    "syntax.yaml": "data: {name: iris\nmodel: {kind: mlp}\n",
    "epochs_type.yaml": IRIS + "train: {epochs: ten}\n",
    "lr_type.yaml": IRIS + "optimizer: {name: sgd, lr: fast}\n",
    "train_key.yaml": IRIS + "train: {batch_sise: 8}\n",
    "optim_key.yaml": IRIS + "optimizer: {name: sgd, momentun: 0.9}\n",
    "lr_zero.yaml": IRIS + "optimizer: {name: sgd, lr: 0}\n",
    "momentum_one.yaml": IRIS + "optimizer: {name: sgd, momentum: 1.0}\n",
    "betas_high.yaml": IRIS + "optimizer: {name: adam, betas: [0.9, 1.0]}\n",
    "epochs_negative.yaml": IRIS + "train: {epochs: -1}\n",
    "batch_zero.yaml": IRIS + "train: {batch_size: 0}\n",
    "val_one.yaml": "data: {name: iris, val_fraction: 1.0}\n",
    "logreg_multiclass.yaml": IRIS + "model: {kind: logreg}\n",
    "exact_softmax.yaml": IRIS + "model: {kind: softmax}\noptimizer: {name: exact}\n",
    "mse_softmax.yaml": IRIS + "model: {kind: softmax}\nloss: {name: mse}\n",
    "lbfgs_dropout.yaml": IRIS + "model: {kind: mlp, dropout: 0.5}\noptimizer: {name: lbfgs}\n",
    "dataset.yaml": "data: {name: irsi}\n",
    "python_tag.yaml": "data: !!python/object/apply:os.system ['echo pwned > pwned.txt']\n",
    "alias_bomb.yaml": "".join(
        ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"]
        + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 8)]
    ),
    "good_iris.yaml": IRIS + "train: {epochs: 1}\n",
    # data files (written below) referred to by configs
    "missing_data.yaml": "data: {path: nowhere.csv}\n",
    "ragged.yaml": "data: {path: ragged.csv}\n",
    "nonnumeric.yaml": "data: {path: nonnumeric.csv}\n",
    "nan.yaml": "data: {path: nan.csv}\n",
    "inf.yaml": "data: {path: inf.csv}\n",
    "no_target.yaml": "data: {path: good.csv, target: label}\n",
    "single_class.yaml": "data: {path: single.csv}\n",
    "no_rows.yaml": "data: {path: header_only.csv}\n",
    "idx_magic.yaml": "data: {path: bad-magic-idx3-ubyte, labels_path: labels-idx1-ubyte}\n",
    "idx_size.yaml": "data: {path: short-idx3-ubyte, labels_path: labels-idx1-ubyte}\n",
    "huge_data.yaml": "data: {path: huge.csv}\n",
    "npz_object.yaml": "data: {path: object.npz}\n",
    "init_from_object.yaml": IRIS + "model: {kind: softmax, init_from: object_ckpt.npz}\n",
    "init_from_shape.yaml": "data: {name: wine}\nmodel: {kind: softmax, init_from: run/checkpoints/last.npz}\n",
    # issue 11: inputs that passed the first table
    "dup_key.yaml": IRIS + "optimizer:\n  name: sgd\n  lr: 0.1\n  lr: 5.0\n",
    "dup_section.yaml": "train: {epochs: 1}\n" + IRIS + "train: {epochs: 2}\n",
    "deep_list.yaml": "data: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep_mapping.yaml": "data: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
    "lr_inf.yaml": IRIS + "optimizer: {name: sgd, lr: .inf}\n",
    "idx_zero.yaml": "data: {path: zero-idx3-ubyte, labels_path: labels-idx1-ubyte}\n",
    "idx_huge.yaml": "data: {path: huge-idx3-ubyte, labels_path: labels-idx1-ubyte}\n",
    "dev_zero.yaml": "data: {path: /dev/zero, format: csv}\n",
    "dev_zero_npz.yaml": "data: {path: /dev/zero, format: npz}\n",
    "dev_urandom.yaml": "data: {path: /dev/urandom}\n",
    "fifo_data.yaml": "data: {path: fifo.csv}\n",
    "loop_data.yaml": "data: {path: loop1.csv}\n",
    "npz_zip_method.yaml": "data: {path: method.npz}\n",
    "npz_zip_encrypted.yaml": "data: {path: encrypted.npz}\n",
    "beyond_f32.yaml": "data: {path: beyond_f32.csv, standardize: false}\nmodel: {kind: logreg}\n",
    "init_from_nan.yaml": IRIS + "model: {kind: softmax, init_from: nan_init.npz}\n",
    "init_from_zip.yaml": IRIS + "model: {kind: softmax, init_from: ckpt_version.npz}\n",
}

CSV_FILES = {
    "good.csv": "x1,x2,target\n1,2,a\n2,3,b\n3,1,a\n4,4,b\n",
    "ragged.csv": "x1,x2,target\n1,2,a\n2,3\n3,1,a\n",
    "nonnumeric.csv": "x1,x2,target\n1,2,a\n2,three,b\n3,1,a\n",
    "nan.csv": "x1,x2,target\n1,2,a\nnan,3,b\n3,1,a\n",
    "inf.csv": "x1,x2,target\n1,2,a\n2,3,b\n3,-inf,a\n",
    "single.csv": "x1,x2,target\n1,2,a\n2,3,a\n3,1,a\n",
    "header_only.csv": "x1,x2,target\n",
    "beyond_f32.csv": "a,b,target\n1,2,0\n2,1e300,1\n3,4,0\n4,-5,1\n5,6,0\n6,7,1\n",
}

CASES = [
    # -- the config file itself ------------------------------------------------------------------
    ("config-missing", ["train", "nope.yaml"], ["nope.yaml", "not found"]),
    ("config-unreadable", ["train", "good.csv/x.yaml"], ["x.yaml", "cannot read"]),
    ("config-binary", ["train", "binary.yaml"], ["binary.yaml", "UTF-8"]),
    ("config-too-big", ["train", "huge.yaml"], ["huge.yaml", "bytes", "refused"]),
    ("yaml-syntax", ["train", "syntax.yaml"], ["syntax.yaml:2:", "YAML syntax error"]),
    (
        "yaml-python-tag",
        ["train", "python_tag.yaml"],
        ["python_tag.yaml:1:", "python/object", "not allowed"],
    ),
    ("yaml-alias-bomb", ["train", "alias_bomb.yaml"], ["alias_bomb.yaml", "alias bomb", "refused"]),
    # -- types and keys ----------------------------------------------------------------------------
    (
        "type-int",
        ["train", "epochs_type.yaml"],
        ["epochs_type.yaml", "train.epochs", "an integer", "'ten'"],
    ),
    (
        "type-float",
        ["train", "lr_type.yaml"],
        ["lr_type.yaml", "optimizer.lr", "a number", "'fast'"],
    ),
    (
        "unknown-train-key",
        ["train", "train_key.yaml"],
        ["train_key.yaml", "train.batch_sise", 'did you mean "batch_size"'],
    ),
    (
        "unknown-optim-key",
        ["train", "optim_key.yaml"],
        ["optim_key.yaml", "optimizer.momentun", 'did you mean "momentum"'],
    ),
    (
        "override-bad-value",
        ["train", "good_iris.yaml", "-s", "optimizer.lr=abc"],
        ["-s optimizer.lr=abc:", "> 0", "'abc'"],  # the override's fault, not the file's
    ),
    # -- ranges ------------------------------------------------------------------------------------
    ("lr-zero", ["train", "lr_zero.yaml"], ["lr_zero.yaml", "optimizer.lr", "> 0", "found 0"]),
    (
        "momentum-one",
        ["train", "momentum_one.yaml"],
        ["momentum_one.yaml", "optimizer.momentum", "[0, 1)", "1.0"],
    ),
    (
        "betas-one",
        ["train", "betas_high.yaml"],
        ["betas_high.yaml", "optimizer.betas", "[0.9, 1.0]"],
    ),
    (
        "epochs-negative",
        ["train", "epochs_negative.yaml"],
        ["epochs_negative.yaml", "train.epochs", ">= 0", "-1"],
    ),
    (
        "batch-size-zero",
        ["train", "batch_zero.yaml"],
        ["batch_zero.yaml", "train.batch_size", ">= 1", "found 0"],
    ),
    (
        "val-fraction-one",
        ["train", "val_one.yaml"],
        ["val_one.yaml", "data.val_fraction", "[0, 1)", "1.0"],
    ),
    # -- combinations ------------------------------------------------------------------------------
    (
        "logreg-3-classes",
        ["train", "logreg_multiclass.yaml"],
        ["iris: model.kind", "logreg", "3 classes"],
    ),
    (
        "exact-softmax",
        ["train", "exact_softmax.yaml"],
        ["exact_softmax.yaml", "optimizer.name", "linreg"],
    ),
    ("mse-softmax", ["train", "mse_softmax.yaml"], ["iris: loss.name", "mse"]),
    (
        "lbfgs-dropout",
        ["train", "lbfgs_dropout.yaml"],
        ["lbfgs_dropout.yaml", "optimizer.name", "dropout"],
    ),
    (
        "unknown-dataset",
        ["train", "dataset.yaml"],
        ["dataset.yaml", "data.name", "'irsi'", 'did you mean "iris"'],
    ),
    # -- data files --------------------------------------------------------------------------------
    ("data-missing", ["train", "missing_data.yaml"], ["nowhere.csv", "not found"]),
    ("csv-ragged", ["train", "ragged.yaml"], ["ragged.csv", "line 3", "2 fields, expected 3"]),
    (
        "csv-non-numeric",
        ["train", "nonnumeric.yaml"],
        ["nonnumeric.csv", "line 3, column 'x2'", "expected a number", "'three'"],
    ),
    (
        "csv-nan",
        ["train", "nan.yaml"],
        ["nan.csv", "missing cells: column 'x1': 1 (line 3)", "data.missing: impute"],
    ),
    ("csv-inf", ["train", "inf.yaml"], ["inf.csv", "line 4, column 'x2'", "finite", "-inf"]),
    (
        "csv-missing-target",
        ["train", "no_target.yaml"],
        ["good.csv", "no target column 'label'", "x1, x2, target"],
    ),
    (
        "csv-single-class",
        ["train", "single_class.yaml"],
        ["single.csv", "column 'target'", "single class ('a')"],
    ),
    ("csv-no-rows", ["train", "no_rows.yaml"], ["header_only.csv", "no data rows"]),
    ("idx-bad-magic", ["train", "idx_magic.yaml"], ["bad-magic-idx3-ubyte", "bad magic number"]),
    ("idx-size-mismatch", ["train", "idx_size.yaml"], ["short-idx3-ubyte", "header", "truncated"]),
    ("data-too-big", ["train", "huge_data.yaml"], ["huge.csv", "limit", "refused"]),
    ("npz-object-array", ["train", "npz_object.yaml"], ["object.npz", "pickle", "refused"]),
    # -- checkpoints: eval / predict ---------------------------------------------------------------
    ("eval-missing", ["eval", "no_run"], ["no_run", "no such run folder or checkpoint"]),
    ("eval-truncated", ["eval", "truncated.npz"], ["truncated.npz", "truncated or corrupt"]),
    ("eval-text-file", ["eval", "good.csv"], ["good.csv", "not a readable .npz", "other data"]),
    ("eval-not-nnctl", ["eval", "plain.npz"], ["plain.npz", "not an nnctl checkpoint"]),
    ("eval-newer-format", ["eval", "newer.npz"], ["newer.npz", "format 99 is newer"]),
    ("eval-object-array", ["eval", "object_ckpt.npz"], ["object_ckpt.npz", "pickle", "refused"]),
    (
        "eval-feature-count",
        ["eval", "run", "--data", "three_features.csv"],
        ["three_features.csv", "no column 'sepal_length_cm'", "matched by header name"],
    ),
    (
        "eval-unknown-label",
        ["eval", "run", "--data", "new_label.csv"],
        ["new_label.csv", "line 2, column 'target'", "'rose'"],
    ),
    (
        "predict-feature-count",
        ["predict", "run", "three_features.csv"],
        ["three_features.csv", "no column 'sepal_length_cm'"],
    ),
    (
        "eval-array-shape",
        ["eval", "shape_ckpt.npz"],
        ["shape_ckpt.npz", "array 'linear0.weight' has shape [2, 2]", "expects [4, 3]"],
    ),
    # -- checkpoints: --resume and init_from -------------------------------------------------------
    (
        "resume-missing",
        ["train", "--resume", "no_run"],
        ["no_run", "--resume expects a run folder"],
    ),
    (
        "resume-no-checkpoint",
        ["train", "--resume", "somedir"],
        ["somedir", "no checkpoints/last.npz"],
    ),
    (
        "resume-truncated",
        ["train", "--resume", "run_truncated"],
        ["run_truncated", "last.npz", "truncated or corrupt"],
    ),
    (
        "resume-newer-format",
        ["train", "--resume", "run_newer"],
        ["run_newer", "last.npz", "is newer"],
    ),
    (
        "resume-object-array",
        ["train", "--resume", "run_object"],
        ["run_object", "last.npz", "pickle"],
    ),
    (
        "resume-bad-config",
        ["train", "--resume", "run_bad_config"],
        ["run_bad_config", "last.npz", "optimizer.lr"],
    ),
    (
        "resume-array-shape",
        ["train", "--resume", "run_shape"],
        ["run_shape", "last.npz", "array 'linear0.weight' has shape [2, 2]", "expects [4, 3]"],
    ),
    (
        "resume-feature-count",
        ["train", "--resume", "csv_run"],
        ["changing.csv", "3 feature columns", "last.npz", "trained on 2"],
    ),
    (
        "init-from-object",
        ["train", "init_from_object.yaml"],
        ["object_ckpt.npz", "model.init_from", "pickle"],
    ),
    (
        "init-from-shape",
        ["train", "init_from_shape.yaml"],
        ["last.npz", "model.init_from", "linear0.weight has shape [4, 3]", "[13, 3]"],
    ),
    # -- issue 11: YAML ----------------------------------------------------------------------------
    (
        "yaml-duplicate-key",
        ["train", "dup_key.yaml"],
        ["dup_key.yaml:5", "duplicate key 'lr'", "first at line 4"],
    ),
    (
        "yaml-duplicate-section",
        ["train", "dup_section.yaml"],
        ["dup_section.yaml:3", "duplicate key 'train'", "line 1"],
    ),
    (
        "yaml-deep-list",
        ["train", "deep_list.yaml"],
        ["deep_list.yaml:1:", "nested more than 100 levels"],
    ),
    (
        "yaml-deep-mapping",
        ["train", "deep_mapping.yaml"],
        ["deep_mapping.yaml:1:", "nested more than 100 levels"],
    ),
    (
        "override-deep",
        ["train", "good_iris.yaml", "-s", "optimizer.lr=" + "[" * 3000],
        ["-s optimizer.lr", "nested more than 100"],
    ),
    (
        "override-huge-int-text",
        ["train", "good_iris.yaml", "-s", "train.epochs=1" + "0" * 5000],
        ["-s train.epochs", "cannot be read"],
    ),
    # -- issue 11: values --------------------------------------------------------------------------
    (
        "override-list-as-name",
        ["train", "good_iris.yaml", "-s", "optimizer.name=[1]"],
        ["optimizer.name", "name of a optimizer", "[1]"],
    ),
    (
        "override-mapping-as-name",
        ["train", "good_iris.yaml", "-s", "schedule.name={a: 1}"],
        ["schedule.name", "{'a': 1}"],
    ),
    ("lr-inf", ["train", "lr_inf.yaml"], ["lr_inf.yaml", "optimizer.lr", "finite", "inf"]),
    (
        "lr-1e400",
        ["train", "good_iris.yaml", "-s", "optimizer.lr=1e400"],
        ["optimizer.lr", "finite", "1e400"],
    ),
    (
        "lr-nan",
        ["train", "good_iris.yaml", "-s", "optimizer.lr=.nan"],
        ["optimizer.lr", "finite", "nan"],
    ),
    (
        "batch-size-huge",
        ["train", "good_iris.yaml", "-s", f"train.batch_size={10**20}"],
        ["train.batch_size", "at most 2147483647", str(10**20)],
    ),
    (
        "hidden-huge",
        ["train", "good_iris.yaml", "-s", "model.hidden=[100000000000]"],
        ["model.hidden[0]", "at most 2147483647"],
    ),
    (
        "init-bias-float32",
        ["train", "good_iris.yaml", "-s", "init.bias=1e300"],
        ["init.bias", "1e+300", "float32"],
    ),
    (
        "data-beyond-float32",
        ["train", "beyond_f32.yaml"],
        ["beyond_f32.csv", "column 'b'", "1e+300", "float32", "train.dtype: float64"],
    ),
    (
        "init-from-nan",
        ["train", "init_from_nan.yaml"],
        ["nan_init.npz", "model.init_from", "'linear0.weight'", "NaN"],
    ),
    # -- issue 11: data files ----------------------------------------------------------------------
    ("idx-zero-images", ["train", "idx_zero.yaml"], ["zero-idx3-ubyte", "0 x 2 x 2", "no data"]),
    (
        "idx-huge-dims",
        ["train", "idx_huge.yaml"],
        ["huge-idx3-ubyte", "4294967295 x 4294967295", "truncated"],
    ),
    (
        "data-dev-zero",
        ["train", "dev_zero.yaml"],
        ["/dev/zero", "regular file", "character device"],
    ),
    ("data-dev-zero-npz", ["train", "dev_zero_npz.yaml"], ["/dev/zero", "character device"]),
    ("data-dev-urandom", ["train", "dev_urandom.yaml"], ["/dev/urandom", "character device"]),
    ("data-fifo", ["train", "fifo_data.yaml"], ["fifo.csv", "FIFO"]),
    ("data-symlink-loop", ["train", "loop_data.yaml"], ["loop1.csv", "symlink loop"]),
    ("config-fifo", ["train", "fifo.yaml"], ["fifo.yaml", "config file", "FIFO"]),
    ("config-dev-zero", ["train", "/dev/zero"], ["/dev/zero", "config file", "character device"]),
    (
        "npz-zip-unknown-method",
        ["train", "npz_zip_method.yaml"],
        ["method.npz", "truncated or corrupt", "NotImplementedError"],
    ),
    (
        "npz-zip-encrypted",
        ["train", "npz_zip_encrypted.yaml"],
        ["encrypted.npz", "truncated or corrupt", "RuntimeError"],
    ),
    # -- issue 11: checkpoints ---------------------------------------------------------------------
    (
        "eval-zip-encrypted",
        ["eval", "ckpt_encrypted.npz"],
        ["ckpt_encrypted.npz", "checkpoint", "RuntimeError"],
    ),
    (
        "eval-zip-unknown-method",
        ["eval", "ckpt_method.npz"],
        ["ckpt_method.npz", "checkpoint", "NotImplementedError"],
    ),
    (
        "eval-zip-version",
        ["eval", "ckpt_version.npz"],
        ["ckpt_version.npz", "checkpoint", "version"],
    ),
    (
        "predict-zip-method",
        ["predict", "ckpt_method.npz", "good.csv"],
        ["ckpt_method.npz", "NotImplementedError"],
    ),
    (
        "resume-zip-encrypted",
        ["train", "--resume", "run_encrypted"],
        ["run_encrypted", "last.npz", "RuntimeError"],
    ),
    (
        "init-from-zip-version",
        ["train", "init_from_zip.yaml"],
        ["ckpt_version.npz", "model.init_from", "version"],
    ),
    ("eval-dev-zero", ["eval", "/dev/zero"], ["/dev/zero", "checkpoint", "character device"]),
    ("eval-symlink-loop", ["eval", "loop1.npz"], ["loop1.npz", "symlink loop"]),
    # -- issue 11: small ones ----------------------------------------------------------------------
    (
        "gradcheck-samples-zero",
        ["gradcheck", "good_iris.yaml", "--samples", "0"],
        ["--samples", ">= 1", "found 0"],
    ),
    (
        "gradcheck-samples-negative",
        ["gradcheck", "good_iris.yaml", "--samples", "-5"],
        ["--samples", "found -5"],
    ),
    (
        "predict-proba-regression",
        ["predict", "reg_run", "reg.csv", "--proba"],
        ["--proba", "regression model"],
    ),
    (
        "out-under-a-file",
        ["train", "good_iris.yaml", "--out", "good.csv/run"],
        ["good.csv/run", "cannot write", "Not a directory"],
    ),
]


def _idx(dtype_code: int, shape, payload: bytes) -> bytes:
    return bytes([0, 0, dtype_code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def _resave(source, target, change_meta=None, change_arrays=None):
    """A copy of checkpoint `source` with its meta / arrays changed (written with NumPy
    directly, as a foreign or tampered file would be)."""
    with np.load(source, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(str(arrays.pop("meta")))
    if change_meta:
        change_meta(meta)
    if change_arrays:
        change_arrays(arrays)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(target, **arrays)


# Offsets of fields in a zip central-directory record (what zipfile reads first).
CENTRAL = b"PK\x01\x02"
CENTRAL_FIELDS = {"version": (6, 2), "flags": (8, 2), "method": (10, 2)}


def _zip_edit(blob: bytes, field: str, value: int) -> bytes:
    """`blob` (an .npz) with `field` of every central-directory record set to `value`."""
    offset, size = CENTRAL_FIELDS[field]
    data = bytearray(blob)
    start = data.find(CENTRAL)
    while start >= 0:
        data[start + offset : start + offset + size] = value.to_bytes(size, "little")
        start = data.find(CENTRAL, start + 1)
    return bytes(data)


def _copy_run(world, name, **changes):
    """A copy of the run folder whose last.npz is damaged by `_resave(**changes)`."""
    shutil.copytree(world / "run", world / name)
    last = world / name / "checkpoints" / "last.npz"
    _resave(last, last, **changes)


def _make_world(world):
    for name, text in {**CONFIGS, **CSV_FILES}.items():
        (world / name).write_text(text)
    (world / "run.yaml").write_text(TINY_RUN)
    (world / "somedir").mkdir()
    (world / "binary.yaml").write_bytes(b"\xff\xfe\x00data: \x80\x81\n")
    with open(world / "huge.yaml", "wb") as handle:  # sparse: instant, no disk used
        handle.truncate(2_000_000)
    with open(world / "huge.csv", "wb") as handle:
        handle.truncate((1 << 30) + 1)
    images = _idx(0x08, (4, 2, 2), bytes(range(16)))
    (world / "short-idx3-ubyte").write_bytes(images[:-5])
    (world / "bad-magic-idx3-ubyte").write_bytes(b"\x08\x03\x00\x00" + images[4:])
    (world / "labels-idx1-ubyte").write_bytes(_idx(0x08, (4,), bytes([0, 1, 0, 1])))
    np.savez(
        world / "object.npz", X=np.array([[1.0], [2.0]]), y=np.array([{"a": 1}, None], dtype=object)
    )

    # A real run to damage, and a run on a CSV that will change under it.
    proc = run_nnctl("train", "run.yaml", "--out", "run", "-q", cwd=world)
    assert proc.returncode == 0, proc.stderr
    (world / "changing.csv").write_text(
        "a,b,target\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 2}\n" for i in range(40))
    )
    (world / "csv_run.yaml").write_text(
        "data: {path: changing.csv}\nmodel: {kind: logreg}\ntrain: {epochs: 2}\n"
    )
    proc = run_nnctl("train", "csv_run.yaml", "--out", "csv_run", "-q", cwd=world)
    assert proc.returncode == 0, proc.stderr
    (world / "changing.csv").write_text(
        "a,b,c,target\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 3},{i % 2}\n" for i in range(40))
    )

    last = world / "run" / "checkpoints" / "last.npz"
    blob = last.read_bytes()
    (world / "truncated.npz").write_bytes(blob[: len(blob) // 2])
    np.savez(world / "plain.npz", w=np.zeros(3))
    _resave(last, world / "newer.npz", change_meta=lambda m: m.update(format_version=99))
    _resave(
        last,
        world / "object_ckpt.npz",
        change_arrays=lambda a: a.update(
            {"linear0.weight": np.array([None, {"x": 1}], dtype=object)}
        ),
    )

    # issue 11: zip-level damage (the encrypted flag, an unknown method, version 9.9), special
    # files, symlink loops, IDX headers, non-finite init_from, a regression run.
    for name, field, value in (
        ("encrypted", "flags", 1),
        ("method", "method", 99),
        ("version", "version", 99),
    ):
        (world / f"ckpt_{name}.npz").write_bytes(_zip_edit(blob, field, value))
    data_blob = world / "data_plain.npz"
    np.savez(data_blob, X=np.arange(8.0).reshape(4, 2), y=np.array([0, 1, 0, 1]))
    (world / "method.npz").write_bytes(_zip_edit(data_blob.read_bytes(), "method", 99))
    (world / "encrypted.npz").write_bytes(_zip_edit(data_blob.read_bytes(), "flags", 1))
    shutil.copytree(world / "run", world / "run_encrypted")
    (world / "run_encrypted" / "checkpoints" / "last.npz").write_bytes(_zip_edit(blob, "flags", 1))
    os.mkfifo(world / "fifo.csv")
    os.mkfifo(world / "fifo.yaml")
    for a, b in (("loop1.csv", "loop2.csv"), ("loop1.npz", "loop2.npz")):
        os.symlink(b, world / a)
        os.symlink(a, world / b)
    (world / "zero-idx3-ubyte").write_bytes(_idx(0x08, (0, 2, 2), b""))
    (world / "huge-idx3-ubyte").write_bytes(_idx(0x08, (2**32 - 1,) * 4, b"abc"))
    with np.load(last, allow_pickle=False) as archive:
        weight, bias = archive["linear0.weight"].copy(), archive["linear0.bias"]
    weight[0, 0] = np.nan
    np.savez(world / "nan_init.npz", **{"linear0.weight": weight, "linear0.bias": bias})
    (world / "reg.yaml").write_text(
        "data: {path: reg.csv}\nmodel: {kind: linreg}\ntrain: {epochs: 1}\n"
    )
    rows = "".join(f"{i},{i / 4 + 0.1}\n" for i in range(20))
    (world / "reg.csv").write_text("x,target\n" + rows)
    proc = run_nnctl("train", "reg.yaml", "--out", "reg_run", "-q", cwd=world)
    assert proc.returncode == 0, proc.stderr

    def bad_lr(meta):
        meta["config"]["optimizer"]["lr"] = -1.0

    shutil.copytree(world / "run", world / "run_truncated")
    (world / "run_truncated" / "checkpoints" / "last.npz").write_bytes(blob[:100])
    _copy_run(world, "run_newer", change_meta=lambda m: m.update(format_version=99))
    _copy_run(
        world,
        "run_object",
        change_arrays=lambda a: a.update({"optim.momentum_buffer": np.array([None], dtype=object)}),
    )
    _copy_run(world, "run_bad_config", change_meta=bad_lr)
    wrong_shape = {"linear0.weight": np.zeros((2, 2))}
    _resave(last, world / "shape_ckpt.npz", change_arrays=lambda a: a.update(wrong_shape))
    _copy_run(world, "run_shape", change_arrays=lambda a: a.update(wrong_shape))

    text = bundled_path("iris.csv").read_text().splitlines()
    header = text[0].split(",")
    rows = [line.split(",") for line in text[1:6]]
    (world / "three_features.csv").write_text(
        "\n".join(",".join(r[1:]) for r in [header] + rows) + "\n"
    )
    label = header.index("target")
    rows[0][label] = "rose"
    (world / "new_label.csv").write_text("\n".join(",".join(r) for r in [header] + rows) + "\n")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every case's CompletedProcess, run two or three at a time."""
    world = tmp_path_factory.mktemp("bad_input")
    _make_world(world)

    def run(case):
        return case[0], run_nnctl(*case[1], cwd=world, timeout=120)

    with ThreadPoolExecutor(max_workers=3) as pool:
        done = dict(pool.map(run, CASES))
    done["__world__"] = world
    return done


def test_the_table_is_large_enough():
    assert len(CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case_id, argv, fragments", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_a_message(results, case_id, argv, fragments):
    proc = results[case_id]
    assert_clean_error(proc, 2, *fragments)
    assert proc.stderr.startswith("error: "), proc.stderr
    assert proc.stdout == "", proc.stdout
    # One or two lines, as the contract says; never a dump.
    assert len(proc.stderr.strip().splitlines()) <= 2, proc.stderr


def test_nothing_executed_and_nothing_written(results):
    world = results["__world__"]
    assert not (world / "pwned.txt").exists()  # the python tag was refused, not run
    # Failed trainings on bad configs wrote no metrics anywhere.
    runs = world / "runs"
    if runs.exists():
        assert not list(runs.rglob("metrics.jsonl"))


def test_debug_variable_shows_the_traceback(tmp_path):
    (tmp_path / "bad.yaml").write_text(IRIS + "optimizer: {name: adma}\n")
    env = {**os.environ, "NNCTL_DEBUG": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "nnctl", "train", "bad.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr and "UsageError" in proc.stderr
