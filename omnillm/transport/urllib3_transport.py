"""The default transport: a thread-safe urllib3 ``PoolManager`` with keep-alive.

urllib3 is imported when the first request is sent, so ``import omnillm`` stays
standard-library only. Connections return to the pool after a call and after a stream
read to its end; a stream closed early (or garbage-collected) drops its socket, since
the unread rest of the body cannot be skipped cheaply, and frees its pool slot.

Without a proxy, a call or stream takes a connection from urllib3's pool (which opens
it and verifies TLS) and is written and read by `omnillm.transport.http11` on its
socket; through a proxy it goes through urllib3's ``urlopen``.

The pool is recreated in a child process after ``os.fork`` (a socket shared by parent
and child would interleave their traffic).

Cancellation: the cancel token of a request shuts its socket down once it is connected,
while it waits for the response headers and, after them, until its body is read or its
stream released (the blocked read returns at once; the connection is closed, never
reused). Through a proxy the pools' connection classes do the same; a request sent
there without a token only pays one thread-local look-up for this, in the connection's
``getresponse``.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import platform
import socket
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, Tuple

from .._version import __version__
from ..errors import CancelledError, ConnectionError, ProviderError, ResponseTooLargeError, TimeoutError
from ..http import ByteStream, Headers, TransportRequest, TransportResponse, request_id_of
from . import Timeout
from .chunked import ChunkedDecoder, ChunkedError
from .http11 import (
    JOIN_BODY_BYTES,
    MAX_HEAD_BYTES,
    Framing,
    HeadError,
    ResponseHead,
    format_request,
    framing,
    parse_head,
)

if TYPE_CHECKING:  # pragma: no cover
    import urllib3

CancelToken = Any
"""A `omnillm.gateway.CancellationToken` (anything with ``on_cancel`` and ``cancelled``)."""

USER_AGENT = f"omnillm/{__version__} python/{platform.python_version()}"

#: Default bound on a non-streamed response body: 64 MiB.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

#: Default bound on a streamed body, all chunks together: 256 MiB. A stream carries far
#: more framing than content (an OpenAI chunk is ~300 bytes for one token), so a long
#: generation (128k output tokens ~ 40 MB) stays well under it.
DEFAULT_MAX_STREAM_BYTES = 256 * 1024 * 1024

_CHUNK = 64 * 1024

#: How long a stream whose terminal event has arrived may take to end its body (the
#: ``[DONE]`` line, the chunked terminator) before its connection is dropped, not reused.
DRAIN_TIMEOUT_S = 0.25

#: How much such a stream may still send before its connection is dropped, not reused.
DRAIN_MAX_BYTES = 64 * 1024


class Urllib3Transport:
    """A `Transport` over a urllib3 ``PoolManager``: keep-alive, TLS verification on by default.

    ``pool_maxsize`` connections are kept per host (``num_pools`` hosts). ``proxy_url``
    routes through an HTTP(S) proxy; ``ca_certs`` names a CA bundle file; ``verify=False``
    disables TLS verification (never the default). ``max_response_bytes`` bounds a
    non-streamed body, ``max_stream_bytes`` a streamed one (all chunks together).
    ``timeout`` is the default when `send` is given none.
    """

    def __init__(
        self,
        *,
        pool_maxsize: int = 10,
        num_pools: int = 10,
        proxy_url: Optional[str] = None,
        proxy_headers: Optional[Dict[str, str]] = None,
        ca_certs: Optional[str] = None,
        verify: bool = True,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES,
        timeout: Optional[Timeout] = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.pool_maxsize = pool_maxsize
        self.num_pools = num_pools
        self.proxy_url = proxy_url
        self._proxy_headers = dict(proxy_headers or {})
        self.ca_certs = ca_certs
        self.verify = verify
        self.max_response_bytes = max_response_bytes
        self.max_stream_bytes = max_stream_bytes
        self.timeout = timeout or Timeout()
        self.user_agent = user_agent
        self._manager: Optional[Any] = None
        # Origin ("https://host:port") -> the manager's connection pool for it. Sending
        # through the pool directly skips the manager's URL parse and pool-key lookup on
        # every request (about a fifth of urllib3's client CPU for a small call).
        self._origins: Dict[str, Any] = {}
        self._lock = threading.Lock()
        _after_fork.add(self)

    def __repr__(self) -> str:
        proxy = " proxy" if self.proxy_url else ""
        return f"Urllib3Transport(pool_maxsize={self.pool_maxsize}{proxy}, verify={self.verify})"

    # ------------------------------------------------------------------ pool

    def _pool(self) -> Any:
        manager = self._manager
        if manager is not None:
            return manager
        with self._lock:
            if self._manager is None:
                import urllib3

                kw: Dict[str, Any] = {"maxsize": self.pool_maxsize, "block": False, "retries": False}
                if self.verify:
                    kw["cert_reqs"] = "CERT_REQUIRED"
                    if self.ca_certs:
                        kw["ca_certs"] = self.ca_certs
                else:
                    kw["cert_reqs"] = "CERT_NONE"
                if self.proxy_url:
                    self._manager = urllib3.ProxyManager(
                        self.proxy_url, num_pools=self.num_pools, proxy_headers=self._proxy_headers or None, **kw
                    )
                else:
                    self._manager = urllib3.PoolManager(num_pools=self.num_pools, **kw)
                self._manager.pool_classes_by_scheme = _cancellable_pool_classes()
            return self._manager

    def _forget_pool(self) -> None:
        # In a forked child: the parent's sockets must not be used, nor closed (that would
        # shut them for the parent too); drop the references and start afresh.
        self._lock = threading.Lock()
        self._manager = None
        self._origins = {}

    def _origin_pool(self, origin: str, *, stale: Any = None) -> Any:
        """The connection pool for ``origin``; ``stale`` is a cached pool found closed."""
        manager = self._pool()
        with self._lock:
            pool = self._origins.get(origin)
            if pool is None or pool is stale:
                # The manager keeps num_pools pools and closes the least recently used
                # one past that; keep no more references than it keeps pools.
                if len(self._origins) >= self.num_pools:
                    self._origins.clear()
                pool = manager.connection_from_url(origin)
                self._origins[origin] = pool
            return pool

    def close(self) -> None:
        """Close every pooled connection; the transport stays usable (a new pool is made)."""
        with self._lock:
            manager, self._manager = self._manager, None
            self._origins = {}
        if manager is not None:
            manager.clear()

    # ------------------------------------------------------------------ send

    def send(
        self,
        request: TransportRequest,
        *,
        stream: bool = False,
        timeout: Optional[Timeout] = None,
        cancel: Optional[CancelToken] = None,
    ) -> TransportResponse:
        """Send ``request``; see `omnillm.transport.Transport.send`.

        ``cancel`` (a `omnillm.gateway.CancellationToken`) aborts the request while it is
        sent, while the response headers are awaited and while the body is read: the
        socket is shut down, the connection discarded, and `omnillm.CancelledError`
        raised (for a stream: by the chunk iterator). A TCP connect or TLS handshake in
        progress is not interrupted; the abort takes effect as soon as it completes.
        """
        import urllib3

        limits = timeout or self.timeout
        deadline = time.monotonic() + limits.total if limits.total is not None else None
        headers = request.headers.copy()
        headers.setdefault("User-Agent", self.user_agent)
        body = request.body_bytes()
        if body and request.body.content_type:
            headers.setdefault("Content-Type", request.body.content_type)
        url = request.full_url()
        payload = body if body or request.method not in ("GET", "HEAD", "DELETE") else None
        if not self.proxy_url:
            fields = dict(headers.items())
            origin, target = _split_url(url)
            head = format_request(request.method, target, _authority(origin), fields, payload)
            # The head (with a small body joined), and a large body to send after it uncopied.
            rest = payload if payload and len(payload) > JOIN_BODY_BYTES else b""
            wire = None if head is None else (head, rest)
            # A stream whose caller chose an encoding goes through urllib3, which decodes any.
            plain = "accept-encoding" not in (name.lower() for name in fields)
            if stream and wire is not None and plain:
                return self._stream_direct(urllib3, request.method, url, wire, limits, deadline, cancel)
            if not stream and (wire is not None or cancel is None):
                return self._call_direct(
                    urllib3, request.method, url, payload, fields, limits, deadline, wire=wire, cancel=cancel
                )
        options = {
            "body": payload,
            "headers": dict(headers.items()),
            "preload_content": False,
            "decode_content": True,
            "redirect": False,
            "retries": False,
            "timeout": _urllib3_timeout(urllib3, limits, deadline),
        }
        scope = None
        try:
            if cancel is not None:
                scope = _CancelScope(cancel)
                response = self._send_cancellable(urllib3, request.method, url, options, scope)
            elif self.proxy_url:  # the proxy manager adds the proxy's headers and target form
                response = self._pool().request(request.method, url, **options)
            else:
                response = self._send_direct(urllib3, request.method, url, options)
        except CancelledError:
            raise
        except Exception as exc:
            raise _network_error(exc, url) from None
        out_headers = Headers(response.headers.iteritems())
        if stream:
            state = {"eof": False}
            pieces = _body_pieces(response)
            return TransportResponse(
                response.status,
                out_headers,
                b"",
                ByteStream(
                    _chunks(pieces, deadline, url, state, self.max_stream_bytes, cancel, response.status),
                    _releaser(response, state, scope),
                    _aborter(response),
                    lambda: _drain(_socket_of(response), pieces, state),
                ),
                url=url,
            )
        try:
            data = _read_bounded(response, self.max_response_bytes, deadline, url)
        except BaseException as exc:
            response.close()
            response.release_conn()
            if scope is not None and scope.finish():
                raise CancelledError(f"the request to {_safe_url(url)} was cancelled") from None
            if isinstance(exc, ProviderError):  # the headers arrived: keep their request id
                exc.attribute(None, request_id_of(out_headers))
            raise
        if scope is not None and scope.finish():
            response.close()  # the socket may be shut: never return it to the pool
        response.release_conn()
        return TransportResponse(response.status, out_headers, data, url=url)

    def _send_cancellable(
        self, urllib3: Any, method: str, url: str, options: Dict[str, Any], scope: _CancelScope
    ) -> Any:
        """Send with ``scope``'s token able to shut the connection down until the response is done."""
        if scope.token.cancelled:
            raise CancelledError(f"the request to {_safe_url(url)} was cancelled before it was sent")
        scope.register()
        _active.scope = scope  # read by the connection's getresponse on this thread
        try:
            if self.proxy_url:
                return self._pool().request(method, url, **options)
            return self._send_direct(urllib3, method, url, options)
        except Exception:
            if scope.finish():
                raise CancelledError(f"the request to {_safe_url(url)} was cancelled") from None
            raise
        finally:
            _active.scope = None

    def _send_direct(self, urllib3: Any, method: str, url: str, options: Dict[str, Any]) -> Any:
        """Send through the origin's pool; a pool the manager has since closed is replaced once."""
        origin, target = _split_url(url)
        pool = self._origins.get(origin) or self._origin_pool(origin)
        try:
            return pool.urlopen(method, target, assert_same_host=False, **options)
        except urllib3.exceptions.ClosedPoolError:
            # No byte was sent (the pool refused before taking a connection): safe to resend.
            pool = self._origin_pool(origin, stale=pool)
            return pool.urlopen(method, target, assert_same_host=False, **options)

    def _call_direct(
        self,
        urllib3: Any,
        method: str,
        url: str,
        body: Optional[bytes],
        headers: Dict[str, str],
        limits: Timeout,
        deadline: Optional[float],
        *,
        wire: Optional[Tuple[bytes, bytes]],
        cancel: Optional[CancelToken],
    ) -> TransportResponse:
        """A whole call on a connection taken from the origin's pool, without ``urlopen``.

        ``urlopen`` parses the URL again, builds a ``Retry`` and a header copy and handles
        redirects and proxies for every request: about a quarter of urllib3's client CPU
        for a small call, none of it needed here (no retries, no redirects, no proxy, a
        path already encoded). This does what its ``_make_request`` does for such a
        call, with the pool's public connection API: take a connection (the pool drops
        one the server closed), connect (TLS verified) under the connect timeout, send,
        read the answer under the read timeout, and give the connection back only once
        the body was read whole; on any failure it is closed and its slot returned.

        ``wire`` (the request as `omnillm.transport.http11` wrote it) goes out through
        `_exchange`; without it (a request only ``http.client`` can write, never with a
        ``cancel`` token) the connection's own request and response are used.
        """
        origin, target = _split_url(url)
        pool, conn = self._take_conn(urllib3, origin, url, cancel)
        if wire is not None:
            return self._exchange(urllib3, pool, conn, wire, method, limits, deadline, url, cancel)
        response = None
        try:
            conn.timeout = limits.connect
            pool._validate_conn(conn)  # HTTPS: connect and verify now, under the connect timeout
            try:
                conn.request(
                    method,
                    target,
                    body=body,
                    headers=headers,
                    preload_content=False,
                    decode_content=True,
                    enforce_content_length=True,
                )
            except OSError as sent:
                # A server may answer and close before reading the whole request (a 413, a
                # 401): its answer is still readable, so read it as urllib3 does.
                if not isinstance(sent, BrokenPipeError) and sent.errno not in (errno.EPROTOTYPE, errno.ECONNRESET):
                    raise
            if not conn.is_closed:
                conn.timeout = _read_timeout(limits, deadline)
            response = conn.getresponse()
            out_headers = Headers(response.headers.iteritems())
            data = _read_bounded(response, self.max_response_bytes, deadline, url)
        except BaseException as exc:
            if response is not None:
                response.close()
            conn.close()
            pool._put_conn(None)  # the slot goes back; the broken connection does not
            if isinstance(exc, ProviderError):
                if response is not None:  # the headers arrived: keep their request id
                    exc.attribute(None, request_id_of(Headers(response.headers.iteritems())))
                raise
            if isinstance(exc, Exception):
                raise _network_error(exc, url) from None
            raise
        pool._put_conn(conn)
        return TransportResponse(response.status, out_headers, data, url=url)

    def _take_conn(self, urllib3: Any, origin: str, url: str, cancel: Optional[CancelToken]) -> Tuple[Any, Any]:
        """The origin's pool and a connection from it (a pool the manager closed is replaced once)."""
        if cancel is not None and cancel.cancelled:
            raise CancelledError(f"the request to {_safe_url(url)} was cancelled before it was sent")
        pool = self._origins.get(origin) or self._origin_pool(origin)
        try:
            try:
                return pool, pool._get_conn()
            except urllib3.exceptions.ClosedPoolError:  # the manager closed it: take a fresh one
                pool = self._origin_pool(origin, stale=pool)
                return pool, pool._get_conn()
        except Exception as exc:
            raise _network_error(exc, url) from None

    def _exchange(
        self,
        urllib3: Any,
        pool: Any,
        conn: Any,
        wire: Tuple[bytes, bytes],
        method: str,
        limits: Timeout,
        deadline: Optional[float],
        url: str,
        cancel: Optional[CancelToken],
    ) -> TransportResponse:
        """One request and its whole answer on ``conn``, read by `omnillm.transport.http11`.

        The pool's connection still connects (TLS verified) under the connect timeout;
        then ``wire`` goes out (the head and a body up to 64 KiB in one write) and the
        answer is read straight off the socket under the read timeout and the overall
        deadline. The connection goes
        back to the pool only when its body was read whole and it may carry another
        request; on any failure it is closed and its slot returned. A ``cancel`` token
        shuts the socket down (once connected), so a blocked read returns at once and
        `omnillm.CancelledError` is raised; a connection a cancel may have touched is
        never reused.
        """
        reusable = False
        scope = _CancelScope(cancel) if cancel is not None else None
        try:
            reader, head = _begin(pool, conn, wire, limits, deadline, url, scope)
            frame = framing(head, method)
            headers = Headers(head.headers)
            try:
                data = reader.body(frame, self.max_response_bytes, head.status)
                coding = headers.get("content-encoding")
                if coding and coding.strip().lower() != "identity":
                    data = _decoded(urllib3, data, coding, head.status, self.max_response_bytes, deadline, url)
            except Exception as exc:
                error = exc if isinstance(exc, ProviderError) else _network_error(exc, url)
                if isinstance(error, ProviderError):  # the headers arrived: keep their request id
                    error.attribute(None, request_id_of(headers))
                raise error from None
            reusable = frame.reusable and reader.clean
        except BaseException as exc:
            raise _discard(pool, conn, scope, exc, url) from None
        if scope is not None and scope.finish():
            reusable = False  # the socket may have been shut: never back to the pool
        if reusable:
            pool._put_conn(conn)
        else:
            conn.close()
            pool._put_conn(None)
        return TransportResponse(head.status, headers, data, url=url)

    def _stream_direct(
        self,
        urllib3: Any,
        method: str,
        url: str,
        wire: Tuple[bytes, bytes],
        limits: Timeout,
        deadline: Optional[float],
        cancel: Optional[CancelToken],
    ) -> TransportResponse:
        """A stream on a pooled connection, read by `omnillm.transport.http11` (see `_exchange`).

        The head is read here; the body comes as a `ByteStream` of pieces as they arrive
        (a chunked body unframed in reads of up to 64 KiB). Releasing the stream puts the
        connection back only when the body ended and the connection may carry another
        request; ``abort`` (a close from another thread while one reads) shuts the socket,
        never once the connection was released. A ``cancel`` token shuts it as well.
        """
        origin, _ = _split_url(url)
        pool, conn = self._take_conn(urllib3, origin, url, cancel)
        scope = _CancelScope(cancel) if cancel is not None else None
        try:
            reader, head = _begin(pool, conn, wire, limits, deadline, url, scope)
            frame = framing(head, method)
            coding = next((v for v in head.values("content-encoding") if v.strip().lower() != "identity"), None)
            if coding is not None:
                raise HeadError(f"a content coding ({coding!r}) on a stream sent with Accept-Encoding: identity")
        except BaseException as exc:
            raise _discard(pool, conn, scope, exc, url) from None
        state = {"eof": False}
        pieces = reader.pieces(frame)
        sock = conn.sock
        guard = threading.Lock()
        released = [False]

        def release() -> None:
            with guard:
                released[0] = True
            fired = scope is not None and scope.finish()
            if fired or not state["eof"] or not frame.reusable or not reader.clean:
                conn.close()
                pool._put_conn(None)
            else:
                pool._put_conn(conn)

        def abort() -> None:
            with guard:
                if not released[0]:
                    _shutdown(sock)

        body = ByteStream(
            _chunks(pieces, deadline, url, state, self.max_stream_bytes, cancel, head.status),
            release,
            abort,
            lambda: _drain(sock, pieces, state),
        )
        return TransportResponse(head.status, Headers(head.headers), b"", body, url=url)


def _begin(
    pool: Any,
    conn: Any,
    wire: Tuple[bytes, bytes],
    limits: Timeout,
    deadline: Optional[float],
    url: str,
    scope: Optional[_CancelScope],
) -> Tuple[_SocketReader, ResponseHead]:
    """Connect ``conn`` (TLS verified) under the connect timeout, send ``wire``, read the final head."""
    if scope is not None:
        scope.register()
    conn.timeout = limits.connect
    pool._validate_conn(conn)  # HTTPS: connect and verify now, under the connect timeout
    if conn.sock is None:
        conn.connect()
    if scope is not None:
        scope.attach(conn)  # a cancel that came during the connect shuts it now
    sock = conn.sock
    sock.settimeout(_read_timeout(limits, deadline))
    try:
        for data in wire:
            if data:
                sock.sendall(data)
    except OSError as sent:
        # A server may answer and close before reading the whole request (a 413, a 401):
        # its answer is still readable.
        if not isinstance(sent, BrokenPipeError) and sent.errno not in (errno.EPROTOTYPE, errno.ECONNRESET):
            raise
    reader = _SocketReader(sock, deadline, url)
    head = parse_head(reader.head())
    while 100 <= head.status < 200 and head.status != 101:  # interim answers (103 Early Hints)
        head = parse_head(reader.head())
    if head.status == 101:
        raise HeadError("the server switched protocols")
    return reader, head


def _discard(pool: Any, conn: Any, scope: Optional[_CancelScope], exc: BaseException, url: str) -> BaseException:
    """Close a connection a request failed on (its pool slot goes back); the error to raise."""
    conn.close()
    pool._put_conn(None)
    if scope is not None and scope.finish():
        return CancelledError(f"the request to {_safe_url(url)} was cancelled")
    if isinstance(exc, ProviderError) or not isinstance(exc, Exception):
        return exc
    return _network_error(exc, url)


class _SocketReader:
    """Reads one response off a socket: its head, then its body by the framing the head gives."""

    __slots__ = ("_buf", "_deadline", "_sock", "_url", "clean")

    def __init__(self, sock: Any, deadline: Optional[float], url: str) -> None:
        self._sock = sock
        self._deadline = deadline
        self._url = url
        self._buf = b""
        self.clean = True
        """False when bytes followed the body (the connection is then not reused)."""

    def _recv(self) -> bytes:
        data: bytes = self._sock.recv(_CHUNK)
        _check_deadline(self._deadline, self._url)
        return data

    def head(self) -> bytes:
        """The bytes of the next response head, through its blank line."""
        buf = self._buf
        while True:
            end = _head_end(buf)
            if end >= 0:
                self._buf = buf[end:]
                return buf[:end]
            if len(buf) > MAX_HEAD_BYTES:
                raise HeadError(f"response head longer than {MAX_HEAD_BYTES} bytes")
            data = self._recv()
            if not data:
                where = _safe_url(self._url)
                if buf:
                    raise ConnectionError(f"connection to {where} closed inside the response head", retryable=True)
                raise ConnectionError(f"connection to {where} closed before an answer arrived", retryable=True)
            buf = buf + data if buf else data

    def body(self, frame: Framing, limit: int, status: int) -> bytes:
        """The whole body as ``frame`` delimits it, within ``limit`` bytes."""
        buf, self._buf = self._buf, b""
        if frame.kind == "none":
            self.clean = not buf
            return b""
        if frame.kind == "length":
            if frame.length > limit:
                raise self._too_large(limit, status)
            parts, size = [buf], len(buf)
            while size < frame.length:
                data = self._recv()
                if not data:
                    raise self._cut()
                parts.append(data)
                size += len(data)
            whole = parts[0] if len(parts) == 1 else b"".join(parts)
            self.clean = size == frame.length
            return whole[: frame.length] if size > frame.length else whole
        if frame.kind == "chunked":
            decoder = ChunkedDecoder()
            pieces: List[bytes] = []
            size = 0
            data = buf
            while True:
                if data:
                    piece = decoder.feed(data)
                    size += len(piece)
                    if size > limit:
                        raise self._too_large(limit, status)
                    pieces.append(piece)
                    if decoder.error is not None:
                        raise decoder.error
                    if decoder.done:
                        self.clean = not decoder.surplus
                        return b"".join(pieces)
                data = self._recv()
                if not data:
                    raise self._cut()
        parts, size = [buf], len(buf)  # "close": the body is whatever comes until the server closes
        while True:
            data = self._recv()
            if not data:
                self.clean = False
                return b"".join(parts)
            size += len(data)
            if size > limit:
                raise self._too_large(limit, status)
            parts.append(data)

    def pieces(self, frame: Framing) -> Iterator[bytes]:
        """The body as ``frame`` delimits it, a piece per read as it arrives (no bound: the caller's)."""
        buf, self._buf = self._buf, b""
        if frame.kind == "none":
            self.clean = not buf
            return
        if frame.kind == "chunked":
            decoder = ChunkedDecoder()
            data = buf
            while True:
                if data:
                    piece = decoder.feed(data)
                    if piece:
                        yield piece
                    if decoder.error is not None:
                        raise decoder.error
                    if decoder.done:
                        self.clean = not decoder.surplus
                        return
                data = self._recv()
                if not data:
                    raise ChunkedError("the connection closed before the last chunk of the body")
        if frame.kind == "length":
            left = frame.length
            data = buf
            while True:
                if data:
                    if len(data) > left:
                        self.clean = False
                        data = data[:left]
                    left -= len(data)
                    yield data
                if not left:
                    return
                data = self._recv()
                if not data:
                    raise self._cut()
        data = buf  # "close": whatever comes until the server closes
        while True:
            if data:
                yield data
            data = self._recv()
            if not data:
                self.clean = False
                return

    def _cut(self) -> ProviderError:
        where = _safe_url(self._url)
        return ConnectionError(f"connection to {where} closed before the response body was complete", retryable=True)

    def _too_large(self, limit: int, status: int) -> ProviderError:
        where = _safe_url(self._url)
        return ResponseTooLargeError(f"response body from {where} passed the maximum of {limit} bytes", status=status)


def _head_end(buf: bytes) -> int:
    """Where the head in ``buf`` ends (after its blank line), or -1 when it has not all arrived."""
    crlf = buf.find(b"\n\r\n")  # a line end, then an empty line ended by CRLF ...
    lf = buf.find(b"\n\n")  # ... or by a bare LF
    ends = [at + size for at, size in ((crlf, 3), (lf, 2)) if at >= 0]
    return min(ends) if ends else -1


def _split_url(url: str) -> Tuple[str, str]:
    """``scheme://authority`` and the request target (path and query) of an absolute URL."""
    start = url.find("/", url.find("://") + 3)
    return (url, "/") if start < 0 else (url[:start], url[start:])


def _authority(origin: str) -> str:
    """The ``Host`` header for ``origin`` (``scheme://host[:port]``): what follows the scheme."""
    return origin.split("://", 1)[-1].rsplit("@", 1)[-1]


def _decoded(
    urllib3: Any, data: bytes, coding: str, status: int, limit: int, deadline: Optional[float], url: str
) -> bytes:
    """A body with a content coding, decoded by urllib3's decoders (gzip, deflate; br, zstd when installed)."""
    response = urllib3.HTTPResponse(
        body=io.BytesIO(data),
        headers={"content-encoding": coding},
        status=status,
        preload_content=False,
        decode_content=True,
    )
    return _read_bounded(response, limit, deadline, url)


def _read_timeout(limits: Timeout, deadline: Optional[float]) -> Optional[float]:
    """The read timeout, shortened to what is left before the overall deadline."""
    read = limits.read
    if deadline is not None:
        left = max(deadline - time.monotonic(), 0.001)
        read = left if read is None else min(read, left)
    return read


def _urllib3_timeout(urllib3: Any, limits: Timeout, deadline: Optional[float]) -> Any:
    return urllib3.Timeout(connect=limits.connect, read=_read_timeout(limits, deadline), total=limits.total)


def _check_deadline(deadline: Optional[float], url: str) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise TimeoutError(f"overall deadline passed while reading {_safe_url(url)}", retryable=True)


def _body_pieces(response: Any) -> Iterator[bytes]:
    """A urllib3 response's body as it arrives, decoded, in pieces of at most 64 KiB.

    A chunked body goes through urllib3's own chunk reader, which hands on each HTTP
    chunk (servers write one SSE event per chunk) with far less work per piece than
    ``read1``; any other body through ``read1``, which returns what has arrived. Either
    way a streamed event is handed on when it lands, not when a buffer fills.
    """
    if response.chunked and response.supports_chunked_reads():
        raw = getattr(response, "_fp", None)
        fp = getattr(raw, "fp", None)
        plain = not response.headers.get("content-encoding")
        if plain and getattr(raw, "chunk_left", 0) is None and hasattr(fp, "read1"):
            return _dechunked(response, raw, fp)
        pieces: Iterator[bytes] = response.read_chunked(_CHUNK, decode_content=True)
        return pieces
    return _read1_pieces(response)


def _dechunked(response: Any, raw: Any, fp: Any) -> Iterator[bytes]:
    """A chunked body read straight off the connection's buffered socket file.

    urllib3's chunk reader makes about five calls per HTTP chunk (the size line, the
    data, its CRLF, the decoder); a provider writes one SSE event per chunk, so that is
    per event. Here each read takes what has arrived, up to 64 KiB, and `ChunkedDecoder`
    unframes it: one piece per read, however many events it holds. A body with a
    content coding still goes through urllib3, which decodes it. At the end the
    ``http.client`` response is closed and the connection released, as urllib3's own
    reader does, so that it can carry the next request.
    """
    decoder = ChunkedDecoder()
    while not decoder.done:
        data = fp.read1(_CHUNK)
        if not data:
            raise ChunkedError("the connection closed before the last chunk of the body")
        piece = decoder.feed(data)
        if piece:
            yield piece
        if decoder.error is not None:
            raise decoder.error
    raw.close()
    response.release_conn()


def _read1_pieces(response: Any) -> Iterator[bytes]:
    # Without a content coding a body of known length is complete once that many bytes
    # arrived: stop there instead of making one more read only to learn that.
    sized = not response.headers.get("content-encoding")
    while True:
        piece = response.read1(_CHUNK, decode_content=True)
        if not piece:
            return
        yield piece
        if sized and response.length_remaining == 0:
            return


def _read_bounded(response: Any, limit: int, deadline: Optional[float], url: str) -> bytes:
    parts = []
    size = 0
    try:
        for piece in _body_pieces(response):
            size += len(piece)
            if size > limit:
                raise ResponseTooLargeError(
                    f"response body from {_safe_url(url)} passed the maximum of {limit} bytes",
                    status=response.status,
                )
            parts.append(piece)
            # Checked between receives, so a trickling body cannot outlast the deadline.
            _check_deadline(deadline, url)
    except ResponseTooLargeError:
        raise
    except TimeoutError:
        raise
    except Exception as exc:
        raise _network_error(exc, url) from None
    return b"".join(parts)


def _chunks(
    pieces: Iterator[bytes],
    deadline: Optional[float],
    url: str,
    state: Dict[str, bool],
    limit: int,
    cancel: Optional[CancelToken],
    status: int,
    network_error: Optional[Callable[[BaseException, str], Exception]] = None,
) -> Iterator[bytes]:
    """A stream's pieces within ``limit`` bytes and the deadline; ``state["eof"]`` once they ended.

    Failures become omnillm errors: a cancel that fired is `CancelledError`, our own
    errors pass as they are, anything else goes through ``network_error`` (each
    transport maps its library's exceptions; urllib3's by default). Empty pieces are skipped.
    """
    size = 0
    try:
        for piece in pieces:
            if not piece:
                continue
            size += len(piece)
            if size > limit:
                raise ResponseTooLargeError(
                    f"streamed body from {_safe_url(url)} passed the maximum of {limit} bytes", status=status
                )
            yield piece
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"overall deadline passed while reading {_safe_url(url)}", retryable=True)
        state["eof"] = True
    except GeneratorExit:
        raise
    except Exception as exc:
        if cancel is not None and cancel.cancelled:
            raise CancelledError(f"the stream from {_safe_url(url)} was cancelled") from None
        if isinstance(exc, ProviderError):  # already one of ours (a deadline, a bound, a cut)
            raise
        raise (network_error or _network_error)(exc, url) from None


def _socket_of(response: Any) -> Any:
    """The socket under a urllib3 response, if it still has one."""
    return getattr(getattr(response, "connection", None), "sock", None)


def _drain(sock: Any, pieces: Iterator[bytes], state: Dict[str, bool]) -> bool:
    """Read what is left of a finished body from ``pieces`` within the drain bounds; True when it ended.

    ``pieces`` is the iterator the stream was read from (a chunked body keeps its place
    in it). Sets ``state["eof"]``, so that the release that follows keeps the
    connection. The socket's timeout is lowered for the drain and restored after it.
    """
    if state["eof"]:
        return True
    previous = sock.gettimeout() if sock is not None else None
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    left = DRAIN_MAX_BYTES
    try:
        if sock is not None:
            sock.settimeout(DRAIN_TIMEOUT_S if previous is None else min(previous, DRAIN_TIMEOUT_S))
        for piece in pieces:
            left -= len(piece)
            if left < 0 or time.monotonic() > deadline:
                return False
        state["eof"] = True
        return True
    except Exception:
        return False  # a broken or stalled rest: the release drops the connection
    finally:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.settimeout(previous)


def _releaser(
    response: urllib3.BaseHTTPResponse, state: Dict[str, bool], scope: Optional[_CancelScope]
) -> Callable[[], None]:
    def release() -> None:
        cancelled = scope is not None and scope.finish()
        if cancelled or not state["eof"]:
            # Unread bytes remain (or a cancel may have shut the socket): the socket
            # cannot be reused, so close it first.
            response.close()
        response.release_conn()

    return release


def _aborter(response: Any) -> Callable[[], None]:
    def abort() -> None:
        # urllib3 >= 2.3 can interrupt a read blocked in another thread; else close the socket.
        # It runs on the cancelling thread, racing the reader: a response whose socket is
        # already gone (read to its end, released) refuses the shutdown, and then closing
        # it is all that is left to do; the caller of cancel() never sees that race.
        shutdown = getattr(response, "shutdown", None)
        try:
            if shutdown is None:
                raise ValueError("no shutdown")
            shutdown()
        except (ValueError, OSError):
            with contextlib.suppress(Exception):
                response.close()

    return abort


class _CancelScope:
    """One request sent with a cancel token: the socket carrying it, and whether the token fired.

    The sending thread attaches the connection when it starts waiting for the response;
    the cancelling thread's `abort` shuts that socket down (a blocked read then returns at
    once). `finish` ends the scope: after it an abort does nothing, so a connection back
    in the pool is never shut by a late cancel; it returns whether the token fired, in
    which case the caller closes the connection instead of reusing it.
    """

    __slots__ = ("_done", "_fired", "_lock", "_registration", "_sock", "token")

    def __init__(self, token: CancelToken) -> None:
        self.token = token
        self._sock: Any = None
        self._fired = False
        self._done = False
        self._lock = threading.Lock()
        self._registration: Any = None

    def register(self) -> None:
        self._registration = self.token.on_cancel(self.abort)

    def attach(self, connection: Any) -> None:
        sock = getattr(connection, "sock", None)
        with self._lock:
            if self._done:
                return
            self._sock = sock
            fired = self._fired
        if fired:
            _shutdown(sock)

    def abort(self) -> None:
        with self._lock:
            if self._done:
                return
            self._fired = True
            sock = self._sock
        _shutdown(sock)

    def finish(self) -> bool:
        with self._lock:
            self._done = True
            self._sock = None
            fired = self._fired
        registration, self._registration = self._registration, None
        if registration is not None:
            registration.unregister()
        return fired


def _shutdown(sock: Any) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _ActiveScope(threading.local):
    """The `_CancelScope` of the request the current thread is sending, if any."""

    scope: Optional[_CancelScope] = None


_active = _ActiveScope()

_pool_classes: Optional[Dict[str, Any]] = None


def _cancellable_pool_classes() -> Dict[str, Any]:
    """urllib3 pool classes (by scheme) whose connections attach to the thread's `_CancelScope`."""
    global _pool_classes
    if _pool_classes is None:
        from urllib3 import connectionpool

        def pool_class(base: Any) -> Any:
            connection_base = base.ConnectionCls
            base_getresponse = connection_base.getresponse

            def getresponse(self: Any) -> Any:
                scope = _active.scope
                if scope is not None:
                    scope.attach(self)
                return base_getresponse(self)

            connection = type(
                f"Cancellable{connection_base.__name__}",
                (connection_base,),
                {"getresponse": getresponse, "__module__": __name__},
            )
            return type(f"Cancellable{base.__name__}", (base,), {"ConnectionCls": connection, "__module__": __name__})

        _pool_classes = {
            "http": pool_class(connectionpool.HTTPConnectionPool),
            "https": pool_class(connectionpool.HTTPSConnectionPool),
        }
    return _pool_classes


def _safe_url(url: str) -> str:
    # Query strings may hold credentials (Gemini ?key=...): never put them in a message.
    return url.split("?", 1)[0]


def _network_error(exc: BaseException, url: str) -> Exception:
    import http.client
    import ssl

    from urllib3 import exceptions as e

    where = _safe_url(url)
    name = type(exc).__name__
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2: test it first.
    if isinstance(exc, e.NewConnectionError):
        return ConnectionError(f"could not connect to {where} ({name})", retryable=True)
    if isinstance(exc, e.ConnectTimeoutError):
        return TimeoutError(f"connecting to {where} timed out", retryable=True)
    if isinstance(exc, (e.ReadTimeoutError, e.TimeoutError)):
        return TimeoutError(f"no data from {where} within the read timeout", retryable=True)
    if isinstance(exc, e.SSLError):
        return ConnectionError(f"TLS failure talking to {where} ({name})", retryable=False)
    if isinstance(exc, e.ProxyError):
        return ConnectionError(f"proxy failure reaching {where} ({name})", retryable=True)
    # Raised by the socket or the TLS layer directly when urllib3's urlopen is bypassed.
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        return ConnectionError(f"TLS failure talking to {where} ({name})", retryable=False)
    if isinstance(exc, HeadError):
        return ConnectionError(f"connection to {where} broke (malformed response: {exc})", retryable=True)
    if isinstance(exc, ChunkedError):
        return ConnectionError(f"connection to {where} broke (malformed chunked body: {exc})", retryable=True)
    if isinstance(exc, socket.timeout):
        return TimeoutError(f"no data from {where} within the read timeout", retryable=True)
    if isinstance(exc, (e.ProtocolError, e.HTTPError, OSError, http.client.HTTPException)):
        return ConnectionError(f"connection to {where} broke ({name})", retryable=True)
    return ConnectionError(f"request to {where} failed ({name})", retryable=True)


class _ForkRegistry:
    """Transports to reset in a forked child; weak, so transports are still collected."""

    def __init__(self) -> None:
        self._items: weakref.WeakSet[Urllib3Transport] = weakref.WeakSet()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def add(self, transport: Urllib3Transport) -> None:
        self._items.add(transport)

    def _reset(self) -> None:
        for transport in list(self._items):
            transport._forget_pool()


_after_fork = _ForkRegistry()
