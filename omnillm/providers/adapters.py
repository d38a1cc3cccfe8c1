"""The provider half of a request: base URL, URL rules, body rewrites, headers, auth.

Codecs emit a provider-neutral `TransportRequest` whose ``url`` is a path relative to a
base URL (``/chat/completions``, ``/messages``, ``/models/{model}:generateContent``,
``/model/{modelId}/converse``). `prepare_request` turns it into the request one
provider expects: the base-URL template filled from settings, the adapter's path and
body rewrites applied (Azure deployments, Vertex publisher paths, Bedrock InvokeModel),
required headers added, and auth applied last so SigV4 signs the exact bytes sent.
It is pure apart from calling a token source.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple, Union
from urllib.parse import parse_qsl, quote

from ..errors import ConfigurationError, EncodeError, UnsupportedError
from ..http import Body, Bytes, Headers, Json, Multipart, TransportRequest
from ..wire import WireFormat
from ..wire import wire_format as to_wire_format
from .auth import AccessToken, ApiKey, AwsCredentials, Credential, TokenSource
from .catalog import ANTHROPIC_VERSION, BEDROCK_ANTHROPIC_VERSION, VERTEX_ANTHROPIC_VERSION
from .registry import Adapter, AuthScheme, Endpoint, ProviderSpec, placeholders
from .settings import ProviderSettings
from .sigv4 import sign_request, uri_encode

__all__ = ["AZURE_DEPLOYMENT_PATHS", "prepare_request", "resolve_base_url", "vertex_host"]

#: Paths Azure OpenAI serves under ``/deployments/{deployment}`` (openai-python's list);
#: every other path (``/responses``, files, batches) sits directly under ``/openai``.
AZURE_DEPLOYMENT_PATHS = frozenset(
    {
        "/completions",
        "/chat/completions",
        "/embeddings",
        "/audio/transcriptions",
        "/audio/translations",
        "/audio/speech",
        "/images/generations",
        "/images/edits",
    }
)

# Values that end up in a host name must not smuggle in dots-and-slashes of their own.
_HOST_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$")
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
_ENDPOINT = re.compile(r"^https?://[^\s/?#]+(?:/[^\s?#]*)?$")
_STRICT = {"region": _HOST_LABEL, "location": _HOST_LABEL, "resource": _HOST_LABEL, "project": _PROJECT}

# Vertex model ids sit in one path segment: RFC 3986 segment characters stay, except ';'
# (some servers cut a segment at ';'), as anthropic-sdk-python's Vertex client does.
_VERTEX_SEGMENT_SAFE = "@:!$&'()*+,="
# Bedrock model ids and ARNs: ':' stays (anthropic-sdk-python's Bedrock client), '/' is
# encoded so an ARN stays one segment.
_BEDROCK_SEGMENT_SAFE = ":"


def vertex_host(location: str) -> str:
    """The Vertex AI host for ``location``: global, the ``us``/``eu`` multi-regions, or regional."""
    if location == "global":
        return "aiplatform.googleapis.com"
    if location in ("us", "eu"):
        return f"aiplatform.{location}.rep.googleapis.com"
    return f"{location}-aiplatform.googleapis.com"


def _setting(spec: ProviderSpec, settings: ProviderSettings, name: str) -> Optional[str]:
    return settings.value(name) or spec.defaults.get(name) or None


def _missing(spec: ProviderSpec, name: str) -> ConfigurationError:
    variables = spec.settings_env.get(name, ())
    hint = f" or set {' / '.join(variables)}" if variables else ""
    return ConfigurationError(f"{spec.id}: the {name!r} setting is required: pass ProviderSettings({name}=...){hint}")


def _template_value(spec: ProviderSpec, settings: ProviderSettings, name: str) -> str:
    if name == "vertex_host":
        return vertex_host(_template_value(spec, settings, "location"))
    value = _setting(spec, settings, name)
    if value is None and name == "endpoint":
        resource = _setting(spec, settings, "resource")
        if resource is not None:
            value = f"https://{_checked(spec, 'resource', resource)}.openai.azure.com"
    if value is None:
        raise _missing(spec, name)
    return _checked(spec, name, value)


def _checked(spec: ProviderSpec, name: str, value: str) -> str:
    if name == "endpoint":
        value = value.strip().rstrip("/")
        if not _ENDPOINT.match(value):
            raise ConfigurationError(
                f"{spec.id}: the endpoint must be an http(s) URL like https://NAME.openai.azure.com"
            )
        return value
    pattern = _STRICT.get(name)
    if pattern is not None:
        if not pattern.match(value):
            raise ConfigurationError(f"{spec.id}: {name} {value!r} is not a valid {name} name")
        return value
    return quote(value, safe="")


def resolve_base_url(spec: ProviderSpec, endpoint: Endpoint, settings: ProviderSettings) -> str:
    """The base URL ``endpoint`` of ``spec`` is reached at, with every placeholder filled."""
    template = settings.base_url or spec.base_url
    url = template
    for name in dict.fromkeys(placeholders(template)):
        url = url.replace(f"{{{name}}}", _template_value(spec, settings, name))
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"{spec.id}: the base URL must start with http:// or https://")
    return url.rstrip("/") + endpoint.base_path


def _segment(protocol: str, model: str, safe: str) -> str:
    if model in ("", ".", ".."):
        raise EncodeError(protocol, "model", f"{model!r} cannot name a model in a URL path")
    return quote(model, safe=safe)


def _body_model(body: Body) -> Optional[str]:
    if isinstance(body, Json) and isinstance(body.value, dict):
        found = body.value.get("model")
        return found if isinstance(found, str) and found else None
    if isinstance(body, Multipart):
        for part in body.fields:
            if part.name == "model" and isinstance(part.value, str) and part.value:
                return part.value
    return None


def _json_object(protocol: str, body: Body, provider: str) -> Dict[str, Any]:
    if not isinstance(body, Json) or not isinstance(body.value, dict):
        raise EncodeError(protocol, "", f"{provider} needs a JSON object body")
    return dict(body.value)


def _split_path(url: str) -> Tuple[str, List[Tuple[str, str]]]:
    # A path may carry an inline query ("/models/m:streamGenerateContent?alt=sse").
    path, sep, inline = url.partition("?")
    pairs = parse_qsl(inline, keep_blank_values=True) if sep else []
    if not path.startswith("/"):
        path = "/" + path
    return path, pairs


class _Draft:
    """The request being prepared: mutable while the adapter rewrites it."""

    def __init__(self, request: TransportRequest, absolute: bool) -> None:
        self.method = request.method.upper()
        inline: List[Tuple[str, str]] = []
        if absolute:
            self.path = request.url
        else:
            self.path, inline = _split_path(request.url)
        self.query: List[Tuple[str, str]] = inline + list(request.query)
        self.headers: Headers = request.headers.copy()
        self.body: Body = request.body


def _azure(
    spec: ProviderSpec, settings: ProviderSettings, draft: _Draft, fmt: WireFormat, model: Optional[str]
) -> None:
    if draft.path in AZURE_DEPLOYMENT_PATHS:
        deployment = _setting(spec, settings, "deployment") or model or _body_model(draft.body)
        if deployment is None:
            raise _missing(spec, "deployment")
        draft.path = f"/deployments/{_segment(fmt.value, deployment, '')}{draft.path}"
    version = _setting(spec, settings, "api_version")
    if version is None:
        raise _missing(spec, "api_version")
    if not any(k == "api-version" for k, _ in draft.query):
        draft.query.append(("api-version", version))


def _vertex(
    spec: ProviderSpec, settings: ProviderSettings, draft: _Draft, fmt: WireFormat, model: Optional[str]
) -> None:
    if fmt is not WireFormat.ANTHROPIC_MESSAGES:
        return
    protocol = fmt.value
    body = _json_object(protocol, draft.body, "Claude on Vertex AI")
    body.setdefault("anthropic_version", _setting(spec, settings, "anthropic_version") or VERTEX_ANTHROPIC_VERSION)
    if draft.path.endswith("/messages/count_tokens"):
        # Token counting is one shared publisher model; the model stays in the body.
        draft.path = "/models/count-tokens:rawPredict"
    elif draft.path.endswith("/messages"):
        chosen = model or body.get("model")
        if not isinstance(chosen, str):
            raise EncodeError(protocol, "model", "Claude on Vertex AI needs a model for the URL")
        body.pop("model", None)
        verb = "streamRawPredict" if body.get("stream") is True else "rawPredict"
        draft.path = f"/models/{_segment(protocol, chosen, _VERTEX_SEGMENT_SAFE)}:{verb}"
    else:
        raise UnsupportedError(f"{spec.id}: {draft.path} has no Vertex AI equivalent")
    draft.body = Json(body)


def _bedrock(
    spec: ProviderSpec, settings: ProviderSettings, draft: _Draft, fmt: WireFormat, model: Optional[str]
) -> None:
    if fmt is not WireFormat.ANTHROPIC_MESSAGES:
        return
    protocol = fmt.value
    if not draft.path.endswith("/messages"):
        raise UnsupportedError(f"{spec.id}: {draft.path} is not available through Bedrock InvokeModel")
    body = _json_object(protocol, draft.body, "Claude on Bedrock")
    chosen = model or body.get("model")
    if not isinstance(chosen, str):
        raise EncodeError(protocol, "model", "Claude on Bedrock needs a model id for the URL")
    body.pop("model", None)
    # InvokeModel streams by URL, not by body field.
    stream = body.pop("stream", False) is True
    body.setdefault("anthropic_version", _setting(spec, settings, "anthropic_version") or BEDROCK_ANTHROPIC_VERSION)
    betas = [b.strip() for value in draft.headers.get_all("anthropic-beta") for b in value.split(",") if b.strip()]
    if betas:
        body.setdefault("anthropic_beta", betas)
    action = "invoke-with-response-stream" if stream else "invoke"
    draft.path = f"/model/{_segment(protocol, chosen, _BEDROCK_SEGMENT_SAFE)}/{action}"
    draft.body = Json(body)


def _add_headers(spec: ProviderSpec, settings: ProviderSettings, draft: _Draft, fmt: WireFormat) -> None:
    for name, value in spec.headers.items():
        draft.headers.setdefault(name, value)
    for name, value in settings.headers.items():
        draft.headers[name] = value
    if fmt is not WireFormat.ANTHROPIC_MESSAGES:
        return
    if spec.adapter is Adapter.DIRECT:
        # Vertex AI and Bedrock take the version in the body instead of this header.
        version = settings.anthropic_version or draft.headers.get("anthropic-version") or ANTHROPIC_VERSION
        draft.headers["anthropic-version"] = version
    if settings.anthropic_beta:
        present = [b.strip() for v in draft.headers.get_all("anthropic-beta") for b in v.split(",") if b.strip()]
        merged = list(dict.fromkeys([*present, *settings.anthropic_beta]))
        draft.headers["anthropic-beta"] = ",".join(merged)


_KEY_HEADERS = {
    AuthScheme.API_KEY: "api-key",
    AuthScheme.X_API_KEY: "x-api-key",
    AuthScheme.X_GOOG_API_KEY: "x-goog-api-key",
}


def _key_header(scheme: AuthScheme, key: str) -> Tuple[str, str]:
    name = _KEY_HEADERS.get(scheme)
    return (name, key) if name is not None else ("Authorization", f"Bearer {key}")


def _no_credentials(spec: ProviderSpec, scheme: AuthScheme) -> ConfigurationError:
    if scheme is AuthScheme.GOOGLE_OAUTH2:
        how = "pass a token source such as RefreshingToken(provider) (see docs/providers.rst for google-auth)"
    elif scheme is AuthScheme.AWS_SIGV4:
        env = " / ".join(spec.api_key_env)
        how = f"pass AwsCredentials(...), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or {env})"
    else:
        env = " or ".join(spec.api_key_env)
        how = f"pass an API key or set {env}" if env else "pass an API key"
    return ConfigurationError(f"{spec.id}: no credentials: {how}")


def _sigv4_url(base: str, path: str, query: List[Tuple[str, str]]) -> str:
    url = base + path
    if query:
        encoded = "&".join(f"{uri_encode(k.encode('utf-8'))}={uri_encode(v.encode('utf-8'))}" for k, v in query)
        url = f"{url}&{encoded}" if "?" in url else f"{url}?{encoded}"
    return url


def _signed(
    spec: ProviderSpec,
    settings: ProviderSettings,
    draft: _Draft,
    base: str,
    credentials: AwsCredentials,
    now: Optional[datetime],
) -> TransportRequest:
    if spec.auth is not AuthScheme.AWS_SIGV4 or not spec.signing_service:
        raise ConfigurationError(f"{spec.id} does not use AWS SigV4; AWS credentials do not apply")
    region = _setting(spec, settings, "region")
    if region is None:
        raise _missing(spec, "region")
    data = draft.body.encode()
    url = _sigv4_url(base, draft.path, draft.query)
    headers = sign_request(
        draft.method,
        url,
        draft.headers,
        data,
        credentials=credentials,
        region=_checked(spec, "region", region),
        service=spec.signing_service,
        now=now if now is not None else datetime.now(timezone.utc),
    )
    # The transport must send these exact bytes to this exact URL: the query is folded
    # in (RFC 3986 encoded, as signed) and the body is frozen as bytes.
    content_type = draft.body.content_type or "application/octet-stream"
    body: Body = Bytes(data, content_type) if data else draft.body
    return TransportRequest(draft.method, url, headers, [], body)


def prepare_request(
    provider: ProviderSpec,
    request: TransportRequest,
    *,
    wire_format: Union[str, WireFormat],
    credentials: Union[Credential, str, None] = None,
    model: Optional[str] = None,
    settings: Optional[ProviderSettings] = None,
    now: Optional[datetime] = None,
) -> TransportRequest:
    """``request`` made ready for ``provider``: absolute URL, required headers, auth.

    ``wire_format`` is the format of the body; ``model`` the model (or Azure deployment,
    Vertex/Bedrock model id) when the URL needs it, else the body's ``model`` is used.
    ``credentials`` is an `ApiKey` (a plain ``str`` is taken as one), a `TokenSource`
    (such as `RefreshingToken`), a fixed `AccessToken`, or `AwsCredentials`. ``now``
    is the SigV4 signing time (default: the current UTC time). A ``planned`` or
    unlisted format raises `UnsupportedError`; a missing setting or credential
    `ConfigurationError`. An absolute ``request.url`` is kept as is (no path or body
    rewrites); headers and auth still apply.
    """
    spec = provider
    fmt = to_wire_format(wire_format)
    endpoint = spec.endpoint(fmt)
    chosen = settings if settings is not None else ProviderSettings()
    absolute = request.url.startswith(("http://", "https://"))
    draft = _Draft(request, absolute)
    _add_headers(spec, chosen, draft, fmt)
    if absolute:
        base = ""
    else:
        base = resolve_base_url(spec, endpoint, chosen)
        if spec.adapter is Adapter.AZURE_DEPLOYMENTS:
            _azure(spec, chosen, draft, fmt, model)
        elif spec.adapter is Adapter.VERTEX:
            _vertex(spec, chosen, draft, fmt, model)
        elif spec.adapter is Adapter.BEDROCK:
            _bedrock(spec, chosen, draft, fmt, model)
    content_type = draft.body.content_type
    if content_type and "content-type" not in draft.headers:
        draft.headers["Content-Type"] = content_type

    scheme = chosen.auth or endpoint.auth or spec.auth
    credential: Optional[Credential] = ApiKey(credentials) if isinstance(credentials, str) else credentials
    if credential is None:
        supplied = _KEY_HEADERS.get(scheme, "authorization") in draft.headers
        if spec.api_key_required and scheme is not AuthScheme.NONE and not supplied:
            raise _no_credentials(spec, scheme)
    elif isinstance(credential, AwsCredentials):
        return _signed(spec, chosen, draft, base, credential, now)
    elif isinstance(credential, ApiKey):
        if scheme is AuthScheme.GOOGLE_OAUTH2:
            raise ConfigurationError(
                f"{spec.id} authenticates with OAuth2 access tokens, not API keys: pass a RefreshingToken"
            )
        name, value = _key_header(scheme, credential.reveal())
        draft.headers[name] = value
    elif isinstance(credential, AccessToken):
        draft.headers["Authorization"] = f"Bearer {credential.token}"
    elif isinstance(credential, TokenSource) and callable(getattr(credential, "token", None)):
        draft.headers["Authorization"] = f"Bearer {credential.token()}"
    else:
        raise ConfigurationError(
            f"{spec.id}: credentials must be an ApiKey, a TokenSource, an AccessToken or AwsCredentials, "
            f"not {type(credential).__name__}"
        )
    return TransportRequest(draft.method, base + draft.path, draft.headers, draft.query, draft.body)
