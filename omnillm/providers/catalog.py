"""The embedded provider rows: what omnillm knows about each provider out of the box.

Facts here come from the official SDKs (openai-python's Azure client, anthropic-sdk-python's
Vertex and Bedrock clients, google-genai, botocore's bedrock-runtime model) and each
provider's documentation. Rows marked `SupportLevel.PLANNED` are listed, not usable.
"""

from __future__ import annotations

from typing import Tuple

from ..wire import WireFormat
from .registry import (
    Adapter,
    AuthScheme,
    Endpoint,
    ProviderRegistry,
    ProviderSpec,
    SupportLevel,
    openai_compatible,
)

__all__ = [
    "ANTHROPIC_VERSION",
    "BEDROCK_ANTHROPIC_VERSION",
    "EMBEDDED_PROVIDERS",
    "VERTEX_ANTHROPIC_VERSION",
    "embedded_provider_registry",
]

_N = SupportLevel.NATIVE
_C = SupportLevel.COMPATIBLE
_P = SupportLevel.PLANNED
_W = WireFormat

#: Header value Anthropic's Messages API is called with unless a setting says otherwise.
#: 2023-06-01 keeps sampling parameters (temperature, top_p, top_k) legal.
ANTHROPIC_VERSION = "2023-06-01"
#: The body's ``anthropic_version`` for Claude on Vertex AI (rawPredict).
VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"
#: The body's ``anthropic_version`` for Claude on Bedrock (InvokeModel).
BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"

_OPENAI_FAMILY = (
    Endpoint(_W.OPEN_AI_RESPONSES, _N),
    Endpoint(_W.OPEN_AI_CHAT_COMPLETIONS, _N),
    Endpoint(_W.OPEN_AI_EMBEDDINGS, _N),
    Endpoint(_W.OPEN_AI_IMAGE_GENERATIONS, _N),
    Endpoint(_W.OPEN_AI_AUDIO_TRANSCRIPTIONS, _N),
    Endpoint(_W.OPEN_AI_AUDIO_SPEECH, _N),
)

_AZURE_ENV = {"endpoint": ("AZURE_OPENAI_ENDPOINT",)}

EMBEDDED_PROVIDERS: Tuple[ProviderSpec, ...] = (
    ProviderSpec(
        id="openai",
        display_name="OpenAI",
        base_url="https://api.openai.com/v1",
        auth=AuthScheme.BEARER,
        endpoints=_OPENAI_FAMILY,
        api_key_env=("OPENAI_API_KEY",),
        base_url_env="OPENAI_BASE_URL",
    ),
    ProviderSpec(
        id="azure_openai",
        display_name="Azure OpenAI",
        base_url="{endpoint}/openai",
        auth=AuthScheme.API_KEY,
        endpoints=_OPENAI_FAMILY,
        api_key_env=("AZURE_OPENAI_API_KEY",),
        settings_env={**_AZURE_ENV, "api_version": ("OPENAI_API_VERSION",)},
        adapter=Adapter.AZURE_DEPLOYMENTS,
        note="model-scoped paths go under /deployments/{deployment}; responses does not",
    ),
    ProviderSpec(
        id="azure_openai_v1",
        display_name="Azure OpenAI v1",
        base_url="{endpoint}/openai/v1",
        auth=AuthScheme.BEARER,
        endpoints=(
            Endpoint(_W.OPEN_AI_RESPONSES, _N),
            Endpoint(_W.OPEN_AI_CHAT_COMPLETIONS, _N),
            Endpoint(_W.OPEN_AI_EMBEDDINGS, _N),
            Endpoint(_W.OPEN_AI_IMAGE_GENERATIONS, _P, note="not verified on the v1 surface"),
            Endpoint(_W.OPEN_AI_AUDIO_TRANSCRIPTIONS, _P, note="not verified on the v1 surface"),
            Endpoint(_W.OPEN_AI_AUDIO_SPEECH, _P, note="not verified on the v1 surface"),
        ),
        api_key_env=("AZURE_OPENAI_API_KEY",),
        settings_env=_AZURE_ENV,
        note="model is the deployment name; no api-version",
    ),
    ProviderSpec(
        id="anthropic",
        display_name="Anthropic",
        base_url="https://api.anthropic.com/v1",
        auth=AuthScheme.X_API_KEY,
        endpoints=(Endpoint(_W.ANTHROPIC_MESSAGES, _N),),
        headers={"anthropic-version": ANTHROPIC_VERSION},
        api_key_env=("ANTHROPIC_API_KEY",),
    ),
    ProviderSpec(
        id="gemini",
        display_name="Google Gemini API",
        base_url="https://generativelanguage.googleapis.com/v1beta",
        auth=AuthScheme.X_GOOG_API_KEY,
        endpoints=(
            Endpoint(_W.GEMINI_GENERATE_CONTENT, _N),
            Endpoint(_W.GEMINI_EMBED_CONTENT, _N),
            Endpoint(_W.OPEN_AI_CHAT_COMPLETIONS, _C, base_path="/openai", auth=AuthScheme.BEARER),
            Endpoint(_W.OPEN_AI_EMBEDDINGS, _C, base_path="/openai", auth=AuthScheme.BEARER),
        ),
        # google-genai reads GOOGLE_API_KEY first when both are set.
        api_key_env=("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    ),
    ProviderSpec(
        id="vertex_ai",
        display_name="Google Vertex AI",
        base_url="https://{vertex_host}/v1/projects/{project}/locations/{location}",
        auth=AuthScheme.GOOGLE_OAUTH2,
        endpoints=(
            Endpoint(_W.GEMINI_GENERATE_CONTENT, _N, base_path="/publishers/google"),
            Endpoint(_W.ANTHROPIC_MESSAGES, _C, base_path="/publishers/anthropic", note="rawPredict"),
            Endpoint(_W.GEMINI_EMBED_CONTENT, _P, base_path="/publishers/google", note="Vertex nests the config"),
            Endpoint(_W.OPEN_AI_CHAT_COMPLETIONS, _P, base_path="/endpoints/openapi"),
        ),
        settings_env={"project": ("GOOGLE_CLOUD_PROJECT",), "location": ("GOOGLE_CLOUD_LOCATION",)},
        defaults={"location": "global", "anthropic_version": VERTEX_ANTHROPIC_VERSION},
        adapter=Adapter.VERTEX,
        note="OAuth2 bearer token from a token source (google-auth, gcloud)",
    ),
    ProviderSpec(
        id="bedrock",
        display_name="AWS Bedrock",
        base_url="https://bedrock-runtime.{region}.amazonaws.com",
        auth=AuthScheme.AWS_SIGV4,
        endpoints=(
            Endpoint(_W.BEDROCK_CONVERSE, _N),
            Endpoint(_W.ANTHROPIC_MESSAGES, _C, note="InvokeModel"),
            Endpoint(_W.OPEN_AI_CHAT_COMPLETIONS, _P, base_path="/openai/v1"),
        ),
        # A Bedrock API key is a bearer token; botocore prefers it when it is set.
        api_key_env=("AWS_BEARER_TOKEN_BEDROCK",),
        settings_env={"region": ("AWS_REGION", "AWS_DEFAULT_REGION")},
        defaults={"anthropic_version": BEDROCK_ANTHROPIC_VERSION},
        adapter=Adapter.BEDROCK,
        signing_service="bedrock",
        note="SigV4 with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN",
    ),
    openai_compatible(
        "vllm",
        "vLLM",
        "http://localhost:8000/v1",
        api_key_env="VLLM_API_KEY",
        api_key_required=False,
        base_url_env="VLLM_BASE_URL",
        formats=(
            _W.OPEN_AI_CHAT_COMPLETIONS,
            _W.OPEN_AI_RESPONSES,
            _W.ANTHROPIC_MESSAGES,
            _W.OPEN_AI_EMBEDDINGS,
            _W.OPEN_AI_AUDIO_TRANSCRIPTIONS,
            _W.OPEN_AI_RERANK,
        ),
    ),
    openai_compatible(
        "ollama",
        "Ollama",
        "http://localhost:11434/v1",
        api_key_env="OLLAMA_API_KEY",
        api_key_required=False,
        base_url_env="OLLAMA_BASE_URL",
        formats=(_W.OPEN_AI_CHAT_COMPLETIONS, _W.OPEN_AI_EMBEDDINGS),
        planned=(_W.OPEN_AI_RESPONSES, _W.ANTHROPIC_MESSAGES),
    ),
    openai_compatible("openrouter", "OpenRouter", "https://openrouter.ai/api/v1", api_key_env="OPENROUTER_API_KEY"),
    openai_compatible(
        "groq",
        "Groq",
        "https://api.groq.com/openai/v1",
        api_key_env="GROQ_API_KEY",
        formats=(_W.OPEN_AI_CHAT_COMPLETIONS, _W.OPEN_AI_AUDIO_TRANSCRIPTIONS),
    ),
    openai_compatible(
        "together",
        "Together AI",
        "https://api.together.xyz/v1",
        api_key_env="TOGETHER_API_KEY",
        formats=(
            _W.OPEN_AI_CHAT_COMPLETIONS,
            _W.OPEN_AI_EMBEDDINGS,
            _W.OPEN_AI_IMAGE_GENERATIONS,
            _W.OPEN_AI_RERANK,
        ),
    ),
    openai_compatible(
        "deepseek",
        "DeepSeek",
        "https://api.deepseek.com",
        api_key_env="DEEPSEEK_API_KEY",
        planned=(_W.ANTHROPIC_MESSAGES,),
    ),
    openai_compatible(
        "mistral",
        "Mistral AI",
        "https://api.mistral.ai/v1",
        api_key_env="MISTRAL_API_KEY",
        formats=(_W.OPEN_AI_CHAT_COMPLETIONS, _W.OPEN_AI_EMBEDDINGS),
        note="own Chat dialect (random_seed, 9-character tool call ids)",
    ),
    openai_compatible(
        "fireworks",
        "Fireworks AI",
        "https://api.fireworks.ai/inference/v1",
        api_key_env="FIREWORKS_API_KEY",
        formats=(_W.OPEN_AI_CHAT_COMPLETIONS, _W.OPEN_AI_EMBEDDINGS),
    ),
    openai_compatible(
        "xai",
        "xAI",
        "https://api.x.ai/v1",
        api_key_env="XAI_API_KEY",
        formats=(_W.OPEN_AI_CHAT_COMPLETIONS, _W.OPEN_AI_RESPONSES),
    ),
    openai_compatible("perplexity", "Perplexity", "https://api.perplexity.ai", api_key_env="PERPLEXITY_API_KEY"),
    openai_compatible("cerebras", "Cerebras", "https://api.cerebras.ai/v1", api_key_env="CEREBRAS_API_KEY"),
    openai_compatible("sambanova", "SambaNova", "https://api.sambanova.ai/v1", api_key_env="SAMBANOVA_API_KEY"),
    openai_compatible(
        "deepinfra",
        "DeepInfra",
        "https://api.deepinfra.com/v1/openai",
        api_key_env="DEEPINFRA_API_KEY",
        formats=(_W.OPEN_AI_CHAT_COMPLETIONS, _W.OPEN_AI_EMBEDDINGS),
    ),
    openai_compatible(
        "huggingface", "Hugging Face Inference Providers", "https://router.huggingface.co/v1", api_key_env="HF_TOKEN"
    ),
    openai_compatible(
        "lmstudio",
        "LM Studio",
        "http://localhost:1234/v1",
        api_key_required=False,
        base_url_env="LMSTUDIO_BASE_URL",
        formats=(_W.OPEN_AI_CHAT_COMPLETIONS, _W.OPEN_AI_EMBEDDINGS),
    ),
    openai_compatible(
        "llamacpp",
        "llama.cpp server",
        "http://localhost:8080/v1",
        api_key_env="LLAMACPP_API_KEY",
        api_key_required=False,
        base_url_env="LLAMACPP_BASE_URL",
        formats=(_W.OPEN_AI_CHAT_COMPLETIONS, _W.OPEN_AI_EMBEDDINGS),
    ),
    openai_compatible(
        "cohere", "Cohere", "https://api.cohere.com/v2", api_key_env="COHERE_API_KEY", formats=(_W.OPEN_AI_RERANK,)
    ),
    openai_compatible(
        "jina",
        "Jina AI",
        "https://api.jina.ai/v1",
        api_key_env="JINA_API_KEY",
        formats=(_W.OPEN_AI_RERANK, _W.OPEN_AI_EMBEDDINGS),
    ),
    openai_compatible(
        "voyage",
        "Voyage AI",
        "https://api.voyageai.com/v1",
        api_key_env="VOYAGE_API_KEY",
        formats=(),
        planned=(_W.OPEN_AI_RERANK,),
        note="rerank answers under data[] and takes top_k",
    ),
)


def embedded_provider_registry() -> ProviderRegistry:
    """A new registry holding the embedded providers; `ProviderRegistry.register` adds more.

    Each call returns an independent registry, so rows registered on one never leak
    into another.
    """
    return ProviderRegistry(EMBEDDED_PROVIDERS)
