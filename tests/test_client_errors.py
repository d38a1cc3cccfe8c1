"""What a Client's errors and successes say, over real sockets on 127.0.0.1.

Network failures name the provider; a 429 without ``retry-after`` still gets a delay
from the provider's reset headers; rate-limit headers on success reach `Exchange` and
the stream; a stream has a total size cap; Bedrock, Azure and Vertex error shapes map
to their classes through the mock.
"""

from __future__ import annotations

import socket
from typing import Any, Dict, Iterator, Type

import pytest

import omnillm
from omnillm import LlmRequest, Message
from omnillm.client import Client
from omnillm.providers import AwsCredentials, ProviderSettings, RefreshingToken
from omnillm.testing import Fault, MockProvider, MockReply
from omnillm.testing.mock import MOCK_RPM, MOCK_TPM
from omnillm.transport import Timeout
from omnillm.transport.urllib3_transport import DEFAULT_MAX_STREAM_BYTES, Urllib3Transport

REQUEST = LlmRequest(model="m-1", messages=[Message.user("hello there")], max_output_tokens=64)
CLAUDE_ON_BEDROCK = "anthropic.claude-3-haiku-20240307-v1:0"
WALL = 1_750_000_000.0  # the injected wall clock for reset timestamps


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="The answer is 42."), chunk_chars=3, rate_limit_headers=True) as m:
        yield m


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()


def _openai(mock: MockProvider, **kw: Any) -> Client:
    return Client("openai", api_key="sk-test", base_url=mock.base_url + "/v1", environ={}, **kw)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- network errors name the provider


def test_connection_refused_names_the_provider() -> None:
    client = Client("anthropic", api_key="k", base_url=f"http://127.0.0.1:{_closed_port()}/v1", environ={})
    with pytest.raises(omnillm.ConnectionError) as info:
        client.call(REQUEST)
    assert info.value.provider == "anthropic" and info.value.status is None and info.value.retryable
    assert str(info.value).startswith("anthropic: could not connect")


@pytest.mark.parametrize(
    ("fault", "cls"),
    [
        (Fault(latency=1.0), omnillm.TimeoutError),
        (Fault(reset=True), omnillm.ConnectionError),
        (Fault(reset_after_bytes=10), omnillm.ConnectionError),
    ],
)
def test_network_errors_of_a_call_name_the_provider(
    mock: MockProvider, fault: Fault, cls: Type[omnillm.ProviderError]
) -> None:
    mock.add_fault(fault)
    with pytest.raises(cls) as info:
        _openai(mock).call(REQUEST, timeout=Timeout(connect=2, read=0.2))
    assert info.value.provider == "openai"
    assert str(info.value).startswith("openai: ")


def test_reset_mid_stream_names_the_provider_and_the_request_id(mock: MockProvider) -> None:
    mock.add_fault(Fault(reset_after_bytes=40))
    with pytest.raises(omnillm.ConnectionError) as info, _openai(mock).stream(REQUEST) as stream:
        list(stream)
    assert info.value.provider == "openai"
    assert info.value.request_id is not None and info.value.request_id.startswith("req_mock_")
    assert info.value.request_id in str(info.value)


def test_oversize_body_names_the_provider_and_the_request_id(mock: MockProvider) -> None:
    with pytest.raises(omnillm.ResponseTooLargeError) as info:
        _openai(mock, max_response_bytes=50).call(REQUEST)
    assert info.value.provider == "openai" and info.value.status == 200
    assert "maximum of 50 bytes" in str(info.value)
    assert info.value.request_id is not None and info.value.request_id.startswith("req_mock_")


def test_reset_mid_body_of_a_call_keeps_the_request_id(mock: MockProvider) -> None:
    mock.add_fault(Fault(reset_after_bytes=10))
    with pytest.raises(omnillm.ConnectionError) as info:
        _openai(mock).call(REQUEST)
    assert info.value.provider == "openai"
    assert info.value.request_id is not None and info.value.request_id.startswith("req_mock_")


def test_cancel_path_errors_name_the_provider_too(mock: MockProvider) -> None:
    from omnillm.gateway import CancellationToken

    mock.add_fault(Fault(reset=True))
    with pytest.raises(omnillm.ConnectionError) as info:
        _openai(mock).call(REQUEST, cancel=CancellationToken())
    assert info.value.provider == "openai"


# --------------------------------------------------------------------------- stream size cap


def test_stream_past_its_size_cap_is_a_clear_error(mock: MockProvider) -> None:
    client = _openai(mock, max_stream_bytes=300)
    with pytest.raises(omnillm.ResponseTooLargeError) as info, client.stream(REQUEST) as stream:
        list(stream)
    error = info.value
    assert "streamed body" in str(error) and "maximum of 300 bytes" in str(error)
    assert error.provider == "openai" and error.status == 200 and not error.retryable
    # Under the cap (the default) the same stream completes.
    with _openai(mock).stream(REQUEST) as stream:
        list(stream)
    assert stream.completed
    assert Urllib3Transport().max_stream_bytes == DEFAULT_MAX_STREAM_BYTES == 256 * 1024 * 1024


def test_stream_cap_through_the_requests_transport(mock: MockProvider) -> None:
    requests = pytest.importorskip("requests")
    with requests.Session() as session:
        client = _openai(mock, session=session, max_stream_bytes=300)
        with pytest.raises(omnillm.ResponseTooLargeError), client.stream(REQUEST) as stream:
            list(stream)


def test_transport_settings_conflict_with_an_explicit_transport() -> None:
    with pytest.raises(omnillm.ConfigurationError, match="max_stream_bytes"):
        Client("openai", api_key="k", environ={}, transport=Urllib3Transport(), max_stream_bytes=10)
    with pytest.raises(omnillm.ConfigurationError, match="proxy_url"):
        Client("openai", api_key="k", environ={}, session=object(), proxy_url="http://127.0.0.1:1")


# --------------------------------------------------------------------------- 429 retry_after from reset headers


@pytest.mark.parametrize(
    ("provider", "headers", "expected"),
    [
        ("openai", {"x-ratelimit-reset-requests": "6s"}, 6.0),
        (
            "openai",
            {
                "x-ratelimit-remaining-requests": "12",
                "x-ratelimit-reset-requests": "1s",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": "1m30s",
            },
            90.0,
        ),
        ("anthropic", {"anthropic-ratelimit-requests-reset": "2025-06-15T15:07:10Z"}, 30.0),
        (
            "anthropic",
            {
                "anthropic-ratelimit-requests-remaining": "3",
                "anthropic-ratelimit-requests-reset": "2025-06-15T15:06:50Z",
                "anthropic-ratelimit-output-tokens-remaining": "0",
                "anthropic-ratelimit-output-tokens-reset": "2025-06-15T15:07:40Z",
            },
            60.0,
        ),
        ("anthropic", {"retry-after": "4", "anthropic-ratelimit-requests-reset": "2025-06-15T15:07:10Z"}, 4.0),
    ],
)
def test_429_retry_after_falls_back_to_reset_headers(
    mock: MockProvider, provider: str, headers: Dict[str, str], expected: float
) -> None:
    # WALL is 2025-06-15T15:06:40Z.
    mock.add_fault(Fault(status=429, headers=headers))
    client = Client(provider, api_key="k", base_url=mock.base_url + "/v1", environ={}, wall=lambda: WALL)
    with pytest.raises(omnillm.RateLimitError) as info:
        client.call(REQUEST)
    assert info.value.retry_after == pytest.approx(expected)


def test_429_without_any_delay_header_has_none(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=429))
    with pytest.raises(omnillm.RateLimitError) as info:
        _openai(mock).call(REQUEST)
    assert info.value.retry_after is None


# --------------------------------------------------------------------------- rate-limit info on success


def test_openai_rate_limit_headers_reach_exchange_and_stream(mock: MockProvider) -> None:
    client = _openai(mock)
    first = client.execute(REQUEST).rate_limit
    second = client.execute(REQUEST).rate_limit
    assert first is not None and second is not None
    assert first.limit_requests == MOCK_RPM and first.limit_tokens == MOCK_TPM
    assert first.reset_requests_s == pytest.approx(0.06) and first.reset_tokens_s == 60.0
    assert second.remaining_requests == first.remaining_requests - 1 < MOCK_RPM
    assert first.remaining_tokens is not None and first.remaining_tokens < MOCK_TPM
    with client.stream(REQUEST) as stream:
        list(stream)
    assert stream.rate_limit is not None
    assert stream.rate_limit.remaining_requests == second.remaining_requests - 1


def test_anthropic_rate_limit_headers_reach_exchange_and_stream(mock: MockProvider) -> None:
    client = Client("anthropic", api_key="k", base_url=mock.base_url + "/v1", environ={})
    info = client.execute(REQUEST).rate_limit
    assert info is not None and info.limit_requests == MOCK_RPM and info.limit_tokens == MOCK_TPM
    assert info.remaining_requests is not None and info.remaining_requests < MOCK_RPM
    assert info.reset_requests_s is not None and 0 < info.reset_requests_s <= 60
    with client.stream(REQUEST) as stream:
        list(stream)
    assert stream.rate_limit is not None and stream.rate_limit.remaining_requests == info.remaining_requests - 1


def test_providers_without_rate_limit_headers_give_none(mock: MockProvider) -> None:
    client = Client("gemini", api_key="k", base_url=mock.base_url + "/v1beta", environ={})
    assert client.execute(REQUEST).rate_limit is None


# --------------------------------------------------------------------------- Bedrock, Azure, Vertex error shapes


def _bedrock(mock: MockProvider, wire_format: str = "bedrock_converse") -> Client:
    creds = AwsCredentials("AKIDEXAMPLE", "bedrock-secret-key", "bedrock-session-token")
    return Client(
        "bedrock", credentials=creds, base_url=mock.base_url, region="us-east-1", wire_format=wire_format, environ={}
    )


BEDROCK_REQUEST = LlmRequest(model=CLAUDE_ON_BEDROCK, messages=[Message.user("hi")], max_output_tokens=30)


@pytest.mark.parametrize(
    ("status", "cls", "name", "retryable"),
    [
        (400, omnillm.InvalidRequestError, "ValidationException", False),
        (403, omnillm.PermissionDeniedError, "AccessDeniedException", False),
        (404, omnillm.NotFoundError, "ResourceNotFoundException", False),
        (429, omnillm.RateLimitError, "ThrottlingException", True),
        (500, omnillm.ServerError, "InternalServerException", True),
        (503, omnillm.OverloadedError, "ServiceUnavailableException", True),
    ],
)
@pytest.mark.parametrize("wire_format", ["bedrock_converse", "anthropic_messages"])
def test_bedrock_error_shapes_over_sockets(
    mock: MockProvider, wire_format: str, status: int, cls: Type[omnillm.ProviderError], name: str, retryable: bool
) -> None:
    mock.add_fault(Fault(status=status))
    with pytest.raises(cls) as info:
        _bedrock(mock, wire_format).call(BEDROCK_REQUEST)
    error = info.value
    assert (error.status, error.provider, error.error_type, error.retryable) == (status, "bedrock", name, retryable)
    assert error.request_id == "req-mock-error" and error.provider_message == "injected fault"


def test_bedrock_stream_error_before_the_first_event(mock: MockProvider) -> None:
    mock.add_fault(Fault(status=429, retry_after=3))
    with pytest.raises(omnillm.RateLimitError) as info:
        _bedrock(mock).stream(BEDROCK_REQUEST)
    assert info.value.error_type == "ThrottlingException" and info.value.retry_after == 3
    assert mock.requests[-1].path.endswith("/converse-stream")


def _azure(mock: MockProvider) -> Client:
    return Client(
        "azure_openai",
        api_key="azure-key",
        endpoint=mock.base_url,
        deployment="prod-gpt",
        api_version="2024-10-21",
        wire_format="open_ai_chat_completions",
        environ={},
    )


def _azure_v1(mock: MockProvider) -> Client:
    return Client("azure_openai_v1", api_key="azure-key", endpoint=mock.base_url, environ={})


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, omnillm.InvalidRequestError),
        (401, omnillm.AuthenticationError),
        (404, omnillm.NotFoundError),
        (429, omnillm.RateLimitError),
        (500, omnillm.ServerError),
    ],
)
@pytest.mark.parametrize("make", [_azure, _azure_v1], ids=["deployment", "v1"])
def test_azure_error_shapes_over_sockets(
    mock: MockProvider, make: Any, status: int, cls: Type[omnillm.ProviderError]
) -> None:
    client = make(mock)
    mock.add_fault(Fault(status=status, headers={"x-ratelimit-reset-requests": "2s"} if status == 429 else {}))
    with pytest.raises(cls) as info:
        client.call(REQUEST)
    error = info.value
    assert error.status == status and error.provider == client.spec.id and error.request_id == "req_mock_error"
    if status == 429:
        assert error.code == "rate_limit_exceeded" and error.retry_after == 2.0


def test_azure_v1_success_over_sockets(mock: MockProvider) -> None:
    exchange = _azure_v1(mock).execute(REQUEST)
    assert exchange.response.text == "The answer is 42."  # type: ignore[union-attr]
    sent = mock.requests[-1]
    assert sent.path == "/openai/v1/responses" and "api-version" not in sent.query
    assert exchange.rate_limit is not None and exchange.rate_limit.limit_requests == MOCK_RPM
    with _azure_v1(mock).stream(REQUEST) as stream:
        list(stream)
    assert stream.completed and stream.response().text == "The answer is 42."


def _vertex(mock: MockProvider, wire_format: str) -> Client:
    return Client(
        "vertex_ai",
        credentials=RefreshingToken(lambda: "ya29.vertex-token"),
        settings=ProviderSettings(base_url=mock.base_url + "/v1/projects/{project}/locations/{location}"),
        project="proj-1",
        location="us-east5",
        wire_format=wire_format,
        environ={},
    )


@pytest.mark.parametrize(
    ("status", "cls", "kind"),
    [
        (400, omnillm.InvalidRequestError, "INVALID_ARGUMENT"),
        (403, omnillm.PermissionDeniedError, "PERMISSION_DENIED"),
        (429, omnillm.RateLimitError, "RESOURCE_EXHAUSTED"),
        (503, omnillm.OverloadedError, "UNAVAILABLE"),
    ],
)
def test_vertex_gemini_error_shapes_over_sockets(
    mock: MockProvider, status: int, cls: Type[omnillm.ProviderError], kind: str
) -> None:
    mock.add_fault(Fault(status=status))
    with pytest.raises(cls) as info:
        _vertex(mock, "gemini_generate_content").call(REQUEST)
    assert (info.value.status, info.value.provider, info.value.error_type) == (status, "vertex_ai", kind)


@pytest.mark.parametrize(
    ("status", "cls", "kind"),
    [
        (400, omnillm.InvalidRequestError, "invalid_request_error"),
        (429, omnillm.RateLimitError, "rate_limit_error"),
        (529, omnillm.OverloadedError, "overloaded_error"),
    ],
)
def test_vertex_anthropic_error_shapes_over_sockets(
    mock: MockProvider, status: int, cls: Type[omnillm.ProviderError], kind: str
) -> None:
    mock.add_fault(Fault(status=status))
    with pytest.raises(cls) as info:
        _vertex(mock, "anthropic_messages").call(REQUEST)
    error = info.value
    assert (error.status, error.provider, error.error_type) == (status, "vertex_ai", kind)
    assert error.request_id == "req_mock_error"
    assert mock.requests[-1].path.endswith("/publishers/anthropic/models/m-1:rawPredict")


def test_vertex_anthropic_success_and_stream_over_sockets(mock: MockProvider) -> None:
    client = _vertex(mock, "anthropic_messages")
    assert client.call(REQUEST).text == "The answer is 42."
    sent = mock.requests[-1]
    assert sent.headers.get("authorization") == "Bearer ya29.vertex-token"
    assert sent.path == "/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/m-1:rawPredict"
    with client.stream(REQUEST) as stream:
        list(stream)
    assert stream.completed and mock.requests[-1].path.endswith("/models/m-1:streamRawPredict")
