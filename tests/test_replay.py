"""Record/replay fixtures and sanitization: deterministic replay, and no secret ever on disk."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Iterator

import pytest

import omnillm
from omnillm import LlmRequest, Message
from omnillm.client import Client
from omnillm.gateway import Gateway, KeyConfig
from omnillm.http import Bytes, Headers, Json, TransportRequest, TransportResponse
from omnillm.stream import TextDelta
from omnillm.testing import (
    MockProvider,
    MockReply,
    ReplayFixture,
    ReplayMismatchError,
    SanitizeRules,
    sanitize_json_value,
    sanitize_transport_request,
    sanitize_transport_response,
)

CANARY = "CANARY-s3cr3t-9d2f"
REQ = LlmRequest(model="m-1", messages=[Message.user("tell me a story")], max_output_tokens=40)


@pytest.fixture()
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="Once upon a time, a test passed."), chunk_chars=5) as m:
        yield m


def _client(base_url: str, fixture: ReplayFixture, provider: str = "openai") -> Client:
    prefix = "/v1beta" if provider == "gemini" else "/v1"
    return Client(
        provider, api_key=f"sk-{CANARY}", base_url=base_url + prefix, transport=fixture.transport(), environ={}
    )


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_replay_reproduces_a_recorded_session(tmp_path: Path, mock: MockProvider, provider: str) -> None:
    path = str(tmp_path / "session.json")
    recorder = ReplayFixture(path, mode="record")
    client = _client(mock.base_url, recorder, provider)
    called = client.call(REQ)
    with client.stream(REQ) as stream:
        streamed = [e for e in stream]
    mock.stop()  # from here on there is no server: replay must not touch the network

    replayer = ReplayFixture(path, mode="replay")
    again = _client(mock.base_url, replayer, provider)
    assert again.call(REQ) == called
    with again.stream(REQ) as stream:
        assert list(stream) == streamed
    assert "".join(e.text for e in streamed if isinstance(e, TextDelta)) == "Once upon a time, a test passed."


def test_unmatched_request_in_replay_mode_is_a_clear_error(tmp_path: Path, mock: MockProvider) -> None:
    path = str(tmp_path / "s.json")
    _client(mock.base_url, ReplayFixture(path, mode="record")).call(REQ)
    replay = _client(mock.base_url, ReplayFixture(path, mode="replay"))
    other = LlmRequest(model="m-1", messages=[Message.user("something else")])
    with pytest.raises(ReplayMismatchError) as info:
        replay.call(other)
    assert "POST /v1/responses" in str(info.value) and "none with this body" in str(info.value)
    assert isinstance(info.value, omnillm.OmniLLMError)
    with pytest.raises(ReplayMismatchError):
        ReplayFixture(str(tmp_path / "missing.json"), mode="replay")


def test_identical_requests_replay_in_recorded_order(tmp_path: Path, mock: MockProvider) -> None:
    mock.queue(MockReply(text="first"), MockReply(text="second"))
    path = str(tmp_path / "s.json")
    rec = _client(mock.base_url, ReplayFixture(path, mode="record"))
    assert [rec.call(REQ).text for _ in range(2)] == ["first", "second"]
    rep = _client(mock.base_url, ReplayFixture(path))  # auto: the file exists, so replay
    assert [rep.call(REQ).text for _ in range(2)] == ["first", "second"]


def test_gateway_over_a_replay_transport(tmp_path: Path, mock: MockProvider) -> None:
    path = str(tmp_path / "gw.json")
    keys = [KeyConfig("openai", f"sk-{CANARY}", label="main", base_url=mock.base_url + "/v1")]
    with Gateway(keys, transport=ReplayFixture(path, mode="record").transport()) as gw:
        recorded = gw.call(REQ)
    with Gateway(keys, transport=ReplayFixture(path, mode="replay").transport()) as gw:
        assert gw.call(REQ) == recorded


def test_fingerprint_ignores_key_order_and_secrets() -> None:
    rules = SanitizeRules()
    a = TransportRequest("POST", "http://x/v1/chat", {"Authorization": "Bearer one"}, body=Json({"a": 1, "b": 2}))
    b = TransportRequest("POST", "http://x/v1/chat", {"Authorization": "Bearer two"}, body=Json({"b": 2, "a": 1}))
    from omnillm.testing.replay import _canonical_body

    assert _canonical_body(a, rules)[0] == _canonical_body(b, rules)[0]
    c = TransportRequest("POST", "http://x/v1/chat", body=Json({"a": 1, "b": 3}))
    assert _canonical_body(a, rules)[0] != _canonical_body(c, rules)[0]


def _everything_with_canaries() -> Any:
    big = base64.b64encode(CANARY.encode() * 200).decode()
    headers = {
        "Authorization": f"Bearer {CANARY}",
        "x-api-key": CANARY,
        "api-key": CANARY,
        "x-goog-api-key": CANARY,
        "X-Amz-Security-Token": CANARY,
        "Cookie": f"session={CANARY}",
        "Content-Type": "application/json",
    }
    body = {
        "model": "m",
        "api_key": CANARY,
        "API_KEY": CANARY,
        "nested": {"Token": CANARY, "secret": CANARY, "password": CANARY, "list": [{"access_token": CANARY}]},
        "refresh_token": CANARY,
        "client_secret": CANARY,
        "image": f"data:image/png;base64,{big}",
        "blob": big,
    }
    query = [(name, CANARY) for name in ("key", "ak", "api_key", "token", "sig", "signature")]
    return headers, body, query


def test_sanitizers_redact_every_position() -> None:
    headers, body, query = _everything_with_canaries()
    request = TransportRequest("POST", f"http://u:{CANARY}@h/v1/x?key={CANARY}", headers, query, Json(body))
    clean = sanitize_transport_request(request)
    dumped = repr(clean) + clean.body_bytes().decode() + json.dumps(clean.headers.to_dict()) + clean.full_url()
    assert CANARY not in dumped
    assert "sha256=" in clean.body_bytes().decode(), "bulky payloads leave their size and digest behind"
    aws = TransportRequest(
        "POST",
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse",
        {
            "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIA{CANARY}/20261201/us-east-1/bedrock/aws4_request, "
            f"SignedHeaders=content-type;host;x-amz-date, Signature={CANARY}"
        },
    )
    auth = sanitize_transport_request(aws).headers["authorization"]
    assert CANARY not in auth and "SignedHeaders=content-type;host;x-amz-date" in auth
    stream_body = f'data: {{"type":"x","secret":"{CANARY}"}}\n\ndata: [DONE]\n\n'.encode()
    response = TransportResponse(
        200,
        Headers({"Set-Cookie": f"s={CANARY}", "content-type": "text/event-stream"}),
        stream_body,
    )
    clean_response = sanitize_transport_response(response)
    assert CANARY not in clean_response.body.decode() + repr(clean_response.headers.items())
    assert b"data: [DONE]" in clean_response.body
    binary = TransportResponse(200, Headers({"content-type": "audio/mpeg"}), CANARY.encode() * 500)
    assert CANARY.encode() not in sanitize_transport_response(binary).body


def test_nothing_secret_reaches_the_fixture_file(tmp_path: Path, mock: MockProvider) -> None:
    """Plant canaries in every position of recorded exchanges and scan the file."""
    headers, body, query = _everything_with_canaries()
    path = tmp_path / "canary.json"
    transport = ReplayFixture(str(path), mode="record").transport()
    request = TransportRequest(
        "POST",
        f"{mock.base_url}/v1/chat/completions",
        headers,
        query,
        Json({**body, "messages": [{"role": "user", "content": "hi"}]}),
    )
    transport.send(request)
    streamed = transport.send(request, stream=True)
    streamed.read()
    audio = TransportRequest(
        "POST", f"{mock.base_url}/v1/files", headers, query, Bytes(CANARY.encode() * 300, "application/octet-stream")
    )
    transport.send(audio)
    text = path.read_text()
    assert CANARY not in text
    assert base64.b64encode(CANARY.encode()).decode()[:16] not in text


def test_rules_are_configurable() -> None:
    value = {"session": "abc", "api_key": "k", "note": "x" * 5000}
    assert sanitize_json_value(value)["session"] == "abc"
    more = SanitizeRules().with_added(json_fields=["Session"])
    assert sanitize_json_value(value, more)["session"] == "[REDACTED]"
    fewer = SanitizeRules().with_removed(json_fields=["api_key"])
    assert sanitize_json_value(value, fewer)["api_key"] == "k"
    assert sanitize_json_value(value)["note"] == "x" * 5000, "long plain text is not mistaken for base64"
    keep = SanitizeRules().with_removed(headers=["x-api-key"])
    req = TransportRequest("GET", "http://h/", {"x-api-key": "visible", "authorization": "Bearer hidden"})
    clean = sanitize_transport_request(req, keep)
    assert clean.headers["x-api-key"] == "visible" and "hidden" not in clean.headers["authorization"]
