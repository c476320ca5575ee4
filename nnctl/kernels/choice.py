"""`train.kernels`: validation, and what `auto` becomes for a built run (recorded as numpy or
numba in config.yaml and the checkpoints, like train.threads).

auto picks numba when it is installed, the run trains mini-batch (the loops are the first-order
rules' and the activations'), and its work, parameters x optimizer steps, is past
AUTO_MIN_WORK: below it, importing numba and loading the cached kernels (about half a second;
the first compile on a machine, a few seconds) costs more than the loops save. Each step must
also update at least AUTO_MIN_PARAMS parameters, or the calls' fixed cost eats the saving.
The decision uses only the config and the data's shape, never the machine's load, so a config
always resolves the same way (the numbers are the same bits either way).
"""

from __future__ import annotations

from nnctl.errors import UsageError
from nnctl.kernels import CHOICES, INSTALL_HINT, numba_installed

# Measured on the development machine (README, "Faster kernels"): Adam on float32 saves about
# 2 ns per parameter and step; loading numba and the cached kernels takes ~0.5 s.
AUTO_MIN_WORK = 500_000_000
AUTO_MIN_PARAMS = 20_000


def check_kernels(value, where: str = "train.kernels") -> None:
    """UsageError unless `value` is a choice that can run here (numba needs the extra)."""
    if value not in CHOICES:
        raise UsageError(f"{where}: expected one of {', '.join(CHOICES)}, found {value!r}")
    if value == "numba" and not numba_installed():
        raise UsageError(
            f"{where}: numba: the compiled kernels need numba, the optional extra: "
            f"{INSTALL_HINT} (or set {where}: auto or numpy)"
        )


def worth_compiling(n_params: int, steps: int) -> bool:
    """Whether a run updating `n_params` parameters `steps` times pays for loading numba."""
    return n_params >= AUTO_MIN_PARAMS and n_params * steps >= AUTO_MIN_WORK


def surely_compiled(cfg: dict) -> bool:
    """Whether `auto` will pick numba whatever the data: a lower bound from the config alone
    (the weights between hidden layers, one step per epoch), so the import can start on a
    thread before the data loads."""
    if cfg["train"]["kernels"] == "numba":
        return True
    if cfg["train"]["kernels"] != "auto" or not numba_installed():
        return False
    hidden = cfg["model"].get("hidden") or []
    between = sum(a * b for a, b in zip(hidden, hidden[1:]))
    return worth_compiling(between, cfg["train"]["epochs"])


def resolve_kernels(cfg: dict, n_params: int, steps: int, full_batch: bool) -> str:
    """numpy or numba: the configured value, or what auto picks for this run."""
    value = cfg["train"]["kernels"]
    if value != "auto":
        return value
    if full_batch or not numba_installed():
        return "numpy"
    return "numba" if worth_compiling(n_params, steps) else "numpy"
