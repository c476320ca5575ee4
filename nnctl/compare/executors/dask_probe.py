"""Look at a scheduler address with a plain socket before Dask's client is given it.

    probe_scheduler(address, timeout_s)   # UsageError unless a Dask scheduler seems to answer

Dask's Client waits for ever on a port that accepts and says nothing (its own timeout does not
cover that), and sizes an allocation from the first bytes a peer sends (garbage there ends in
"Maximum allowed dimension exceeded" or MemoryError, then a traceback from Client.__del__). A
scheduler speaks first: on a new connection it sends its handshake, one message whose first 8
bytes (little-endian) give the length of the rest, a few hundred bytes. So: connect within the
deadline, and for tcp:// read that header within the deadline and check the length is that of
a handshake. tls:// is checked up to the connection (the bytes are encrypted).
"""

from __future__ import annotations

import socket
import struct
import time

from nnctl.compare.executors.dask_address import DaskAddress
from nnctl.errors import UsageError

# A handshake is a small dict (compression, Python and pickle versions): far under this.
MAX_HANDSHAKE_BYTES = 1 << 20


def probe_scheduler(address: DaskAddress, timeout_s: float, source: str = "--scheduler") -> None:
    """UsageError naming the address unless it accepts a connection within `timeout_s` and
    (tcp://) starts with what a Dask scheduler's handshake looks like."""
    deadline = time.monotonic() + timeout_s
    try:
        sock = socket.create_connection((address.host, address.port), timeout=timeout_s)
    except TimeoutError:
        raise UsageError(
            f"{source} {address}: cannot reach a Dask scheduler there (no connection within "
            f"{timeout_s:g} s, --connect-timeout)"
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"{source} {address}: cannot reach a Dask scheduler there ({reason})"
        ) from None
    with sock:
        if address.scheme != "tcp":
            return
        header = _read_exactly(sock, 8, deadline, address, timeout_s)
        (length,) = struct.unpack("<Q", header)
        if not 0 < length <= MAX_HANDSHAKE_BYTES:
            raise UsageError(
                f"{address} does not speak Dask's protocol (its first bytes announce a "
                f"{length}-byte message; a scheduler's greeting is a few hundred): is it "
                "another service on that port?"
            )
        _read_exactly(sock, length, deadline, address, timeout_s)


def _read_exactly(sock, n: int, deadline: float, address, timeout_s: float) -> bytes:
    chunks, got = [], 0
    while got < n:
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            chunk = sock.recv(min(n - got, 65536))
        except TimeoutError:
            raise UsageError(
                f"{address} accepted the connection but sent no Dask greeting within "
                f"{timeout_s:g} s (--connect-timeout): not a Dask scheduler, or one that "
                "does not answer"
            ) from None
        except OSError as exc:
            raise UsageError(f"{address} closed the connection: {exc.strerror or exc}") from None
        if not chunk:
            raise UsageError(
                f"{address} closed the connection without a Dask greeting: not a Dask scheduler"
            )
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
