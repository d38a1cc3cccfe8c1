"""The provider registry: each provider is a row of data, not a class.

A `ProviderSpec` names a provider, its base-URL template, how its API key is sent, the
headers it requires, the environment variables that configure it, which small adapter
rewrites its URLs (`Adapter`), and per wire format an `Endpoint` with a `SupportLevel`.
A `ProviderRegistry` holds specs by id; `openai_compatible` makes the one-row spec of an
OpenAI-compatible server.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from ..errors import ConfigurationError, UnsupportedError
from ..wire import FAMILY_OF_FORMAT, EndpointFamily, WireFormat, wire_format

__all__ = [
    "DERIVED_PLACEHOLDERS",
    "TEMPLATE_SETTINGS",
    "Adapter",
    "AuthScheme",
    "Endpoint",
    "ProviderRegistry",
    "ProviderSpec",
    "SupportLevel",
    "format_support_matrix",
    "openai_compatible",
    "placeholders",
]

#: The string settings (`ProviderSettings` fields) that environment variables, provider
#: defaults and URL-template placeholders may name.
TEMPLATE_SETTINGS: Tuple[str, ...] = (
    "base_url",
    "endpoint",
    "resource",
    "deployment",
    "api_version",
    "project",
    "location",
    "region",
    "anthropic_version",
)

#: Placeholders a base-URL template may use besides `TEMPLATE_SETTINGS`.
DERIVED_PLACEHOLDERS: Tuple[str, ...] = ("vertex_host",)


class SupportLevel(str, Enum):
    """How well omnillm serves one wire format at one provider."""

    #: Implemented with the provider's own wire format and URL rules.
    NATIVE = "native"
    #: Implemented through an OpenAI-compatible surface or a wrapper (Vertex rawPredict,
    #: Bedrock InvokeModel).
    COMPATIBLE = "compatible"
    #: Listed so it shows in the matrix; using it raises `UnsupportedError`.
    PLANNED = "planned"

    def __str__(self) -> str:
        return self.value


class AuthScheme(str, Enum):
    """How a credential goes on the wire."""

    NONE = "none"
    #: ``Authorization: Bearer <key>``.
    BEARER = "bearer"
    #: ``api-key: <key>`` (Azure OpenAI).
    API_KEY = "api-key"
    #: ``x-api-key: <key>`` (Anthropic).
    X_API_KEY = "x-api-key"
    #: ``x-goog-api-key: <key>`` (Gemini API).
    X_GOOG_API_KEY = "x-goog-api-key"
    #: ``Authorization: Bearer <OAuth2 access token>`` from a token source (Vertex AI).
    GOOGLE_OAUTH2 = "google-oauth2"
    #: AWS Signature Version 4 (an API key, when given, goes as a bearer token).
    AWS_SIGV4 = "aws-sigv4"

    def __str__(self) -> str:
        return self.value


class Adapter(str, Enum):
    """Which URL rules and body rewrites apply when a request is prepared for a provider."""

    #: Base URL + path, as OpenAI, Anthropic, Gemini and every compatible server expect.
    DIRECT = "direct"
    #: Azure OpenAI classic: ``/deployments/{deployment}/...`` and ``?api-version=``.
    AZURE_DEPLOYMENTS = "azure_deployments"
    #: Vertex AI: publisher model paths; Anthropic bodies move ``model`` into the URL.
    VERTEX = "vertex"
    #: AWS Bedrock: Converse as is; Anthropic bodies go to InvokeModel.
    BEDROCK = "bedrock"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Endpoint:
    """One wire format a provider speaks, at what support level, under which path prefix.

    ``base_path`` is appended to the provider's base URL for this format only (Gemini's
    OpenAI-compatible surface lives under ``/openai``); ``auth`` overrides the
    provider's scheme for this format.
    """

    wire_format: WireFormat
    level: SupportLevel = SupportLevel.NATIVE
    base_path: str = ""
    auth: Optional[AuthScheme] = None
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "wire_format", wire_format(self.wire_format))
        object.__setattr__(self, "level", SupportLevel(self.level))
        if self.auth is not None:
            object.__setattr__(self, "auth", AuthScheme(self.auth))
        if self.base_path and not self.base_path.startswith("/"):
            raise ConfigurationError(f"an endpoint base_path must start with '/': {self.base_path!r}")

    @property
    def family(self) -> EndpointFamily:
        """The endpoint family this wire format serves."""
        return FAMILY_OF_FORMAT[self.wire_format]


_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(template: str) -> List[str]:
    """The ``{name}`` placeholders of a URL template, in order."""
    return _PLACEHOLDER.findall(template)


@dataclass(frozen=True)
class ProviderSpec:
    """One provider as data: how to reach it, authenticate, and what it speaks.

    ``base_url`` is a template whose ``{placeholders}`` are filled from settings
    (`TEMPLATE_SETTINGS`, plus ``{vertex_host}`` derived from the location).
    ``headers`` are sent on every request. ``api_key_env`` lists environment variables
    holding the key, first found wins; ``settings_env`` maps a setting to its variables;
    ``defaults`` gives settings their provider default. ``signing_service`` is the SigV4
    service name for `AuthScheme.AWS_SIGV4`.
    """

    id: str
    display_name: str
    base_url: str
    endpoints: Tuple[Endpoint, ...]
    auth: AuthScheme = AuthScheme.BEARER
    headers: Mapping[str, str] = field(default_factory=dict)
    api_key_env: Tuple[str, ...] = ()
    api_key_required: bool = True
    base_url_env: Optional[str] = None
    settings_env: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    adapter: Adapter = Adapter.DIRECT
    signing_service: Optional[str] = None
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise ConfigurationError(f"a provider id is lower-case letters, digits and '_': {self.id!r}")
        object.__setattr__(self, "auth", AuthScheme(self.auth))
        object.__setattr__(self, "adapter", Adapter(self.adapter))
        object.__setattr__(self, "endpoints", tuple(self.endpoints))
        object.__setattr__(self, "api_key_env", tuple(self.api_key_env))
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))
        object.__setattr__(
            self, "settings_env", MappingProxyType({k: tuple(v) for k, v in dict(self.settings_env).items()})
        )
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))
        for name in (*self.settings_env, *self.defaults):
            if name not in TEMPLATE_SETTINGS:
                raise ConfigurationError(f"{self.id}: {name!r} is not a provider setting; known: {TEMPLATE_SETTINGS}")
        for name in placeholders(self.base_url):
            if name not in TEMPLATE_SETTINGS and name not in DERIVED_PLACEHOLDERS:
                raise ConfigurationError(f"{self.id}: base URL placeholder {{{name}}} is not a provider setting")
        seen = set()
        for endpoint in self.endpoints:
            if not isinstance(endpoint, Endpoint):
                raise ConfigurationError(f"{self.id}: endpoints must be Endpoint rows, got {type(endpoint).__name__}")
            if endpoint.wire_format in seen:
                raise ConfigurationError(f"{self.id}: wire format {endpoint.wire_format.value} is listed twice")
            seen.add(endpoint.wire_format)
        if self.auth is AuthScheme.AWS_SIGV4 and not self.signing_service:
            raise ConfigurationError(f"{self.id}: AWS SigV4 auth needs a signing_service")

    def endpoint(self, fmt: Union[str, WireFormat], *, allow_planned: bool = False) -> Endpoint:
        """The `Endpoint` for wire format ``fmt``; `UnsupportedError` if absent or only planned."""
        target = wire_format(fmt)
        for endpoint in self.endpoints:
            if endpoint.wire_format is target:
                if endpoint.level is SupportLevel.PLANNED and not allow_planned:
                    raise UnsupportedError(
                        f"{self.id}: {target.value} ({endpoint.family.value}) is planned, not implemented yet"
                        f"{'; ' + endpoint.note if endpoint.note else ''}; available: {self._available()}"
                    )
                return endpoint
        raise UnsupportedError(f"{self.id} does not speak {target.value}; available: {self._available()}")

    def _available(self) -> str:
        usable = [e.wire_format.value for e in self.endpoints if e.level is not SupportLevel.PLANNED]
        return ", ".join(usable) or "none"

    def families(self) -> Dict[EndpointFamily, List[Endpoint]]:
        """The endpoints grouped by family, families in `EndpointFamily` order."""
        out: Dict[EndpointFamily, List[Endpoint]] = {}
        for family in EndpointFamily:
            rows = [e for e in self.endpoints if e.family is family]
            if rows:
                out[family] = rows
        return out

    def to_dict(self) -> Dict[str, Any]:
        """The spec as plain JSON-ready data."""
        return {
            "id": self.id,
            "display_name": self.display_name,
            "base_url": self.base_url,
            "auth": self.auth.value,
            "headers": dict(self.headers),
            "api_key_env": list(self.api_key_env),
            "api_key_required": self.api_key_required,
            "base_url_env": self.base_url_env,
            "settings_env": {k: list(v) for k, v in self.settings_env.items()},
            "defaults": dict(self.defaults),
            "adapter": self.adapter.value,
            "signing_service": self.signing_service,
            "note": self.note,
            "endpoints": [
                {
                    "family": e.family.value,
                    "wire_format": e.wire_format.value,
                    "level": e.level.value,
                    "base_path": e.base_path,
                    "auth": e.auth.value if e.auth is not None else None,
                    "note": e.note,
                }
                for e in self.endpoints
            ],
        }


def openai_compatible(
    id: str,
    display_name: str,
    base_url: str,
    *,
    api_key_env: Union[str, Sequence[str], None] = None,
    formats: Iterable[Union[str, WireFormat]] = (WireFormat.OPEN_AI_CHAT_COMPLETIONS,),
    planned: Iterable[Union[str, WireFormat]] = (),
    api_key_required: bool = True,
    base_url_env: Optional[str] = None,
    headers: Optional[Mapping[str, str]] = None,
    note: str = "",
) -> ProviderSpec:
    """The spec of an OpenAI-compatible server: bearer auth, plain base URL + path.

    ``formats`` are the wire formats it serves (`SupportLevel.COMPATIBLE`), ``planned``
    those listed as planned.
    """
    envs: Tuple[str, ...]
    if api_key_env is None:
        envs = ()
    elif isinstance(api_key_env, str):
        envs = (api_key_env,)
    else:
        envs = tuple(api_key_env)
    rows = [Endpoint(wire_format(f), SupportLevel.COMPATIBLE) for f in formats]
    rows += [Endpoint(wire_format(f), SupportLevel.PLANNED) for f in planned]
    return ProviderSpec(
        id=id,
        display_name=display_name,
        base_url=base_url,
        endpoints=tuple(rows),
        auth=AuthScheme.BEARER,
        headers=dict(headers or {}),
        api_key_env=envs,
        api_key_required=api_key_required,
        base_url_env=base_url_env,
        note=note,
    )


class ProviderRegistry:
    """Provider specs by id, in registration order; safe to share between threads."""

    def __init__(self, specs: Iterable[ProviderSpec] = ()) -> None:
        self._lock = threading.Lock()
        self._specs: Dict[str, ProviderSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: ProviderSpec, *, replace: bool = False) -> ProviderSpec:
        """Add ``spec``; an id already present is a `ConfigurationError` unless ``replace``."""
        if not isinstance(spec, ProviderSpec):
            raise ConfigurationError(f"register() takes a ProviderSpec, got {type(spec).__name__}")
        with self._lock:
            if spec.id in self._specs and not replace:
                raise ConfigurationError(f"provider {spec.id!r} is already registered; pass replace=True to swap it")
            self._specs[spec.id] = spec
        return spec

    def get(self, provider_id: str) -> ProviderSpec:
        """The spec registered as ``provider_id``; `ConfigurationError` listing known ids if none."""
        with self._lock:
            found = self._specs.get(provider_id)
            if found is not None:
                return found
            known = ", ".join(self._specs)
        raise ConfigurationError(f"unknown provider {provider_id!r}; known providers: {known}")

    __getitem__ = get

    def __contains__(self, provider_id: object) -> bool:
        with self._lock:
            return provider_id in self._specs

    def __iter__(self) -> Iterator[ProviderSpec]:
        with self._lock:
            snapshot = list(self._specs.values())
        return iter(snapshot)

    def __len__(self) -> int:
        with self._lock:
            return len(self._specs)

    def ids(self) -> List[str]:
        """Every registered id, in registration order."""
        with self._lock:
            return list(self._specs)

    def copy(self) -> ProviderRegistry:
        """An independent registry with the same specs."""
        return ProviderRegistry(self)

    def to_data(self) -> List[Dict[str, Any]]:
        """Every spec as plain JSON-ready data (`ProviderSpec.to_dict`)."""
        return [spec.to_dict() for spec in self]

    def __repr__(self) -> str:
        return f"ProviderRegistry({self.ids()!r})"


def format_support_matrix(registry: Iterable[ProviderSpec]) -> str:
    """The support matrix as a fixed-width text table: provider, family, wire format, level.

    One line per endpoint; the provider and family columns are printed only where they
    change, so each provider reads as a block.
    """
    header = ("provider", "name", "family", "wire format", "level")
    rows: List[Tuple[str, str, str, str, str]] = []
    for spec in registry:
        first = True
        for family, endpoints in spec.families().items():
            for i, endpoint in enumerate(endpoints):
                rows.append(
                    (
                        spec.id if first else "",
                        spec.display_name if first else "",
                        family.value if i == 0 else "",
                        endpoint.wire_format.value,
                        endpoint.level.value,
                    )
                )
                first = False
    widths = [max([len(h)] + [len(r[c]) for r in rows]) for c, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out.extend(line(r) for r in rows)
    levels = ", ".join(level.value for level in SupportLevel)
    out.append("")
    out.append(f"levels: {levels}; 'planned' rows raise UnsupportedError when used.")
    return "\n".join(out) + "\n"
