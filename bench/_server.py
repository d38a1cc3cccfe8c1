"""A lean canned chat-completions server for the transport and gateway benchmarks.

Run as a separate process (``python bench/_server.py``) so that its CPU time does not
count against the client being measured. It prints its port on the first line of
stdout and exits when its stdin closes, so it never outlives the benchmark.

One thread serves every connection through ``selectors``: HTTP/1.1 keep-alive,
``TCP_NODELAY``, no per-request work beyond finding the end of the request. Any
``POST .../chat/completions`` is answered with a canned JSON completion, or, when the
body asks for ``"stream": true``, a canned SSE stream (chunked transfer encoding, the
whole stream handed to the kernel in one write). ``GET /__stats`` answers
``{"connections": N, "requests": M}``: N counts connections whose first request was not
a stats request, so polling the counters does not disturb them.

`start_server` (for the benchmarks) starts the process and returns a handle with the
base URL and the counters.
"""

from __future__ import annotations

import json
import re
import selectors
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

#: Text deltas in one canned stream (the stream also has a role, a finish and a usage chunk).
STREAM_TEXT_CHUNKS = 100

CHAT_RESPONSE = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1741476542,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Paris is the capital of France. It is 18 degrees Celsius and sunny there today. " * 3,
                "refusal": None,
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 120, "completion_tokens": 60, "total_tokens": 180},
    "system_fingerprint": "fp_bench",
}

# Headers shaped like OpenAI's (request id and rate-limit state), so that clients which
# read them do that work here too.
_COMMON_HEADERS = (
    "x-request-id: req_bench0123456789\r\n"
    "openai-processing-ms: 12\r\n"
    "x-ratelimit-limit-requests: 10000\r\n"
    "x-ratelimit-remaining-requests: 9999\r\n"
    "x-ratelimit-reset-requests: 6ms\r\n"
    "x-ratelimit-limit-tokens: 30000000\r\n"
    "x-ratelimit-remaining-tokens: 29999820\r\n"
    "x-ratelimit-reset-tokens: 0s\r\n"
)


def stream_events(text_chunks: int = STREAM_TEXT_CHUNKS) -> List[Dict[str, object]]:
    """The ``chat.completion.chunk`` objects of the canned stream, in order."""
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1741476542, "model": "gpt-4o"}
    base["system_fingerprint"] = "fp_bench"

    def chunk(delta: Dict[str, object], finish: Optional[str] = None) -> Dict[str, object]:
        return dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": f"word{k} "}) for k in range(text_chunks)]
    events.append(chunk({}, "stop"))
    events.append(dict(base, choices=[], usage={"prompt_tokens": 120, "completion_tokens": 100, "total_tokens": 220}))
    return events


def _json_reply() -> bytes:
    body = json.dumps(CHAT_RESPONSE).encode()
    head = (
        "HTTP/1.1 200 OK\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        f"{_COMMON_HEADERS}"
        "connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


def _stream_reply() -> bytes:
    frames = [f"data: {json.dumps(e, separators=(',', ':'))}\n\n".encode() for e in stream_events()]
    frames.append(b"data: [DONE]\n\n")
    body = b"".join(b"%x\r\n%s\r\n" % (len(f), f) for f in frames) + b"0\r\n\r\n"
    head = (
        "HTTP/1.1 200 OK\r\n"
        "content-type: text/event-stream; charset=utf-8\r\n"
        "transfer-encoding: chunked\r\n"
        f"{_COMMON_HEADERS}"
        "connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


_STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class _Connection:
    __slots__ = ("counted", "inbox", "outbox", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbox = b""
        self.outbox = b""
        self.counted = False


def serve(listener: socket.socket) -> None:
    """Answer requests on ``listener`` forever (one thread, non-blocking sockets)."""
    json_reply, stream_reply = _json_reply(), _stream_reply()
    not_found = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
    counters = {"connections": 0, "requests": 0}
    selector = selectors.DefaultSelector()
    listener.setblocking(False)
    selector.register(listener, selectors.EVENT_READ, None)

    def drop(conn: _Connection) -> None:
        selector.unregister(conn.sock)
        conn.sock.close()

    def answer(conn: _Connection) -> None:
        while True:
            end = conn.inbox.find(b"\r\n\r\n")
            if end < 0:
                return
            head = conn.inbox[:end]
            found = _LENGTH.search(head)
            length = int(found.group(1)) if found else 0
            if len(conn.inbox) < end + 4 + length:
                return
            body = conn.inbox[end + 4 : end + 4 + length]
            conn.inbox = conn.inbox[end + 4 + length :]
            line = head.split(b"\r\n", 1)[0]
            stats = line.startswith(b"GET /__stats")
            if not conn.counted:
                conn.counted = True
                if not stats:
                    counters["connections"] += 1
            if stats:
                data = json.dumps(counters).encode()
                conn.outbox += b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
                    len(data),
                    data,
                )
            elif line.startswith(b"POST ") and b"/chat/completions" in line:
                counters["requests"] += 1
                conn.outbox += stream_reply if _STREAM_FLAG.search(body) else json_reply
            else:
                conn.outbox += not_found

    def flush(conn: _Connection) -> None:
        try:
            sent = conn.sock.send(conn.outbox)
        except BlockingIOError:
            sent = 0
        conn.outbox = conn.outbox[sent:]
        selector.modify(conn.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.outbox else 0), conn)

    while True:
        for key, mask in selector.select():
            if key.data is None:
                try:
                    sock, _ = listener.accept()
                except BlockingIOError:
                    continue
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                selector.register(sock, selectors.EVENT_READ, _Connection(sock))
                continue
            conn = key.data
            if mask & selectors.EVENT_READ:
                try:
                    data = conn.sock.recv(1 << 16)
                except (BlockingIOError, InterruptedError):
                    data = None
                except OSError:
                    drop(conn)
                    continue
                if data == b"":
                    drop(conn)
                    continue
                if data:
                    conn.inbox += data
                    answer(conn)
            if conn.outbox or mask & selectors.EVENT_WRITE:
                try:
                    flush(conn)
                except OSError:
                    drop(conn)


def _exit_when_parent_leaves() -> None:
    sys.stdin.read()
    import os

    os._exit(0)


def main() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    print(listener.getsockname()[1], flush=True)
    threading.Thread(target=_exit_when_parent_leaves, daemon=True).start()
    serve(listener)


# --------------------------------------------------------------------------- the handle


@dataclass
class CannedServer:
    """A running server process: its base URL (ending in ``/v1``) and its counters."""

    process: subprocess.Popen[str]
    port: int

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def url(self) -> str:
        """The chat-completions URL."""
        return f"{self.base_url}/chat/completions"

    def counters(self) -> Tuple[int, int]:
        """(connections accepted, chat requests answered) so far."""
        with socket.create_connection(("127.0.0.1", self.port)) as sock:
            sock.sendall(b"GET /__stats HTTP/1.1\r\nhost: bench\r\n\r\n")
            data = b""
            while not data.endswith(b"}"):
                piece = sock.recv(4096)
                if not piece:
                    break
                data += piece
        stats = json.loads(data.split(b"\r\n\r\n", 1)[1])
        return int(stats["connections"]), int(stats["requests"])

    def stop(self) -> None:
        """End the process."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


def start_server() -> CannedServer:
    """Start the server in a new process and wait until it listens."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return CannedServer(process, port)


if __name__ == "__main__":
    main()
