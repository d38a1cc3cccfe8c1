"""A transport over a user-supplied ``requests.Session``.

For users whose tests and infrastructure already hook ``requests`` (responses,
requests-mock, vcrpy, corporate proxy or auth adapters). Same interface and behaviour as
`Urllib3Transport`; the session's own settings (proxies, ``verify``, adapters, mounted
mocks) apply. The urllib3 transport stays the default: it is the fast path.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterator, Optional

from ..errors import ConnectionError, ResponseTooLargeError, TimeoutError
from ..http import ByteStream, Headers, TransportRequest, TransportResponse
from . import Timeout
from .urllib3_transport import DEFAULT_MAX_RESPONSE_BYTES, USER_AGENT, _body_pieces, _drain, _safe_url


class RequestsTransport:
    """A `Transport` that sends through ``session`` (a ``requests.Session``).

    The session is the caller's: `close` closes it only when ``owns_session`` is true.
    """

    def __init__(
        self,
        session: Any,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        timeout: Optional[Timeout] = None,
        user_agent: str = USER_AGENT,
        owns_session: bool = False,
    ) -> None:
        self.session = session
        self.max_response_bytes = max_response_bytes
        self.timeout = timeout or Timeout()
        self.user_agent = user_agent
        self.owns_session = owns_session

    def __repr__(self) -> str:
        return f"RequestsTransport(session={type(self.session).__name__})"

    def close(self) -> None:
        """Close the session if this transport owns it."""
        if self.owns_session:
            self.session.close()

    def send(
        self, request: TransportRequest, *, stream: bool = False, timeout: Optional[Timeout] = None
    ) -> TransportResponse:
        """Send ``request``; see `omnillm.transport.Transport.send`."""
        limits = timeout or self.timeout
        deadline = time.monotonic() + limits.total if limits.total is not None else None
        read = limits.read
        if limits.total is not None:
            read = limits.total if read is None else min(read, limits.total)
        headers = request.headers.copy()
        headers.setdefault("User-Agent", self.user_agent)
        body = request.body_bytes()
        if body and request.body.content_type:
            headers.setdefault("Content-Type", request.body.content_type)
        url = request.full_url()
        try:
            response = self.session.request(
                request.method,
                url,
                data=body or None,
                headers=dict(headers.items()),
                timeout=(limits.connect, read),
                stream=True,
                allow_redirects=False,
            )
        except Exception as exc:
            raise _network_error(exc, url) from None
        out_headers = Headers(response.headers.items())
        if stream:
            state = {"eof": False}
            pieces = _pieces(response)
            return TransportResponse(
                response.status_code,
                out_headers,
                b"",
                ByteStream(
                    _chunks(pieces, deadline, url, state),
                    _closer(response, state),
                    _aborter(response),
                    _drainer(response, pieces, state),
                ),
                url=url,
            )
        try:
            data = self._read_bounded(response, deadline, url)
        finally:
            response.close()
        return TransportResponse(response.status_code, out_headers, data, url=url)

    def _read_bounded(self, response: Any, deadline: Optional[float], url: str) -> bytes:
        parts = []
        size = 0
        try:
            for piece in _pieces(response):
                size += len(piece)
                if size > self.max_response_bytes:
                    raise ResponseTooLargeError(
                        f"response body from {_safe_url(url)} passed the maximum of {self.max_response_bytes} bytes",
                        status=response.status_code,
                    )
                parts.append(piece)
                _check_deadline(deadline, url)
        except (ResponseTooLargeError, TimeoutError):
            raise
        except Exception as exc:
            raise _network_error(exc, url) from None
        return b"".join(parts)


def _pieces(response: Any) -> Iterator[bytes]:
    """The body as it arrives: a streamed event at once, and deadline checks between receives."""
    raw = getattr(response, "raw", None)
    if getattr(raw, "read1", None) is None:  # a mocked or adapted response: requests' iteration
        yield from response.iter_content(chunk_size=None)
        return
    yield from _body_pieces(raw)


def _check_deadline(deadline: Optional[float], url: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TimeoutError(f"overall deadline passed while reading {_safe_url(url)}", retryable=True)


def _chunks(pieces: Iterator[bytes], deadline: Optional[float], url: str, state: Dict[str, bool]) -> Iterator[bytes]:
    try:
        for piece in pieces:
            if piece:
                yield piece
                _check_deadline(deadline, url)
        state["eof"] = True
    except GeneratorExit:
        raise
    except TimeoutError:
        raise
    except Exception as exc:
        raise _network_error(exc, url) from None


def _closer(response: Any, state: Dict[str, bool]) -> Callable[[], None]:
    def close() -> None:
        raw = getattr(response, "raw", None)
        if not state["eof"] and raw is not None and hasattr(raw, "close"):
            raw.close()  # unread bytes remain: drop the socket rather than reuse it
        response.close()

    return close


def _drainer(response: Any, pieces: Iterator[bytes], state: Dict[str, bool]) -> Optional[Callable[[], bool]]:
    raw = getattr(response, "raw", None)
    if getattr(raw, "read1", None) is None:
        return None  # a mocked or adapted response: closing it is all there is
    return lambda: _drain(raw, pieces, state)


def _aborter(response: Any) -> Callable[[], None]:
    def abort() -> None:
        raw = getattr(response, "raw", None)
        shutdown = getattr(raw, "shutdown", None)
        if shutdown is not None:
            shutdown()  # urllib3 >= 2.3: interrupts a read blocked in another thread
        else:
            response.close()

    return abort


def _network_error(exc: BaseException, url: str) -> Exception:
    import requests

    where = _safe_url(url)
    name = type(exc).__name__
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return TimeoutError(f"connecting to {where} timed out", retryable=True)
    if isinstance(exc, requests.exceptions.Timeout):
        return TimeoutError(f"no data from {where} within the read timeout", retryable=True)
    if isinstance(exc, requests.exceptions.SSLError):
        return ConnectionError(f"TLS failure talking to {where} ({name})", retryable=False)
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        # requests wraps urllib3's read timeouts during iteration in ConnectionError.
        if "timed out" in str(exc).lower():
            return TimeoutError(f"no data from {where} within the read timeout", retryable=True)
        return ConnectionError(f"connection to {where} broke or could not be made ({name})", retryable=True)
    return ConnectionError(f"request to {where} failed ({name})", retryable=True)
