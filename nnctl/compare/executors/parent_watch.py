"""A local pool worker ends when the process that started it is gone, however it went (SIGKILL
included): an orphan would train on for nothing and hold the caller's pipes open, so a script
reading nnctl's output would block until the orphan finished.

    watch_parent(parent_pid)   # in the worker, first thing: a daemon thread

The thread compares os.getppid() with the parent's PID: when the parent dies the worker is
re-parented (to PID 1 or a subreaper), and the worker exits at once. Not prctl(PR_SET_PDEATHSIG):
Linux sends that signal when the *thread* that started the worker ends, and the pool starts
workers from whichever thread submits (the feeder threads, which end with their run()), so it
would kill healthy workers. Python's resource tracker ends by itself once the last process
holding its pipe (the parent and these workers) is gone.
"""

from __future__ import annotations

import os
import threading

POLL_SECONDS = 0.2


def watch_parent(parent_pid: int, poll_seconds: float = POLL_SECONDS) -> threading.Thread:
    """Start the daemon thread that ends this process when `parent_pid` is no longer its parent
    (also when the parent died before this call: the PID is the one the parent passed)."""
    thread = threading.Thread(
        target=_watch, args=(parent_pid, poll_seconds), name="nnctl-parent-watch", daemon=True
    )
    thread.start()
    return thread


def _watch(parent_pid: int, poll_seconds: float) -> None:
    stop = threading.Event()  # never set: an interruptible sleep
    while os.getppid() == parent_pid:
        stop.wait(poll_seconds)
    # The parent is gone: nothing will read this worker's result. os._exit, not sys.exit: no
    # cleanup that could wait on the (dead) parent's queues.
    os._exit(1)
