"""Export a trained run for use outside nnctl: an ONNX model holding the whole prediction path
(extra `nnctl[onnx]`), or plain weights with the preprocessing statistics and a short schema
(`npz` for NumPy users, `json` for any language).

    export_run("runs/iris", "onnx")          -> runs/iris/model.onnx
    export_run("runs/iris", "json", out=...) -> the file written

The exported model is the one `nnctl predict` uses (the same checkpoint by default); the
formats are described in nnctl/export/describe.py (schema), onnx.py and plain.py.
"""

from __future__ import annotations

from pathlib import Path

FORMATS = ("onnx", "npz", "json")


def export_run(
    run_dir: str | Path,
    fmt: str = "onnx",
    out: str | Path | None = None,
    checkpoint: str | Path | None = None,
) -> Path:
    """Write the model of `run_dir` (a run folder or a checkpoint .npz) in `fmt`; returns the
    path written. `out`: the file (default: model.<fmt> in the run folder). `checkpoint`: None
    for the checkpoint predict uses, "best" / "last" for that one of the run folder, or a path
    to a .npz. UsageError for a bad format, a missing checkpoint, a missing extra or a file
    that cannot be written (nothing is left half-written)."""
    from nnctl.errors import UsageError
    from nnctl.export.describe import describe
    from nnctl.util.input_files import check_output_path

    if fmt not in FORMATS:
        raise UsageError(f"--format: expected one of {', '.join(FORMATS)}, found {fmt!r}")
    writer = _writer(fmt)  # a missing extra is reported before any work
    loaded = _load(Path(run_dir), checkpoint)
    target = Path(out) if out is not None else _default_out(Path(run_dir), fmt)
    if target.is_dir():
        raise UsageError(f"{target}: --out is a folder; expected a file name (model.{fmt})")
    check_output_path(target, "--out")  # before the work: never a device nor a path in /dev
    schema, arrays = describe(loaded)
    writer(schema, arrays, target)
    return target


def _writer(fmt: str):
    if fmt == "onnx":
        from nnctl.export.onnx import require_onnx, write_onnx

        require_onnx()
        return write_onnx
    from nnctl.export.plain import write_json, write_npz

    return write_npz if fmt == "npz" else write_json


def _load(run_dir: Path, checkpoint: str | Path | None):
    """The model export writes: the weights eval and predict use (None), a run folder's named
    checkpoint (see nnctl.training.inference.CHECKPOINT_CHOICES), or a checkpoint .npz file."""
    from nnctl.errors import UsageError
    from nnctl.training.inference import CHECKPOINT_CHOICES, load_model

    if checkpoint is None or str(checkpoint) in CHECKPOINT_CHOICES:
        return load_model(run_dir, str(checkpoint or "delivered"))
    path = Path(checkpoint)
    if not path.is_file():
        raise UsageError(
            f"{path}: --checkpoint: expected {', '.join(CHECKPOINT_CHOICES)} or a checkpoint "
            ".npz file"
        )
    return load_model(path)


def _default_out(run_dir: Path, fmt: str) -> Path:
    folder = run_dir if run_dir.is_dir() else run_dir.parent
    return folder / f"model.{fmt}"
