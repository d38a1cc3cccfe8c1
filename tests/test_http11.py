"""The urllib3 transport's direct calls: HTTP/1.1 heads written and read by omnillm.transport.http11.

The sans-I/O functions first, then whole calls against a raw server on 127.0.0.1 that
answers with scripted bytes (split anywhere, interim answers, every body framing, broken
answers), with the requests transport (http.client underneath) as the reference where
the two must agree.
"""

from __future__ import annotations

import gzip
import json
from typing import Any, List

import pytest
import requests
from raw_server import Answer, RawServer

from omnillm import ConnectionError, OmniLLMError, ProviderError, ResponseTooLargeError
from omnillm.http import Bytes, Json, TransportRequest
from omnillm.transport import Timeout
from omnillm.transport.http11 import MAX_HEADERS, HeadError, format_request, framing, parse_head
from omnillm.transport.requests_transport import RequestsTransport
from omnillm.transport.urllib3_transport import Urllib3Transport

KINDS = ["urllib3", "requests"]
BODY = json.dumps({"ok": True, "text": "bonjour"}).encode()


# --------------------------------------------------------------------------- format_request


def test_a_request_head_has_host_length_and_identity_encoding() -> None:
    wire = format_request("POST", "/v1/x?a=1", "api.example.com:8443", {"User-Agent": "t", "X-K": "v"}, b"{}")
    assert wire is not None
    head, _, body = wire.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /v1/x?a=1 HTTP/1.1"
    assert lines[1] == "Host: api.example.com:8443"
    assert {"User-Agent: t", "X-K: v", "Content-Length: 2", "Accept-Encoding: identity"} <= set(lines)
    assert body == b"{}"


def test_the_callers_host_length_and_encoding_are_kept() -> None:
    given = {"Host": "h", "Content-Length": "2", "Accept-Encoding": "gzip"}
    wire = format_request("POST", "/", "other", given, b"{}")
    assert wire is not None
    lines = wire.split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert sorted(lines[1:]) == ["Accept-Encoding: gzip", "Content-Length: 2", "Host: h"]


@pytest.mark.parametrize("method, expected", [("POST", True), ("PUT", True), ("GET", False), ("DELETE", False)])
def test_an_empty_body_has_a_zero_length_only_where_one_is_expected(method: str, expected: bool) -> None:
    wire = format_request(method, "/", "h", {}, None)
    assert wire is not None and wire.endswith(b"\r\n\r\n")
    assert (b"Content-Length: 0\r\n" in wire) is expected


@pytest.mark.parametrize(
    "method, target, headers",
    [
        ("POST", "/a b", {}),
        ("POST", "/a\r\nX: y", {}),
        ("PO ST", "/", {}),
        ("POST", "/", {"X-A": "v\r\nInjected: 1"}),
        ("POST", "/", {"X-A": "v\nInjected: 1"}),
        ("POST", "/", {"X-A": "v\x00"}),
        ("POST", "/", {"Bad Name": "v"}),
        ("POST", "/", {"X-A:": "v"}),
        ("POST", "/", {"X-A": "\u20ac"}),
    ],
)
def test_anything_unusual_is_left_to_http_client(method: str, target: str, headers: Any) -> None:
    assert format_request(method, target, "h", headers, b"") is None


# --------------------------------------------------------------------------- parse_head


def test_a_head_is_parsed_in_order_with_whitespace_trimmed() -> None:
    head = parse_head(
        b"HTTP/1.1 201 Created\r\nContent-Type:  application/json \r\nX-Multi: a\r\n"
        b"x-multi: b\r\nX-Folded: one\r\n   two\r\nNoColonLine\r\nName : skipped\r\n\r\n"
    )
    assert (head.status, head.reason, head.minor) == (201, "Created", 1)
    assert head.headers == [
        ("Content-Type", "application/json"),
        ("X-Multi", "a"),
        ("x-multi", "b"),
        ("X-Folded", "one two"),
    ]
    assert head.values("x-multi") == ["a", "b"]


def test_bare_lf_line_ends_and_a_missing_reason_are_read() -> None:
    head = parse_head(b"HTTP/1.0 204\nA: 1\n\n")
    assert (head.status, head.reason, head.minor, head.headers) == (204, "", 0, [("A", "1")])


@pytest.mark.parametrize(
    "data",
    [b"HTTP/2 200 OK\r\n\r\n", b"HTTP/1.1 20 OK\r\n\r\n", b"HTTP/1.1 099 x\r\n\r\n", b"ICY 200 OK\r\n\r\n", b"\r\n"],
)
def test_a_status_line_that_is_not_http_1_is_a_head_error(data: bytes) -> None:
    with pytest.raises(HeadError, match="status line"):
        parse_head(data)


def test_too_many_headers_is_a_head_error() -> None:
    data = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(MAX_HEADERS + 1)) + b"\r\n"
    with pytest.raises(HeadError, match="more than"):
        parse_head(data)


# --------------------------------------------------------------------------- framing


def _frame(head: bytes, method: str = "POST") -> Any:
    return framing(parse_head(head + b"\r\n"), method)


@pytest.mark.parametrize(
    "head, method, kind, length, reusable",
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", "POST", "length", 5, True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n", "POST", "length", 5, True),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n", "POST", "chunked", 0, True),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n", "POST", "chunked", 0, True),
        (b"HTTP/1.1 200 OK\r\n", "POST", "close", 0, False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, Close\r\n", "POST", "length", 5, False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n", "POST", "length", 5, False),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", "HEAD", "none", 0, True),
        (b"HTTP/1.1 204 No Content\r\n", "POST", "none", 0, True),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n", "GET", "none", 0, True),
    ],
)
def test_body_framing(head: bytes, method: str, kind: str, length: int, reusable: bool) -> None:
    frame = _frame(head, method)
    assert (frame.kind, frame.length, frame.reusable) == (kind, length, reusable)


@pytest.mark.parametrize(
    "head, problem",
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n", "transfer coding"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n", "Content-Length"),
    ],
)
def test_ambiguous_framing_is_a_head_error(head: bytes, problem: str) -> None:
    with pytest.raises(HeadError, match=problem):
        _frame(head)


# --------------------------------------------------------------------------- whole calls


def _serve(servers: List[RawServer], *answers: Answer) -> RawServer:
    server = RawServer(answers)
    servers.append(server)
    return server


def _transport(kind: str, **kw: Any) -> Any:
    if kind == "urllib3":
        return Urllib3Transport(timeout=Timeout(connect=5, read=5), **kw)
    return RequestsTransport(requests.Session(), owns_session=True, timeout=Timeout(connect=5, read=5), **kw)


def _post(server: RawServer, **headers: str) -> TransportRequest:
    return TransportRequest(
        "POST", f"{server.url}/chat", {"Authorization": "Bearer sk-secret", **headers}, body=Json({})
    )


def _ok(body: bytes = BODY, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        len(body),
        extra,
        body,
    )


def _split(data: bytes, *cuts: int) -> List[bytes]:
    edges = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:]) if a < b]


@pytest.mark.parametrize("kind", KINDS)
def test_what_goes_on_the_wire(kind: str, servers: List[RawServer]) -> None:
    server = _serve(servers, Answer([_ok()]))
    transport = _transport(kind)
    transport.send(_post(server, **{"X-Trace": "t1"}))
    seen = server.seen[0]
    assert seen.line == "POST /v1/chat HTTP/1.1"
    assert seen.headers["host"] == f"127.0.0.1:{server.port}"
    assert seen.headers["content-length"] == "2" and seen.body == b"{}"
    assert seen.headers["x-trace"] == "t1" and seen.headers["authorization"] == "Bearer sk-secret"
    assert seen.headers["user-agent"].startswith("omnillm/")
    assert seen.headers["content-type"] == "application/json"
    if kind == "urllib3":  # a requests.Session asks for gzip and deflate by default
        assert seen.headers["accept-encoding"] == "identity"
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_head_and_body_split_anywhere_are_read_and_the_connection_kept(kind: str, servers: List[RawServer]) -> None:
    reply = _ok(extra=b"X-Request-Id: req_1\r\nX-Folded: a\r\n b\r\n")
    server = _serve(servers, Answer(_split(reply, 1, 7, 15, 16, 17, 60, len(reply) - 40, len(reply) - 1), delay=0.002))
    transport = _transport(kind)
    for _ in range(3):
        response = transport.send(_post(server))
        assert (response.status, response.body) == (200, BODY)
        assert response.headers.get("x-request-id") == "req_1"
        assert response.headers.get("content-type") == "application/json"
    assert server.connections == 1
    transport.close()


def test_interim_answers_are_skipped(servers: List[RawServer]) -> None:
    # http.client skips only 100 Continue: a 103 reaches requests' caller as the answer.
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
    server = _serve(servers, Answer([early, b"HTTP/1.1 100 Continue\r\n\r\n" + _ok()]))
    transport = _transport("urllib3")
    response = transport.send(_post(server))
    assert (response.status, response.body) == (200, BODY)
    assert response.headers.get("link") is None
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_chunked_answer_with_trailers(kind: str, servers: List[RawServer]) -> None:
    reply = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x;ext=1\r\n%s\r\n" % (10, BODY[:10])
        + b"%x\r\n%s\r\n" % (len(BODY) - 10, BODY[10:])
        + b"0\r\nX-Trailer: t\r\n\r\n"
    )
    server = _serve(servers, Answer(_split(reply, 70, 71, 85, len(reply) - 5)))
    transport = _transport(kind)
    for _ in range(2):
        assert transport.send(_post(server)).body == BODY
    assert server.connections == 1
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_an_answer_ended_by_closing_the_connection(kind: str, servers: List[RawServer]) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + BODY
    server = _serve(servers, Answer([reply], close=True))
    transport = _transport(kind)
    for _ in range(2):
        assert transport.send(_post(server)).body == BODY
    assert server.connections == 2  # such a connection cannot carry another request
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_connection_close_and_http_1_0_answers_are_not_reused(kind: str, servers: List[RawServer]) -> None:
    close = _ok(extra=b"Connection: close\r\n")
    old = _ok().replace(b"HTTP/1.1", b"HTTP/1.0")
    server = _serve(servers, Answer([close], close=True), Answer([old], close=True), Answer([_ok()]))
    transport = _transport(kind)
    for _ in range(4):
        assert transport.send(_post(server)).body == BODY
    assert server.connections == 3
    transport.close()


def test_bytes_after_the_body_drop_the_connection(servers: List[RawServer]) -> None:
    server = _serve(servers, Answer([_ok() + b"HTTP/1.1 200 OK\r\n"]), Answer([_ok()]))
    transport = _transport("urllib3")
    for _ in range(3):
        assert transport.send(_post(server)).body == BODY
    assert server.connections == 2  # after the first, the unexplained bytes cost the connection
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_gzip_body_is_decoded(kind: str, servers: List[RawServer]) -> None:
    packed = gzip.compress(BODY)
    server = _serve(servers, Answer([_ok(packed, b"Content-Encoding: gzip\r\n")]))
    transport = _transport(kind)
    assert transport.send(_post(server)).body == BODY
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_head_only_answer_has_no_body(kind: str, servers: List[RawServer]) -> None:
    server = _serve(servers, Answer([b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"]), Answer([_ok()]))
    transport = _transport(kind)
    response = transport.send(TransportRequest("HEAD", f"{server.url}/x"))
    assert (response.status, response.body) == (200, b"")
    assert transport.send(_post(server)).body == BODY
    assert server.connections == 1
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "answer, words",
    [
        (Answer([], close=True), "closed before"),
        (Answer([b"HTTP/1.1 200 OK\r\nContent-"], close=True), "closed"),
        (Answer([_ok()[:-5]], close=True), "closed before the response body"),
        (Answer([b"ICY 200 OK\r\n\r\n"], close=True), "malformed response"),
        (Answer([b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"], close=True), "malformed"),
        (Answer([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], close=True), "malformed chunked"),
    ],
    ids=["no-answer", "cut-head", "cut-body", "bad-status", "two-lengths", "bad-chunk"],
)
def test_a_broken_answer_is_a_retryable_connection_error(
    kind: str, answer: Answer, words: str, servers: List[RawServer]
) -> None:
    if kind == "requests" and words == "closed":
        pytest.skip("http.client takes a head cut inside a header line for a complete head")
    server = _serve(servers, answer)
    transport = _transport(kind)
    with pytest.raises(ProviderError) as caught:
        transport.send(_post(server))
    assert isinstance(caught.value, ConnectionError) and caught.value.retryable
    assert "sk-secret" not in str(caught.value) and "sk-secret" not in repr(caught.value)
    if kind == "urllib3":
        assert words in str(caught.value)
    transport.close()


def test_a_cut_body_keeps_the_request_id(servers: List[RawServer]) -> None:
    server = _serve(servers, Answer([_ok(extra=b"x-request-id: req_cut\r\n")[:-5]], close=True))
    transport = _transport("urllib3")
    with pytest.raises(ConnectionError) as caught:
        transport.send(_post(server))
    assert caught.value.request_id == "req_cut"
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_declared_length_past_the_bound_is_refused(kind: str, servers: List[RawServer]) -> None:
    server = _serve(servers, Answer([b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000]))
    transport = _transport(kind, max_response_bytes=1000)
    with pytest.raises(ResponseTooLargeError, match="maximum of 1000 bytes"):
        transport.send(_post(server))
    transport.close()


def test_an_endless_head_is_refused(servers: List[RawServer]) -> None:
    server = _serve(servers, Answer([b"HTTP/1.1 200 OK\r\n" + b"X-A: " + b"a" * (300 * 1024)], close=True))
    transport = _transport("urllib3")
    with pytest.raises(ConnectionError, match="longer than"):
        transport.send(_post(server))
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_header_that_could_inject_is_never_sent(kind: str, servers: List[RawServer]) -> None:
    server = _serve(servers, Answer([_ok()]))
    transport = _transport(kind)
    with pytest.raises((OmniLLMError, ValueError)):
        transport.send(_post(server, **{"X-A": "v\r\nInjected: 1"}))
    assert all("injected" not in seen.headers for seen in server.seen)
    transport.close()


# --------------------------------------------------------------------------- streams


def _stream(transport: Any, server: RawServer) -> List[bytes]:
    response = transport.send(_post(server), stream=True)
    assert response.status == 200 and response.stream is not None
    return list(response.stream)


SSE = b"data: {}\n\ndata: [DONE]\n\n"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "reply, connections",
    [
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n%s" % (len(SSE), SSE), 1),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(SSE), SSE), 1),
    ],
    ids=["length", "chunked"],
)
def test_a_stream_of_any_framing_is_read_whole_and_keeps_its_connection(
    kind: str, reply: bytes, connections: int, servers: List[RawServer]
) -> None:
    server = _serve(servers, Answer(_split(reply, 5, 40, len(reply) - 7), delay=0.002))
    transport = _transport(kind)
    for _ in range(3):
        assert b"".join(_stream(transport, server)) == SSE
    assert server.connections == connections
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_stream_ended_by_closing_the_connection(kind: str, servers: List[RawServer]) -> None:
    server = _serve(servers, Answer([b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n", SSE], close=True))
    transport = _transport(kind)
    for _ in range(2):
        assert b"".join(_stream(transport, server)) == SSE
    assert server.connections == 2
    transport.close()


def test_interim_answers_before_a_stream_are_skipped(servers: List[RawServer]) -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(SSE), SSE)
    server = _serve(servers, Answer([early, reply]))
    transport = _transport("urllib3")
    assert b"".join(_stream(transport, server)) == SSE
    transport.close()


@pytest.mark.parametrize(
    "tail, words",
    [
        (b"%x\r\n%s\r\n10\r\nabc" % (len(SSE), SSE), "closed before the last chunk"),
        (b"%x\r\n%s\r\nzz\r\n" % (len(SSE), SSE), "malformed chunked body"),
    ],
    ids=["cut", "bad-chunk"],
)
def test_a_stream_broken_after_some_events_raises_from_the_iterator(
    tail: bytes, words: str, servers: List[RawServer]
) -> None:
    server = _serve(servers, Answer([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", tail], close=True))
    transport = _transport("urllib3")
    response = transport.send(_post(server), stream=True)
    assert response.stream is not None
    got = b""
    with pytest.raises(ConnectionError, match=words) as caught:
        for piece in response.stream:
            got += piece
    assert got.startswith(SSE) and caught.value.retryable
    transport.close()


def test_a_stream_with_a_content_coding_is_refused_clearly(servers: List[RawServer]) -> None:
    packed = gzip.compress(SSE)
    reply = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(packed), packed)
    server = _serve(servers, Answer([reply]))
    transport = _transport("urllib3")
    with pytest.raises(ConnectionError, match="content coding"):
        transport.send(_post(server), stream=True)
    transport.close()


def test_a_large_body_goes_out_after_the_head_without_being_joined(servers: List[RawServer]) -> None:
    from omnillm.transport.http11 import JOIN_BODY_BYTES

    small = format_request("POST", "/", "h", {}, b"x" * JOIN_BODY_BYTES)
    large = format_request("POST", "/", "h", {}, b"x" * (JOIN_BODY_BYTES + 1))
    assert small is not None and small.endswith(b"x" * JOIN_BODY_BYTES)
    assert large is not None and large.endswith(b"\r\n\r\n") and b"Content-Length: 65537" in large
    server = _serve(servers, Answer([_ok()]))
    transport = _transport("urllib3")
    body = bytes(range(256)) * 4096  # 1 MiB
    sent = TransportRequest("POST", f"{server.url}/upload", body=Bytes(body, "application/octet-stream"))
    assert transport.send(sent).body == BODY
    assert server.seen[0].body == body
    transport.close()


def test_a_stream_that_asked_for_gzip_is_decoded(servers: List[RawServer]) -> None:
    packed = gzip.compress(SSE)
    reply = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(packed), packed)
    server = _serve(servers, Answer([reply]))
    transport = _transport("urllib3")
    response = transport.send(_post(server, **{"Accept-Encoding": "gzip"}), stream=True)
    assert response.stream is not None and b"".join(response.stream) == SSE
    assert server.seen[0].headers["accept-encoding"] == "gzip"
    transport.close()
