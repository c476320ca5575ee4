"""Progress of a comparison or sweep on stderr: one status line per finished run (as before),
and on a terminal a Rich bar below them with runs done / total, elapsed time and an ETA."""

from __future__ import annotations

import sys

from nnctl.report.console import use_rich


class RunsProgress:
    def __init__(self, total: int, done: int = 0, quiet: bool = False):
        self.total, self.done, self.quiet = total, done, quiet
        self._progress = None
        self._task = None

    def start(self, note: str | None = None) -> None:
        if self.quiet:
            return
        if note:
            print(note, file=sys.stderr, flush=True)
        if use_rich():
            from rich.progress import (
                BarColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            from nnctl.report.console import stderr_console

            self._progress = Progress(
                TextColumn("runs"),
                BarColumn(bar_width=30),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=stderr_console(),
                refresh_per_second=10,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("runs", total=self.total, completed=self.done)

    def run_done(self, line: str) -> None:
        self.done += 1
        if self.quiet:
            return
        if self._progress is not None:
            self._progress.console.print(line, markup=False)
            self._progress.update(self._task, completed=self.done)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
