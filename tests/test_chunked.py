"""Chunked transfer decoding: the sans-I/O decoder, and both transports reading with it over real sockets."""

from __future__ import annotations

import json
import random
from typing import Any, List, Sequence, Tuple

import pytest
import requests
from raw_server import Answer, RawServer

from omnillm import LlmRequest, Message, ProviderError
from omnillm.client import Client
from omnillm.transport import Timeout
from omnillm.transport.chunked import MAX_LINE_BYTES, ChunkedDecoder, ChunkedError
from omnillm.transport.requests_transport import RequestsTransport
from omnillm.transport.urllib3_transport import Urllib3Transport

KINDS = ["urllib3", "requests"]


def frame(pieces: Sequence[bytes], *, ext: bytes = b"", trailer: bytes = b"", eol: bytes = b"\r\n") -> bytes:
    """``pieces`` as a chunked body (each a chunk, with ``ext`` after each size)."""
    body = b"".join(b"%x%s%s%s%s" % (len(p), ext, eol, p, eol) for p in pieces)
    return body + b"0" + ext + eol + trailer + eol


def decode(wire: bytes, cuts: Sequence[int]) -> Tuple[bytes, ChunkedDecoder]:
    decoder = ChunkedDecoder()
    out = []
    edges = [0, *sorted(cuts), len(wire)]
    for a, b in zip(edges, edges[1:]):
        if a < b:
            out.append(decoder.feed(wire[a:b]))
    return b"".join(out), decoder


PIECES = [b'data: {"a": 1}\n\n', b"x" * 300, b"\r\n\r\n", b"data: [DONE]\n\n"]


WHOLE = b"".join(PIECES)


@pytest.mark.parametrize(
    "wire, payload",
    [
        (frame(PIECES), WHOLE),
        (frame(PIECES, ext=b";name=value;other"), WHOLE),
        (frame(PIECES, trailer=b"x-checksum: abc\r\nx-other: 1\r\n"), WHOLE),
        (frame(PIECES, eol=b"\n"), WHOLE),
        (b"1AB\r\n" + b"y" * 0x1AB + b"\r\n0\r\n\r\n", b"y" * 0x1AB),
        (b"11  \r\n" + b"y" * 17 + b"\r\n0\r\n\r\n", b"y" * 17),
    ],
    ids=["plain", "extensions", "trailer", "bare-lf", "upper-hex", "size-padding"],
)
def test_every_split_of_the_body_decodes_to_the_payload(wire: bytes, payload: bytes) -> None:
    for cut in range(len(wire) + 1):
        got, decoder = decode(wire, [cut])
        assert got == payload and decoder.done, cut
    rng = random.Random(7)
    for _ in range(200):
        cuts = rng.sample(range(1, len(wire)), rng.randint(1, min(40, len(wire) - 2)))
        got, decoder = decode(wire, cuts)
        assert got == payload and decoder.done


def test_one_byte_at_a_time() -> None:
    wire = frame(PIECES, ext=b";e", trailer=b"t: 1\r\n")
    got, decoder = decode(wire, list(range(len(wire))))
    assert got == b"".join(PIECES) and decoder.done


def test_payload_comes_out_as_soon_as_it_arrives() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"a\r\n01234") == b"01234"  # half a chunk: handed on, not held
    assert decoder.feed(b"56789\r") == b"56789"
    assert decoder.feed(b"\n3\r\nab") == b"ab"
    assert not decoder.done
    assert decoder.feed(b"c\r\n0\r\n\r\n") == b"c"
    assert decoder.done


def test_not_done_until_the_trailer_section_ends() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"2\r\nhi\r\n0\r\n") == b"hi"
    assert not decoder.done  # the blank line that ends the (empty) trailer is still to come
    decoder.feed(b"\r\n")
    assert decoder.done


def test_bytes_after_the_last_chunk_are_not_part_of_the_body() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(frame([b"hi"]) + b"HTTP/1.1 200 OK\r\n") == b"hi"
    assert decoder.done
    with pytest.raises(ChunkedError, match="after the end"):
        decoder.feed(b"more")


@pytest.mark.parametrize(
    "wire, problem",
    [
        (b"zz\r\n", "invalid chunk size"),
        (b"-1\r\n", "invalid chunk size"),
        (b"0x10\r\n", "invalid chunk size"),
        (b"1_0\r\n", "invalid chunk size"),
        (b"\r\n", "invalid chunk size"),
        (b";ext\r\n", "invalid chunk size"),
        (b"1" * 17 + b"\r\n", "invalid chunk size"),
        (b"3\r\nabcd\r\n", "not followed by CRLF"),
        (b"3\r\nabcXY", "not followed by CRLF"),
        (b"1" * (MAX_LINE_BYTES + 1), "longer than"),
        (b"1;" + b"e" * MAX_LINE_BYTES + b"\r\n", "longer than"),
        (b"0\r\n" + b"t" * (MAX_LINE_BYTES + 1), "longer than"),
    ],
)
def test_broken_framing_is_a_chunked_error(wire: bytes, problem: str) -> None:
    decoder = ChunkedDecoder()
    try:
        decoder.feed(wire)
    except ChunkedError as exc:
        error = exc
    else:  # payload came first: it was returned, the error waits
        assert decoder.error is not None
        error = decoder.error
        with pytest.raises(ChunkedError, match=problem):
            decoder.feed(b"more")
    assert problem in str(error)


def test_payload_before_broken_framing_in_one_read_is_handed_on_first() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"3\r\nabc\r\n2\r\nde\r\nzz\r\n") == b"abcde"
    assert decoder.error is not None and "invalid chunk size" in str(decoder.error)
    with pytest.raises(ChunkedError, match="invalid chunk size"):
        decoder.feed(b"")


# --------------------------------------------------------------------------- over sockets


SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def sse_body() -> bytes:
    chunks = [
        {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [c]}
        for c in (
            {"index": 0, "delta": {"role": "assistant", "content": "Bon"}, "finish_reason": None},
            {"index": 0, "delta": {"content": "jour"}, "finish_reason": None},
            {"index": 0, "delta": {}, "finish_reason": "stop"},
        )
    ]
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


def split_everywhere(wire: bytes) -> List[bytes]:
    """The body in awkward segments: inside size lines, between data and CRLF, inside the trailer."""
    wanted = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, len(wire) - 3, len(wire) - 1}
    cuts = sorted(wanted & set(range(1, len(wire))))
    edges = [0, *cuts, len(wire)]
    return [wire[a:b] for a, b in zip(edges, edges[1:])]


def client_for(kind: str, url: str) -> Client:
    transport: Any = (
        Urllib3Transport() if kind == "urllib3" else RequestsTransport(requests.Session(), owns_session=True)
    )
    return Client(
        "openai",
        api_key="sk-test",
        base_url=url,
        wire_format="open_ai_chat_completions",
        transport=transport,
        timeout=Timeout(connect=5, read=5),
    )


def request() -> LlmRequest:
    return LlmRequest(model="gpt-4o", messages=[Message.user("hello")])


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_split_anywhere_streams_and_keeps_its_connection(kind: str, servers: List[RawServer]) -> None:
    sse = sse_body()
    wire = frame([sse[:50], sse[50:51], sse[51:200], sse[200:]], ext=b";x=1", trailer=b"x-t: 1\r\n")
    server = RawServer([Answer([SSE_HEAD, *split_everywhere(wire)], delay=0.003)])
    servers.append(server)
    client = client_for(kind, server.url)
    for _ in range(3):
        with client.stream(request()) as stream:
            text = "".join(getattr(e, "text", "") for e in stream)
        assert text == "Bonjour" and stream.completed
    assert server.connections == 1
    client.close()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "wire, why",
    [
        (b"10\r\nabc", "closed before"),
        (b"zz\r\nabc\r\n", "invalid chunk size"),
        (b"3\r\nabcdef\r\n", "not followed by CRLF"),
    ],
    ids=["cut", "bad-size", "wrong-size"],
)
def test_a_broken_chunked_body_is_a_retryable_connection_error(
    kind: str, wire: bytes, why: str, servers: List[RawServer]
) -> None:
    server = RawServer([Answer([SSE_HEAD, wire], close=True)])
    servers.append(server)
    client = client_for(kind, server.url)
    with pytest.raises(ProviderError) as caught:
        client.call(request())
    assert caught.value.retryable
    assert "sk-test" not in str(caught.value)
    if kind == "urllib3":
        assert why in str(caught.value)
    client.close()


def test_an_error_is_sticky() -> None:
    decoder = ChunkedDecoder()
    with pytest.raises(ChunkedError, match="invalid chunk size"):
        decoder.feed(b"zz\r\n")
    with pytest.raises(ChunkedError, match="invalid chunk size"):
        decoder.feed(b"3\r\nabc\r\n0\r\n\r\n")  # what follows a broken body is not decoded
