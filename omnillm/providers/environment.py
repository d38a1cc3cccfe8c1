"""Credentials and settings from environment variables, as each provider row names them.

Explicit arguments always win over the environment; an empty variable counts as unset.
Nothing here logs or echoes a value.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, Dict, Mapping, Optional, Tuple

from .auth import ApiKey, AwsCredentials, Credential
from .registry import AuthScheme, ProviderSpec
from .settings import ProviderSettings

__all__ = ["AWS_ENV", "credentials_from_env", "settings_from_env"]

#: The AWS variables read for SigV4 providers: access key id, secret, session token.
AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def _first(environ: Mapping[str, str], names: Tuple[str, ...]) -> Optional[str]:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def credentials_from_env(spec: ProviderSpec, environ: Optional[Mapping[str, str]] = None) -> Optional[Credential]:
    """The credential ``spec``'s environment variables hold, or None.

    For SigV4 providers an API key variable (``AWS_BEARER_TOKEN_BEDROCK``) wins over
    access keys, as botocore does; access keys need both id and secret.
    """
    env = os.environ if environ is None else environ
    key = _first(env, spec.api_key_env)
    if key is not None:
        return ApiKey(key)
    if spec.auth is AuthScheme.AWS_SIGV4:
        key_id, secret = _first(env, AWS_ENV[:1]), _first(env, AWS_ENV[1:2])
        if key_id and secret:
            return AwsCredentials(key_id, secret, _first(env, AWS_ENV[2:]))
    return None


def settings_from_env(
    spec: ProviderSpec,
    settings: Optional[ProviderSettings] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> ProviderSettings:
    """``settings`` with every unset string setting filled from ``spec``'s variables.

    The base URL comes from ``spec.base_url_env``; the rest from ``spec.settings_env``.
    Provider defaults are not applied here (`prepare_request` applies them), so the
    result shows what the caller and the environment chose.
    """
    env = os.environ if environ is None else environ
    current = settings if settings is not None else ProviderSettings()
    filled: Dict[str, Any] = {}
    sources = dict(spec.settings_env)
    if spec.base_url_env:
        sources.setdefault("base_url", (spec.base_url_env,))
    for name, variables in sources.items():
        if current.value(name) is None:
            value = _first(env, variables)
            if value is not None:
                filled[name] = value
    return replace(current, **filled) if filled else current
