"""One provider credential as the gateway sees it: what it serves and how hard it may be used."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Mapping, Optional, Union

from ..errors import ConfigurationError
from ..providers.settings import ProviderSettings

ModelsSpec = Union[Mapping[str, str], Iterable[str], None]
"""The models a key serves: names, or a mapping from the requested name to the provider's name."""


def _fingerprint(secret: object) -> str:
    # A short digest names an unlabelled key without revealing any of the secret.
    return hashlib.sha256(repr(secret).encode("utf-8")).hexdigest()[:8]


def _limit(label: str, name: str, value: Optional[int]) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(
            f"key {label!r}: {name} must be a positive integer or None, not {type(value).__name__}"
        )
    if value <= 0:
        raise ConfigurationError(f"key {label!r}: {name} must be a positive integer or None, not {value}")
    return value


@dataclass(frozen=True, repr=False)
class KeyConfig:
    """A provider key: provider id, secret, label, weight, the models it serves and its limits.

    ``secret`` is the credential (an API key string, or a credential object the
    provider's auth understands); it never appears in ``repr``, ``str`` or any error
    message: ``label`` stands for the key everywhere (it defaults to the provider id and
    a short digest of the secret). ``models`` is None (the key serves any model), an
    iterable of model names, or a mapping from the model name callers ask for to the
    name sent to the provider (an Azure deployment name, a Bedrock model id).
    ``rpm``/``tpm`` are requests and tokens per minute and ``max_concurrent`` the number
    of calls in flight at once; None means no local limit. ``weight`` (a positive
    integer) is the key's share under weighted balancing.

    How to reach the provider with this key: ``base_url`` overrides the provider's base
    URL, ``settings`` holds the other provider settings (Azure endpoint and deployment,
    Vertex project, Bedrock region, extra headers), ``wire_format`` picks the
    generation format when the provider speaks several.
    """

    provider: str
    secret: object = field(compare=False)
    label: str = ""
    weight: int = 1
    models: ModelsSpec = None
    rpm: Optional[int] = None
    tpm: Optional[int] = None
    max_concurrent: Optional[int] = None
    base_url: Optional[str] = None
    settings: Optional[ProviderSettings] = None
    wire_format: Optional[str] = None

    def __post_init__(self) -> None:
        if not isinstance(self.provider, str) or not self.provider.strip():
            raise ConfigurationError("key: provider must be a non-empty string")
        if self.secret is None or (isinstance(self.secret, str) and not self.secret.strip()):
            label = self.label or self.provider
            raise ConfigurationError(f"key {label!r}: secret is empty")
        if not isinstance(self.label, str):
            raise ConfigurationError(f"key of provider {self.provider!r}: label must be a string")
        if not self.label:
            object.__setattr__(self, "label", f"{self.provider}:{_fingerprint(self.secret)}")
        label = self.label
        if isinstance(self.weight, bool) or not isinstance(self.weight, int) or self.weight <= 0:
            raise ConfigurationError(f"key {label!r}: weight must be a positive integer, not {self.weight!r}")
        _limit(label, "rpm", self.rpm)
        _limit(label, "tpm", self.tpm)
        _limit(label, "max_concurrent", self.max_concurrent)
        object.__setattr__(self, "models", self._normalise_models(label, self.models))

    @staticmethod
    def _normalise_models(label: str, models: ModelsSpec) -> Optional[Mapping[str, str]]:
        if models is None:
            return None
        if isinstance(models, str):
            raise ConfigurationError(f"key {label!r}: models must be a list or a mapping of names, not one string")
        pairs = models.items() if isinstance(models, Mapping) else ((name, name) for name in models)
        table = {}
        for requested, sent in pairs:
            if not isinstance(requested, str) or not requested or not isinstance(sent, str) or not sent:
                raise ConfigurationError(f"key {label!r}: model names must be non-empty strings")
            table[requested] = sent
        if not table:
            raise ConfigurationError(f"key {label!r}: models is empty, so the key could serve nothing")
        return MappingProxyType(table)

    def serves(self, model: str) -> bool:
        """True when this key may serve requests for ``model``."""
        return self.models is None or model in self.models

    def provider_model(self, model: str) -> str:
        """The model name to send to the provider for a request that asked for ``model``."""
        models = self.models  # None, or the read-only table `__post_init__` made
        return model if models is None else str(models.get(model, model))  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.provider, self.label))

    def __repr__(self) -> str:
        return f"KeyConfig(provider={self.provider!r}, label={self.label!r}, weight={self.weight})"

    __str__ = __repr__


__all__ = ["KeyConfig", "ModelsSpec"]
