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
