"""`Client` end to end against the mock provider on 127.0.0.1: URLs, auth, errors, streams, secrets."""

from __future__ import annotations

import gc
import io
import logging
from typing import Any, Iterator, List, Type

import pytest
import requests

import omnillm
from omnillm import LlmRequest, Message
from omnillm.client import Client
from omnillm.providers import ProviderSettings, RefreshingToken
from omnillm.stream import TextDelta
from omnillm.testing import Fault, MockProvider, MockReply
from omnillm.transport.urllib3_transport import Urllib3Transport

CANARY = "sk-CANARY-7f3c9a1e5b"
REQUEST = LlmRequest(model="m-1", messages=[Message.user("hello there")], max_output_tokens=64)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockProvider]:
    with MockProvider(MockReply(text="The answer is 42.", tool_calls=[("lookup", {"q": "42"})]), chunk_chars=3) as m:
        yield m


@pytest.fixture(autouse=True)
def _clean(mock: MockProvider) -> None:
    mock.reset()


def _client(mock: MockProvider, provider: str, **kw: Any) -> Client:
    prefix = {"gemini": "/v1beta", "azure_openai": ""}.get(provider, "/v1")
    kw.setdefault("api_key", CANARY)
    return Client(provider, base_url=mock.base_url + prefix, environ={}, **kw)


@pytest.mark.parametrize(
    ("provider", "path", "header", "value"),
    [
        ("openai", "/v1/responses", "authorization", f"Bearer {CANARY}"),
        ("anthropic", "/v1/messages", "x-api-key", CANARY),
        ("gemini", "/v1beta/models/m-1:generateContent", "x-goog-api-key", CANARY),
        ("groq", "/v1/chat/completions", "authorization", f"Bearer {CANARY}"),
        ("deepseek", "/v1/chat/completions", "authorization", f"Bearer {CANARY}"),
    ],
)
def test_each_provider_url_and_auth(mock: MockProvider, provider: str, path: str, header: str, value: str) -> None:
    response = _client(mock, provider).call(REQUEST)
    assert response.text == "The answer is 42."
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("lookup", '{"q":"42"}')]
    assert response.stop_reason == "tool_use"
    sent = mock.requests[-1]
    assert sent.path == path
    assert sent.headers.get(header) == value
    if provider == "anthropic":
        assert sent.headers.get("anthropic-version") == "2023-06-01"


def test_azure_deployment_url_and_api_key_header(mock: MockProvider) -> None:
    client = Client(
        "azure_openai",
        api_key=CANARY,
        endpoint=mock.base_url,
        deployment="prod-gpt",
        api_version="2024-10-21",
        wire_format="open_ai_chat_completions",
        environ={},
    )
    client.call(REQUEST)
    sent = mock.requests[-1]
    assert sent.path.endswith("/openai/deployments/prod-gpt/chat/completions")
    assert sent.query.get("api-version") == "2024-10-21"
    assert sent.headers.get("api-key") == CANARY


def test_vertex_gemini_with_a_refreshing_token(mock: MockProvider) -> None:
    calls: List[int] = []

    def fetch() -> omnillm.providers.AccessToken:
        calls.append(1)
        return omnillm.providers.AccessToken(f"ya29.token-{len(calls)}", expires_at=10_000.0)

    token = RefreshingToken(fetch, margin=60, now=lambda: 0.0)
    client = Client(
        "vertex_ai",
        credentials=token,
        settings=ProviderSettings(base_url=mock.base_url + "/v1/projects/{project}/locations/{location}"),
        project="proj-1",
        location="europe-west4",
        environ={},
    )
    client.call(REQUEST)
    client.call(REQUEST)
    sent = mock.requests[-1]
    assert sent.path == "/v1/projects/proj-1/locations/europe-west4/publishers/google/models/m-1:generateContent"
    assert sent.headers.get("authorization") == "Bearer ya29.token-1"
    assert len(calls) == 1, "a valid token is reused, not fetched per call"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, omnillm.InvalidRequestError),
        (401, omnillm.AuthenticationError),
        (403, omnillm.PermissionDeniedError),
        (404, omnillm.NotFoundError),
        (422, omnillm.InvalidRequestError),
        (429, omnillm.RateLimitError),
        (500, omnillm.ServerError),
        (503, omnillm.OverloadedError),
        (529, omnillm.OverloadedError),
    ],
)
@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_every_error_status_maps_to_its_class(
    mock: MockProvider, provider: str, status: int, cls: Type[omnillm.ProviderError]
) -> None:
    mock.add_fault(Fault(status=status, retry_after=1 if status == 429 else None))
    with pytest.raises(cls) as info:
        _client(mock, provider).call(REQUEST)
    error = info.value
    assert error.status == status and error.provider == provider
    assert error.provider_message == "injected fault"
    assert error.retryable == (status in (429, 500, 503, 529))
    if status == 429:
        assert error.retry_after == 1


def test_malformed_json_answer_is_a_decode_error(mock: MockProvider) -> None:
    mock.add_fault(Fault(malformed_json=True))
    with pytest.raises(omnillm.DecodeError) as info:
        _client(mock, "openai", wire_format="open_ai_chat_completions").call(REQUEST)
    assert "open_ai_chat_completions" in str(info.value)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "groq"])
def test_stream_yields_events_then_the_complete_response(mock: MockProvider, provider: str) -> None:
    with _client(mock, provider).stream(REQUEST) as stream:
        events = list(stream)
    assert sum(isinstance(e, TextDelta) for e in events) >= 5
    assert stream.completed
    final = stream.response()
    assert final.text == "The answer is 42."
    assert final.tool_calls[0].arguments == '{"q":"42"}'


def test_truncated_stream_raises_with_the_partial_response(mock: MockProvider) -> None:
    mock.add_fault(Fault(truncate_after_events=6))
    stream = _client(mock, "anthropic").stream(REQUEST)
    got: List[Any] = []
    with pytest.raises(omnillm.TruncatedStreamError) as info:
        for event in stream:
            got.append(event)
    assert got, "the deltas before the cut reached the caller"
    partial = info.value.partial
    assert partial is not None and partial.text and "The answer is 42.".startswith(partial.text)


def test_abandoned_stream_gives_its_pool_slot_back(mock: MockProvider) -> None:
    client = _client(mock, "openai", transport=Urllib3Transport(pool_maxsize=1))
    stream = client.stream(REQUEST)
    next(stream)
    stream.close()
    half = client.stream(REQUEST)
    next(half)
    del half
    gc.collect()
    before = mock.connections_opened
    for _ in range(3):
        client.call(REQUEST)
    assert mock.connections_opened - before <= 1


def test_requests_session_transport_per_client(mock: MockProvider) -> None:
    session = requests.Session()
    client = _client(mock, "openai", session=session)
    assert client.call(REQUEST).text == "The answer is 42."
    with client.stream(REQUEST) as stream:
        assert stream.response is not None
        list(stream)
    assert stream.response().text == "The answer is 42."
    assert type(client.transport).__name__ == "RequestsTransport"


def test_planned_capability_is_a_clear_error() -> None:
    client = Client("vertex_ai", credentials=RefreshingToken(lambda: "t"), project="p", environ={})
    with pytest.raises(omnillm.UnsupportedError) as info:
        client.call_api(omnillm.api.EmbeddingRequest(model="text-embedding-005", inputs=["x"]))
    assert "planned" in str(info.value)


def test_missing_credentials_are_a_configuration_error() -> None:
    with pytest.raises(omnillm.ConfigurationError) as info:
        Client("anthropic", environ={}).call(REQUEST)
    assert "ANTHROPIC_API_KEY" in str(info.value) or "credential" in str(info.value).lower()


def test_canary_secret_never_leaks(mock: MockProvider) -> None:
    """Plant a canary key; exercise success and every error path with DEBUG logging; scan all of it."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    seen: List[str] = []
    try:
        for provider in ("openai", "anthropic", "gemini"):
            client = _client(mock, provider)
            seen.append(repr(client))
            seen.append(repr(client.call(REQUEST)))
            with client.stream(REQUEST) as stream:
                seen.extend(repr(e) for e in stream)
            prepared, _, _ = client.prepare(REQUEST)
            seen.append(repr(prepared))
            for fault in (
                Fault(status=401, message=f"Incorrect API key provided: {CANARY}"),
                Fault(status=429, retry_after=1),
                Fault(status=500),
                Fault(reset=True),
                Fault(malformed_json=True),
                Fault(truncate_after_events=3),
            ):
                mock.clear_faults()
                mock.add_fault(fault)
                try:
                    if fault.truncate_after_events:
                        with client.stream(REQUEST) as stream:
                            list(stream)
                    else:
                        client.call(REQUEST)
                except omnillm.OmniLLMError as exc:
                    seen.extend([str(exc), repr(exc), repr(exc.__dict__)])
                    partial = getattr(exc, "partial", None)
                    if partial is not None:
                        seen.append(repr(partial))
            mock.clear_faults()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    seen.append(sink.getvalue())
    assert sink.getvalue(), "DEBUG logging produced records to scan"
    leaks = [text for text in seen if CANARY in text]
    assert leaks == []


@pytest.mark.parametrize("wire_format", ["bedrock_converse", "anthropic_messages"])
def test_bedrock_signed_with_sigv4_over_real_sockets(mock: MockProvider, wire_format: str) -> None:
    """Converse and InvokeModel (Claude), plain and streaming; botocore re-derives our signature."""
    botocore = pytest.importorskip("botocore")
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from omnillm.providers import AwsCredentials

    creds = AwsCredentials("AKIDEXAMPLE", CANARY, "session-token-1")
    client = Client(
        "bedrock", credentials=creds, base_url=mock.base_url, region="us-east-1", wire_format=wire_format, environ={}
    )
    model = LlmRequest(
        model="anthropic.claude-sonnet-4-5-20250929-v1:0", messages=[Message.user("hi")], max_output_tokens=30
    )
    response = client.call(model)
    assert response.text == "The answer is 42." and response.tool_calls[0].name == "lookup"
    with client.stream(model) as stream:
        list(stream)
    assert stream.completed and stream.response().text == "The answer is 42."
    paths = [r.path for r in mock.requests]
    suffixes = (
        ("/converse", "/converse-stream")
        if wire_format == "bedrock_converse"
        else ("/invoke", "/invoke-with-response-stream")
    )
    assert [p.rsplit("/", 1)[-1] for p in paths] == [s.lstrip("/") for s in suffixes]
    for sent in mock.requests:
        auth = sent.headers["authorization"]
        assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") and CANARY not in auth
        assert sent.headers.get("x-amz-security-token") == "session-token-1"
        signed = auth.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
        aws = AWSRequest(
            method=sent.method,
            url=mock.base_url + sent.path,
            data=sent.body,
            headers={h: sent.headers[h] for h in signed if h != "host"},
        )
        aws.context["timestamp"] = sent.headers["x-amz-date"]
        signer = SigV4Auth(Credentials("AKIDEXAMPLE", CANARY, "session-token-1"), "bedrock", "us-east-1")
        expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
        assert auth.endswith(f"Signature={expected}"), "botocore derives the same signature from what arrived"
    assert botocore is not None


AWS_SECRET = "AWS-CANARY-SECRET-wJalrXUtnFEMI"
AWS_TOKEN = "AWS-CANARY-SESSION-IQoJb3JpZ2luX2Vj"


def test_canary_secrets_never_leak_on_any_path(mock: MockProvider) -> None:
    """Bedrock keys and API keys on success, call_api, streams, every error path; DEBUG logs, reprs, messages."""
    from omnillm.api import EmbeddingRequest
    from omnillm.providers import AwsCredentials
    from omnillm.transport import Timeout

    canaries = (CANARY, AWS_SECRET, AWS_TOKEN)
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    seen: List[str] = []

    def record(obj: Any) -> None:
        seen.extend([repr(obj), str(obj)])
        if isinstance(obj, BaseException):
            seen.append(repr(obj.__dict__))
            seen.extend(repr(a) for a in obj.args)
            partial = getattr(obj, "partial", None)
            if partial is not None:
                seen.append(repr(partial))

    bedrock_request = LlmRequest(
        model="anthropic.claude-3-haiku-20240307-v1:0", messages=[Message.user("hi")], max_output_tokens=30
    )
    aws = AwsCredentials("AKIDCANARY", AWS_SECRET, AWS_TOKEN)
    clients = [  # (client, request, the secrets it holds: what a provider could echo back)
        (
            Client("bedrock", credentials=aws, base_url=mock.base_url, region="us-east-1", environ={}),
            bedrock_request,
            (AWS_SECRET, AWS_TOKEN),
        ),
        (_client(mock, "openai"), REQUEST, (CANARY, CANARY)),
        (_client(mock, "anthropic"), REQUEST, (CANARY, CANARY)),
    ]
    refused = f"http://127.0.0.1:{_free_port()}"
    try:
        for client, request, (first, second) in clients:
            record(client)
            record(client.credentials)
            record(client.__dict__)
            record(client.call(request))
            record(client.execute(request))
            with client.stream(request) as stream:
                seen.extend(repr(e) for e in stream)
            record(stream.response())
            record(client.prepare(request)[0])
            for fault in (
                Fault(status=401, message=f"bad key {first}"),
                Fault(status=403, message=f"The security token included in the request is invalid: {second}"),
                Fault(status=404, message=f"no such model for key {first}"),
                Fault(status=400, message=f"secret {first} token {second}"),
                Fault(status=429),
                Fault(latency=0.5),
                Fault(reset=True),
                Fault(reset_after_bytes=20),
                Fault(malformed_json=True),
            ):
                for streamed in (False, True):
                    mock.clear_faults()
                    mock.add_fault(fault)
                    try:
                        if streamed:
                            with client.stream(request, timeout=Timeout(connect=2, read=0.2)) as stream:
                                list(stream)
                        else:
                            client.call(request, timeout=Timeout(connect=2, read=0.2))
                    except omnillm.OmniLLMError as exc:
                        record(exc)
            mock.clear_faults()
            # Oversize body, connection refused.
            oversize = Client(
                client.spec.id,
                credentials=client.credentials,
                base_url=client.settings.base_url,
                region="us-east-1",
                max_response_bytes=10,
                max_stream_bytes=10,
                environ={},
            )
            for streamed in (False, True):
                with pytest.raises(omnillm.ResponseTooLargeError) as info:
                    if streamed:
                        with oversize.stream(request) as stream:
                            list(stream)
                    else:
                        oversize.call(request)
                record(info.value)
            nowhere = Client(
                client.spec.id, credentials=client.credentials, base_url=refused, region="us-east-1", environ={}
            )
            with pytest.raises(omnillm.ConnectionError) as refused_info:
                nowhere.call(request)
            record(refused_info.value)
        # call_api (embeddings) with the API key, success and a 401 echoing it.
        embedder = _client(mock, "openai")
        record(embedder.call_api(EmbeddingRequest(model="text-embedding-3-small", inputs=["hi"])))
        mock.add_fault(Fault(status=401, message=f"Incorrect API key provided: {CANARY}"))
        with pytest.raises(omnillm.AuthenticationError) as auth_info:
            embedder.call_api(EmbeddingRequest(model="text-embedding-3-small", inputs=["hi"]))
        record(auth_info.value)
        mock.clear_faults()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    logs = sink.getvalue()
    assert "omnillm DEBUG" in logs and "urllib3" in logs, "DEBUG logging produced records to scan"
    seen.append(logs)
    # The secrets were on the wire and echoed back in error bodies above: the scan can fail.
    assert any(r.headers.get("x-amz-security-token") == AWS_TOKEN for r in mock.requests)
    assert any(r.key == CANARY for r in mock.requests)
    leaks = [(canary, text[:200]) for text in seen for canary in canaries if canary in text]
    assert leaks == []


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
