"""A transport over a user-supplied ``requests.Session``.

For users whose tests and infrastructure already hook ``requests`` (responses,
requests-mock, vcrpy, corporate proxy or auth adapters). Same interface and behaviour as
`Urllib3Transport`; the session's own settings (proxies, ``verify``, adapters, mounted
mocks) apply. The urllib3 transport stays the default: it is the fast path.

Cancellation has one limitation here: ``requests`` offers no hook into a request waiting
for its response headers, so a cancel token is checked before sending and acts once the
headers arrived (it then aborts the body read, streamed or not); the urllib3 transport
also aborts the wait for the headers.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Dict, Iterator, Optional

from ..errors import (
    CancelledError,
    ConnectionError,
    OmniLLMError,
    ProviderError,
    ResponseTooLargeError,
    TimeoutError,
)
from ..http import ByteStream, Headers, TransportRequest, TransportResponse, request_id_of
from . import Timeout
from .urllib3_transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_STREAM_BYTES,
    USER_AGENT,
    CancelToken,
    _body_pieces,
    _chunks,
    _drain,
    _safe_url,
    _socket_of,
)


class RequestsTransport:
    """A `Transport` that sends through ``session`` (a ``requests.Session``).

    The session is the caller's: `close` closes it only when ``owns_session`` is true.
    ``max_response_bytes`` bounds a non-streamed body, ``max_stream_bytes`` a streamed one.
    """

    def __init__(
        self,
        session: Any,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES,
        timeout: Optional[Timeout] = None,
        user_agent: str = USER_AGENT,
        owns_session: bool = False,
    ) -> None:
        self.session = session
        self.max_response_bytes = max_response_bytes
        self.max_stream_bytes = max_stream_bytes
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
        self,
        request: TransportRequest,
        *,
        stream: bool = False,
        timeout: Optional[Timeout] = None,
        cancel: Optional[CancelToken] = None,
    ) -> TransportResponse:
        """Send ``request``; see `omnillm.transport.Transport.send`.

        ``cancel`` is checked before sending and aborts the body read (see the module
        docstring for what it cannot interrupt); a cancelled read raises `CancelledError`.
        """
        if cancel is not None and cancel.cancelled:
            raise CancelledError(f"the request to {_safe_url(request.full_url())} was cancelled before it was sent")
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
            release = _closer(response, state)
            if cancel is not None:
                release = _unregistering(cancel.on_cancel(_quiet(_aborter(response))), release)
            chunks = ByteStream(
                _chunks(
                    pieces,
                    deadline,
                    url,
                    state,
                    self.max_stream_bytes,
                    cancel,
                    response.status_code,
                    network_error=_network_error,
                ),
                release,
                _aborter(response),
                _drainer(response, pieces, state),
            )
            return TransportResponse(response.status_code, out_headers, b"", chunks, url=url)
        registration = cancel.on_cancel(_quiet(_aborter(response))) if cancel is not None else None
        try:
            data = self._read_bounded(response, deadline, url)
        except OmniLLMError as exc:
            if cancel is not None and cancel.cancelled:
                raise CancelledError(f"the request to {_safe_url(url)} was cancelled") from None
            if isinstance(exc, ProviderError):  # the headers arrived: keep their request id
                exc.attribute(None, request_id_of(out_headers))
            raise
        finally:
            if registration is not None:
                registration.unregister()
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


def _quiet(abort: Callable[[], None]) -> Callable[[], None]:
    """``abort`` for a cancel callback: a response already released (urllib3 refuses then) is no error."""

    def run() -> None:
        with contextlib.suppress(Exception):
            abort()

    return run


def _unregistering(registration: Any, release: Callable[[], None]) -> Callable[[], None]:
    """``release`` that first removes a cancel callback, so a late cancel cannot touch a reused connection."""

    def released() -> None:
        registration.unregister()
        release()

    return released


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
    return lambda: _drain(_socket_of(raw), pieces, state)


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
