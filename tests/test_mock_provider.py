"""The mock provider: every fault mode drives its error class through Client and Gateway; every family answers."""

from __future__ import annotations

import base64
import struct
from typing import Any, Type

import pytest

import omnillm
from omnillm import LlmRequest, Message, api
from omnillm.client import Client
from omnillm.gateway import Gateway, KeyConfig, PoolConfig, RetryPolicy
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


@pytest.mark.parametrize(("fault", "client_error", "gateway_error"), FAULTS, ids=FAULT_IDS)
@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_fault_modes_drive_error_classes(
    omnillm_mock: MockProvider,
    provider: str,
    fault: Fault,
    client_error: Type[Exception],
    gateway_error: Type[Exception],
) -> None:
    prefix = "/v1beta" if provider == "gemini" else "/v1"
    omnillm_mock.add_fault(fault)
    timeout = Timeout(connect=2, read=0.4, total=0.6)
    client = Client(provider, api_key="k", base_url=omnillm_mock.base_url + prefix, timeout=timeout, environ={})
    with pytest.raises(client_error):
        client.call(REQ)
    key = KeyConfig(provider, "k", label="only", base_url=omnillm_mock.base_url + prefix)
    config = PoolConfig(retry=RetryPolicy(max_attempts=1))
    with Gateway([key], pool_config=config, request_timeout=0.6) as gw, pytest.raises(gateway_error):
        gw.call(REQ)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_truncated_stream_through_client_and_gateway(omnillm_mock: MockProvider, provider: str) -> None:
    prefix = "/v1beta" if provider == "gemini" else "/v1"
    omnillm_mock.add_fault(Fault(truncate_after_events=3))
    client = Client(provider, api_key="k", base_url=omnillm_mock.base_url + prefix, environ={})
    with pytest.raises(omnillm.TruncatedStreamError):
        list(client.stream(REQ))
    key = KeyConfig(provider, "k", label="only", base_url=omnillm_mock.base_url + prefix)
    gw = Gateway([key], pool_config=PoolConfig(retry=RetryPolicy(max_attempts=1)))
    with gw, pytest.raises((omnillm.StreamInterruptedError, omnillm.TruncatedStreamError)):
        list(gw.stream(REQ))


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
