"""The mock provider: every fault mode drives its error class through Client and Gateway; every family answers."""

from __future__ import annotations

import base64
import struct
from typing import Any, Dict, Optional, Tuple, Type

import pytest

import omnillm
from omnillm import LlmRequest, Message, api
from omnillm.client import Client
from omnillm.gateway import Gateway, KeyConfig, PoolConfig, RetryPolicy
from omnillm.providers import AwsCredentials, ProviderSettings
from omnillm.stream import TextDelta
from omnillm.testing import Fault, MockProvider, MockReply
from omnillm.testing.endpoints import vector_for
from omnillm.transport import Timeout

pytest_plugins = ["omnillm.testing.pytest_plugin"]

REQ = LlmRequest(model="m-1", messages=[Message.user("ping")], max_output_tokens=20)

FAULTS = [
    (Fault(status=400), omnillm.InvalidRequestError, omnillm.InvalidRequestError),
    (Fault(status=401), omnillm.AuthenticationError, omnillm.AuthenticationError),
    (Fault(status=429, retry_after=2), omnillm.RateLimitError, omnillm.RateLimitError),
    (Fault(status=500), omnillm.ServerError, omnillm.ServerError),
    (Fault(status=503), omnillm.OverloadedError, omnillm.OverloadedError),
    (Fault(status=529), omnillm.OverloadedError, omnillm.OverloadedError),
    (Fault(latency=1.0), omnillm.TimeoutError, omnillm.TimeoutError),
    (Fault(reset=True), omnillm.ConnectionError, omnillm.ConnectionError),
    (Fault(reset_after_bytes=10), omnillm.ConnectionError, omnillm.ConnectionError),
    (Fault(malformed_json=True), omnillm.DecodeError, omnillm.DecodeError),
    (Fault(trickle=(4, 0.05)), omnillm.TimeoutError, omnillm.TimeoutError),
]


FAULT_IDS = ["400", "401", "429", "500", "503", "529", "latency", "reset", "reset-mid-body", "malformed", "trickle"]


#: Every generation protocol the mock speaks, through the provider that uses it.
TARGETS = ["openai", "chat", "anthropic", "gemini", "bedrock"]
AWS = AwsCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def _settings(mock: MockProvider, target: str) -> Tuple[str, Any, Dict[str, Any]]:
    """(provider, credential, KeyConfig/Client options) reaching the mock for ``target``."""
    if target == "bedrock":
        return "bedrock", AWS, {"settings": ProviderSettings(base_url=mock.base_url, region="us-east-1")}
    options: Dict[str, Any] = {"base_url": mock.base_url + ("/v1beta" if target == "gemini" else "/v1")}
    if target == "chat":
        return "openai", "k", {**options, "wire_format": "open_ai_chat_completions"}
    return target, "k", options


def _client(mock: MockProvider, target: str, timeout: Optional[Timeout] = None) -> Client:
    provider, credential, options = _settings(mock, target)
    auth: Dict[str, Any] = {"api_key": credential} if isinstance(credential, str) else {"credentials": credential}
    return Client(provider, **auth, **options, timeout=timeout, environ={})


def _gateway(mock: MockProvider, target: str, request_timeout: float = 30.0) -> Gateway:
    provider, credential, options = _settings(mock, target)
    key = KeyConfig(provider, credential, label="only", **options)
    return Gateway([key], pool_config=PoolConfig(retry=RetryPolicy(max_attempts=1)), request_timeout=request_timeout)


def _timeout_for(expected: Type[Exception]) -> Timeout:
    """Tight limits where the fault is a timeout (it must strike soon); roomy ones elsewhere,
    so that a busy machine's slow answer is not mistaken for the fault under test."""
    if expected is omnillm.TimeoutError:
        return Timeout(connect=2, read=0.4, total=0.6)
    return Timeout(connect=5, read=10, total=30)


@pytest.mark.parametrize(("fault", "client_error", "gateway_error"), FAULTS, ids=FAULT_IDS)
@pytest.mark.parametrize("target", TARGETS)
def test_fault_modes_drive_error_classes(
    omnillm_mock: MockProvider,
    target: str,
    fault: Fault,
    client_error: Type[Exception],
    gateway_error: Type[Exception],
) -> None:
    if target == "bedrock" and fault.status == 529:
        # Bedrock has no 529: the mock answers InternalServerException, a ServerError.
        client_error = gateway_error = omnillm.ServerError
    omnillm_mock.add_fault(fault)
    client = _client(omnillm_mock, target, _timeout_for(client_error))
    with pytest.raises(client_error):
        client.call(REQ)
    limit = _timeout_for(client_error).total or 30.0
    with _gateway(omnillm_mock, target, limit) as gw, pytest.raises(gateway_error):
        gw.call(REQ)


#: Long enough (16 to 32 kB on the wire, the first text within 2 kB) that a cut at 3000
#: bytes, or a trickle stopped by the 0.6 s deadline, lands inside the text.
STREAM_REQ = LlmRequest(model="m-1", messages=[Message.user("ping")], max_output_tokens=1000)
STREAM_TEXT = "streaming words " * 60

# Status faults fail the stream before its first event; the rest break it part-way.
STREAM_FAULTS = [
    (Fault(status=400), omnillm.InvalidRequestError, False),
    (Fault(status=401), omnillm.AuthenticationError, False),
    (Fault(status=429, retry_after=2), omnillm.RateLimitError, False),
    (Fault(status=500), omnillm.ServerError, False),
    (Fault(status=503), omnillm.OverloadedError, False),
    (Fault(status=529), omnillm.OverloadedError, False),
    (Fault(latency=1.0), omnillm.TimeoutError, False),
    (Fault(reset=True), omnillm.ConnectionError, False),
    (Fault(reset_after_bytes=3000), omnillm.ConnectionError, True),
    (Fault(truncate_after_events=10), omnillm.TruncatedStreamError, True),
    (Fault(malformed_json=True), omnillm.DecodeError, True),
    (Fault(trickle=(500, 0.05)), omnillm.TimeoutError, True),
]
STREAM_FAULT_IDS = [
    *("400", "401", "429", "500", "503", "529", "latency", "reset"),
    *("reset-mid-stream", "truncated", "malformed", "trickle"),
]


@pytest.mark.parametrize(("fault", "error", "mid_stream"), STREAM_FAULTS, ids=STREAM_FAULT_IDS)
@pytest.mark.parametrize("target", TARGETS)
def test_stream_fault_modes_through_client_and_gateway(
    omnillm_mock: MockProvider, target: str, fault: Fault, error: Type[Exception], mid_stream: bool
) -> None:
    if target == "bedrock" and fault.status == 529:
        error = omnillm.ServerError  # Bedrock has no 529: the mock answers InternalServerException
    omnillm_mock.default_reply = MockReply(text=STREAM_TEXT)
    omnillm_mock.add_fault(fault)
    client = _client(omnillm_mock, target, _timeout_for(error))
    received = []
    with pytest.raises(error) as info, client.stream(STREAM_REQ) as stream:
        for event in stream:
            received.append(event)
    assert isinstance(info.value, omnillm.OmniLLMError)
    texts = [e for e in received if isinstance(e, TextDelta)]
    if mid_stream:
        assert texts, "the fault struck after the stream had started"
        assert "".join(t.text for t in texts) != STREAM_TEXT
    else:
        assert not received
    interrupted = (error, omnillm.StreamInterruptedError)
    limit = _timeout_for(error).total or 30.0
    with _gateway(omnillm_mock, target, limit) as gw, pytest.raises(interrupted) as gw_info, gw.stream(STREAM_REQ) as s:
        list(s)
    found = gw_info.value
    if isinstance(found, omnillm.StreamInterruptedError):
        assert mid_stream, "only a stream that already delivered events is interrupted"
        assert isinstance(found.cause, error), found.cause
    else:
        assert isinstance(found, error)


@pytest.mark.parametrize("target", TARGETS)
def test_streams_complete_without_faults(omnillm_mock: MockProvider, target: str) -> None:
    """The control for the matrix above: the same streams succeed when nothing is injected."""
    omnillm_mock.default_reply = MockReply(text=STREAM_TEXT)
    with _client(omnillm_mock, target).stream(STREAM_REQ) as stream:
        text = "".join(e.text for e in stream if isinstance(e, TextDelta))
    assert text == STREAM_TEXT and stream.completed
    with _gateway(omnillm_mock, target) as gw, gw.stream(STREAM_REQ) as gw_stream:
        assert "".join(e.text for e in gw_stream if isinstance(e, TextDelta)) == STREAM_TEXT


def test_faults_by_key_times_and_route(omnillm_mock: MockProvider) -> None:
    omnillm_mock.add_fault(Fault(status=500, key="bad", times=2))
    omnillm_mock.add_fault(Fault(status=404, route="anthropic_messages"))
    good = Client("openai", api_key="good", base_url=omnillm_mock.base_url + "/v1", environ={})
    bad = Client("openai", api_key="bad", base_url=omnillm_mock.base_url + "/v1", environ={})
    assert good.call(REQ).text
    for _ in range(2):
        with pytest.raises(omnillm.ServerError):
            bad.call(REQ)
    assert bad.call(REQ).text, "times=2: the third call is served"
    anthropic = Client("anthropic", api_key="good", base_url=omnillm_mock.base_url + "/v1", environ={})
    with pytest.raises(omnillm.NotFoundError):
        anthropic.call(REQ)
    assert [r.key for r in omnillm_mock.requests_for(protocol="open_ai_responses")] == ["good", "bad", "bad", "bad"]


def test_scripted_and_computed_replies(omnillm_mock: MockProvider) -> None:
    omnillm_mock.queue(MockReply(text="first"), MockReply(tool_calls=[("search", {"q": "x"})], text=""))
    client = Client("anthropic", api_key="k", base_url=omnillm_mock.base_url + "/v1", environ={})
    assert client.call(REQ).text == "first"
    second = client.call(REQ)
    assert second.stop_reason == "tool_use" and second.tool_calls[0].name == "search"
    omnillm_mock.default_reply = lambda recorded, decoded: MockReply(text=f"model was {decoded.model}")
    try:
        assert client.call(REQ).text == "model was m-1"
    finally:
        omnillm_mock.default_reply = MockReply()
    recorded = omnillm_mock.requests[0]
    assert recorded.json["messages"][0]["content"] == "ping" and recorded.protocol == "anthropic_messages"


def test_malformed_requests_get_a_400_in_the_protocols_shape(omnillm_mock: MockProvider) -> None:
    from omnillm.http import Json, TransportRequest
    from omnillm.transport.urllib3_transport import Urllib3Transport

    bad = TransportRequest("POST", omnillm_mock.base_url + "/v1/messages", body=Json({"model": "x", "messages": 3}))
    response = Urllib3Transport().send(bad)
    assert response.status == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_every_endpoint_family_answers(omnillm_mock: MockProvider) -> None:
    openai = Client("openai", api_key="k", base_url=omnillm_mock.base_url + "/v1", environ={})
    floats = openai.call_api(api.EmbeddingRequest(model="e", inputs=["alpha", "beta"], dimensions=6))
    packed = openai.call_api(
        api.EmbeddingRequest(model="e", inputs=["alpha", "beta"], dimensions=6, encoding_format="base64")
    )
    assert floats.vectors == packed.vectors == [vector_for("alpha", 6), vector_for("beta", 6)]
    raw = omnillm_mock.requests[-1]
    assert raw.json["encoding_format"] == "base64"
    gemini = Client("gemini", api_key="k", base_url=omnillm_mock.base_url + "/v1beta", environ={})
    assert gemini.call_api(api.EmbeddingRequest(model="text-embedding-004", inputs=["alpha"])).vectors == [
        vector_for("alpha", 8)
    ]
    images = openai.call_api(api.ImageGenerationRequest(model="gpt-image-1.5", prompt="a cat", n=2))
    assert len(images.images) == 2 and base64.b64decode(images.images[0].b64_json or "")[:4] == b"\x89PNG"
    for fmt, check in (("json", None), ("text", None), ("srt", "-->"), ("vtt", "WEBVTT"), ("verbose_json", None)):
        transcript = openai.call_api(
            api.AudioTranscriptionRequest(model="whisper-1", audio=b"\x00" * 64, filename="a.wav", response_format=fmt)
        )
        assert "mock transcript of a.wav (64 bytes)" in transcript.text
        if check:
            assert check in transcript.text
    speech = openai.call_api(
        api.AudioSpeechRequest(model="tts-1", input="hello", voice="alloy", response_format="opus")
    )
    assert speech.audio == b"MOCK-OPUS\x00hello" and speech.media_type == "audio/opus"
    vllm = Client("vllm", api_key="k", base_url=omnillm_mock.base_url + "/v1", environ={})
    ranked = vllm.call_api(api.RerankRequest(model="r", query="red cat", documents=["blue", "red cat", "cat"], top_n=2))
    assert [r.index for r in ranked.results] == [1, 2]


def test_vector_for_is_float32_exact() -> None:
    vector = vector_for("x", 4)
    assert struct.unpack("<4f", struct.pack("<4f", *vector)) == tuple(vector)


def test_vertex_claude_rawpredict_route(omnillm_mock: MockProvider) -> None:
    from omnillm.providers import ProviderSettings, RefreshingToken

    client = Client(
        "vertex_ai",
        credentials=RefreshingToken(lambda: "ya29.t"),
        settings=ProviderSettings(base_url=omnillm_mock.base_url + "/v1/projects/{project}/locations/{location}"),
        project="p",
        wire_format="anthropic_messages",
        environ={},
    )
    response = client.call(
        LlmRequest(model="claude-sonnet-4-5@20250929", messages=[Message.user("hi")], max_output_tokens=10)
    )
    sent: Any = omnillm_mock.requests[-1]
    assert sent.path.endswith("/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
    assert sent.json["anthropic_version"] and "model" not in sent.json
    assert response.text == "Mock reply to: hi"
