"""Credentials: token refresh before expiry (injected clock), one refresh at a time, redaction."""

from __future__ import annotations

import pickle
import threading
from datetime import datetime, timedelta, timezone
from typing import List, Optional, Union

import pytest

from omnillm.errors import AuthenticationError, ConfigurationError, OmniLLMError
from omnillm.providers import (
    AccessToken,
    ApiKey,
    AwsCredentials,
    ProviderSettings,
    RefreshingToken,
    TokenSource,
    google_auth_token_provider,
)


class Clock:
    """A hand-driven clock."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class Issuer:
    """Hands out tok-1, tok-2, ... each valid for ``lifetime`` seconds from the clock's now."""

    def __init__(self, clock: Clock, lifetime: Optional[float] = 3600.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0

    def __call__(self) -> AccessToken:
        self.calls += 1
        expires = None if self.lifetime is None else self.clock.now + self.lifetime
        return AccessToken(f"tok-{self.calls}", expires_at=expires)


# --------------------------------------------------------------------------- refresh timing


def test_token_is_fetched_once_and_cached() -> None:
    clock = Clock()
    issuer = Issuer(clock)
    tokens = RefreshingToken(issuer, now=clock)
    assert tokens.token() == "tok-1"
    clock.now += 1000
    assert tokens.token() == "tok-1"
    assert issuer.calls == 1


def test_token_is_refreshed_margin_seconds_before_expiry() -> None:
    clock = Clock()
    issuer = Issuer(clock, lifetime=3600)
    tokens = RefreshingToken(issuer, margin=300, now=clock)
    assert tokens.token() == "tok-1"  # expires at 4600; refresh from 4300 on
    clock.now = 4299.999
    assert tokens.token() == "tok-1"
    clock.now = 4300.0
    assert tokens.token() == "tok-2"
    assert issuer.calls == 2
    clock.now = 4301.0
    assert tokens.token() == "tok-2"


def test_expired_token_is_never_returned() -> None:
    clock = Clock()
    issuer = Issuer(clock, lifetime=60)
    tokens = RefreshingToken(issuer, margin=0, now=clock)
    assert tokens.token() == "tok-1"
    clock.now += 61
    assert tokens.token() == "tok-2"


def test_a_token_without_expiry_is_kept_until_invalidated() -> None:
    clock = Clock()
    issuer = Issuer(clock, lifetime=None)
    tokens = RefreshingToken(issuer, now=clock)
    assert tokens.token() == "tok-1"
    clock.now += 10**9
    assert tokens.token() == "tok-1"
    tokens.invalidate()
    assert tokens.token() == "tok-2"


def test_a_plain_string_provider_is_accepted() -> None:
    tokens = RefreshingToken(lambda: "static-token")
    assert tokens.token() == "static-token"
    assert isinstance(tokens, TokenSource)


def test_provider_failures_become_authentication_errors_without_their_message() -> None:
    def broken() -> AccessToken:
        raise RuntimeError("could not refresh with secret=hunter2")

    tokens = RefreshingToken(broken)
    with pytest.raises(AuthenticationError, match=r"the token provider failed \(RuntimeError\)") as caught:
        tokens.token()
    assert "hunter2" not in str(caught.value)
    assert isinstance(caught.value.__cause__, RuntimeError)


@pytest.mark.parametrize("bad", [None, 42, "", b"bytes"])
def test_provider_returning_nonsense_is_refused(bad: object) -> None:
    tokens = RefreshingToken(lambda: bad)  # type: ignore[arg-type, return-value]
    with pytest.raises(AuthenticationError, match="expected an AccessToken or a non-empty str"):
        tokens.token()


def test_a_failed_refresh_is_retried_on_the_next_call() -> None:
    clock = Clock()
    outcomes: List[Union[Exception, AccessToken]] = [OSError("network down"), AccessToken("tok-ok", 99999.0)]

    def flaky() -> AccessToken:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    tokens = RefreshingToken(flaky, now=clock)
    with pytest.raises(AuthenticationError):
        tokens.token()
    assert tokens.token() == "tok-ok"


def test_negative_margin_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        RefreshingToken(lambda: "x", margin=-1)


# --------------------------------------------------------------------------- thread safety


def test_concurrent_callers_share_one_refresh() -> None:
    clock = Clock()
    release = threading.Event()
    entered = threading.Event()
    calls: List[int] = []
    lock = threading.Lock()

    def slow_provider() -> AccessToken:
        with lock:
            calls.append(1)
        entered.set()
        release.wait()
        return AccessToken(f"tok-{len(calls)}", expires_at=clock.now + 3600)

    tokens = RefreshingToken(slow_provider, now=clock)
    results: List[str] = []
    errors: List[BaseException] = []

    def worker() -> None:
        try:
            value = tokens.token()
        except BaseException as exc:
            errors.append(exc)
            return
        with lock:
            results.append(value)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    assert entered.wait(timeout=30)  # a refresh is in progress; the others are queued on it
    release.set()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert len(calls) == 1
    assert results == ["tok-1"] * 16


def test_concurrent_callers_after_expiry_share_one_refresh() -> None:
    clock = Clock()
    issuer = Issuer(clock, lifetime=100)
    tokens = RefreshingToken(issuer, margin=10, now=clock)
    assert tokens.token() == "tok-1"
    clock.now += 95  # inside the margin: the next callers must refresh, once
    barrier = threading.Barrier(8)
    results: List[str] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait(timeout=30)
        value = tokens.token()
        with lock:
            results.append(value)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert issuer.calls == 2
    assert results == ["tok-2"] * 8


# --------------------------------------------------------------------------- google-auth


class FakeGoogleCredentials:
    """Duck-types google.auth.credentials.Credentials: refresh(request), token, expiry."""

    def __init__(self) -> None:
        self.token: Optional[str] = None
        self.expiry: Optional[datetime] = None
        self.requests: List[object] = []

    def refresh(self, request: object) -> None:
        self.requests.append(request)
        self.token = f"ya29.{len(self.requests)}"
        # google-auth keeps expiry as a naive UTC datetime.
        self.expiry = datetime(2030, 1, 1, 12, 0, 0) + timedelta(minutes=len(self.requests))


def test_google_auth_adapter_refreshes_and_reports_expiry() -> None:
    creds = FakeGoogleCredentials()
    transport = object()
    provide = google_auth_token_provider(creds, transport)
    clock = Clock(start=datetime(2030, 1, 1, 11, 0, tzinfo=timezone.utc).timestamp())
    tokens = RefreshingToken(provide, margin=300, now=clock)
    assert tokens.token() == "ya29.1"
    assert creds.requests == [transport]
    # expiry 12:01 UTC, margin 5 minutes: still fresh at 11:55:59, refreshed at 11:56.
    clock.now = datetime(2030, 1, 1, 11, 55, 59, tzinfo=timezone.utc).timestamp()
    assert tokens.token() == "ya29.1"
    clock.now = datetime(2030, 1, 1, 11, 56, 0, tzinfo=timezone.utc).timestamp()
    assert tokens.token() == "ya29.2"


def test_google_auth_adapter_uses_google_auth_requests_by_default() -> None:
    pytest.importorskip("google.auth.transport.requests")
    from google.auth.transport.requests import Request

    creds = FakeGoogleCredentials()
    google_auth_token_provider(creds)()
    assert isinstance(creds.requests[0], Request)


# --------------------------------------------------------------------------- redaction

SECRET = "sk-live-SECRET-0123456789"


def test_api_key_never_shows() -> None:
    key = ApiKey(SECRET)
    for text in (repr(key), str(key), f"{key}", f"{key!r}", repr([key]), repr({"k": key})):
        assert SECRET not in text
    assert key.reveal() == SECRET
    assert ApiKey(f"  {SECRET}\n") == key  # pasted keys lose stray whitespace
    assert pickle.loads(pickle.dumps(key)) == key


@pytest.mark.parametrize("bad", ["", "   ", None, 123])
def test_api_key_must_be_a_non_empty_string(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="non-empty string") as caught:
        ApiKey(bad)  # type: ignore[arg-type]
    assert isinstance(caught.value, OmniLLMError)


def test_aws_credentials_and_tokens_never_show() -> None:
    creds = AwsCredentials("AKIAIOSFODNN7EXAMPLE", SECRET, "FwoGZXIvYXdzSESSION")
    for text in (repr(creds), str(creds)):
        assert "AKIAIOSFODNN7EXAMPLE" not in text and SECRET not in text and "SESSION" not in text
    assert AwsCredentials("a", "b", "").session_token is None
    with pytest.raises(ConfigurationError):
        AwsCredentials("", SECRET)
    token = AccessToken(SECRET, expires_at=5.0)
    assert SECRET not in repr(token) and SECRET not in str(token)
    tokens = RefreshingToken(lambda: token)
    tokens.token()
    assert SECRET not in repr(tokens)


def test_settings_hide_header_values() -> None:
    settings = ProviderSettings(headers={"X-Gateway-Key": SECRET})
    assert SECRET not in repr(settings) and "X-Gateway-Key" in repr(settings)
