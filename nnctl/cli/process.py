"""How a command runs as a process: the error contract (message on stderr, exit code of the
error's kind, no traceback unless NNCTL_DEBUG=1), signals (SIGTERM and SIGHUP stop as Ctrl-C does), closed
standard streams, and the one way a result reaches stdout (write_stdout, print_json).

Exit codes: 0 done; 1 training failed; 2 bad usage, config, data or checkpoint; 130 interrupted.
"""

from __future__ import annotations

import functools
import os
import sys

import typer


def command(fn):
    """Run a command body with the error contract: no traceback (unless NNCTL_DEBUG=1), the
    message on stderr, and the exit code of the error's kind."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from nnctl.errors import NnctlError, os_error_text
        from nnctl.report.console import route_warnings

        _guard_closed_std_streams()
        route_warnings()
        previous = _sigterm_interrupts()
        try:
            return fn(*args, **kwargs)
        except NnctlError as exc:
            if exc.exit_code == 130 and getattr(exc, "by_signal", True):
                previous = _ignore_stop_signals()  # see there; kept until the process exits
            if os.environ.get("NNCTL_DEBUG") == "1":
                raise
            _error(f"error: {exc}" if exc.exit_code != 130 else str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            previous = _ignore_stop_signals()
            _error("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly, and keep Python from
            # complaining again when it flushes stdout at exit.
            _detach_stdout()
            raise typer.Exit(0) from None
        except MemoryError:
            _error(
                "error: out of memory; use a smaller model (model.hidden), batch "
                "(train.batch_size) or dataset"
            )
            raise typer.Exit(2) from None
        except OSError as exc:
            # The OS refused a read or write the library did not expect to fail (a full disk,
            # a read-only folder, a vanished file): say which file and what the OS said.
            if os.environ.get("NNCTL_DEBUG") == "1":
                raise
            _error(f"error: {os_error_text(exc)}")
            raise typer.Exit(2) from None
        finally:
            _restore_signals(previous)

    return wrapper


def _stop_signals():
    """SIGINT, SIGTERM and (where it exists) SIGHUP: the signals that stop a command."""
    import signal

    names = ("SIGINT", "SIGTERM", "SIGHUP")
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


def _sigterm_interrupts() -> dict:
    """SIGTERM and SIGHUP (a closed terminal or SSH session) stop a command as Ctrl-C does
    (KeyboardInterrupt: exit 130, not 143 or 129; training saves its state), also outside the
    training loop (e.g. while the data loads), where the loop's own handlers are not installed
    yet. A SIGHUP the caller ignores (nohup) stays ignored. Returns the handlers to restore."""
    import signal

    try:
        previous = {signal.SIGINT: signal.getsignal(signal.SIGINT)}
        for sig in _stop_signals()[1:]:
            # Only an ignored SIGHUP (nohup) stays ignored; an ignored SIGTERM inherited from a
            # parent would make the command unstoppable by `kill`.
            if sig == signal.SIGTERM or signal.getsignal(sig) is not signal.SIG_IGN:
                previous[sig] = signal.signal(sig, signal.default_int_handler)
    except (ValueError, OSError):  # not the main thread (an in-process caller): leave as is
        return {}
    return {sig: handler for sig, handler in previous.items() if handler is not None}


def _ignore_stop_signals() -> dict:
    """Stopping on a signal: a second SIGINT/SIGTERM/SIGHUP (two SIGTERMs 20 ms apart) must not turn
    the exit path into a traceback or a 143, so they stay ignored until the process exits (the
    interpreter's shutdown takes long enough for one to land). Returns {}: nothing to restore."""
    import signal

    for sig in _stop_signals():
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (ValueError, OSError):
            pass
    return {}


def _restore_signals(previous: dict) -> None:
    import signal

    for sig, handler in previous.items():
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):
            pass


def _guard_closed_std_streams() -> None:
    """Started with fd 0, 1 or 2 closed (`>&-`, `2>&-`): park /dev/null on that descriptor, so a
    file opened later (a checkpoint) cannot take its number and receive what is meant for the
    terminal. A closed stdout stays None in Python (write_stdout reports it); a closed stderr
    becomes /dev/null, so progress and errors never fall through to stdout."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
            except OSError:
                pass
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")


def _error(message: str) -> None:
    """The error line on stderr; a closed or failing stderr must not turn it into a traceback."""
    try:
        print(message, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


def _detach_stdout() -> None:
    """Point fd 1 at /dev/null, so the interpreter's final flush of stdout cannot fail again
    (and print "Exception ignored ..." with exit code 120) after the error was reported."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


def print_json(obj) -> None:
    """`obj` as one indented JSON document on stdout (a --json result)."""
    from nnctl.runs.run_folder import to_json

    write_stdout(to_json(obj, indent=2) + "\n")


def write_stdout(text: str) -> None:
    """Write the command's result to stdout and flush it. A result that could not be written is
    not a success: a closed stdout (`>&-`) or a failing one (a full disk, /dev/full) is exit 2
    with one line saying so; a reader that went away (`| head`) stays a quiet BrokenPipeError."""
    from nnctl.errors import UsageError

    stream = sys.stdout
    if stream is None:
        raise UsageError(
            "cannot write the result: stdout is closed (nothing was printed; "
            "redirect it to a file or drop the redirection)"
        )
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        _detach_stdout()
        name = getattr(stream, "name", "stdout")
        where = "stdout" if name in ("<stdout>", 1) else f"stdout ({name})"
        raise UsageError(f"cannot write the result to {where}: {exc.strerror or exc}") from None
    except ValueError as exc:  # "I/O operation on closed file"
        raise UsageError(f"cannot write the result: stdout is closed ({exc})") from None
