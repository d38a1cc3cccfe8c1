"""Provider registry: every provider's URL, headers and auth per format; planned rows refuse.

The URL rules are judged by the official SDKs where they exist (openai's AzureOpenAI,
anthropic's Vertex and Bedrock clients, google-genai), each talking to a real socket on
127.0.0.1 so we can read exactly what they send.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from sdk_server import serve

from omnillm.errors import ConfigurationError, EncodeError, UnsupportedError
from omnillm.http import Bytes, Empty, Json, Multipart, MultipartField, TransportRequest
from omnillm.providers import (
    AccessToken,
    ApiKey,
    AuthScheme,
    AwsCredentials,
    Endpoint,
    ProviderRegistry,
    ProviderSettings,
    ProviderSpec,
    RefreshingToken,
    SupportLevel,
    credentials_from_env,
    embedded_provider_registry,
    format_support_matrix,
    openai_compatible,
    prepare_request,
    settings_from_env,
    sign_request,
    vertex_host,
)
from omnillm.wire import EndpointFamily, WireFormat

ROOT = Path(__file__).resolve().parents[1]
W = WireFormat
NOW = datetime(2025, 1, 1, 12, 30, tzinfo=timezone.utc)
KEY = "sk-test-1234567890"
AWS = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

#: The relative path each codec emits (the seam described in the issue).
CODEC_PATH: Dict[WireFormat, str] = {
    W.OPEN_AI_RESPONSES: "/responses",
    W.OPEN_AI_CHAT_COMPLETIONS: "/chat/completions",
    W.ANTHROPIC_MESSAGES: "/messages",
    W.GEMINI_GENERATE_CONTENT: "/models/gemini-2.5-flash:generateContent",
    W.BEDROCK_CONVERSE: "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
    W.OPEN_AI_EMBEDDINGS: "/embeddings",
    W.OPEN_AI_IMAGE_GENERATIONS: "/images/generations",
    W.OPEN_AI_AUDIO_TRANSCRIPTIONS: "/audio/transcriptions",
    W.OPEN_AI_AUDIO_SPEECH: "/audio/speech",
    W.OPEN_AI_RERANK: "/rerank",
    W.GEMINI_EMBED_CONTENT: "/models/gemini-embedding-001:embedContent",
}

EVERYTHING = ProviderSettings(resource="myres", api_version="2024-10-21", project="my-proj", location="us-central1")


def body_for(fmt: WireFormat, model: str = "m-1") -> Any:
    if fmt is W.OPEN_AI_AUDIO_TRANSCRIPTIONS:
        return Multipart(
            (MultipartField("model", model), MultipartField("file", b"RIFF", "a.wav", "audio/wav")), boundary="b0"
        )
    if fmt is W.ANTHROPIC_MESSAGES:
        return Json({"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
    return Json({"model": model})


def request_for(fmt: WireFormat, model: str = "m-1") -> TransportRequest:
    return TransportRequest("POST", CODEC_PATH[fmt], body=body_for(fmt, model))


def credential_for(spec: ProviderSpec) -> Any:
    if spec.auth is AuthScheme.GOOGLE_OAUTH2:
        return RefreshingToken(lambda: AccessToken("ya29.token", expires_at=None))
    if spec.auth is AuthScheme.AWS_SIGV4:
        return AWS
    return ApiKey(KEY)


def settings_for(spec: ProviderSpec) -> ProviderSettings:
    if spec.id == "bedrock":
        return ProviderSettings(region="us-east-1")
    return EVERYTHING


REGISTRY = embedded_provider_registry()
USABLE: List[Tuple[str, WireFormat]] = [
    (spec.id, e.wire_format) for spec in REGISTRY for e in spec.endpoints if e.level is not SupportLevel.PLANNED
]
PLANNED: List[Tuple[str, WireFormat]] = [
    (spec.id, e.wire_format) for spec in REGISTRY for e in spec.endpoints if e.level is SupportLevel.PLANNED
]


# --------------------------------------------------------------------------- the registry as data


def test_the_issue_providers_are_all_there() -> None:
    ids = set(REGISTRY.ids())
    expected = {"openai", "azure_openai", "azure_openai_v1", "anthropic", "gemini", "vertex_ai", "bedrock"}
    compatible = {"vllm", "ollama", "openrouter", "groq", "together", "deepseek", "mistral", "fireworks", "xai"}
    assert expected | compatible <= ids


def test_registry_is_plain_data() -> None:
    data = REGISTRY.to_data()
    assert json.loads(json.dumps(data)) == data
    anthropic = next(row for row in data if row["id"] == "anthropic")
    assert anthropic["display_name"] == "Anthropic"
    assert anthropic["base_url"] == "https://api.anthropic.com/v1"
    assert anthropic["auth"] == "x-api-key"
    assert anthropic["headers"] == {"anthropic-version": "2023-06-01"}
    assert anthropic["endpoints"] == [
        {
            "family": "generation",
            "wire_format": "anthropic_messages",
            "level": "native",
            "base_path": "",
            "auth": None,
            "note": "",
        }
    ]
    vertex = next(row for row in data if row["id"] == "vertex_ai")
    assert "{project}" in vertex["base_url"] and "{location}" in vertex["base_url"]


def test_every_row_lists_levels_and_env_vars() -> None:
    for spec in REGISTRY:
        assert spec.endpoints, spec.id
        for endpoint in spec.endpoints:
            assert endpoint.level in set(SupportLevel)
            assert endpoint.family in set(EndpointFamily)
        if spec.api_key_required and spec.auth not in (AuthScheme.GOOGLE_OAUTH2, AuthScheme.AWS_SIGV4):
            assert spec.api_key_env, f"{spec.id} needs a key but names no variable"


def test_each_call_returns_an_independent_registry() -> None:
    one, two = embedded_provider_registry(), embedded_provider_registry()
    one.register(openai_compatible("acme", "Acme", "https://api.acme.test/v1", api_key_env="ACME_API_KEY"))
    assert "acme" in one and "acme" not in two


def test_register_refuses_duplicates_unless_replacing() -> None:
    registry = embedded_provider_registry()
    row = openai_compatible("openai", "Shadow", "https://shadow.test/v1", api_key_env="X")
    with pytest.raises(ConfigurationError, match="already registered"):
        registry.register(row)
    registry.register(row, replace=True)
    assert registry["openai"].display_name == "Shadow"


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match="unknown provider 'nope'; known providers: openai"):
        REGISTRY.get("nope")


def test_bad_rows_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="provider id"):
        openai_compatible("Bad Id", "x", "https://x.test")
    with pytest.raises(ConfigurationError, match="listed twice"):
        ProviderSpec("x", "X", "https://x.test", (Endpoint(W.OPEN_AI_EMBEDDINGS), Endpoint(W.OPEN_AI_EMBEDDINGS)))
    with pytest.raises(ConfigurationError, match="not a provider setting"):
        ProviderSpec("x", "X", "https://{tenant}.x.test", (Endpoint(W.OPEN_AI_EMBEDDINGS),))
    with pytest.raises(ConfigurationError, match="signing_service"):
        ProviderSpec("x", "X", "https://x.test", (Endpoint(W.BEDROCK_CONVERSE),), auth=AuthScheme.AWS_SIGV4)


# --------------------------------------------------------------------------- the matrix


def test_matrix_lists_every_provider_endpoint_and_level() -> None:
    text = format_support_matrix(REGISTRY)
    lines = text.splitlines()
    assert lines[0].split() == ["provider", "name", "family", "wire", "format", "level"]
    for spec in REGISTRY:
        assert any(line.startswith(spec.id + " ") for line in lines), spec.id
    rows = [line for line in lines[2:] if line and not line.startswith("levels:")]
    assert len(rows) == sum(len(spec.endpoints) for spec in REGISTRY)
    vertex = lines.index(next(line for line in lines if line.startswith("vertex_ai ")))
    block = lines[vertex : vertex + 4]
    assert [line.split()[-2:] for line in block] == [
        ["gemini_generate_content", "native"],
        ["anthropic_messages", "compatible"],
        ["open_ai_chat_completions", "planned"],
        ["gemini_embed_content", "planned"],
    ]
    # Fixed width: every row's wire format starts under the header's.
    column = lines[0].index("wire format")
    assert all(row[column:].split()[0] in {f.value for f in WireFormat} for row in rows)


def test_docs_show_the_generated_matrix() -> None:
    docs = (ROOT / "docs" / "providers.rst").read_text(encoding="utf-8")
    indented = "\n".join(("   " + line).rstrip() for line in format_support_matrix(REGISTRY).splitlines())
    assert indented in docs, "docs/providers.rst is stale: paste format_support_matrix() output"


# --------------------------------------------------------------------------- every usable endpoint


def auth_value(prepared: TransportRequest, spec: ProviderSpec, endpoint: Endpoint) -> Tuple[str, str]:
    scheme = endpoint.auth or spec.auth
    if scheme is AuthScheme.AWS_SIGV4:
        return "Authorization", prepared.headers["Authorization"]
    name = {
        AuthScheme.API_KEY: "api-key",
        AuthScheme.X_API_KEY: "x-api-key",
        AuthScheme.X_GOOG_API_KEY: "x-goog-api-key",
    }.get(scheme, "Authorization")
    return name, prepared.headers[name]


@pytest.mark.parametrize(("provider_id", "fmt"), USABLE, ids=[f"{p}-{f.value}" for p, f in USABLE])
def test_every_usable_endpoint_prepares(provider_id: str, fmt: WireFormat) -> None:
    spec = REGISTRY[provider_id]
    endpoint = spec.endpoint(fmt)
    prepared = prepare_request(
        spec, request_for(fmt), wire_format=fmt, credentials=credential_for(spec), settings=settings_for(spec), now=NOW
    )
    assert prepared.url.startswith(("https://", "http://"))
    assert "{" not in prepared.url
    name, value = auth_value(prepared, spec, endpoint)
    if spec.auth is AuthScheme.GOOGLE_OAUTH2:
        assert value == "Bearer ya29.token"
    elif spec.auth is AuthScheme.AWS_SIGV4:
        assert value.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, ")
    elif name == "Authorization":
        assert value == f"Bearer {KEY}"
    else:
        assert value == KEY
    if spec.adapter.value == "direct" and "{" not in spec.base_url:
        assert prepared.url == spec.base_url + endpoint.base_path + CODEC_PATH[fmt]
    assert prepared.headers.get("content-type") == request_for(fmt).body.content_type


@pytest.mark.parametrize(("provider_id", "fmt"), PLANNED, ids=[f"{p}-{f.value}" for p, f in PLANNED])
def test_planned_endpoints_refuse_clearly(provider_id: str, fmt: WireFormat) -> None:
    spec = REGISTRY[provider_id]
    with pytest.raises(UnsupportedError, match=rf"^{provider_id}: {fmt.value} \(\w+\) is planned, not implemented yet"):
        prepare_request(spec, request_for(fmt), wire_format=fmt, credentials=credential_for(spec), settings=EVERYTHING)
    assert spec.endpoint(fmt, allow_planned=True).level is SupportLevel.PLANNED


def test_unlisted_format_names_what_is_available() -> None:
    with pytest.raises(UnsupportedError, match="anthropic does not speak open_ai_embeddings; available: anthropic_m"):
        prepare_request(REGISTRY["anthropic"], request_for(W.OPEN_AI_EMBEDDINGS), wire_format="open_ai_embeddings")


# --------------------------------------------------------------------------- per-provider facts

NATIVE_URLS = [
    ("openai", W.OPEN_AI_RESPONSES, "https://api.openai.com/v1/responses"),
    ("openai", W.OPEN_AI_CHAT_COMPLETIONS, "https://api.openai.com/v1/chat/completions"),
    ("openai", W.OPEN_AI_EMBEDDINGS, "https://api.openai.com/v1/embeddings"),
    ("openai", W.OPEN_AI_IMAGE_GENERATIONS, "https://api.openai.com/v1/images/generations"),
    ("openai", W.OPEN_AI_AUDIO_TRANSCRIPTIONS, "https://api.openai.com/v1/audio/transcriptions"),
    ("openai", W.OPEN_AI_AUDIO_SPEECH, "https://api.openai.com/v1/audio/speech"),
    (
        "azure_openai",
        W.OPEN_AI_CHAT_COMPLETIONS,
        "https://myres.openai.azure.com/openai/deployments/m-1/chat/completions",
    ),
    ("azure_openai", W.OPEN_AI_RESPONSES, "https://myres.openai.azure.com/openai/responses"),
    ("azure_openai", W.OPEN_AI_EMBEDDINGS, "https://myres.openai.azure.com/openai/deployments/m-1/embeddings"),
    (
        "azure_openai",
        W.OPEN_AI_AUDIO_TRANSCRIPTIONS,
        "https://myres.openai.azure.com/openai/deployments/m-1/audio/transcriptions",
    ),
    ("azure_openai_v1", W.OPEN_AI_CHAT_COMPLETIONS, "https://myres.openai.azure.com/openai/v1/chat/completions"),
    ("azure_openai_v1", W.OPEN_AI_RESPONSES, "https://myres.openai.azure.com/openai/v1/responses"),
    ("anthropic", W.ANTHROPIC_MESSAGES, "https://api.anthropic.com/v1/messages"),
    (
        "gemini",
        W.GEMINI_GENERATE_CONTENT,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
    ),
    (
        "gemini",
        W.GEMINI_EMBED_CONTENT,
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:embedContent",
    ),
    ("gemini", W.OPEN_AI_CHAT_COMPLETIONS, "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"),
    (
        "vertex_ai",
        W.GEMINI_GENERATE_CONTENT,
        "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-central1"
        "/publishers/google/models/gemini-2.5-flash:generateContent",
    ),
    (
        "vertex_ai",
        W.ANTHROPIC_MESSAGES,
        "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-central1"
        "/publishers/anthropic/models/m-1:rawPredict",
    ),
    (
        "bedrock",
        W.BEDROCK_CONVERSE,
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse",
    ),
    ("bedrock", W.ANTHROPIC_MESSAGES, "https://bedrock-runtime.us-east-1.amazonaws.com/model/m-1/invoke"),
]


@pytest.mark.parametrize(("provider_id", "fmt", "url"), NATIVE_URLS, ids=[f"{p}-{f.value}" for p, f, _ in NATIVE_URLS])
def test_native_urls(provider_id: str, fmt: WireFormat, url: str) -> None:
    spec = REGISTRY[provider_id]
    prepared = prepare_request(
        spec, request_for(fmt), wire_format=fmt, credentials=credential_for(spec), settings=settings_for(spec), now=NOW
    )
    assert prepared.url == url
    if provider_id == "azure_openai":
        assert prepared.query == [("api-version", "2024-10-21")]
        assert prepared.full_url() == f"{url}?api-version=2024-10-21"
    elif provider_id != "bedrock":
        assert prepared.query == []


def test_anthropic_headers_version_and_betas() -> None:
    spec = REGISTRY["anthropic"]
    plain = prepare_request(spec, request_for(W.ANTHROPIC_MESSAGES), wire_format="anthropic_messages", credentials=KEY)
    assert plain.headers["anthropic-version"] == "2023-06-01"
    assert plain.headers["x-api-key"] == KEY
    assert "authorization" not in plain.headers and "anthropic-beta" not in plain.headers
    tuned = prepare_request(
        spec,
        request_for(W.ANTHROPIC_MESSAGES),
        wire_format="anthropic_messages",
        credentials=KEY,
        settings=ProviderSettings(
            anthropic_version="2026-10-21", anthropic_beta="files-api-2025-04-14, context-1m-2025-08-07", auth="bearer"
        ),
    )
    assert tuned.headers["anthropic-version"] == "2026-10-21"
    assert tuned.headers["anthropic-beta"] == "files-api-2025-04-14,context-1m-2025-08-07"
    assert tuned.headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in tuned.headers


def test_anthropic_messages_on_a_compatible_server_gets_the_version_header() -> None:
    prepared = prepare_request(REGISTRY["vllm"], request_for(W.ANTHROPIC_MESSAGES), wire_format="anthropic_messages")
    assert prepared.url == "http://localhost:8000/v1/messages"
    assert prepared.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in prepared.headers  # vLLM without --api-key takes none


def test_gemini_stream_keeps_alt_sse_and_uses_the_goog_key() -> None:
    request = TransportRequest(
        "POST", "/models/gemini-2.5-flash:streamGenerateContent", query=[("alt", "sse")], body=Json({})
    )
    prepared = prepare_request(REGISTRY["gemini"], request, wire_format="gemini_generate_content", credentials=KEY)
    assert prepared.full_url() == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    )
    assert prepared.headers["x-goog-api-key"] == KEY
    inline = TransportRequest("POST", "/models/gemini-2.5-flash:streamGenerateContent?alt=sse", body=Json({}))
    again = prepare_request(REGISTRY["gemini"], inline, wire_format="gemini_generate_content", credentials=KEY)
    assert again.full_url() == prepared.full_url()


def test_gemini_openai_surface_uses_bearer() -> None:
    prepared = prepare_request(
        REGISTRY["gemini"], request_for(W.OPEN_AI_EMBEDDINGS), wire_format="open_ai_embeddings", credentials=KEY
    )
    assert prepared.url == "https://generativelanguage.googleapis.com/v1beta/openai/embeddings"
    assert prepared.headers["authorization"] == f"Bearer {KEY}"
    assert "x-goog-api-key" not in prepared.headers


@pytest.mark.parametrize(
    ("location", "host"),
    [
        ("global", "aiplatform.googleapis.com"),
        ("us", "aiplatform.us.rep.googleapis.com"),
        ("eu", "aiplatform.eu.rep.googleapis.com"),
        ("europe-west4", "europe-west4-aiplatform.googleapis.com"),
    ],
)
def test_vertex_hosts(location: str, host: str) -> None:
    assert vertex_host(location) == host
    prepared = prepare_request(
        REGISTRY["vertex_ai"],
        request_for(W.GEMINI_GENERATE_CONTENT),
        wire_format="gemini_generate_content",
        credentials=credential_for(REGISTRY["vertex_ai"]),
        settings=ProviderSettings(project="p-1", location=location),
    )
    assert prepared.url == (
        f"https://{host}/v1/projects/p-1/locations/{location}/publishers/google/models/gemini-2.5-flash:generateContent"
    )


def test_vertex_location_defaults_to_global() -> None:
    prepared = prepare_request(
        REGISTRY["vertex_ai"],
        request_for(W.GEMINI_GENERATE_CONTENT),
        wire_format="gemini_generate_content",
        credentials=credential_for(REGISTRY["vertex_ai"]),
        settings=ProviderSettings(project="p-1"),
    )
    assert prepared.url.startswith("https://aiplatform.googleapis.com/v1/projects/p-1/locations/global/")


def test_vertex_anthropic_body_rewrite() -> None:
    body = {"model": "claude-sonnet-4-5@20250929", "max_tokens": 5, "messages": [], "stream": True}
    prepared = prepare_request(
        REGISTRY["vertex_ai"],
        TransportRequest("POST", "/messages", body=Json(body)),
        wire_format="anthropic_messages",
        credentials=credential_for(REGISTRY["vertex_ai"]),
        settings=ProviderSettings(project="p-1", location="us-east5", anthropic_beta=("b-1",)),
    )
    assert prepared.url.endswith("/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict")
    assert isinstance(prepared.body, Json)
    assert prepared.body.value == {
        "max_tokens": 5,
        "messages": [],
        "stream": True,
        "anthropic_version": "vertex-2023-10-16",
    }
    assert body["model"] == "claude-sonnet-4-5@20250929"  # the caller's dict is untouched
    assert prepared.headers["anthropic-beta"] == "b-1"
    assert "anthropic-version" not in prepared.headers
    assert prepared.headers["authorization"] == "Bearer ya29.token"


def test_vertex_anthropic_count_tokens_keeps_the_model() -> None:
    prepared = prepare_request(
        REGISTRY["vertex_ai"],
        TransportRequest("POST", "/messages/count_tokens", body=Json({"model": "claude-x", "messages": []})),
        wire_format="anthropic_messages",
        credentials=credential_for(REGISTRY["vertex_ai"]),
        settings=ProviderSettings(project="p-1", location="global"),
    )
    assert prepared.url.endswith("/locations/global/publishers/anthropic/models/count-tokens:rawPredict")
    assert isinstance(prepared.body, Json) and prepared.body.value["model"] == "claude-x"


def test_vertex_refuses_api_keys_and_needs_a_project() -> None:
    spec = REGISTRY["vertex_ai"]
    with pytest.raises(ConfigurationError, match="OAuth2 access tokens"):
        prepare_request(
            spec,
            request_for(W.GEMINI_GENERATE_CONTENT),
            wire_format="gemini_generate_content",
            credentials=KEY,
            settings=ProviderSettings(project="p"),
        )
    with pytest.raises(ConfigurationError, match=r"'project' setting is required.*GOOGLE_CLOUD_PROJECT"):
        prepare_request(
            spec,
            request_for(W.GEMINI_GENERATE_CONTENT),
            wire_format="gemini_generate_content",
            credentials=credential_for(spec),
        )
    with pytest.raises(ConfigurationError, match="no credentials: pass a token source"):
        prepare_request(
            spec,
            request_for(W.GEMINI_GENERATE_CONTENT),
            wire_format="gemini_generate_content",
            settings=ProviderSettings(project="p"),
        )


def test_bedrock_invoke_body_rewrite_and_signature() -> None:
    spec = REGISTRY["bedrock"]
    body = {
        "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "max_tokens": 5,
        "messages": [],
        "stream": True,
    }
    request = TransportRequest("POST", "/messages", headers={"anthropic-beta": "a-1,b-2"}, body=Json(body))
    prepared = prepare_request(
        spec,
        request,
        wire_format="anthropic_messages",
        credentials=AWS,
        settings=ProviderSettings(region="eu-west-1"),
        now=NOW,
    )
    assert prepared.url == (
        "https://bedrock-runtime.eu-west-1.amazonaws.com/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        "/invoke-with-response-stream"
    )
    assert isinstance(prepared.body, Bytes)
    sent = json.loads(prepared.body_bytes())
    assert sent == {
        "max_tokens": 5,
        "messages": [],
        "anthropic_version": "bedrock-2023-05-31",
        "anthropic_beta": ["a-1", "b-2"],
    }
    # Auth came last: the signature covers these exact bytes, URL and headers.
    unsigned = [(k, v) for k, v in prepared.headers.items() if k.lower() not in ("authorization", "x-amz-date")]
    again = sign_request(
        "POST",
        prepared.url,
        unsigned,
        prepared.body_bytes(),
        credentials=AWS,
        region="eu-west-1",
        service="bedrock",
        now=NOW,
    )
    assert prepared.headers["Authorization"] == again["Authorization"]
    assert prepared.headers["X-Amz-Date"] == "20250101T123000Z"
    assert "content-type;host;x-amz-date" in prepared.headers["Authorization"]


def test_bedrock_model_arn_stays_one_segment() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-x-v1:0"
    prepared = prepare_request(
        REGISTRY["bedrock"],
        request_for(W.ANTHROPIC_MESSAGES, arn),
        wire_format="anthropic_messages",
        credentials=AWS,
        settings=ProviderSettings(region="us-east-1"),
        now=NOW,
    )
    assert prepared.url.endswith(
        "/model/arn:aws:bedrock:us-east-1:123456789012:inference-profile%2Fus.anthropic.claude-x-v1:0/invoke"
    )


def test_bedrock_query_is_folded_into_the_signed_url() -> None:
    request = TransportRequest(
        "POST", CODEC_PATH[W.BEDROCK_CONVERSE], query=[("b", "x y"), ("a", "1+1")], body=Json({"messages": []})
    )
    prepared = prepare_request(
        REGISTRY["bedrock"],
        request,
        wire_format="bedrock_converse",
        credentials=AWS,
        settings=ProviderSettings(region="us-east-1"),
        now=NOW,
    )
    assert prepared.query == []
    assert prepared.url.endswith("/converse?b=x%20y&a=1%2B1")


def test_bedrock_api_key_is_a_bearer_token_and_region_is_required() -> None:
    spec = REGISTRY["bedrock"]
    prepared = prepare_request(
        spec,
        request_for(W.BEDROCK_CONVERSE),
        wire_format="bedrock_converse",
        credentials=KEY,
        settings=ProviderSettings(region="us-west-2"),
    )
    assert prepared.headers["authorization"] == f"Bearer {KEY}"
    assert isinstance(prepared.body, Json)
    with pytest.raises(ConfigurationError, match=r"'region' setting is required.*AWS_REGION / AWS_DEFAULT_REGION"):
        prepare_request(spec, request_for(W.BEDROCK_CONVERSE), wire_format="bedrock_converse", credentials=AWS)


def test_bedrock_refuses_token_counting() -> None:
    with pytest.raises(UnsupportedError, match="not available through Bedrock InvokeModel"):
        prepare_request(
            REGISTRY["bedrock"],
            TransportRequest("POST", "/messages/count_tokens", body=Json({"model": "m", "messages": []})),
            wire_format="anthropic_messages",
            credentials=AWS,
            settings=ProviderSettings(region="us-east-1"),
        )


def test_azure_deployment_setting_wins_and_api_version_is_required() -> None:
    spec = REGISTRY["azure_openai"]
    prepared = prepare_request(
        spec,
        request_for(W.OPEN_AI_CHAT_COMPLETIONS),
        wire_format="open_ai_chat_completions",
        credentials=KEY,
        settings=ProviderSettings(endpoint="https://east.openai.azure.com/", deployment="prod gpt", api_version="v"),
    )
    assert prepared.url == "https://east.openai.azure.com/openai/deployments/prod%20gpt/chat/completions"
    assert prepared.headers["api-key"] == KEY
    with pytest.raises(ConfigurationError, match=r"'api_version' setting is required.*OPENAI_API_VERSION"):
        prepare_request(
            spec,
            request_for(W.OPEN_AI_CHAT_COMPLETIONS),
            wire_format="open_ai_chat_completions",
            credentials=KEY,
            settings=ProviderSettings(resource="r"),
        )
    with pytest.raises(ConfigurationError, match=r"'endpoint' setting is required.*AZURE_OPENAI_ENDPOINT"):
        prepare_request(
            spec,
            request_for(W.OPEN_AI_CHAT_COMPLETIONS),
            wire_format="open_ai_chat_completions",
            credentials=KEY,
            settings=ProviderSettings(api_version="v"),
        )


def test_azure_entra_token_goes_as_bearer() -> None:
    prepared = prepare_request(
        REGISTRY["azure_openai"],
        request_for(W.OPEN_AI_EMBEDDINGS),
        wire_format="open_ai_embeddings",
        credentials=RefreshingToken(lambda: "entra-token"),
        settings=EVERYTHING,
    )
    assert prepared.headers["authorization"] == "Bearer entra-token"
    assert "api-key" not in prepared.headers


@pytest.mark.parametrize(
    "settings",
    [
        ProviderSettings(region="us-east-1.evil.test/#"),
        ProviderSettings(region="us_east_1"),
        ProviderSettings(region="-us"),
    ],
)
def test_host_settings_cannot_inject_hosts(settings: ProviderSettings) -> None:
    with pytest.raises(ConfigurationError, match="not a valid region"):
        prepare_request(
            REGISTRY["bedrock"],
            request_for(W.BEDROCK_CONVERSE),
            wire_format="bedrock_converse",
            credentials=AWS,
            settings=settings,
        )


def test_endpoint_must_be_a_url() -> None:
    with pytest.raises(ConfigurationError, match="endpoint must be an http"):
        prepare_request(
            REGISTRY["azure_openai_v1"],
            request_for(W.OPEN_AI_RESPONSES),
            wire_format="open_ai_responses",
            credentials=KEY,
            settings=ProviderSettings(endpoint="myres.openai.azure.com"),
        )


def test_base_url_override_per_client() -> None:
    settings = ProviderSettings(base_url="http://127.0.0.1:9999/proxy/v1/", headers={"X-Team": "search"})
    prepared = prepare_request(
        REGISTRY["openai"],
        request_for(W.OPEN_AI_CHAT_COMPLETIONS),
        wire_format="open_ai_chat_completions",
        credentials=KEY,
        settings=settings,
    )
    assert prepared.url == "http://127.0.0.1:9999/proxy/v1/chat/completions"
    assert prepared.headers["x-team"] == "search"
    vertex = prepare_request(
        REGISTRY["vertex_ai"],
        request_for(W.GEMINI_GENERATE_CONTENT),
        wire_format="gemini_generate_content",
        credentials=credential_for(REGISTRY["vertex_ai"]),
        settings=ProviderSettings(base_url="https://gw.test/vertex/{project}", project="p-2"),
    )
    assert vertex.url == "https://gw.test/vertex/p-2/publishers/google/models/gemini-2.5-flash:generateContent"


def test_absolute_urls_are_kept() -> None:
    request = TransportRequest("POST", "https://elsewhere.test/v1/chat/completions", body=Json({}))
    prepared = prepare_request(REGISTRY["groq"], request, wire_format="open_ai_chat_completions", credentials=KEY)
    assert prepared.url == "https://elsewhere.test/v1/chat/completions"
    assert prepared.headers["authorization"] == f"Bearer {KEY}"


def test_missing_key_names_the_variable_and_supplied_headers_count() -> None:
    with pytest.raises(ConfigurationError, match="groq: no credentials: pass an API key or set GROQ_API_KEY"):
        prepare_request(
            REGISTRY["groq"], request_for(W.OPEN_AI_CHAT_COMPLETIONS), wire_format="open_ai_chat_completions"
        )
    gateway = ProviderSettings(headers={"Authorization": "Bearer gateway-token"})
    prepared = prepare_request(
        REGISTRY["groq"],
        request_for(W.OPEN_AI_CHAT_COMPLETIONS),
        wire_format="open_ai_chat_completions",
        settings=gateway,
    )
    assert prepared.headers["authorization"] == "Bearer gateway-token"


def test_aws_credentials_are_refused_where_sigv4_does_not_apply() -> None:
    with pytest.raises(ConfigurationError, match="does not use AWS SigV4"):
        prepare_request(
            REGISTRY["openai"], request_for(W.OPEN_AI_RESPONSES), wire_format="open_ai_responses", credentials=AWS
        )


def test_model_must_make_a_path_segment() -> None:
    with pytest.raises(EncodeError, match="anthropic_messages: model"):
        prepare_request(
            REGISTRY["bedrock"],
            request_for(W.ANTHROPIC_MESSAGES, ".."),
            wire_format="anthropic_messages",
            credentials=AWS,
            settings=ProviderSettings(region="us-east-1"),
        )
    with pytest.raises(EncodeError, match="needs a JSON object body"):
        prepare_request(
            REGISTRY["bedrock"],
            TransportRequest("POST", "/messages", body=Empty()),
            wire_format="anthropic_messages",
            credentials=AWS,
            settings=ProviderSettings(region="us-east-1"),
        )


def test_prepare_does_not_touch_the_input_request() -> None:
    request = request_for(W.ANTHROPIC_MESSAGES)
    before = (request.url, request.headers.items(), request.query, request.body)
    prepare_request(
        REGISTRY["bedrock"],
        request,
        wire_format="anthropic_messages",
        credentials=AWS,
        settings=ProviderSettings(region="us-east-1", anthropic_beta=("x",)),
        now=NOW,
    )
    assert (request.url, request.headers.items(), request.query, request.body) == before


def test_secrets_stay_out_of_reprs_and_errors() -> None:
    prepared = prepare_request(
        REGISTRY["anthropic"], request_for(W.ANTHROPIC_MESSAGES), wire_format="anthropic_messages", credentials=KEY
    )
    assert KEY not in repr(prepared)
    signed = prepare_request(
        REGISTRY["bedrock"],
        request_for(W.BEDROCK_CONVERSE),
        wire_format="bedrock_converse",
        credentials=AwsCredentials("AKIDEXAMPLE", "s3cr3t", "tok3n"),
        settings=ProviderSettings(region="us-east-1"),
    )
    assert "s3cr3t" not in repr(signed) and "tok3n" not in repr(signed)
    with pytest.raises(ConfigurationError) as caught:
        prepare_request(
            REGISTRY["vertex_ai"],
            request_for(W.GEMINI_GENERATE_CONTENT),
            wire_format="gemini_generate_content",
            credentials=KEY,
            settings=ProviderSettings(project="p"),
        )
    assert KEY not in str(caught.value)


# --------------------------------------------------------------------------- adding a provider is one row


def test_adding_an_openai_compatible_provider_is_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = embedded_provider_registry()
    registry.register(openai_compatible("acme", "Acme Inference", "https://api.acme.test/v1", api_key_env="ACME_KEY"))
    spec = registry["acme"]
    monkeypatch.setenv("ACME_KEY", "acme-secret")
    prepared = prepare_request(
        spec,
        request_for(W.OPEN_AI_CHAT_COMPLETIONS),
        wire_format="open_ai_chat_completions",
        credentials=credentials_from_env(spec),
        settings=settings_from_env(spec),
    )
    assert prepared.url == "https://api.acme.test/v1/chat/completions"
    assert prepared.headers["authorization"] == "Bearer acme-secret"
    assert "acme" in format_support_matrix(registry)
    with pytest.raises(UnsupportedError, match="acme does not speak open_ai_responses"):
        prepare_request(spec, request_for(W.OPEN_AI_RESPONSES), wire_format="open_ai_responses", credentials=KEY)


def test_a_plain_registry_can_be_built_from_rows() -> None:
    rows = [openai_compatible("a", "A", "https://a.test/v1"), openai_compatible("b", "B", "https://b.test/v1")]
    registry = ProviderRegistry(rows)
    assert [s.id for s in registry] == ["a", "b"] and len(registry) == 2


# --------------------------------------------------------------------------- environment


def test_credentials_from_env() -> None:
    env = {"GEMINI_API_KEY": "gem", "GOOGLE_API_KEY": "goo", "ANTHROPIC_API_KEY": " ", "OPENAI_API_KEY": "oa"}
    assert credentials_from_env(REGISTRY["gemini"], env) == ApiKey("goo")  # google-genai's precedence
    assert credentials_from_env(REGISTRY["anthropic"], env) is None  # blank is unset
    assert credentials_from_env(REGISTRY["openai"], env) == ApiKey("oa")
    aws = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "sec", "AWS_SESSION_TOKEN": "tok"}
    assert credentials_from_env(REGISTRY["bedrock"], aws) == AwsCredentials("AKID", "sec", "tok")
    assert credentials_from_env(REGISTRY["bedrock"], {"AWS_ACCESS_KEY_ID": "AKID"}) is None
    assert credentials_from_env(REGISTRY["bedrock"], {**aws, "AWS_BEARER_TOKEN_BEDROCK": "br"}) == ApiKey("br")
    assert credentials_from_env(REGISTRY["vertex_ai"], env) is None


def test_settings_from_env_fill_only_what_is_unset() -> None:
    env = {
        "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com",
        "OPENAI_API_VERSION": "2024-10-21",
        "GOOGLE_CLOUD_PROJECT": "proj",
        "GOOGLE_CLOUD_LOCATION": "us",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "",
        "VLLM_BASE_URL": "http://gpu-box:8000/v1",
    }
    azure = settings_from_env(REGISTRY["azure_openai"], ProviderSettings(api_version="preview"), env)
    assert (azure.endpoint, azure.api_version) == ("https://r.openai.azure.com", "preview")
    vertex = settings_from_env(REGISTRY["vertex_ai"], None, env)
    assert (vertex.project, vertex.location) == ("proj", "us")
    assert settings_from_env(REGISTRY["bedrock"], None, env).region == "eu-west-1"
    assert settings_from_env(REGISTRY["bedrock"], None, {**env, "AWS_REGION": "us-east-2"}).region == "us-east-2"
    vllm = settings_from_env(REGISTRY["vllm"], None, env)
    prepared = prepare_request(
        REGISTRY["vllm"], request_for(W.OPEN_AI_RERANK), wire_format="open_ai_rerank", settings=vllm
    )
    assert prepared.url == "http://gpu-box:8000/v1/rerank"


def test_env_example_documents_every_variable() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = {line.split("=", 1)[0].lstrip("# ").strip() for line in text.splitlines() if "=" in line}
    wanted = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    for spec in REGISTRY:
        wanted.update(spec.api_key_env)
        wanted.update(v for variables in spec.settings_env.values() for v in variables)
        if spec.base_url_env:
            wanted.add(spec.base_url_env)
    assert wanted <= documented, sorted(wanted - documented)


# --------------------------------------------------------------------------- the SDKs as judges

ANTHROPIC_ANSWER = json.dumps(
    {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
)
CHAT_ANSWER = json.dumps(
    {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    }
)
EMBEDDINGS_ANSWER = json.dumps(
    {
        "object": "list",
        "model": "m",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}],
        "usage": {"prompt_tokens": 1, "total_tokens": 1},
    }
)
GEMINI_ANSWER = json.dumps({"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}}]})


def lower(headers: Dict[str, str]) -> Dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_azure_classic_matches_openai_sdk() -> None:
    openai = pytest.importorskip("openai")
    spec = REGISTRY["azure_openai"]
    for answer, call, fmt, codec_body in [
        (
            CHAT_ANSWER,
            lambda c: c.chat.completions.create(model="dep-1", messages=[{"role": "user", "content": "hi"}]),
            W.OPEN_AI_CHAT_COMPLETIONS,
            {"model": "dep-1", "messages": [{"role": "user", "content": "hi"}]},
        ),
        (
            EMBEDDINGS_ANSWER,
            lambda c: c.embeddings.create(model="emb-1", input="hi", encoding_format="float"),
            W.OPEN_AI_EMBEDDINGS,
            {"model": "emb-1", "input": "hi", "encoding_format": "float"},
        ),
    ]:
        with serve(answer, "application/json") as server:
            client = openai.AzureOpenAI(
                api_key=KEY, api_version="2024-10-21", azure_endpoint=server.base_url, max_retries=0
            )
            call(client)
            client.close()
            _, sdk_path, sdk_headers, _ = server.requests[0]
            ours = prepare_request(
                spec,
                TransportRequest("POST", CODEC_PATH[fmt], body=Json(codec_body)),
                wire_format=fmt,
                credentials=KEY,
                settings=ProviderSettings(endpoint=server.base_url, api_version="2024-10-21"),
            )
            assert path_of(ours.full_url()) == sdk_path
            assert lower(sdk_headers)["api-key"] == ours.headers["api-key"] == KEY


def test_azure_classic_responses_is_not_deployment_scoped_like_openai_sdk() -> None:
    openai = pytest.importorskip("openai")
    with serve("{}", "application/json") as server:
        client = openai.AzureOpenAI(
            api_key=KEY, api_version="2025-04-01-preview", azure_endpoint=server.base_url, max_retries=0
        )
        client.responses.create(model="dep-1", input="hi")
        client.close()
        sdk_path = server.requests[0][1]
    ours = prepare_request(
        REGISTRY["azure_openai"],
        TransportRequest("POST", "/responses", body=Json({"model": "dep-1", "input": "hi"})),
        wire_format="open_ai_responses",
        credentials=KEY,
        settings=ProviderSettings(endpoint="http://127.0.0.1:1", api_version="2025-04-01-preview"),
    )
    assert path_of(ours.full_url()) == sdk_path == "/openai/responses?api-version=2025-04-01-preview"


@pytest.mark.parametrize("stream", [False, True])
def test_vertex_anthropic_matches_anthropic_sdk(stream: bool) -> None:
    anthropic = pytest.importorskip("anthropic")
    kwargs: Dict[str, Any] = {
        "model": "claude-sonnet-4-5@20250929",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
    }
    if stream:
        kwargs["stream"] = True
    with serve(ANTHROPIC_ANSWER, "application/json") as server:
        client = anthropic.AnthropicVertex(
            region="us-east5",
            project_id="my-proj",
            access_token="ya29.token",
            base_url=server.base_url + "/v1",
            max_retries=0,
        )
        answer = client.messages.create(**kwargs, extra_headers={"anthropic-beta": "b-1"})
        if stream:
            answer.close()
        client.close()
        _, sdk_path, sdk_headers, sdk_body = server.requests[0]
    sent = json.loads(sdk_body)
    ours = prepare_request(
        REGISTRY["vertex_ai"],
        TransportRequest("POST", "/messages", body=Json(kwargs)),
        wire_format="anthropic_messages",
        credentials=RefreshingToken(lambda: "ya29.token"),
        settings=ProviderSettings(
            base_url=server.base_url + "/v1/projects/{project}/locations/{location}",
            project="my-proj",
            location="us-east5",
            anthropic_version=sent["anthropic_version"],  # the SDK's own default version
            anthropic_beta=("b-1",),
        ),
    )
    assert path_of(ours.url) == sdk_path
    assert isinstance(ours.body, Json) and ours.body.value == sent
    assert ours.headers["authorization"] == lower(sdk_headers)["authorization"] == "Bearer ya29.token"
    assert ours.headers["anthropic-beta"] == lower(sdk_headers)["anthropic-beta"]
    assert "anthropic-version" not in lower(sdk_headers) and "anthropic-version" not in ours.headers


@pytest.mark.parametrize("session_token", [None, "session-tok"])
def test_bedrock_anthropic_matches_anthropic_sdk(monkeypatch: pytest.MonkeyPatch, session_token: Optional[str]) -> None:
    anthropic = pytest.importorskip("anthropic")
    pytest.importorskip("botocore")
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    creds = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", session_token)
    kwargs: Dict[str, Any] = {
        "model": "anthropic.claude-3-haiku-20240307-v1:0",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
    }
    with serve(ANTHROPIC_ANSWER, "application/json") as server:
        client = anthropic.AnthropicBedrock(
            aws_region="us-east-1",
            aws_access_key=creds.access_key_id,
            aws_secret_key=creds.secret_access_key,
            aws_session_token=session_token,
            base_url=server.base_url,
            max_retries=0,
        )
        client.messages.create(**kwargs, extra_headers={"anthropic-beta": "a-1,b-2"})
        client.close()
        method, sdk_path, sdk_headers, sdk_body = server.requests[0]
    sent = json.loads(sdk_body)
    theirs = lower(sdk_headers)
    ours = prepare_request(
        REGISTRY["bedrock"],
        TransportRequest("POST", "/messages", headers={"anthropic-beta": "a-1,b-2"}, body=Json(kwargs)),
        wire_format="anthropic_messages",
        credentials=creds,
        settings=ProviderSettings(
            base_url=server.base_url, region="us-east-1", anthropic_version=sent["anthropic_version"]
        ),
        now=datetime.strptime(theirs["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc),
    )
    assert path_of(ours.url) == sdk_path == "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke"
    assert json.loads(ours.body_bytes()) == sent
    assert ours.headers.get("x-amz-security-token") == theirs.get("x-amz-security-token")
    # The SDK signs more headers than we send; re-sign its signed set with our signer.
    names = theirs["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    resent = [(k, v) for k, v in sdk_headers.items() if k.lower() in names and k.lower() != "host"]
    again = sign_request(
        method,
        server.base_url + sdk_path,
        resent,
        sdk_body,
        credentials=creds,
        region="us-east-1",
        service="bedrock",
        now=datetime.strptime(theirs["x-amz-date"], "%Y%m%dT%H%M%SZ"),
    )
    assert again["Authorization"] == theirs["authorization"]


@pytest.mark.parametrize("stream", [False, True])
def test_gemini_matches_google_genai(stream: bool) -> None:
    genai = pytest.importorskip("google.genai")
    answer = f"data: {GEMINI_ANSWER}\n\n" if stream else GEMINI_ANSWER
    with serve(answer, "text/event-stream" if stream else "application/json") as server:
        client = genai.Client(api_key=KEY, http_options={"base_url": server.base_url, "api_version": "v1beta"})
        if stream:
            list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
        else:
            client.models.generate_content(model="gemini-2.5-flash", contents="hi")
        _, sdk_path, sdk_headers, _ = server.requests[0]
    verb = "streamGenerateContent" if stream else "generateContent"
    query = [("alt", "sse")] if stream else []
    ours = prepare_request(
        REGISTRY["gemini"],
        TransportRequest("POST", f"/models/gemini-2.5-flash:{verb}", query=query, body=Json({})),
        wire_format="gemini_generate_content",
        credentials=KEY,
        settings=ProviderSettings(base_url=server.base_url + "/v1beta"),
    )
    assert path_of(ours.full_url()) == sdk_path
    assert ours.headers["x-goog-api-key"] == lower(sdk_headers)["x-goog-api-key"] == KEY
    assert REGISTRY["gemini"].base_url.endswith("/v1beta")


def test_a_fixed_access_token_goes_as_bearer_and_odd_credentials_are_refused() -> None:
    spec = REGISTRY["vertex_ai"]
    prepared = prepare_request(
        spec,
        request_for(W.GEMINI_GENERATE_CONTENT),
        wire_format="gemini_generate_content",
        credentials=AccessToken("ya29.fixed"),
        settings=ProviderSettings(project="p"),
    )
    assert prepared.headers["authorization"] == "Bearer ya29.fixed"
    with pytest.raises(ConfigurationError, match="credentials must be an ApiKey"):
        prepare_request(
            spec,
            request_for(W.GEMINI_GENERATE_CONTENT),
            wire_format="gemini_generate_content",
            credentials=object(),  # type: ignore[arg-type]
            settings=ProviderSettings(project="p"),
        )


def test_importing_providers_loads_no_network_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import omnillm.providers\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('requests', 'urllib3', 'botocore', 'google')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=str(ROOT), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
