"""nnctl.train, nnctl.resume, nnctl.load_run: the CLI's `train` from Python.

They call the functions `nnctl train` calls (nnctl.api.commands), so the same config and seed
give the same numbers bit for bit; errors are exceptions (nnctl.errors), never SystemExit.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path

from nnctl.api.run import Run


def train(
    config: str | os.PathLike | Mapping,
    *,
    overrides: Mapping | Iterable[str] | None = None,
    out: str | os.PathLike | None = None,
    force: bool = False,
    callbacks: Iterable = (),
    progress: bool = False,
) -> Run:
    """Train a model and return its Run (the run folder, its summary, history, predictions).

    config: a YAML file, an example name ("iris-softmax", see `nnctl examples`) or a dict laid
      out as the YAML (relative data paths in a dict are found from the current folder).
    overrides: {"optimizer.lr": 0.1} (Python values used as they are) or ["optimizer.lr=0.1"]
      (values read as YAML), as `-s` on the command line.
    out: the run folder; it may hold {key.path} fields ("runs/lr{optimizer.lr}"). Default as the
      CLI's: output.dir, else runs/CONFIG-NAME (a dict: runs/DATA-MODEL) with -2, -3, ... added
      rather than overwrite. force: replace the run files of an existing `out` folder.
    callbacks: objects with any of the hooks on_train_start(state), on_batch_end(state),
      on_epoch_end(state, row), on_nonfinite(state, event), on_exception(state, exc),
      on_train_end(state), called after the built-in ones; state_dict()/load_state_dict(d) (JSON
      values) make their state survive a resume. Set `state.stop_training = True` in
      on_epoch_end to stop early.
    progress: show the progress bar (or lines) on stderr; default silent.

    Raises UsageError (bad config or data), TrainingFailed (diverged; `.summary` holds the
    run's summary) or Interrupted (Ctrl-C: the state is saved, nnctl.resume continues it).
    """
    from nnctl.api import commands
    from nnctl.api.inputs import config_path, dict_config_name, override_texts, resolve_dict

    texts = override_texts(overrides)
    path = config_path(config)
    reporter = _reporter(progress)
    out_dir = Path(out) if out is not None else None
    with _one_session():
        if path is not None:
            summary = commands.train_or_resume(
                path, texts, out_dir, force, None, reporter, callbacks=tuple(callbacks)
            )
        else:
            cfg = resolve_dict(config, texts)
            commands.show_data_passes(reporter)
            summary = commands.train_resolved(
                cfg,
                Path(f"{dict_config_name(config)}.yaml"),
                out_dir,
                force,
                reporter,
                Path.cwd(),
                tuple(callbacks),
            )
    return Run(summary["run_dir"])


def resume(run_dir: str | os.PathLike, *, callbacks: Iterable = (), progress: bool = False) -> Run:
    """Continue an interrupted run folder from its checkpoints/last.npz, to the same final
    numbers an uninterrupted run gives. `callbacks` and `progress` as for nnctl.train."""
    from nnctl.api import commands

    reporter = _reporter(progress)
    with _one_session():
        summary = commands.train_or_resume(
            None, [], None, False, Path(run_dir), reporter, callbacks=tuple(callbacks)
        )
    return Run(summary["run_dir"])


def load_run(run_dir: str | os.PathLike) -> Run:
    """The Run of a run folder trained earlier (by the CLI or by nnctl.train)."""
    return Run(run_dir)


def _reporter(progress: bool):
    from nnctl.report.progress import make_reporter

    return make_reporter(quiet=not progress)


@contextmanager
def _one_session():
    """Around one training in a process that lives on (a notebook, a test session): the signal
    handlers are put back as they were (a run stopped by Ctrl-C leaves SIGINT ignored, which
    suits only a CLI process about to exit), and the run folder's lock is released, so the
    same process may resume the run or train again."""
    from nnctl.runs import run_folder

    main = threading.current_thread() is threading.main_thread()
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)} if main else {}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if handler is not None:
                signal.signal(sig, handler)
        run_folder.unlock()
