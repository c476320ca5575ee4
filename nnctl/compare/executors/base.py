"""What every executor does: run tasks somewhere, hand each result back here as it finishes.

    executor.run(tasks, out_dir, done)   # done(task, result) in this process, in finish order

`result` is what nnctl.compare.one_run.execute returns: {index, status, message, summary, rows},
and by the time `done` is called the run folder out_dir/task.folder is complete on this machine
(or absent for a run the model refused). An executor adds no numbers of its own: a run's
numbers depend on its resolved config only, so every executor gives the same comparison.json.
Exceptions from a run other than divergence or refusal (a bug) propagate out of `run`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from nnctl.compare.plan import RunTask

Done = Callable[[RunTask, dict], None]


class Executor(Protocol):
    name: str

    def describe(self) -> str:
        """One line for the start of a comparison: where the runs go."""
        ...

    def run(self, tasks: list[RunTask], out_dir: Path, done: Done) -> None:
        """Run every task (each has a config); call done(task, result) as each finishes."""
        ...

    def close(self) -> None:
        """Let go of what the executor holds (a cluster connection); run() does it too."""
        ...
