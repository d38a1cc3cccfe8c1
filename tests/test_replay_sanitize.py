"""Sanitization of recorded streams: secrets split across network chunks, response-side
canaries, and AWS event streams that must stay decodable after redaction."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Iterator, List

import pytest
from botocore.eventstream import EventStreamBuffer

from omnillm import LlmRequest, Message
from omnillm.client import Client
from omnillm.eventstream import format_message, iter_messages
from omnillm.http import Json, TransportRequest
from omnillm.providers import ProviderSettings
from omnillm.testing import MockProvider, MockReply, ReplayFixture
from omnillm.testing.sanitize import StreamSanitizer, redact_json_text, sanitize_body_bytes
from omnillm.testing.server import Reply

CANARY = "CANARY-7f3e-leak"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_REGION": "us-east-1",
}

SSE = (
    f'event: message\ndata: {{"type":"delta","access_token":"{CANARY}","text":"héllo"}}\n\n'
    f': a comment\r\ndata: {{"nested":{{"client_secret":"{CANARY}"}},\r\ndata: "ok":true}}\r\n\r\n'
    "data: [DONE]\n\n"
).encode()


def _every_split(data: bytes) -> Iterator[List[bytes]]:
    for cut in range(len(data) + 1):
        yield [data[:cut], data[cut:]]
    for a in range(0, len(data), 7):
        for b in range(a + 1, len(data), 13):
            yield [data[:a], data[a:b], data[b:]]


def _sanitize(chunks: List[bytes], content_type: str) -> List[bytes]:
    sanitizer = StreamSanitizer(content_type)
    out = [sanitizer.feed(c) for c in chunks]
    return [*out, sanitizer.finish()]


def test_sse_secret_is_redacted_wherever_the_chunks_split() -> None:
    whole = b"".join(_sanitize([SSE], "text/event-stream"))
    assert CANARY.encode() not in whole
    events = [e for e in whole.decode("utf-8").replace("\r\n", "\n").split("\n\n") if e.strip()]
    assert len(events) == 3 and events[-1] == "data: [DONE]"
    assert json.loads(events[0].split("data: ", 1)[1])["text"] == "héllo", "non-secret data survives"
    assert "event: message" in events[0] and ": a comment" in events[1], "non-data lines are kept"
    # Two data lines of one event are joined (SSE spec) and sanitized as one JSON value.
    assert json.loads(events[1].split("data: ", 1)[1].strip()) == {
        "nested": {"client_secret": "[REDACTED]"},
        "ok": True,
    }
    for chunks in _every_split(SSE):
        assert b"".join(_sanitize(chunks, "text/event-stream")) == whole, [len(c) for c in chunks]


def test_a_truncated_sse_stream_stays_truncated_and_redacted() -> None:
    cut = SSE[: SSE.index(CANARY.encode()) + 4]  # ends inside the secret value
    out = b"".join(_sanitize([cut], "text/event-stream"))
    assert CANARY[:4].encode() not in out.split(b"access_token")[1]
    assert not out.endswith(b"\n"), "no terminator is invented for a cut stream"


def test_ndjson_and_gemini_json_array_streams_are_sanitized_across_chunks() -> None:
    ndjson = f'{{"a":1}}\n{{"token":"{CANARY}"}}\n'.encode()
    array = json.dumps([{"candidates": []}, {"refresh_token": CANARY}]).encode()
    for data, kind in ((ndjson, "application/x-ndjson"), (array, "application/json")):
        for chunks in _every_split(data):
            out = b"".join(_sanitize(chunks, kind))
            assert CANARY.encode() not in out and b"[REDACTED]" in out


def test_unparseable_json_still_loses_credential_values() -> None:
    assert CANARY not in redact_json_text(f'{{"Password": "{CANARY}", "x": 1, "token": "{CANARY}')
    assert CANARY.encode() not in sanitize_body_bytes(f'{{"secret": "{CANARY}", '.encode(), "application/json")
    assert redact_json_text('{"note": "fine"') == '{"note": "fine"'


def _frame(payload: object, event: str = "contentBlockDelta") -> bytes:
    headers = {":event-type": event, ":content-type": "application/json", ":message-type": "event"}
    return format_message(headers, json.dumps(payload).encode())


def _decode_with_botocore(data: bytes) -> List[dict]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return [json.loads(m.payload) for m in buffer]


def test_event_stream_frames_are_redacted_and_re_encoded_with_valid_crcs() -> None:
    inner = json.dumps({"type": "content_block_delta", "delta": {"text": "x"}, "api_key": CANARY}).encode()
    big_text = "lorem ipsum " * 400  # a frame far over max_inline_bytes: never a placeholder
    binary = format_message({":event-type": "audio"}, bytes(range(256)) * 20)
    stream = (
        _frame({"delta": {"text": big_text}})
        + _frame({"delta": {"text": "a"}, "secret": CANARY})
        + _frame({"bytes": base64.b64encode(inner).decode()}, event="chunk")
        + binary
    )
    for chunks in [[stream], *([stream[:n], stream[n:]] for n in range(0, len(stream), 97))]:
        out = b"".join(_sanitize(chunks, "application/vnd.amazon.eventstream"))
        assert CANARY.encode() not in out
        payloads = [m.payload for m in iter_messages([out])]  # our decoder verifies both CRCs too
        assert len(payloads) == 4
        decoded = _decode_with_botocore(out[: len(out) - len(binary)])  # botocore is the judge of framing
        assert decoded[0] == {"delta": {"text": big_text}}, "frames without secrets are kept"
        assert decoded[1]["secret"] == "[REDACTED]"
        assert json.loads(base64.b64decode(decoded[2]["bytes"]))["api_key"] == "[REDACTED]"
        assert out.endswith(binary), "a non-JSON payload is kept byte for byte"
    assert b"".join(_sanitize([stream[:-5]], "application/vnd.amazon.eventstream")).endswith(stream[-len(binary) : -5])


def test_nothing_from_the_response_side_reaches_the_fixture_file(tmp_path: Path) -> None:
    """Canaries in response headers, JSON bodies, split SSE lines, event-stream frames, query strings."""
    split = b'data: {"type":"x","tok', f'en":"{CANARY}","password":"{CANARY[:6]}'.encode()
    with MockProvider() as mock:
        mock.endpoints["/sse"] = lambda r: Reply(
            200,
            {"Set-Cookie": f"s={CANARY}", "x-api-key": CANARY},
            pieces=[split[0], split[1] + f'{CANARY[6:]}"}}\n\n'.encode(), b"data: [DONE]\n\n"],
            content_type="text/event-stream",
        )
        mock.endpoints["/json"] = lambda r: Reply(
            200, {"Set-Cookie": f"id={CANARY}; Path=/"}, json.dumps({"data": [{"access_token": CANARY}]}).encode()
        )
        frame = _frame({"delta": {"text": "y" * 3000}, "client_secret": CANARY})
        mock.endpoints["/ev"] = lambda r: Reply(
            200, {}, pieces=[frame[:40], frame[40:]], content_type="application/vnd.amazon.eventstream"
        )
        path = tmp_path / "response-side.json"
        transport = ReplayFixture(str(path), mode="record").transport()
        query = [("key", CANARY), ("sig", CANARY)]
        headers = {"Authorization": f"Bearer {CANARY}", "Cookie": f"c={CANARY}"}
        got = {}
        for route in ("/sse", "/json", "/ev"):
            request = TransportRequest("POST", f"{mock.base_url}{route}?token={CANARY}", headers, query, Json({}))
            got[route] = transport.send(request, stream=route != "/json").read()
        text = path.read_text()
        assert CANARY not in text and CANARY[:6] not in text
        assert CANARY.encode() in got["/sse"], "the caller still sees the real response"

        replay = ReplayFixture(str(path), mode="replay").transport()
        request = TransportRequest("POST", f"{mock.base_url}/ev?token=other", headers, query, Json({}))
        replayed = replay.send(request, stream=True).read()
        assert _decode_with_botocore(replayed)[0]["client_secret"] == "[REDACTED]"


REQ = LlmRequest(model="anthropic.claude-3-haiku", messages=[Message.user("hi")], max_output_tokens=4000)


def _bedrock(base_url: str, fixture: ReplayFixture) -> Client:
    return Client(
        "bedrock", environ=AWS_ENV, settings=ProviderSettings(base_url=base_url), transport=fixture.transport()
    )


@pytest.mark.parametrize("chunk_chars", [8, 3000])
def test_bedrock_converse_stream_records_and_replays(tmp_path: Path, chunk_chars: int) -> None:
    path = str(tmp_path / "bedrock.json")
    text = "word " * 700
    with MockProvider(MockReply(text=text), chunk_chars=chunk_chars) as mock:
        with _bedrock(mock.base_url, ReplayFixture(path, mode="record")).stream(REQ) as stream:
            recorded = list(stream)
        base_url = mock.base_url
    content = Path(path).read_text()
    assert "omnillm:removed" not in content, "stream chunks are never replaced by a placeholder"
    assert AWS_ENV["AWS_SECRET_ACCESS_KEY"] not in content
    signature = json.loads(content)["exchanges"][0]["request"]["headers"]["authorization"]
    assert "Signature=[REDACTED]" in signature and AWS_ENV["AWS_ACCESS_KEY_ID"] not in signature
    with _bedrock(base_url, ReplayFixture(path, mode="replay")).stream(REQ) as stream:
        assert list(stream) == recorded
        assert stream.completed
    assert "".join(getattr(e, "text", "") for e in recorded) == text


def test_events_and_bodies_without_secrets_are_kept_byte_for_byte() -> None:
    sse = b'event: delta\r\ndata: {"a": 1.0, "b": "\\u00e9"}\r\n\r\ndata: [DONE]\n\n'
    for chunks in _every_split(sse):
        assert b"".join(_sanitize(chunks, "text/event-stream")) == sse
    body = b'{"a": 1.0,  "b": "\\u00e9"}'
    assert sanitize_body_bytes(body, "application/json") == body
