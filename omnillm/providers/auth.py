"""Credentials: API keys, AWS keys and refreshing OAuth2 tokens that never show their secret.

Every credential type redacts itself in ``repr`` and ``str``; the secret is reached only
through an explicit accessor (`ApiKey.reveal`, `AwsCredentials.secret_access_key`,
`TokenSource.token`). `RefreshingToken` caches a bearer token from a user-supplied
callable and asks for a new one shortly before it expires, one refresh at a time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Protocol, Union, runtime_checkable

from ..errors import AuthenticationError, ConfigurationError
from ..http import REDACTED

__all__ = [
    "AccessToken",
    "ApiKey",
    "AwsCredentials",
    "Credential",
    "RefreshingToken",
    "TokenSource",
    "google_auth_token_provider",
]


class ApiKey:
    """An API key; ``repr`` and ``str`` never show it, `reveal` does."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError("an API key must be a non-empty string")
        self._value = value.strip()

    def reveal(self) -> str:
        """The key itself, for the one place that puts it on the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"ApiKey({REDACTED})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("ApiKey", self._value))

    def __reduce__(self) -> Any:
        # Pickling is allowed (multiprocessing) but must not go through __repr__.
        return (ApiKey, (self._value,))


@dataclass(frozen=True)
class AwsCredentials:
    """AWS access keys for Signature Version 4, with an optional session token.

    All three fields are redacted from ``repr``; the access key id too, since it
    identifies the account.
    """

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: Optional[str] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.access_key_id or not self.secret_access_key:
            raise ConfigurationError("AWS credentials need both an access key id and a secret access key")
        if self.session_token == "":
            object.__setattr__(self, "session_token", None)

    def __repr__(self) -> str:
        token = REDACTED if self.session_token else None
        return f"AwsCredentials(access_key_id={REDACTED}, secret_access_key={REDACTED}, session_token={token})"

    __str__ = __repr__


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when it stops being valid.

    ``expires_at`` is in seconds on the same clock `RefreshingToken` reads (wall-clock
    ``time.time()`` by default); None means the provider did not say.
    """

    token: str = field(repr=False)
    expires_at: Optional[float] = None

    def __post_init__(self) -> None:
        if not isinstance(self.token, str) or not self.token:
            raise ConfigurationError("an access token must be a non-empty string")

    def __repr__(self) -> str:
        return f"AccessToken({REDACTED}, expires_at={self.expires_at!r})"

    __str__ = __repr__


@runtime_checkable
class TokenSource(Protocol):
    """Anything that hands out a current bearer token (`RefreshingToken` is the usual one)."""

    def token(self) -> str:
        """A bearer token valid right now."""
        ...


class RefreshingToken:
    """Caches the token from ``provider`` and refreshes it ``margin`` seconds before expiry.

    ``provider`` is a callable returning an `AccessToken` (or a bare ``str``, which is
    kept until `invalidate` is called). ``now`` is the clock ``expires_at`` is measured
    on. Thread-safe: concurrent callers share one refresh; nobody gets a token that is
    within ``margin`` of expiring while a fresh one is being fetched. ``refreshes``
    counts the successful fetches.
    """

    def __init__(
        self,
        provider: Callable[[], Union[AccessToken, str]],
        *,
        margin: float = 300.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        if margin < 0:
            raise ConfigurationError("the refresh margin must not be negative")
        self._provider = provider
        self._margin = margin
        self._now = now
        self._lock = threading.Lock()
        self._current: Optional[AccessToken] = None
        self.refreshes = 0

    def _fresh(self, current: Optional[AccessToken]) -> bool:
        if current is None:
            return False
        return current.expires_at is None or self._now() < current.expires_at - self._margin

    def token(self) -> str:
        """A token that stays valid for at least ``margin`` more seconds, refreshing if needed."""
        current = self._current
        if self._fresh(current):
            assert current is not None
            return current.token
        with self._lock:
            # Another thread may have refreshed while this one waited for the lock.
            current = self._current
            if not self._fresh(current):
                current = self._fetch()
                self._current = current
            assert current is not None
            return current.token

    def invalidate(self) -> None:
        """Forget the cached token (after a 401, say); the next `token` call fetches anew."""
        with self._lock:
            self._current = None

    def _fetch(self) -> AccessToken:
        try:
            got = self._provider()
        except Exception as exc:
            # The provider's own message may quote credentials; name only its type.
            raise AuthenticationError(f"the token provider failed ({type(exc).__name__})") from exc
        self.refreshes += 1
        if isinstance(got, str) and got:
            return AccessToken(got)
        if isinstance(got, AccessToken):
            return got
        raise AuthenticationError(
            f"the token provider returned {type(got).__name__}; expected an AccessToken or a non-empty str"
        )

    def __repr__(self) -> str:
        expires = self._current.expires_at if self._current is not None else None
        return f"RefreshingToken(cached={self._current is not None}, expires_at={expires!r})"


#: Every kind of credential `omnillm.providers.prepare_request` accepts.
Credential = Union[ApiKey, AwsCredentials, AccessToken, TokenSource]


def google_auth_token_provider(credentials: Any, request: Any = None) -> Callable[[], AccessToken]:
    """A token provider for `RefreshingToken` backed by a google-auth ``Credentials`` object.

    ``credentials`` is what ``google.auth.default(scopes=[...])`` returns first;
    ``request`` is a ``google.auth.transport.Request`` (by default a
    ``google.auth.transport.requests.Request``, imported on first use, so google-auth
    stays an optional dependency).
    """

    def provide() -> AccessToken:
        transport = request
        if transport is None:
            from google.auth.transport.requests import Request

            transport = Request()
        credentials.refresh(transport)
        expiry = getattr(credentials, "expiry", None)
        expires_at: Optional[float] = None
        if isinstance(expiry, datetime):
            # google-auth reports expiry as a naive UTC datetime.
            aware = expiry if expiry.tzinfo is not None else expiry.replace(tzinfo=timezone.utc)
            expires_at = aware.timestamp()
        return AccessToken(str(credentials.token), expires_at)

    return provide
