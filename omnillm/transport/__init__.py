"""The one narrow cut between policy and the network.

A `Transport` has a single method, `Transport.send`, from a `TransportRequest` to a
`TransportResponse` (plain data, ``omnillm.http``). The urllib3 implementation is the
default; a ``requests.Session`` one, the replay one and test ones implement the same
method. Everything above it (clients, gateway policies) never imports a network library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol

from ..http import TransportRequest, TransportResponse


@dataclass(frozen=True)
class Timeout:
    """Time limits in seconds: to connect, between bytes read, and for the whole exchange.

    ``total`` is an overall deadline covering connect, send and the full body (for a
    stream: until its last chunk). None means no limit of that kind.
    """

    connect: Optional[float] = 10.0
    read: Optional[float] = 600.0
    total: Optional[float] = None


class Transport(Protocol):
    """Sends one request and returns its response; the only thing that touches the network."""

    def send(
        self, request: TransportRequest, *, stream: bool = False, timeout: Optional[Timeout] = None
    ) -> TransportResponse:
        """Send ``request``; with ``stream=True`` the response body comes as a `ByteStream`.

        Raises `omnillm.TimeoutError`, `omnillm.ConnectionError` or
        `omnillm.ResponseTooLargeError`; an HTTP error status is *not* an exception here.

        A transport may also take a keyword ``cancel`` (a cancellation token: ``cancelled``
        and ``on_cancel``) that aborts the request in flight with `omnillm.CancelledError`;
        both built-in transports do. `omnillm.Client` passes it only to a transport whose
        ``send`` accepts it, and only when a token was given.
        """
        ...

    def close(self) -> None:
        """Release pooled connections."""
        ...


__all__ = ["Timeout", "Transport", "accepts_cancel"]


def accepts_cancel(transport: Transport) -> bool:
    """True when ``transport.send`` takes a ``cancel`` keyword (the built-in transports do)."""
    import inspect

    try:
        parameters = inspect.signature(transport.send).parameters
    except (TypeError, ValueError):
        return False
    return "cancel" in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
