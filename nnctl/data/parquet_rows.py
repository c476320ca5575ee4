"""A Parquet table too big to load, as memory-mapped rows: streamed, never held whole.

Training normally loads a Parquet file as a table (nnctl.data.parquet_reader). Above the
in-memory limit (files.MAX_FILE_BYTES) the table is instead streamed, one row-group batch at a
time, through the same conversion as `nnctl data convert` into `.npy` shards in a scratch
folder, and trained on as a RowView (nnctl.data.ondisk): the preparation and the batches read
it block by block, as any memory-mapped source. The scratch folder is removed as soon as the
shards are mapped (on POSIX a mapped file keeps its pages until the process ends), so nothing
is left behind, even after a crash.

The column pipeline is learned as `data convert` learns it: from every row of the file (a
loaded table learns it from the training rows only). For numeric columns without missing
cells the two are the same, and so are the numbers of the run. The split is recorded as rows
of the table, so a conversion that leaves rows out (a missing target, missing: drop_rows) is
refused: those rows would be numbered differently.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from nnctl.errors import UsageError

COLUMN_SETTINGS = ("drop", "missing", "na_values", "categorical", "delimiter")


def parquet_bytes(path: Path) -> int:
    """Bytes of a Parquet file, or of every Parquet file of a folder."""
    from nnctl.data.parquet_reader import parquet_files

    files = parquet_files(path) if path.is_dir() else [path]
    return sum(file.stat().st_size for file in files)


def parquet_row_count(path: Path) -> int:
    """Data rows of a Parquet file or folder, from the files' metadata (no data is read)."""
    from nnctl.data.parquet_reader import parquet_files, require_pyarrow

    parquet = require_pyarrow(str(path))
    files = parquet_files(path) if path.is_dir() else [path]
    return sum(parquet.ParquetFile(file).metadata.num_rows for file in files)


def open_streamed_parquet(path: Path, *, target: str | None, settings: dict, task: str):
    """The Parquet table at `path` as a Dataset whose X is a RowView of its conversion
    (settings: the data section's column settings)."""
    from nnctl.data import source_guard
    from nnctl.data.convert import convert_csv
    from nnctl.data.ondisk_prepare import open_dataset

    scratch = Path(tempfile.mkdtemp(prefix="nnctl-parquet-rows-"))
    try:
        columns = {key: settings[key] for key in COLUMN_SETTINGS if key in settings}
        description = convert_csv(path, scratch / "rows", target=target, settings=columns)
        total = parquet_row_count(path)
        if description["rows"] != total:
            raise UsageError(
                f"{path}: {total - description['rows']} of {total} rows have a missing "
                "target or cell and would be left out; a Parquet file this big is trained on "
                "as it streams only when every row is kept: run `nnctl data convert` and "
                "train on its folder"
            )
        dataset = open_dataset(scratch / "rows", task=task)
    finally:
        # The mapped shards keep their pages; unnamed, nothing else can change them, so the
        # guard against data changing under a run has nothing to watch there.
        source_guard.forget_folder(scratch)
        shutil.rmtree(scratch, ignore_errors=True)
    dataset.source = str(path)
    return dataset
