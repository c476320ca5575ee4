"""File loaders: CSV, NPZ, NPY pairs and IDX; task inference, label mapping, every error case."""

from __future__ import annotations

import gzip
import os
import re
import struct

import numpy as np
import pytest

from nnctl.data import check_features, detect_format, load_file
from nnctl.errors import UsageError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path, **kwargs) -> str:
    with pytest.raises(UsageError) as caught:
        load_file(path, **kwargs)
    message = str(caught.value)
    assert str(path) in message or "labels_path" in kwargs  # every message names the file
    return message


# ------------------------------------------------------------------------------------- CSV


def test_csv_string_labels_mapped_sorted_and_round_trip(tmp_path):
    path = write(
        tmp_path,
        "flowers.csv",
        "a,b,species\n1,2,virginica\n3,4,setosa\n5,6,versicolor\n7,8,setosa\n",
    )
    data = load_file(path)
    assert data.task == "multiclass"
    assert data.classes == ["setosa", "versicolor", "virginica"]
    assert data.y.dtype == np.int64 and data.y.tolist() == [2, 0, 1, 0]
    assert [data.classes[c] for c in data.y] == ["virginica", "setosa", "versicolor", "setosa"]
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4], [5, 6], [7, 8]])
    assert data.X.dtype == np.float64
    assert (
        data.feature_names == ["a", "b"]
        and data.target_name == "species"
        and data.source == str(path)
    )


def test_csv_known_classes_map_new_file_onto_them(tmp_path):
    path = write(tmp_path, "val.csv", "a,species\n1,virginica\n2,virginica\n")
    data = load_file(path, classes=["setosa", "versicolor", "virginica"])
    assert data.y.tolist() == [2, 2] and data.classes == ["setosa", "versicolor", "virginica"]
    assert data.task == "multiclass"  # from the classes, though this file has one label only
    numeric = write(tmp_path, "num.csv", "a,target\n1,3\n2,1.0\n")
    assert load_file(numeric, classes=[1, 3]).y.tolist() == [1, 0]


def test_csv_unseen_label_names_file_line_and_value(tmp_path):
    path = write(tmp_path, "val.csv", "a,species\n1,setosa\n2,tulip\n")
    message = error_of(path, classes=["setosa", "versicolor"])
    assert "line 3, column 'species': label 'tulip' is not one of the classes" in message
    assert "setosa" in message  # lists the known classes


def test_csv_target_default_is_target_column_else_last(tmp_path):
    named = write(tmp_path, "named.csv", "target,x1,x2\n0,1.5,2\n1,2.5,3\n")
    data = load_file(named)
    assert data.target_name == "target" and data.feature_names == ["x1", "x2"]
    np.testing.assert_array_equal(data.X, [[1.5, 2], [2.5, 3]])
    last = write(tmp_path, "last.csv", "x1,x2,label\n1,2,0\n3,4,1\n")
    assert load_file(last).target_name == "label" and load_file(last).feature_names == ["x1", "x2"]


def test_csv_target_by_name_anywhere(tmp_path):
    path = write(tmp_path, "d.csv", "x1,price,x2\n1,10.5,2\n3,20.25,4\n5,1.125,6\n")
    data = load_file(path, target="price")
    assert data.task == "regression" and data.classes is None
    np.testing.assert_array_equal(data.y, [10.5, 20.25, 1.125])
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4], [5, 6]])


def test_task_inference_rules(tmp_path):
    rows = "\n".join(f"{i},{i % 2}" for i in range(30))
    assert load_file(write(tmp_path, "bin.csv", "x,y\n" + rows + "\n")).task == "binary"
    rows = "\n".join(f"{i},{i % 5}" for i in range(30))
    assert load_file(write(tmp_path, "multi.csv", "x,y\n" + rows + "\n")).classes == [0, 1, 2, 3, 4]
    rows = "\n".join(f"{i},{i}" for i in range(30))  # 30 distinct integers: more than 20 classes
    assert load_file(write(tmp_path, "many.csv", "x,y\n" + rows + "\n")).task == "regression"
    rows = "\n".join(f"{i},{i % 2 + 0.5}" for i in range(30))  # few values but not integers
    assert load_file(write(tmp_path, "float.csv", "x,y\n" + rows + "\n")).task == "regression"
    rows = "\n".join(f"{i},{i % 3}.0" for i in range(30))  # integer-valued floats are labels
    data = load_file(write(tmp_path, "intfloat.csv", "x,y\n" + rows + "\n"))
    assert data.task == "multiclass" and data.classes == [0, 1, 2]


def test_task_override(tmp_path):
    path = write(tmp_path, "d.csv", "x,y\n1,0\n2,1\n3,2\n4,1\n")
    regression = load_file(path, task="regression")
    assert regression.task == "regression" and regression.y.dtype == np.float64
    with pytest.raises(UsageError, match=r"binary classification needs exactly 2 classes, found 3"):
        load_file(path, task="binary")
    labels = write(tmp_path, "s.csv", "x,y\n1,cat\n2,dog\n")
    message = error_of(labels, task="regression")
    assert "line 2, column 'y': expected a number for regression, found 'cat'" in message


def test_numeric_labels_sorted_numerically(tmp_path):
    path = write(tmp_path, "d.csv", "x,y\n1,10\n2,9\n3,-1\n4,10\n")
    data = load_file(path)
    assert data.classes == [-1, 9, 10] and data.y.tolist() == [2, 1, 0, 2]


def test_csv_quirks_bom_blank_lines_quotes_whitespace_gzip_tsv(tmp_path):
    text = '\ufeffx1, "x 2",target\n\n 1.5 ,"2",a\n3,4 , b \n\n'
    data = load_file(write(tmp_path, "q.csv", text))
    assert data.feature_names == ["x1", "x 2"] and data.classes == ["a", "b"]
    np.testing.assert_array_equal(data.X, [[1.5, 2], [3, 4]])
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(b"x,target\n1,0\n2,1\n"))
    assert load_file(gz).y.tolist() == [0, 1]
    tsv = write(tmp_path, "d.tsv", "x\ty\ttarget\n1\t2\t0\n3\t4\t1\n")
    np.testing.assert_array_equal(load_file(tsv).X, [[1, 2], [3, 4]])


def test_csv_predict_without_target(tmp_path):
    features_only = write(tmp_path, "new.csv", "a,b\n1,2\n3,4\n")
    data = load_file(features_only, require_target=False)
    assert data.y is None and data.X.shape == (2, 2)
    assert load_file(features_only, target="species", require_target=False).y is None
    with_target = write(tmp_path, "new2.csv", "a,species,b\n1,setosa,2\n3,virginica,4\n")
    data = load_file(
        with_target,
        target="species",
        require_target=False,
        classes=["setosa", "versicolor", "virginica"],
    )
    assert data.feature_names == ["a", "b"] and data.y.tolist() == [0, 2]
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4]])


def test_csv_missing_file_folder_and_size_limit(tmp_path):
    missing = tmp_path / "nope.csv"
    assert "not found" in error_of(missing)
    assert "folder" in error_of(tmp_path)
    path = write(tmp_path, "big.csv", "x,y\n" + "1,0\n2,1\n" * 50)
    message = error_of(path, max_bytes=100)
    assert "larger than" in message and "refused" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_csv_unreadable_file(tmp_path):
    path = write(tmp_path, "secret.csv", "x,y\n1,0\n")
    path.chmod(0)
    assert "permission" in error_of(path)


def test_csv_empty_file_and_no_rows(tmp_path):
    assert "empty file" in error_of(write(tmp_path, "empty.csv", ""))
    assert "empty file" in error_of(write(tmp_path, "blank.csv", "\n\n  \n"))
    assert "no data rows" in error_of(write(tmp_path, "header.csv", "x,target\n"))


def test_csv_header_required_named_and_unique(tmp_path):
    message = error_of(write(tmp_path, "nohead.csv", "1,2,0\n3,4,1\n"))
    assert "line 1" in message and "header row" in message
    message = error_of(write(tmp_path, "dup.csv", "x,y,x,target\n1,2,3,0\n"))
    assert "line 1" in message and "'x' appears twice (columns 1 and 3)" in message
    message = error_of(write(tmp_path, "index.csv", ",x,target\n0,1,0\n1,2,1\n"))
    assert "column 1 has no name" in message


def test_csv_ragged_row(tmp_path):
    message = error_of(write(tmp_path, "r.csv", "a,b,target\n1,2,0\n\n3,4\n5,6,1\n"))
    assert "line 4 has 2 fields, expected 3" in message


def test_csv_non_numeric_feature_cell(tmp_path):
    message = error_of(write(tmp_path, "n.csv", "a,b,target\n1,2,0\n3,four,1\n"))
    assert re.search(r"line 3, column 'b': expected a number, found 'four'", message)
    message = error_of(write(tmp_path, "e.csv", "a,b,target\n1,,0\n2,3,1\n1,NA,1\n"))
    assert "missing cells: column 'b': 2 (lines 2, 4)" in message
    assert "data.missing: impute" in message and "drop_rows" in message


def test_csv_non_finite_feature(tmp_path):
    # nan is one of the default missing-value spellings; inf is a number, but not a finite one
    message = error_of(write(tmp_path, "nan.csv", "a,b,target\n1,2,0\n3,4,1\nnan,5,0\n"))
    assert "missing cells: column 'a': 1 (line 4)" in message
    message = error_of(write(tmp_path, "inf.csv", "a,b,target\n1,-inf,0\n3,4,1\n"))
    assert "line 2, column 'b'" in message and "-inf" in message


def test_csv_rows_with_missing_target_left_out_or_infinite_target_refused(tmp_path):
    path = write(tmp_path, "t.csv", "a,target\n1,2.5\n2,nan\n3,NA\n4,1.5\n")
    with pytest.warns(UserWarning, match="2 of 4 rows have no value in the target column"):
        data = load_file(path, task="regression")
    assert data.y.tolist() == [2.5, 1.5] and data.X[:, 0].tolist() == [1, 4]
    with pytest.warns(UserWarning):
        message = error_of(write(tmp_path, "t2.csv", "a,target\n1,x\n2, \n"))
    assert "single class ('x')" in message
    message = error_of(write(tmp_path, "t3.csv", "a,target\n1,2.5\n2,inf\n"), task="regression")
    assert "line 3" in message and "inf" in message
    assert load_file(path, require_target=False).y is None  # predict input: target not needed


def test_csv_missing_target_column_lists_columns_and_suggests(tmp_path):
    path = write(tmp_path, "d.csv", "sepal,petal,species\n1,2,a\n3,4,b\n")
    message = error_of(path, target="specis")
    assert "no target column 'specis'" in message and '(did you mean "species"?)' in message
    assert "sepal, petal, species" in message


def test_csv_single_class(tmp_path):
    message = error_of(write(tmp_path, "one.csv", "a,label\n1,spam\n2,spam\n3,spam\n"))
    assert "single class ('spam') in all 3 rows" in message and "'label'" in message


def test_csv_too_many_string_labels_is_flagged(tmp_path):
    rows = "\n".join(f"{i},name{i}" for i in range(25))
    message = error_of(write(tmp_path, "ids.csv", "x,who\n" + rows + "\n"))
    assert "25 distinct non-numeric values" in message and "data.task: multiclass" in message
    assert load_file(tmp_path / "ids.csv", task="multiclass").n_classes == 25


def test_csv_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"x,target\n" + b"1,cafe\n" * 3000 + b"2,caf\xe9\n")
    assert "line 3002: not UTF-8 text" in error_of(path)


def test_csv_large_file_crosses_conversion_chunks(tmp_path):
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(9000, 3)), 6)
    y = rng.integers(0, 3, 9000)
    lines = ["a,b,c,target"] + [f"{r[0]!r},{r[1]!r},{r[2]!r},{t}" for r, t in zip(X.tolist(), y)]
    lines[8500] = "1,2,oops,0"  # in the third chunk of 4096 rows; file line 8501
    path = write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    assert "line 8501, column 'c': expected a number, found 'oops'" in error_of(path)
    lines[8500] = "1,2,3,0"
    data = load_file(write(tmp_path, "big2.csv", "\n".join(lines) + "\n"))
    X[8499] = [1, 2, 3]
    y[8499] = 0
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.y, y)


# ---------------------------------------------------------------------------------- NPZ / NPY


def test_npz_round_trip_numeric_and_string_labels(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=np.array([1, 0, 1, 1]))
    data = load_file(path)
    np.testing.assert_array_equal(data.X, X)
    assert data.X.dtype == np.float64 and data.task == "binary" and data.y.tolist() == [1, 0, 1, 1]
    assert data.target_name == "y" and data.feature_names == ["x0", "x1", "x2"]
    np.savez(path, X=X, y=np.array(["b", "a", "c", "a"]))
    data = load_file(path)
    assert data.classes == ["a", "b", "c"] and data.y.tolist() == [1, 0, 2, 0]
    message = error_of(path, classes=["a", "b"])
    assert "d.npz: y[2]: label 'c' is not one of the classes" in message
    np.savez(path, X=X, out=np.arange(8.0).reshape(4, 2) / 3)
    data = load_file(path, target="out")
    assert data.task == "regression" and data.y.shape == (4, 2)


def test_npz_images_flattened_and_y_optional_for_predict(tmp_path):
    path = tmp_path / "imgs.npz"
    np.savez(path, X=np.zeros((5, 2, 3)))
    data = load_file(path, require_target=False)
    assert data.X.shape == (5, 6) and data.y is None


def test_npz_errors(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((3, 2)), y=np.zeros(3))
    message = error_of(path)
    assert "no array 'X'" in message and "x, y" in message
    np.savez(path, X=np.zeros((3, 2)))
    assert "no target array 'y'" in error_of(path)
    np.savez(path, X=np.zeros((3, 2)), y=np.zeros(4))
    assert "expected shape [3]" in error_of(path) and "found shape (4,)" in error_of(path)
    np.savez(path, X=np.zeros(3), y=np.zeros(3))
    assert "reshape(-1, 1)" in error_of(path)
    np.savez(path, X=np.array([[1.0, np.nan]]), y=np.zeros(1))
    assert "index 0, column 'x1': expected a finite number, found nan" in error_of(
        path, task="regression"
    )
    np.savez(path, X=np.zeros((2, 2)), y=np.array([1, 2], dtype=object))
    message = error_of(path)
    assert "object arrays" in message and "pickle" in message
    path.write_bytes(b"PK\x03\x04 truncated")
    assert "not a readable NumPy file" in error_of(path)


def test_npy_pair_round_trip_and_errors(tmp_path):
    X = np.random.default_rng(0).normal(size=(6, 2))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", np.array([0.5, 1.5, 2.5, 3.5, 4.5, 5.5]))
    data = load_file(tmp_path / "X.npy", labels_path=tmp_path / "y.npy")
    np.testing.assert_array_equal(data.X, X)
    assert data.task == "regression" and data.y.tolist() == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]
    assert load_file(tmp_path / "X.npy", require_target=False).y is None
    assert "labels_path" in error_of(tmp_path / "X.npy")
    np.save(tmp_path / "short.npy", np.zeros(5))
    message = error_of(tmp_path / "X.npy", labels_path=tmp_path / "short.npy")
    assert str(tmp_path / "short.npy") in message and "found shape (5,)" in message
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    assert "pickle" in error_of(tmp_path / "obj.npy", require_target=False)
    labels_csv = write(tmp_path, "d.csv", "x,target\n1,0\n")
    assert "labels_path applies to npy and idx" in error_of(
        labels_csv, labels_path=tmp_path / "y.npy"
    )


# ---------------------------------------------------------------------------------------- IDX


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """IDX layout: 0x0000, type code, ndim, big-endian uint32 dims, big-endian data."""
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(dtype).tobytes()


@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_round_trip(tmp_path, gzipped):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 4, 3))
    labels = np.array([3, 1, 4, 1, 5, 9, 2])
    pack = gzip.compress if gzipped else (lambda b: b)
    suffix = ".gz" if gzipped else ""
    (tmp_path / f"train-images-idx3-ubyte{suffix}").write_bytes(pack(idx_bytes(images, 0x08)))
    (tmp_path / f"train-labels-idx1-ubyte{suffix}").write_bytes(pack(idx_bytes(labels, 0x08)))
    data = load_file(
        tmp_path / f"train-images-idx3-ubyte{suffix}",
        labels_path=tmp_path / f"train-labels-idx1-ubyte{suffix}",
    )
    assert data.X.shape == (7, 12) and data.X.dtype == np.float64
    np.testing.assert_array_equal(data.X, images.reshape(7, 12))  # raw 0..255, not scaled
    assert data.classes == [1, 2, 3, 4, 5, 9]
    assert [data.classes[c] for c in data.y] == labels.tolist()
    assert (
        data.feature_names[:2] == ["pixel_0_0", "pixel_0_1"]
        and data.feature_names[-1] == "pixel_3_2"
    )


def test_idx_other_element_types_and_detection_by_magic(tmp_path):
    values = np.array([[[-1.5, 2.25]], [[3.0, -4.0]]])
    path = tmp_path / "blob.bin"
    path.write_bytes(idx_bytes(values, 0x0E))
    labels = tmp_path / "labels.bin"
    labels.write_bytes(idx_bytes(np.array([-300, 300]), 0x0B))
    assert detect_format(path) == "idx"
    data = load_file(path, labels_path=labels)
    np.testing.assert_array_equal(data.X, [[-1.5, 2.25], [3.0, -4.0]])
    assert data.classes == [-300, 300]


def test_idx_errors(tmp_path):
    images = np.zeros((3, 2, 2))
    good_labels = tmp_path / "labels-idx1-ubyte"
    good_labels.write_bytes(idx_bytes(np.array([0, 1, 0]), 0x08))

    def check(name, content, labels=good_labels, **kwargs):
        path = tmp_path / name
        path.write_bytes(content)
        return error_of(path, labels_path=labels, format="idx", **kwargs)

    assert "bad magic number 0x01020304" in check("a-idx3", b"\x01\x02\x03\x04" + bytes(20))
    assert "unsupported IDX element type code 0x07" in check(
        "b-idx3", b"\x00\x00\x07\x03" + bytes(20)
    )
    message = check("c-idx3", idx_bytes(images, 0x08)[:-1])
    assert "holds 11 bytes of data" in message and "3 x 2 x 2" in message and "says 12" in message
    assert "holds 13 bytes of data" in check("c2-idx3", idx_bytes(images, 0x08) + b"\x00")
    assert "truncated IDX header" in check("d-idx3", b"\x00\x00\x08\x03\x00\x00")
    assert "labels file?" in check("e-idx3", idx_bytes(np.array([1, 2, 3]), 0x08))
    five = tmp_path / "five-idx1-ubyte"
    five.write_bytes(idx_bytes(np.arange(5), 0x08))
    message = check("f-idx3", idx_bytes(images, 0x08), labels=five)
    assert "has 5 labels" in message and "has 3 images" in message and str(five) in message
    assert "corrupt or truncated gzip" in check(
        "g-idx3.gz", gzip.compress(idx_bytes(images, 0x08))[:-8]
    )
    assert "labels_path" in check("h-idx3", idx_bytes(images, 0x08), labels=None)


def test_idx_gzip_bomb_bounded(tmp_path):
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((100, 100, 10)), 0x08)))
    assert path.stat().st_size < 5000
    message = error_of(path, max_bytes=50_000, require_target=False)
    assert "decompresses to more than" in message


# ------------------------------------------------------------------------------ misc helpers


def test_detect_format_by_name_and_content(tmp_path):
    assert detect_format(tmp_path / "a.csv") == "csv"
    assert detect_format(tmp_path / "a.npz") == "npz"
    assert detect_format(tmp_path / "x.npy") == "npy"
    assert detect_format(tmp_path / "t10k-images.idx3-ubyte") == "idx"
    mystery = tmp_path / "data.dat"
    np.savez(mystery, X=np.zeros((2, 1)), y=np.array([0, 1]))
    os.replace(str(mystery) + ".npz", mystery)
    assert detect_format(mystery) == "npz"
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02\x03garbage")
    assert "cannot tell the file format" in error_of(binary)


def test_check_features():
    from nnctl.data import Dataset

    data = Dataset(np.zeros((2, 3)), None, "binary", [0, 1], ["a", "b", "c"], None, "new.csv")
    check_features(data, 3, "the model")
    with pytest.raises(
        UsageError,
        match=r"new\.csv: has 3 feature columns, the model expects 2; "
        r"not expected: c",
    ):
        check_features(data, 2, "the model", expected_names=["a", "b"])
