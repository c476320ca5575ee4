"""`train.kernels` for a built run: what auto becomes, and the compiled loops switched on."""

from __future__ import annotations

from nnctl.errors import UsageError


def optimizer_steps(state) -> int:
    """Updates the run takes: epochs x mini-batches per epoch (full-batch: its iterations)."""
    if state.full_batch:
        return state.total_epochs
    n_train = len(state.data.X_train)
    batch = state.cfg["train"]["batch_size"]
    return state.total_epochs * max(1, -(-n_train // batch))


def use_run_kernels(state, note=None) -> str:
    """Resolve train.kernels for `state` (numpy or numba, recorded in config.yaml) and, for
    numba, load the kernels and hand them to the optimizer and the activation layers.
    `note(text)`: the reporter's line, told when the kernels compile (first use only)."""
    from nnctl.kernels import loading
    from nnctl.kernels.choice import resolve_kernels

    choice = resolve_kernels(
        state.cfg, state.model.n_params, optimizer_steps(state), state.full_batch
    )
    if choice != "numba":
        return choice
    if note is not None and not loading.is_compiled():
        note("compiling kernels (first use on this machine; cached for later runs)")
    try:
        loading.load()
    except ImportError as exc:  # installed but unusable (e.g. built for another NumPy)
        if state.cfg["train"]["kernels"] == "auto":
            if note is not None:
                note(f"numba cannot be imported ({exc}); training with numpy kernels")
            return "numpy"
        raise UsageError(
            f"train.kernels: numba: numba is installed but cannot be imported ({exc}); "
            'reinstall it (pip install "nnctl[fast]") or set train.kernels: numpy'
        ) from None
    for part in (state.optimizer, *state.model.layers):
        if hasattr(part, "use_kernels"):
            part.use_kernels(True)
    return choice
