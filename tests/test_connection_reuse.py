"""Streams closed after their terminal event keep their connection (issue 5), with real sockets."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any, Iterator, List

import pytest
import requests
from raw_server import RawServer

from omnillm import LlmRequest, Message
from omnillm.client import Client
from omnillm.gateway import Gateway, KeyConfig
from omnillm.http import ByteStream
from omnillm.testing import MockProvider, MockReply
from omnillm.transport import Timeout
from omnillm.transport.requests_transport import RequestsTransport
from omnillm.transport.urllib3_transport import Urllib3Transport

CHAT = "open_ai_chat_completions"
KINDS = ["urllib3", "requests"]


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="Bonjour tout le monde"), chunk_chars=4) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()


def _transport(kind: str) -> Any:
    if kind == "urllib3":
        return Urllib3Transport()
    return RequestsTransport(requests.Session(), owns_session=True)


def _client(base_url: str, kind: str, **kw: Any) -> Client:
    return Client("openai", api_key="sk-test", base_url=base_url, wire_format=CHAT, transport=_transport(kind), **kw)


def _request() -> LlmRequest:
    return LlmRequest(model="gpt-4o", messages=[Message.user("hello")])


@pytest.mark.parametrize("kind", KINDS)
def test_stream_closed_at_its_terminal_event_keeps_the_connection(kind: str, mock: MockProvider) -> None:
    client = _client(f"{mock.base_url}/v1", kind)
    before = mock.connections_opened
    for _ in range(8):
        stream = client.stream(_request())
        text = []
        for event in stream:
            text.append(getattr(event, "text", ""))
            if stream.completed:
                break  # the body's end ([DONE] read, chunked terminator not yet) is still unread
        stream.close()
        assert "".join(text) == "Bonjour tout le monde"
    assert mock.connections_opened - before == 1
    client.close()


@pytest.mark.parametrize("kind", KINDS)
def test_stream_closed_midway_still_drops_its_connection(kind: str, mock: MockProvider) -> None:
    client = _client(f"{mock.base_url}/v1", kind)
    before = mock.connections_opened
    for _ in range(3):
        stream = client.stream(_request())
        next(stream)
        stream.close()  # unread content: the connection cannot be reused
        assert not stream.completed
    assert client.call(_request()).text == "Bonjour tout le monde"
    assert mock.connections_opened - before == 4
    client.close()


def test_gateway_streams_reuse_one_connection(mock: MockProvider) -> None:
    key = KeyConfig("openai", "sk-gw", label="gw", base_url=f"{mock.base_url}/v1", wire_format=CHAT)
    with Gateway([key]) as gw:
        before = mock.connections_opened
        for _ in range(8):
            with gw.stream(_request()) as stream:
                events = list(stream)
            assert stream.completed and events
            assert stream.response().text == "Bonjour tout le monde"
        assert mock.connections_opened - before == 1


class _StallingServer(RawServer):
    """Sends a complete SSE stream but holds back the chunked terminator until the client leaves.

    ``client_left_first`` says the client closed its socket while the server still held
    the body open (within ``hold_s``), rather than after the server gave up and ended it.
    """

    def __init__(self, hold_s: float = 20.0) -> None:
        self.hold_s = hold_s
        self.client_left_first: List[bool] = []
        self.judged = threading.Event()
        super().__init__([])

    def _serve(self, sock: socket.socket) -> None:
        with sock:
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(next(v for k, v in _headers(head) if k == b"content-length"))
            while len(body) < length:
                body += sock.recv(65536)
            events = [
                {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [c]}
                for c in (
                    {"index": 0, "delta": {"role": "assistant", "content": "hi"}, "finish_reason": None},
                    {"index": 0, "delta": {}, "finish_reason": "stop"},
                )
            ]
            frames = [f"data: {json.dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]
            sock.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
                + b"".join(b"%x\r\n%s\r\n" % (len(f), f) for f in frames)
            )
            sock.settimeout(self.hold_s)
            try:
                left = sock.recv(1) == b""
            except socket.timeout:
                left = False
            self.client_left_first.append(left)
            self.judged.set()
            if not left:
                sock.sendall(b"0\r\n\r\n")


def _headers(head: bytes) -> Iterator[Any]:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        yield name.strip().lower(), value.strip()


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_held_open_after_the_terminal_event_is_dropped_not_waited_for(kind: str) -> None:
    server = _StallingServer()
    try:
        client = _client(f"http://127.0.0.1:{server.port}/v1", kind, timeout=Timeout(connect=5, read=60))
        stream = client.stream(_request())
        for _ in stream:
            if stream.completed:
                break
        stream.close()  # the drain gives up long before the server's hold or the read timeout
        assert stream.response().text == "hi"
        assert server.judged.wait(30)
        client.close()
    finally:
        server.close()
    assert server.client_left_first == [True]


class _Blocking:
    """A chunk iterator whose second chunk waits until released (another thread is 'reading')."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.go = threading.Event()
        self.count = 0

    def __iter__(self) -> _Blocking:
        return self

    def __next__(self) -> bytes:
        self.count += 1
        if self.count == 1:
            return b"first"
        self.inside.set()
        self.go.wait(10)
        raise StopIteration


def test_finish_drains_then_releases_once() -> None:
    calls: List[str] = []
    body = ByteStream(iter([b"a", b"b"]), release=lambda: calls.append("release"), drain=lambda: calls.append("drain"))
    assert next(body) == b"a"
    body.finish()
    body.finish()
    body.close()
    assert calls == ["drain", "release"]
    assert body.closed and list(body) == []


def test_finish_without_drain_is_close() -> None:
    calls: List[str] = []
    body = ByteStream(iter([b"a"]), release=lambda: calls.append("release"), abort=lambda: calls.append("abort"))
    body.finish()
    assert calls == ["release"] and body.closed


def test_finish_while_another_thread_reads_aborts_that_read_instead_of_draining() -> None:
    calls: List[str] = []
    chunks = _Blocking()
    body = ByteStream(
        chunks,
        release=lambda: calls.append("release"),
        abort=lambda: (calls.append("abort"), chunks.go.set()),
        drain=lambda: calls.append("drain"),
    )
    assert next(body) == b"first"
    reader = threading.Thread(target=lambda: list(body))
    reader.start()
    assert chunks.inside.wait(10)
    body.finish()
    reader.join(10)
    assert calls == ["abort", "release"]
