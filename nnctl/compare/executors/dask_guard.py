"""Deadlines around Dask calls that could otherwise wait for ever, and the check that every
worker runs this nnctl (version and engine fingerprint) before the first run.

    within(10, lambda: client.nthreads(), "asking the scheduler for its workers")
    check_workers(client, "tcp://127.0.0.1:8786", timeout_s=10)
"""

from __future__ import annotations

import threading

from nnctl.compare.executors.fingerprint import (
    WORKER_FINGERPRINT_EXPRESSION,
    WORKER_VERSION_EXPRESSION,
    engine_fingerprint,
)
from nnctl.errors import UsageError


def first_line(exc: BaseException) -> str:
    """An exception in one line: its first line of text, or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def within(seconds: float, fn, doing: str):
    """fn() on a daemon thread, its result or its exception; UsageError if it has not returned
    after `seconds` (the thread is left behind: being a daemon, it cannot keep the process
    alive)."""
    outcome: dict = {}

    def call():
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=call, name="nnctl-dask-deadline", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise UsageError(f"{doing}: no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def check_workers(client, address: str, timeout_s: float) -> None:
    """UsageError naming each worker that lacks nnctl or runs another version or engine than
    this process (both versions named), before any run is sent."""
    import nnctl

    ours = nnctl.__version__
    versions = within(
        timeout_s,
        lambda: client.run(eval, WORKER_VERSION_EXPRESSION, on_error="return"),
        f"asking the workers of {address} for their nnctl version",
    )
    problems = []
    for worker, version in sorted(versions.items()):
        if isinstance(version, ModuleNotFoundError):
            problems.append(f"{worker} has no nnctl installed (this client runs nnctl {ours})")
        elif isinstance(version, BaseException):
            problems.append(f"{worker} cannot import nnctl ({first_line(version)})")
        elif version != ours:
            problems.append(f"{worker} runs nnctl {version}, this client nnctl {ours}")
    if not problems:
        mine = engine_fingerprint()
        prints = within(
            timeout_s,
            lambda: client.run(eval, WORKER_FINGERPRINT_EXPRESSION, on_error="return"),
            f"asking the workers of {address} for their nnctl engine fingerprint",
        )
        for worker, theirs in sorted(prints.items()):
            if isinstance(theirs, BaseException):
                problems.append(f"{worker}: cannot fingerprint its nnctl ({first_line(theirs)})")
            elif theirs != mine:
                problems.append(
                    f"{worker} runs a different nnctl {ours} (engine {theirs}, this client's "
                    f"{mine}): its source files differ, so its numbers could too"
                )
    if problems:
        raise UsageError(
            f"the Dask workers of {address} must run the same nnctl as this client: "
            + "; ".join(problems)
        )


class _OneLineRecords:
    """A logging filter: a record of Dask's with a traceback keeps one line instead (the
    exception's own), so a lost scheduler reads as nnctl's message, not a Python traceback."""

    def filter(self, record) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            text = record.getMessage().strip()
            reason = first_line(record.exc_info[1])
            record.msg, record.args = (f"{text}: {reason}" if text else reason), None
            record.exc_info, record.exc_text = None, None
        return True


def one_line_dask_logs() -> None:
    """Install _OneLineRecords on the handlers of Dask's `distributed` logger (once)."""
    import logging

    for handler in logging.getLogger("distributed").handlers:
        if not any(isinstance(f, _OneLineRecords) for f in handler.filters):
            handler.addFilter(_OneLineRecords())
