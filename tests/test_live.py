"""Live calls against real providers, with credentials from a local ``.env`` (git-ignored).

Every test skips cleanly when its provider has no credentials; see ``.env.example``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict

import pytest

from omnillm import LlmRequest, Message
from omnillm.client import Client
from omnillm.providers import credentials_from_env, embedded_provider_registry, load_dotenv
from omnillm.stream import TextDelta

ROOT = Path(__file__).resolve().parents[1]

LIVE = [
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-haiku-4-5"),
    ("gemini", "gemini-2.5-flash"),
    ("groq", "llama-3.1-8b-instant"),
    ("mistral", "mistral-small-latest"),
    ("deepseek", "deepseek-chat"),
]


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    load_dotenv(ROOT / ".env", environ=env)
    return env


@pytest.mark.parametrize(("provider", "default_model"), LIVE)
def test_live_call_and_stream(provider: str, default_model: str) -> None:
    env = _env()
    spec = embedded_provider_registry().get(provider)
    if credentials_from_env(spec, env) is None:
        pytest.skip(f"no credentials for {provider} ({', '.join(spec.api_key_env)} in .env)")
    model = env.get(f"OMNILLM_LIVE_{provider.upper()}_MODEL", default_model)
    request = LlmRequest(model=model, messages=[Message.user("Reply with the single word: pong")], max_output_tokens=20)
    with Client(provider, environ=env) as client:
        response = client.call(request)
        assert "pong" in response.text.lower()
        assert response.usage is not None and response.usage.output_tokens > 0
        with client.stream(request) as stream:
            text = "".join(e.text for e in stream if isinstance(e, TextDelta))
        assert stream.completed and "pong" in text.lower()


PONG = [Message.user("Reply with the single word: pong")]


def _call_and_stream(client: Client, model: str) -> None:
    request = LlmRequest(model=model, messages=PONG, max_output_tokens=20)
    response = client.call(request)
    assert "pong" in response.text.lower()
    assert response.usage is not None and response.usage.output_tokens > 0
    with client.stream(request) as stream:
        text = "".join(e.text for e in stream if isinstance(e, TextDelta))
    assert stream.completed and "pong" in text.lower()


def _require(env: Dict[str, str], *names: str) -> None:
    missing = [n for n in names if not env.get(n)]
    if missing:
        pytest.skip(f"set {', '.join(missing)} in .env (see .env.example)")


@pytest.mark.parametrize("provider", ["azure_openai", "azure_openai_v1"])
def test_live_azure_openai(provider: str) -> None:
    """AZURE_OPENAI_API_KEY + AZURE_OPENAI_ENDPOINT; the deployment is OMNILLM_LIVE_AZURE_OPENAI_MODEL."""
    env = _env()
    _require(env, "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT")
    deployment = env.get("OMNILLM_LIVE_AZURE_OPENAI_MODEL", "gpt-4o-mini")
    extra = {"wire_format": "open_ai_chat_completions"} if provider == "azure_openai" else {}
    if provider == "azure_openai" and not env.get("OPENAI_API_VERSION"):
        extra["api_version"] = "2024-10-21"
    with Client(provider, environ=env, **extra) as client:
        _call_and_stream(client, deployment)


@pytest.mark.parametrize(
    ("wire_format", "variable", "default_model"),
    [
        ("gemini_generate_content", "OMNILLM_LIVE_VERTEX_MODEL", "gemini-2.5-flash"),
        ("anthropic_messages", "OMNILLM_LIVE_VERTEX_ANTHROPIC_MODEL", None),
    ],
)
def test_live_vertex_ai(wire_format: str, variable: str, default_model: str) -> None:
    """GOOGLE_CLOUD_PROJECT (+ GOOGLE_CLOUD_LOCATION) and google-auth application default credentials.

    Claude on Vertex runs only when OMNILLM_LIVE_VERTEX_ANTHROPIC_MODEL names a model the
    project has enabled (e.g. ``claude-haiku-4-5@20251001``).
    """
    env = _env()
    _require(env, "GOOGLE_CLOUD_PROJECT")
    model = env.get(variable) or default_model
    if model is None:
        pytest.skip(f"set {variable} in .env to a Claude model enabled on Vertex AI")
    google_auth = pytest.importorskip("google.auth")
    from google.auth.exceptions import DefaultCredentialsError

    from omnillm.providers import RefreshingToken, google_auth_token_provider

    try:
        credentials, _ = google_auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except DefaultCredentialsError:
        pytest.skip("no google-auth application default credentials (gcloud auth application-default login)")
    token = RefreshingToken(google_auth_token_provider(credentials))
    with Client("vertex_ai", credentials=token, wire_format=wire_format, environ=env) as client:
        _call_and_stream(client, model)


@pytest.mark.parametrize("wire_format", ["bedrock_converse", "anthropic_messages"])
def test_live_bedrock_sigv4(wire_format: str) -> None:
    """AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN, AWS_REGION), signed with SigV4.

    Converse uses OMNILLM_LIVE_BEDROCK_MODEL (default Nova Micro); InvokeModel (Claude)
    runs only when OMNILLM_LIVE_BEDROCK_ANTHROPIC_MODEL names an enabled Claude model.
    """
    from omnillm.providers import AwsCredentials

    env = _env()
    _require(env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    if wire_format == "bedrock_converse":
        model = env.get("OMNILLM_LIVE_BEDROCK_MODEL", "us.amazon.nova-micro-v1:0")
    else:
        model = env.get("OMNILLM_LIVE_BEDROCK_ANTHROPIC_MODEL", "")
        if not model:
            pytest.skip("set OMNILLM_LIVE_BEDROCK_ANTHROPIC_MODEL in .env to an enabled Claude model id")
    creds = AwsCredentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN") or None)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    # SigV4 explicitly, even when AWS_BEARER_TOKEN_BEDROCK is also set.
    with Client("bedrock", credentials=creds, region=region, wire_format=wire_format, environ=env) as client:
        _call_and_stream(client, model)
