"""A raw HTTP/1.1 server on 127.0.0.1 that answers with scripted bytes, for transport tests.

Each request on a connection gets the next answer of the script (the last one repeats):
a list of byte segments written one ``sendall`` each, ``delay`` seconds apart, so that
the client's reads see the message split where the script splits it. ``close`` after
an answer ends the connection. The server records each request's head and body and
counts connections.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple


@dataclass
class Answer:
    """What the server writes for one request."""

    segments: Sequence[bytes]
    close: bool = False
    delay: float = 0.0


@dataclass
class Seen:
    """One request as received: its request line, headers (lower-case names) and body."""

    line: str
    headers: Dict[str, str] = field(default_factory=dict)
    pairs: List[Tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class RawServer:
    """Answers requests with `Answer` s in order; see the module docstring."""

    def __init__(self, answers: Sequence[Answer]) -> None:
        self.answers = list(answers)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.connections = 0
        self.seen: List[Seen] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _next(self) -> Answer:
        with self._lock:
            return self.answers[min(len(self.seen) - 1, len(self.answers) - 1)]

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    try:
                        got = sock.recv(65536)
                    except OSError:
                        return
                    if not got:
                        return
                    data += got
                head, _, data = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                seen = Seen(lines[0])
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    seen.pairs.append((name, value.strip()))
                    seen.headers[name.lower()] = value.strip()
                length = int(seen.headers.get("content-length", "0"))
                while len(data) < length:
                    data += sock.recv(65536)
                seen.body, data = data[:length], data[length:]
                with self._lock:
                    self.seen.append(seen)
                answer = self._next()
                try:
                    for segment in answer.segments:
                        if answer.delay:
                            time.sleep(answer.delay)
                        sock.sendall(segment)
                except OSError:
                    return
                if answer.close:
                    return

    def close(self) -> None:
        self.listener.close()
