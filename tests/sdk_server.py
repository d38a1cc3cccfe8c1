"""A tiny HTTP server on 127.0.0.1 that answers every POST with a canned body.

Used to feed our encoded responses and streams to the official SDK clients over real
sockets, so the SDKs judge what we produce exactly as they would judge a provider.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterator, List, Optional, Tuple, Union


class CannedServer:
    """Serves ``body`` with ``content_type`` to every request; records the requests."""

    def __init__(self, body: Union[bytes, str], content_type: str = "text/event-stream", status: int = 200) -> None:
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.content_type = content_type
        self.status = status
        self.requests: List[Tuple[str, str, Dict[str, str], bytes]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # silence stderr
                return

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                data = self.rfile.read(length) if length else b""
                server.requests.append((self.command, self.path, dict(self.headers.items()), data))
                self.send_response(server.status)
                self.send_header("content-type", server.content_type)
                self.send_header("content-length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            do_POST = _answer
            do_GET = _answer

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


@contextmanager
def serve(
    body: Union[bytes, str], content_type: str = "text/event-stream", status: int = 200
) -> Iterator[CannedServer]:
    """Run a `CannedServer` for the duration of the ``with`` block."""
    server = CannedServer(body, content_type, status)
    server.start()
    try:
        yield server
    finally:
        server.stop()
