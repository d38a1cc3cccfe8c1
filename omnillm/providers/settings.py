"""Per-client provider settings: what fills a provider's URL template and tunes its headers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Mapping, Optional, Tuple

from .registry import TEMPLATE_SETTINGS, AuthScheme

__all__ = ["ProviderSettings"]


@dataclass(frozen=True)
class ProviderSettings:
    """Settings one client applies to one provider; None means "the provider's default".

    ``base_url`` replaces the provider's base-URL template (it may use the same
    placeholders). ``endpoint`` (or ``resource``), ``deployment`` and ``api_version``
    serve Azure; ``project`` and ``location`` Vertex AI; ``region`` Bedrock.
    ``anthropic_version`` is the ``anthropic-version`` header for Anthropic's API and
    the body's ``anthropic_version`` on Vertex AI and Bedrock; ``anthropic_beta`` lists
    beta names. ``auth`` changes how an API key is sent (say ``AuthScheme.BEARER`` for
    a proxy that wants ``Authorization``), ``headers`` are added to every request.
    """

    base_url: Optional[str] = None
    endpoint: Optional[str] = None
    resource: Optional[str] = None
    deployment: Optional[str] = None
    api_version: Optional[str] = None
    project: Optional[str] = None
    location: Optional[str] = None
    region: Optional[str] = None
    anthropic_version: Optional[str] = None
    anthropic_beta: Tuple[str, ...] = ()
    auth: Optional[AuthScheme] = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A comma-separated string, as the header carries it, is accepted too.
        beta: object = self.anthropic_beta
        names = beta.split(",") if isinstance(beta, str) else list(self.anthropic_beta)
        object.__setattr__(self, "anthropic_beta", tuple(n.strip() for n in names if n.strip()))
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))
        # Plain strings ("bearer") are accepted where an AuthScheme is expected.
        auth: object = self.auth
        if auth is not None:
            object.__setattr__(self, "auth", AuthScheme(auth))

    def value(self, name: str) -> Optional[str]:
        """The string setting called ``name`` (None when unset or not a string setting)."""
        got = getattr(self, name, None) if name in TEMPLATE_SETTINGS else None
        return got if isinstance(got, str) and got else None

    def __repr__(self) -> str:
        # Header values may be credentials a proxy wants; show only the names.
        shown = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name != "headers"]
        shown.append(f"headers={sorted(self.headers)!r}")
        return f"ProviderSettings({', '.join(shown)})"
