"""Sizes first: what a run will allocate, estimated from the resolved config and the data's shape
before the model exists, and refused when it cannot fit.

Two limits, both checked by `check_sizes` before the model is built, for `train`, `--resume`,
`config validate` and every run of a comparison alike:

* memory: parameters (theta, grad, the best-weights snapshot, the copy a checkpoint save makes),
  the optimizer's arrays, the activations of the largest batch and the copies of the training
  data the batches are sliced from, against the memory available now (`available_memory`);
* checkpoint: last.npz must stay under `runs.checkpoint.MAX_CHECKPOINT_BYTES`, the size every
  reader of checkpoints accepts, so whatever training writes can be resumed, evaluated and
  exported.

Counted is only what the run allocates on top of what is already loaded: the data read into
memory is there when the check runs (and so already out of the available figure), and data read
from disk (.npy, shards) costs only its batch buffers.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.errors import UsageError

MEMORY_VARIABLE = "NNCTL_MEMORY_AVAILABLE"  # overrides the measured figure (tests, containers)
PROBE_SIZES = (1, 2, 3)  # optimizer sizes built to learn how its arrays grow (a quadratic)
ACTIVATION_COPIES = 2  # per layer and row: its forward output and its backward gradient
NPZ_OVERHEAD_BYTES = 64 << 10  # zip headers and the meta JSON of a checkpoint, generously
# Far beyond any dataset this trainer takes (MNIST has 784, a 256 x 256 RGB image 196608).
MAX_FEATURE_COLUMNS = 1_000_000


@dataclass(frozen=True)
class SizeEstimate:
    """Bytes a run allocates beyond its loaded data, by what holds them."""

    n_params: int
    parameters: int  # theta, grad, the L2 scratch, best snapshot, the copy a save makes
    optimizer: int  # every array the optimizer holds (state and scratch), plus a save's copy
    activations: int  # forward outputs and gradients of the largest batch
    data_copies: int  # the batches' copies of the training data, validation in the run's dtype
    checkpoint: int  # the size of last.npz

    @property
    def memory(self) -> int:
        return self.parameters + self.optimizer + self.activations + self.data_copies


def check_sizes(cfg: dict, data, dtype, available: int | None = None) -> SizeEstimate:
    """Refuse (UsageError) a run whose checkpoint could not be read back or whose arrays do not
    fit in `available` bytes (default: `available_memory()`; None there skips that check)."""
    from nnctl.runs.checkpoint import MAX_CHECKPOINT_BYTES

    n_features = int(data.X_train.shape[1])
    if n_features > MAX_FEATURE_COLUMNS:
        raise UsageError(
            f"{data.source}: at most {MAX_FEATURE_COLUMNS} feature columns, found {n_features}"
        )
    estimate = estimate_sizes(cfg, data, dtype)
    if available is None:
        available, source = available_memory()
    else:
        source = "the caller"
    if available is not None and estimate.memory > available:
        where = "this machine has" if source == "the system" else f"{source} says"
        raise UsageError(
            f"{_model_words(cfg, data)} needs about {_gb(estimate.memory)} for parameters, "
            f"{cfg['optimizer']['name']} state and one batch; {where} {_gb(available)} "
            f"available; use a smaller model or {_batch_hint(cfg)}"
        )
    if estimate.checkpoint > MAX_CHECKPOINT_BYTES:
        raise UsageError(
            f"{_model_words(cfg, data)} with optimizer {cfg['optimizer']['name']} makes "
            f"checkpoints of about {_gb(estimate.checkpoint)} ({estimate.n_params} parameters, "
            f"optimizer state and the best weights); nnctl reads checkpoints up to "
            f"{MAX_CHECKPOINT_BYTES >> 30} GiB, so this run could not be resumed; use a "
            "smaller model"
        )
    return estimate


def estimate_sizes(cfg: dict, data, dtype) -> SizeEstimate:
    """The bytes `build_state` and training will allocate for this config and prepared data."""
    from nnctl.data.ondisk import is_on_disk

    item = np.dtype(dtype).itemsize
    layers = _layers(cfg, data)
    specs = [spec for layer in layers for spec in layer.param_specs()]
    n_params = sum(spec.size for spec in specs)
    n_penalised = sum(spec.size for spec in specs if spec.penalised)  # the L2 scratch's size
    n_buffers = sum(2 * layer.features for layer in layers if hasattr(layer, "running_mean"))
    model_bytes = (n_params + n_buffers) * item  # one state_dict()
    opt_memory, opt_saved = _optimizer_bytes(cfg, n_params, dtype)
    full_batch = _is_full_batch(cfg)
    n_train, n_val = len(data.X_train), len(data.X_val)
    n_features = int(data.X_train.shape[1])
    on_disk = is_on_disk(data.X_train)
    train_rows = _train_rows(cfg, data, full_batch, on_disk)
    eval_rows = _eval_rows(n_train, n_val)
    per_row = n_features + ACTIVATION_COPIES * sum(_widths(layers))
    shuffled = not full_batch and cfg["train"]["shuffle"]
    return SizeEstimate(
        n_params=n_params,
        # theta, grad and the L2 penalty's scratch (nn/model.py), then best and save copies
        parameters=(2 * n_params + n_penalised) * item + 2 * model_bytes,
        optimizer=opt_memory + opt_saved,
        activations=max(train_rows, eval_rows) * per_row * item,
        data_copies=_data_copies(data, dtype, full_batch, on_disk, shuffled, train_rows),
        checkpoint=(
            2 * model_bytes  # the parameters and the best weights (best.*)
            + opt_saved
            + (n_train * 8 if shuffled else 0)  # data.permutation, int64
            + NPZ_OVERHEAD_BYTES
        ),
    )


def available_memory() -> tuple[int | None, str]:
    """(bytes, where the figure comes from): NNCTL_MEMORY_AVAILABLE when set (a number of
    bytes, or with a unit: 512M, 5.1G, 2T), else the smaller of /proc/meminfo's MemAvailable
    and the room left under a cgroup v2 memory.max; (None, ...) where neither exists."""
    text = os.environ.get(MEMORY_VARIABLE, "").strip()
    if text:
        return parse_bytes(text, MEMORY_VARIABLE), MEMORY_VARIABLE
    figures = [f for f in (_meminfo_available(), _cgroup_room()) if f is not None]
    return (min(figures) if figures else None), "the system"


UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def parse_bytes(text: str, where: str) -> int:
    """'5.1G' -> 5100000000; plain numbers are bytes; K, M, G, T are powers of 1000 (a
    trailing B or iB is accepted: 512MB, 2GiB is read as 2G)."""
    match = re.fullmatch(r"(\d+(?:\.\d*)?)\s*([KMGT]?)(?:i?B)?", text.strip(), re.IGNORECASE)
    if not match:
        raise UsageError(
            f"{where}: expected a number of bytes, optionally with a unit (512M, 5.1G), "
            f"found {text!r}"
        )
    return int(float(match.group(1)) * UNITS[match.group(2).upper()])


# -- the parts ----------------------------------------------------------------------------------
def _layers(cfg: dict, data) -> list:
    """The model's layers as the model kind declares them, before any parameter is allocated
    (allocation happens when they are bound to the flat vector: nn/params.py)."""
    from nnctl.nn.kinds import model_kind
    from nnctl.nn.layers import Layer

    model_cfg = cfg["model"]
    kind = model_kind(model_cfg["kind"])
    return kind.layers(
        int(data.X_train.shape[1]),
        int(kind.n_logits(data.task, data.n_outputs)),
        hidden=tuple(model_cfg["hidden"]) if kind.takes_hidden else (),
        make_activation=Layer,  # no parameters: a plain Layer stands in
        dropout=float(model_cfg["dropout"]) if kind.takes_dropout else 0.0,
        batch_norm=bool(model_cfg["batch_norm"]) if kind.takes_batch_norm else False,
        dropout_rng=None,  # never drawn from here
    )


def _widths(layers) -> list[int]:
    """The output width of every layer with parameters (activations and dropout keep it)."""
    return [
        layer.out_features if hasattr(layer, "out_features") else layer.features
        for layer in layers
        if layer.param_specs()
    ]


def _optimizer_bytes(cfg: dict, n_params: int, dtype) -> tuple[int, int]:
    """(bytes the optimizer holds, bytes of its saved state) for n_params parameters. The
    optimizer is built at a few tiny sizes and the growth of its arrays extrapolated (exactly,
    as they grow at most with the square of the size: BFGS's matrix), so every registered
    optimizer is counted the same way, without knowing its arrays by name."""
    from nnctl.optim import OPTIMIZERS

    settings = dict(cfg["optimizer"])
    entry = OPTIMIZERS.get(settings.pop("name"))
    if "check_size" in entry.info:  # the optimizer's own limit speaks first, in its words
        entry.info["check_size"](settings, n_params, "optimizer")
    held, saved = [], []
    for size in PROBE_SIZES:
        optimizer = entry.build(size, dtype, **settings)
        held.append(_array_bytes(vars(optimizer).values()))
        saved.append(_array_bytes(optimizer.state_dict().values()))
    return _extrapolate(held, n_params), _extrapolate(saved, n_params)


def _array_bytes(values) -> int:
    total = 0
    for value in values:
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif isinstance(value, (list, tuple)):
            total += _array_bytes(value)
    return total


def _extrapolate(measured: list[int], n: int) -> int:
    """The quadratic a + b*x + c*x^2 through (1, 2, 3) -> measured, at x = n."""
    one, two, three = measured
    c = (three - 2 * two + one) / 2
    b = two - one - 3 * c
    a = one - b - c
    return max(0, int(round(a + b * n + c * n * n)))


def _is_full_batch(cfg: dict) -> bool:
    from nnctl.optim import OPTIMIZERS, is_full_batch

    return is_full_batch(OPTIMIZERS.get(cfg["optimizer"]["name"]))


def _train_rows(cfg: dict, data, full_batch: bool, on_disk: bool) -> int:
    """Rows of one training forward/backward pass: a mini-batch, the whole training set, or
    (memory-mapped data under a full-batch method) one block of it."""
    n_train = len(data.X_train)
    if not full_batch:
        return min(n_train, cfg["train"]["batch_size"])
    if on_disk:
        return min(n_train, data.X_train.block_rows())
    return n_train


def _eval_rows(n_train: int, n_val: int) -> int:
    from nnctl.nn.model import EVAL_CHUNK_ROWS

    return min(EVAL_CHUNK_ROWS, max(n_train, n_val))


def _data_copies(data, dtype, full_batch, on_disk, shuffled, train_rows) -> int:
    """Copies the run makes of loaded data: the batch iterator's features in the run's dtype
    and the epoch-order buffer they are sliced from (memory-mapped rows: one batch), and the
    validation rows in the run's dtype."""
    item = np.dtype(dtype).itemsize
    n_features = int(data.X_train.shape[1])
    total = 0
    if not on_disk and data.X_val.dtype != np.dtype(dtype):
        total += data.X_val.size * item
    if full_batch:
        return total
    if on_disk:
        return total + train_rows * n_features * item
    if data.X_train.dtype != np.dtype(dtype) or not data.X_train.flags.c_contiguous:
        total += data.X_train.size * item
    if shuffled:
        total += data.X_train.size * item
    return total


def _model_words(cfg: dict, data) -> str:
    """How the message names the model: by the keys that make it big."""
    from nnctl.nn.kinds import model_kind

    model_cfg = cfg["model"]
    features = f"{data.X_train.shape[1]} feature columns"
    if model_kind(model_cfg["kind"]).takes_hidden and model_cfg["hidden"]:
        return f"model.hidden {list(model_cfg['hidden'])} on {features}"
    return f"model.kind {model_cfg['kind']} on {features}"


def _batch_hint(cfg: dict) -> str:
    if _is_full_batch(cfg):
        return "a mini-batch optimizer"
    return "a smaller train.batch_size"


def _gb(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.1f} MB"


# -- the figure the system gives ----------------------------------------------------------------
def _meminfo_available(path: Path = Path("/proc/meminfo")) -> int | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                value, unit = line.split()[1:3]
                return int(value) * (1024 if unit == "kB" else 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room(folder: Path = Path("/sys/fs/cgroup")) -> int | None:
    """memory.max minus memory.current of this process's cgroup (v2), when a limit is set."""
    try:
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int((folder / "memory.current").read_text().strip())
        return max(0, int(limit) - used)
    except (OSError, ValueError):
        return None
