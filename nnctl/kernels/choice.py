"""`train.kernels`: validation, and what `auto` becomes for a built run (recorded as numpy or
numba in config.yaml and the checkpoints, like train.threads).

auto picks numba when it is installed, the run trains mini-batch (the loops are the first-order
rules' and the activations'), and its work, parameters x optimizer steps, is past
AUTO_MIN_WORK: below it, importing numba and loading the cached kernels (1 to 3 s; the first
compile on a machine, more) costs more than the loops save. Each step must
also update at least AUTO_MIN_PARAMS parameters, or the calls' fixed cost eats the saving.
The decision uses only the config and the data's shape, never the machine's load, so a config
always resolves the same way (the numbers are the same bits either way).
"""

from __future__ import annotations

from nnctl.errors import UsageError
from nnctl.kernels import CHOICES, INSTALL_HINT, numba_installed

# Measured on the development machine (2 cores; README, "Faster kernels"): importing numba and
# the first call into its disk cache take 1 to 3 s (0.4-1.3 s the import, ~1.4 s the first
# cached call, which sets up LLVM); the fused loops save 1.2-1.7 ns per parameter and step for
# SGD with momentum and 3.5-5.4 ns for Adam (float32, 10^4 to 10^6 parameters). At 10^9
# parameter-steps they save 1.5-5 s, more than the load costs. At 10^4 parameters a call's
# fixed cost (~20 us for a dozen arguments) ate the saving for momentum: hence the floor.
AUTO_MIN_WORK = 1_000_000_000
AUTO_MIN_PARAMS = 50_000


def check_kernels(value, where: str = "train.kernels", need_installed: bool = True) -> None:
    """UsageError unless `value` is one of the choices and (need_installed) can run here:
    numba needs the extra."""
    if value not in CHOICES:
        raise UsageError(f"{where}: expected one of {', '.join(CHOICES)}, found {value!r}")
    if need_installed and value == "numba" and not numba_installed():
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
