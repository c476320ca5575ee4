"""Training progress on stderr.

`make_reporter` picks a Rich live bar (epoch bar with ETA, running train loss, validation metric
and lr) on a terminal, one plain line per epoch elsewhere, or nothing with -q. Updates inside an
epoch are throttled to ~10 a second, so reporting never costs the training loop measurable time.
"""

from __future__ import annotations

import sys
import time

from nnctl.report.console import use_rich

REFRESH_S = 0.1


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def epoch_line(row: dict, total: int) -> str:
    """'epoch 3/30  train_loss 0.41  val_loss 0.39  val_accuracy 0.91  lr 0.001  1.2s'."""
    keys = [
        k
        for k in row
        if k not in ("epoch", "step", "elapsed_s")
        and not (k == "objective" and row[k] == row.get("train_loss"))
    ]  # no L2: same number
    parts = [f"epoch {row['epoch']}/{total}"] + [
        f"{k} {_fmt(row[k])}" for k in keys if row[k] is not None
    ]
    parts.append(f"{row['elapsed_s']:.1f}s")
    return "  ".join(parts)


class QuietReporter:
    def start(self, total: int, title: str) -> None: ...
    def batch(self, epoch: int, done: int, total: int, loss: float) -> None: ...
    def epoch(self, row: dict) -> None: ...
    def close(self) -> None: ...
    def note(self, text: str) -> None: ...


class PlainReporter(QuietReporter):
    """One line per epoch; runs of more than EVERY_EPOCH_UP_TO epochs (long full-batch runs)
    print at most ~2 lines a second, plus the first and the last."""

    EVERY_EPOCH_UP_TO = 200

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.total = 0
        self._last = 0.0
        self._pending: dict | None = None

    def start(self, total, title):
        self.total = total
        print(title, file=self.stream, flush=True)

    def epoch(self, row):
        now = time.monotonic()
        if (
            self.total <= self.EVERY_EPOCH_UP_TO
            or now - self._last >= 0.5
            or row["epoch"] in (1, self.total)
        ):
            print(epoch_line(row, self.total), file=self.stream, flush=True)
            self._last, self._pending = now, None
        else:
            self._pending = row

    def note(self, text):
        print(text, file=self.stream, flush=True)

    def close(self):
        if self._pending is not None:
            print(epoch_line(self._pending, self.total), file=self.stream, flush=True)
            self._pending = None


class RichReporter(QuietReporter):
    SHOWN = ("train_loss", "val_loss", "lr", "grad_norm")  # plus the task's main val metric

    def __init__(self):
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.table import Column

        from nnctl.report.console import stderr_console

        self.console = stderr_console()
        width = self.console.width

        def fixed(text):  # never shrinks, never wraps: epoch and ETA stay readable at 40 columns
            return TextColumn(text, table_column=Column(no_wrap=True))

        # Most important first; the bar and the elapsed time only where there is room; the
        # numbers take what is left and are cut with an ellipsis rather than wrapped.
        columns = [fixed("epoch {task.completed}/{task.total}")]
        if width >= 80:
            columns.append(BarColumn(bar_width=20 if width < 120 else 30))
        if width >= 100:
            columns.append(TimeElapsedColumn())
        columns += [
            fixed("eta"),
            TimeRemainingColumn(),
            TextColumn(
                "{task.fields[info]}",
                table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1),
            ),
        ]
        self.progress = Progress(
            *columns, console=self.console, refresh_per_second=10, transient=False, expand=True
        )
        self.task = None
        self._last = 0.0
        self._info = ""

    def start(self, total, title):
        self.console.print(title)
        self.progress.start()
        self.task = self.progress.add_task("epoch", total=total, info="")

    def batch(self, epoch, done, total, loss):
        now = time.monotonic()
        if now - self._last < REFRESH_S:
            return
        self._last = now
        self.progress.update(self.task, info=f"batch {done}/{total} loss {loss:.4g}  {self._info}")

    def epoch(self, row):
        shown = [
            f"{k} {_fmt(v)}"
            for k, v in row.items()
            if k in self.SHOWN or k.startswith("val_") and k[4:] in ("accuracy", "r2")
        ]
        self._info = "  ".join(shown)
        self.progress.update(self.task, completed=row["epoch"], info=self._info)

    def note(self, text):
        self.console.print(text, markup=False, highlight=False)

    def close(self):
        if self.task is not None:
            self.progress.stop()


def make_reporter(quiet: bool = False):
    if quiet:
        return QuietReporter()
    return RichReporter() if use_rich() else PlainReporter()


class RichPass:
    """A bar on stderr for one pass over a big data file (rows done of total)."""

    def __init__(self, label: str, total: int):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} rows"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.label, self.total = label, total

    def __enter__(self):
        self.progress.start()
        task = self.progress.add_task(self.label, total=self.total)
        return lambda n: self.progress.advance(task, n)

    def __exit__(self, *exc):
        self.progress.stop()
        return False


def pass_bar(on: bool):
    """The bar for passes over big data files (nnctl.data.ondisk.show_progress): Rich on a
    terminal that takes it, as the training bar; None (no bar) when `on` is false or not."""
    return RichPass if on and use_rich() else None
