"""nnctl's own data file formats, registered in FORMATS (nnctl.data.format_types).

Each declaration says how the format is recognised and names its reader (a function, or
"module:function" for one that lives beside its reader, as Parquet's does); the small adapters
below turn a ReadRequest into the other readers' own arguments. Readers are imported when a file is
read, so listing the formats (CLI help, config schema) loads no NumPy.
"""

from __future__ import annotations

from nnctl.data.format_types import FileFormat, register_format

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")


def read_csv_file(path, request):
    from nnctl.data.csv_reader import read_csv
    from nnctl.data.delimiter import parse_delimiter

    return read_csv(
        path,
        target=request.target,
        require_target=request.require_target,
        max_bytes=request.max_bytes,
        na_values=request.settings["na_values"],
        keep_text=request.keep,
        delimiter=parse_delimiter(request.settings["delimiter"]),
    )


def read_npz_file(path, request):
    from nnctl.data.npz_reader import read_npz

    return read_npz(path, target=request.target, require_target=request.require_target)


def read_npy_file(path, request):
    from nnctl.data.npz_reader import read_npy_pair

    return read_npy_pair(path, request.labels, require_target=request.require_target)


def read_idx_file(path, request):
    from nnctl.data.idx_reader import read_idx

    return read_idx(
        path, request.labels, require_target=request.require_target, max_bytes=request.max_bytes
    )


def is_shard_folder(path) -> bool:
    from nnctl.data.ondisk import is_shard_folder as shards

    return shards(path)


def has_parquet_files(path) -> bool:
    return any(p.is_file() and p.name.lower().endswith(PARQUET_SUFFIXES) for p in path.iterdir())


register_format(
    FileFormat(
        "csv",
        "a header row of column names, then one row per sample (, ; tab or | separated; "
        "gzipped too)",
        read_csv_file,
        suffixes=CSV_SUFFIXES,
        text=True,
        columns=True,
        chunks="nnctl.data.convert:_csv_chunks",
        label="CSV",
    )
)
register_format(
    FileFormat(
        "npz",
        "a NumPy archive with arrays X and y (data.target names another array for y)",
        read_npz_file,
        suffixes=(".npz",),
        magic=(b"PK\x03\x04",),
        label="NPZ",
    )
)
register_format(
    FileFormat(
        "npy",
        "a NumPy array file of X, its targets in data.labels_path; or a folder of .npy shards "
        "(nnctl data convert)",
        read_npy_file,
        suffixes=(".npy",),
        magic=(b"\x93NUMPY",),
        labels_file=True,
        folder=is_shard_folder,
        label="NPY",
    )
)
register_format(
    FileFormat(
        "idx",
        "IDX arrays (MNIST), gzipped or not, its labels in data.labels_path",
        read_idx_file,
        name_pattern=r"idx|-ubyte",
        sniff="nnctl.data.idx_reader:looks_like_idx",
        labels_file=True,
        label="IDX",
    )
)
register_format(
    FileFormat(
        "parquet",
        "a Parquet file or a folder of them, the same column rules as csv",
        "nnctl.data.parquet_reader:read_parquet_file",
        suffixes=PARQUET_SUFFIXES,
        magic=(b"PAR1",),
        columns=True,
        folder=has_parquet_files,
        chunks="nnctl.data.convert:_parquet_chunks",
        extra="parquet",
        requires="pyarrow.parquet",
        label="Parquet",
    )
)
