"""Providers: the registry of who speaks what, credentials, and request preparation.

A provider is a `ProviderSpec` row (base URL, auth scheme, headers, endpoints with a
support level) plus, for Azure, Vertex AI and Bedrock, a small adapter of URL rules and
body rewrites. `prepare_request` turns a codec's provider-neutral `TransportRequest`
into the one a provider expects, auth last (AWS SigV4 included, standard library only).
Importing this package loads only the standard library.
"""

from __future__ import annotations

from .adapters import AZURE_DEPLOYMENT_PATHS, prepare_request, resolve_base_url, vertex_host
from .auth import (
    AccessToken,
    ApiKey,
    AwsCredentials,
    Credential,
    RefreshingToken,
    TokenSource,
    google_auth_token_provider,
)
from .catalog import EMBEDDED_PROVIDERS, embedded_provider_registry
from .dotenv import load_dotenv, parse_dotenv
from .environment import credentials_from_env, settings_from_env
from .registry import (
    Adapter,
    AuthScheme,
    Endpoint,
    ProviderRegistry,
    ProviderSpec,
    SupportLevel,
    format_support_matrix,
    openai_compatible,
)
from .settings import ProviderSettings
from .sigv4 import sign_request

__all__ = [
    "AZURE_DEPLOYMENT_PATHS",
    "EMBEDDED_PROVIDERS",
    "AccessToken",
    "Adapter",
    "ApiKey",
    "AuthScheme",
    "AwsCredentials",
    "Credential",
    "Endpoint",
    "ProviderRegistry",
    "ProviderSettings",
    "ProviderSpec",
    "RefreshingToken",
    "SupportLevel",
    "TokenSource",
    "credentials_from_env",
    "embedded_provider_registry",
    "format_support_matrix",
    "google_auth_token_provider",
    "load_dotenv",
    "openai_compatible",
    "parse_dotenv",
    "prepare_request",
    "resolve_base_url",
    "settings_from_env",
    "sign_request",
    "vertex_host",
]
