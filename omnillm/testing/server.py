"""A threaded HTTP/1.1 server on 127.0.0.1 with fault injection: the engine under `MockProvider`.

Standard library only. Handlers return a `Reply` (status, headers, body bytes or a list
of body pieces for streams); faults then shape how it goes on the wire: latency, a TCP
reset before the answer or after N body bytes, a stream cut after N pieces, a slow
trickle. The server keeps HTTP keep-alive, counts accepted connections, and never blocks
`stop` on a slow handler.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

from ..http import REDACTED, SECRET_HEADERS, Headers


@dataclass
class RecordedRequest:
    """A request the server received: method, path, query, headers, body, and what it was.

    ``protocol`` is the wire format the route speaks (or the endpoint name), ``key`` the
    credential the request carried (redacted from ``repr``), ``json`` the parsed body when
    it was JSON.
    """

    method: str
    path: str
    query: Dict[str, str]
    headers: Headers
    body: bytes
    protocol: str = ""
    key: Optional[str] = field(default=None, repr=False)
    json: object = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"RecordedRequest({self.method} {self.path}, protocol={self.protocol!r}, "
            f"key={REDACTED if self.key else None}, body=<{len(self.body)} bytes>)"
        )


@dataclass
class Reply:
    """What a handler answers. ``pieces`` (for streams) are sent one at a time, in order."""

    status: int = 200
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    pieces: Optional[List[bytes]] = None
    content_type: str = "application/json"


@dataclass
class Fault:
    """A failure to inject. Unset fields have no effect; several may combine.

    ``status`` answers with that HTTP status and an error body in the route's protocol;
    ``retry_after`` adds a ``Retry-After`` header (seconds); ``latency`` waits before
    answering; ``reset`` drops the connection with a TCP reset instead of answering;
    ``reset_after_bytes`` sends the head and that many body bytes, then resets;
    ``truncate_after_events`` ends a stream cleanly after that many events, without the
    protocol's terminal event; ``malformed_json`` answers 200 with a body that is not
    JSON (on a stream: a well-framed event half-way through whose data is cut-off JSON,
    so the stream codec raises `omnillm.DecodeError`); ``trickle`` sends the body in
    (bytes, delay-seconds) steps.

    ``route`` limits the fault to one protocol or path suffix, ``key`` to requests
    carrying that credential; ``times`` to that many matching requests (None: all).
    """

    status: Optional[int] = None
    message: str = "injected fault"
    retry_after: Optional[float] = None
    latency: float = 0.0
    reset: bool = False
    reset_after_bytes: Optional[int] = None
    truncate_after_events: Optional[int] = None
    malformed_json: bool = False
    trickle: Optional[Tuple[int, float]] = None
    headers: Dict[str, str] = field(default_factory=dict)
    route: Optional[str] = None
    key: Optional[str] = field(default=None, repr=False)
    times: Optional[int] = None

    def matches(self, request: RecordedRequest) -> bool:
        """True when this fault applies to ``request`` (ignoring ``times``)."""
        if self.route is not None and self.route != request.protocol and not request.path.endswith(self.route):
            return False
        return self.key is None or self.key == request.key


Handler = Callable[[RecordedRequest], Tuple[Reply, Optional[Fault]]]


class FaultServer:
    """Serves ``handler`` on 127.0.0.1 (an ephemeral port unless ``port`` is given)."""

    def __init__(self, handler: Handler, *, port: int = 0) -> None:
        self._handler = handler
        self.connections_opened = 0
        self._count_lock = threading.Lock()
        owner = self

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: object, client_address: object) -> None:
                # A client that resets or drops the connection is routine here (fault
                # tests do it on purpose): say nothing rather than print a traceback.
                return

            def process_request(self, request: object, client_address: object) -> None:
                with owner._count_lock:
                    owner.connections_opened += 1
                super().process_request(request, client_address)  # type: ignore[arg-type]

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Head and body go out in separate writes; without TCP_NODELAY, Nagle's
                # algorithm and the client's delayed ACK add ~40 ms to every answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: object) -> None:
                return  # the library installs no handlers and writes nothing to stderr

            def _serve(self) -> None:
                owner._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start serving in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, args=(0.05,), name="omnillm-mock", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    # ------------------------------------------------------------------ one request

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("content-length") or 0)
        body = h.rfile.read(length) if length else b""
        if h.headers.get("transfer-encoding", "").lower() == "chunked":
            body = _read_chunked(h)
        recorded = RecordedRequest(
            method=h.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=Headers(h.headers.items()),
            body=body,
        )
        reply, fault = self._handler(recorded)
        if fault is not None and fault.latency:
            time.sleep(fault.latency)
        if fault is not None and fault.reset:
            _reset(h)
            return
        headers = dict(reply.headers)
        if fault is not None:
            headers.update(fault.headers)
            if fault.retry_after is not None:
                headers["Retry-After"] = _seconds(fault.retry_after)
        pieces = reply.pieces
        if pieces is not None and fault is not None and fault.truncate_after_events is not None:
            pieces = pieces[: fault.truncate_after_events]
        h.send_response(reply.status)
        h.send_header("Content-Type", reply.content_type)
        for name, value in headers.items():
            h.send_header(name, value)
        cut = fault.reset_after_bytes if fault is not None else None
        trickle = fault.trickle if fault is not None else None
        if pieces is None:
            h.send_header("Content-Length", str(len(reply.body)))
            h.end_headers()
            _write(h, [reply.body], cut, trickle, chunked=False)
        else:
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            _write(h, pieces, cut, trickle, chunked=True)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def _read_chunked(h: BaseHTTPRequestHandler) -> bytes:
    out = bytearray()
    while True:
        size = int(h.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            h.rfile.readline()
            return bytes(out)
        out += h.rfile.read(size)
        h.rfile.readline()


def _reset(h: BaseHTTPRequestHandler) -> None:
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    conn = h.connection
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    except OSError:
        pass
    h.close_connection = True


def _write(
    h: BaseHTTPRequestHandler,
    pieces: List[bytes],
    cut: Optional[int],
    trickle: Optional[Tuple[int, float]],
    *,
    chunked: bool,
) -> None:
    sent = 0
    try:
        for piece in pieces:
            if cut is not None and sent + len(piece) > cut:
                piece = piece[: max(cut - sent, 0)]
                _send(h, piece, trickle, chunked)
                h.wfile.flush()
                _reset(h)
                return
            _send(h, piece, trickle, chunked)
            sent += len(piece)
        if chunked:
            h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        h.close_connection = True  # the client went away: nothing left to do


def _send(h: BaseHTTPRequestHandler, data: bytes, trickle: Optional[Tuple[int, float]], chunked: bool) -> None:
    if not data:
        return
    steps: List[bytes] = [data]
    delay = 0.0
    if trickle is not None:
        size, delay = max(1, trickle[0]), trickle[1]
        steps = [data[i : i + size] for i in range(0, len(data), size)]
    for step in steps:
        if chunked:
            h.wfile.write(f"{len(step):x}\r\n".encode("ascii") + step + b"\r\n")
        else:
            h.wfile.write(step)
        h.wfile.flush()
        if delay:
            time.sleep(delay)


def credential_of(headers: Headers, query: Dict[str, str]) -> Optional[str]:
    """The credential a request carries: bearer token, API-key header, ``key`` query or AWS key id."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip()
        if scheme.upper().startswith("AWS4-HMAC-SHA256"):
            marker = "Credential="
            start = auth.find(marker)
            if start >= 0:
                return auth[start + len(marker) :].split("/", 1)[0]
    for name in ("x-api-key", "api-key", "x-goog-api-key"):
        found = headers.get(name)
        if found:
            return found
    return query.get("key")


def redacted_headers(headers: Headers) -> Dict[str, str]:
    """A plain dict of ``headers`` with credential values replaced."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.to_dict().items()}
