"""A Dask scheduler address checked before anything connects to it.

    check_address("tcp://127.0.0.1:8786", "--scheduler")   # -> DaskAddress(scheme, host, port)

Only what a Dask client can reach without extra software: `tcp://` and `tls://` (a bare
`HOST:PORT` is Dask's shorthand for tcp://), a host name or IP address, and a port from 1 to
65535, nothing else (no path, user or query). Every refusal is a UsageError naming where the
address came from (`--scheduler` or $DASK_SCHEDULER_ADDRESS), what was found and what is
expected. Plain tcp:// is unencrypted and unauthenticated: to a host other than this machine it
needs `insecure=True` (--insecure), since anyone on the network could send it work or read it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from nnctl.errors import UsageError

SCHEMES = ("tcp", "tls")
EXPECTED = "expected tcp://HOST:PORT or tls://HOST:PORT (e.g. tcp://127.0.0.1:8786)"
# A DNS name: dot-separated labels of letters, digits and inner hyphens.
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_WHY_NOT = {
    "http": "that is a web address (the dashboard is http://HOST:8787); the scheduler "
    "itself listens on tcp://HOST:8786",
    "https": "that is a web address; the scheduler itself listens on tcp:// or tls://",
    "ucx": "UCX needs the ucx-py transport, which nnctl does not support",
    "inproc": "an in-process scheduler cannot be reached from this command",
    "ws": "websocket transports are not supported",
    "wss": "websocket transports are not supported",
}


@dataclass(frozen=True)
class DaskAddress:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        """This machine only (localhost, 127.0.0.0/8, ::1): nothing crosses a network."""
        if self.host.lower().rstrip(".") == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def check_address(text, source: str = "--scheduler") -> DaskAddress:
    """The address `text` parsed and checked; UsageError naming `source` and what is wrong."""
    if not isinstance(text, str):
        raise UsageError(f"{source}: {EXPECTED}, found {type(text).__name__} {text!r}")
    shown = repr(text)
    address = text.strip()
    if not address:
        raise UsageError(f"{source}: the address is blank; {EXPECTED}")
    if any(ch.isspace() or not ch.isprintable() for ch in address):
        raise UsageError(f"{source}: {shown} holds spaces or control characters; {EXPECTED}")
    if "://" not in address:
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:/", address):
            raise UsageError(f"{source}: {shown} is not an address of the form {EXPECTED}")
        address = "tcp://" + address  # Dask's own shorthand: HOST:PORT is tcp://HOST:PORT
    scheme = address.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        why = _WHY_NOT.get(scheme, "not a Dask scheduler protocol nnctl can use")
        raise UsageError(f"{source}: {shown} uses {scheme}://: {why}; {EXPECTED}")
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{source}: {shown}: {exc}; {EXPECTED}") from None
    if parts.username is not None or parts.password is not None:
        raise UsageError(f"{source}: {shown} holds a user name or password; {EXPECTED}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(
            f"{source}: {shown} has a path, query or fragment after the port; {EXPECTED}"
        )
    host = parts.hostname or ""
    if not host:
        raise UsageError(f"{source}: {shown} names no host; {EXPECTED}")
    if not _valid_host(host):
        raise UsageError(
            f"{source}: {shown}: {host!r} is neither a host name nor an IP address; {EXPECTED}"
        )
    if port is None:
        raise UsageError(
            f"{source}: {shown} names no port (a scheduler's default is 8786); {EXPECTED}"
        )
    if not 1 <= port <= 65535:
        raise UsageError(f"{source}: {shown}: port {port} is outside 1-65535")
    return DaskAddress(scheme, host, port)


def check_transport(address: DaskAddress, insecure: bool, source: str = "--scheduler") -> str:
    """Refuse plain tcp:// off this machine unless `insecure`; returns the warning to show
    when it is allowed (one line), or ""."""
    if address.scheme != "tcp" or address.is_loopback:
        return ""
    if not insecure:
        raise UsageError(
            f"{source}: {address} is plain tcp:// to another machine: unencrypted, and anyone "
            "who can reach the scheduler can run code on its workers and read the results. "
            "Use tls:// with certificates (docs/scaling.md), or pass --insecure on a network "
            "you trust (or set NNCTL_DASK_INSECURE=1)"
        )
    return (
        f"--insecure: {address} is unencrypted and unauthenticated; anyone on the "
        "network who reaches it can send its workers code and read the runs"
    )


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_HOST_NAME.match(host)) and not host.replace(".", "").isdigit()
